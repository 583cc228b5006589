import Engine
import NN
import Testing
import _TestSupport

@Suite struct VisionTransformerTests {
  /// Values printed by MoCo v3's `build_2d_sincos_position_embedding(grid 3, dim 8)` (torch 2.13):
  /// token 2 (patch m = 1) and token 4 (m = 3).
  @Test func sinCosEmbeddingMatchesMoCoV3() {
    let p = VisionTransformer.sinCosPositionEmbedding(grid: 3, dimension: 8)
    #expect(p.shape == [1, 10, 8])
    let expected2: [Float] = [0, 0, 1, 1, 0.841471, 0.01, 0.540302, 0.99995]
    let expected4: [Float] = [0.841471, 0.01, 0.540302, 0.99995, 0, 0, 1, 1]
    for k in 0..<8 {
      expectClose(Double(p.data[2 * 8 + k]), Double(expected2[k]), rtol: 0, atol: 1e-5)
      expectClose(Double(p.data[4 * 8 + k]), Double(expected4[k]), rtol: 0, atol: 1e-5)
      #expect(p.data[k] == 0)  // class token
    }
    #expect(!p.requiresGrad)
  }

  @Test func namesShapesAndFrozenPatchProjection() {
    var g = RandomGenerator(seed: 0)
    let vit = VisionTransformer(imageSize: 8, patchSize: 4, dimension: 8, depth: 2, heads: 2, classes: 3, freezePatchProjection: true, using: &g)
    let names = vit.namedParameters.map(\.name)
    #expect(Array(names.prefix(4)) == ["cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"])
    #expect(names.contains("blocks.1.attn.qkv.weight") && names.contains("blocks.0.mlp.fc2.bias"))
    #expect(Array(names.suffix(4)) == ["norm.weight", "norm.bias", "head.weight", "head.bias"])
    #expect(!vit.patchEmbed.weight.requiresGrad && !vit.parameters.contains { $0 === vit.patchEmbed.weight })
    #expect(vit(Tensor.zeros([2, 3, 8, 8])).shape == [2, 3])
  }

  @Test func gradientsThroughTheWholeModel() {
    var g = RandomGenerator(seed: 1)
    let vit = VisionTransformer(imageSize: 8, patchSize: 4, dimension: 8, depth: 1, heads: 2, classes: 2, using: &g)
    let x = Tensor.randomNormal([2, 3, 8, 8], using: &g, requiresGrad: true)
    // The class token starts near 0 (σ = 1e-6), where its LayerNorm row is ~x/√ε: far too curved
    // for finite differences of 1e-2. Check the gradients at an O(1) class token instead.
    let token = Tensor.randomNormal([8], using: &g).data
    vit.clsToken.update { $0 = token }
    let e = GradientCheck.maxRelativeError(of: { _ in vit(x) }, at: [x] + vit.parameters)
    #expect(e < 5e-2, "vit: \(e)")
  }
}

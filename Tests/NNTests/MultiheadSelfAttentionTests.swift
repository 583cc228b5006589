import Engine
import Foundation
import NN
import Testing
import _TestSupport

@Suite struct MultiheadSelfAttentionTests {
  /// Forward and backward against PyTorch's nn.MultiheadAttention on the same weights and input,
  /// random biases included (fixture made by Fixtures/make_mha_fixture.py; versions in
  /// mha_fixture.json).
  @Test func matchesPyTorchMultiheadAttention() throws {
    var g = RandomGenerator(seed: 0)
    let layer = MultiheadSelfAttention(dimension: 16, heads: 4, using: &g)
    try SelfAttentionGolden.check(layer, resource: "mha_small", forwardTolerance: 1e-5, gradientTolerance: 1e-4)
  }

  /// One head by hand: `softmax(q kᵀ/√d) v` with q, k, v from `in_proj` and its bias, then
  /// `out_proj`; and autograd against central differences with two heads.
  @Test func oneHeadIsSoftmaxAttentionByHand() {
    var g = RandomGenerator(seed: 7)
    let (n, d) = (4, 3)
    let layer = MultiheadSelfAttention(dimension: d, heads: 1, using: &g)
    layer.isTraining = false
    layer.inProjBias.assign((0..<(3 * d)).map { Float($0) * 0.1 - 0.4 })
    let x = Tensor.randomNormal([1, n, d], using: &g)
    let out = layer(x, using: &g).data
    let expected = SelfAttentionGolden.oneHeadByHand(
      x.data, n: n, d: d, inWeight: layer.inProjWeight.data, inBias: layer.inProjBias.data,
      outWeight: layer.outProjWeight.data, outBias: layer.outProjBias.data)
    #expect(expected.count == out.count)
    for (a, b) in zip(out, expected) { expectClose(Double(a), Double(b), rtol: 0, atol: 1e-5) }
    var g2 = RandomGenerator(seed: 8)
    let two = MultiheadSelfAttention(dimension: 8, heads: 2, using: &g2)
    two.isTraining = false
    let xs = Tensor.randomNormal([2, 5, 8], using: &g2, requiresGrad: true)
    var unused = RandomGenerator(seed: 9)
    let e = GradientCheck.maxRelativeError(of: { _ in two(xs, using: &unused) }, at: [xs] + two.parameters)
    #expect(e < 5e-2, "multi-head attention: \(e)")
  }

  /// torch's `_reset_parameters`: Xavier-uniform `in_proj_weight` (bound √(6/4d)), zero biases,
  /// `out_proj.weight` within nn.Linear's `1/√d`; dropout falls on the attention weights, so in
  /// training mode each output row is still a mix of the values, and eval mode ignores it.
  @Test func initialisationAndDropoutAreTorchs() {
    var g = RandomGenerator(seed: 10)
    let d = 64
    let layer = MultiheadSelfAttention(dimension: d, heads: 8, dropout: 0.5, using: &g)
    let xavier = (6 / Float(4 * d)).squareRoot()
    #expect(layer.inProjWeight.data.allSatisfy { abs($0) <= xavier })
    #expect(layer.inProjWeight.data.map { abs($0) }.max()! > 0.9 * xavier)
    #expect(layer.inProjBias.data.allSatisfy { $0 == 0 } && layer.outProjBias.data.allSatisfy { $0 == 0 })
    #expect(layer.outProjWeight.data.allSatisfy { abs($0) <= 1 / Float(d).squareRoot() })
    #expect(layer.namedParameters.map(\.name) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
    let x = Tensor.randomNormal([1, 6, d], using: &g)
    layer.isTraining = false
    var r1 = RandomGenerator(seed: 1), r2 = RandomGenerator(seed: 2)
    #expect(layer(x, using: &r1).data == layer(x, using: &r2).data)
    layer.isTraining = true
    #expect(layer(x, using: &r1).data != layer(x, using: &r2).data)
  }
}

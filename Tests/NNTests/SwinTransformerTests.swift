import Engine
import Foundation
import NN
import Testing
import _TestSupport

/// Swin Transformer against timm 0.5.4 (CTransPath's timm): golden fixtures made by
/// `Fixtures/make_swin_fixtures.py` (versions in `Fixtures/swin_fixtures.json`), state-dict names
/// of Swin-T, CTransPath and the micro config (`Fixtures/swin_keys.json`), finite-difference
/// gradients, and the shifted-window mask.
@Suite struct SwinTransformerTests {
  // MARK: Golden fixtures

  @Test func blockPairMatchesTimm() throws {
    let fixture = try GoldenFixture("swin_blocks")
    var g = RandomGenerator(seed: 0)
    let stage = SwinStage(
      dimension: 16, inputResolution: (8, 12), heads: 2, windowSize: 4, dropPath: [0, 0], downsample: false,
      using: &g)
    #expect(stage.blocks.map(\.shiftSize) == [0, 2])
    // The buffers we compute equal timm's before the checkpoint overwrites them.
    #expect(stage.blocks[0].attn.relativePositionIndex.data == (try fixture.tensor("w.blocks.0.attn.relative_position_index")).data)
    #expect(stage.blocks[1].attnMask?.data == (try fixture.tensor("w.blocks.1.attn_mask")).data)
    fixture.load(into: stage)
    let errors = try fixture.compare(stage) { stage($0) }
    #expect(errors.count == 2 + stage.parameters.count)
    GoldenFixture.expectWithin(errors, label: "Swin block pair")
  }

  @Test func patchMergingMatchesTimm() throws {
    let fixture = try GoldenFixture("swin_patch_merging")
    var g = RandomGenerator(seed: 0)
    let merging = PatchMerging(inputResolution: (6, 8), dimension: 8, using: &g)
    fixture.load(into: merging)
    GoldenFixture.expectWithin(try fixture.compare(merging) { merging($0) }, label: "PatchMerging")
  }

  /// The fixture's micro Swin (48², embed 12, depths 2-2-2) with the fixture's weights, in evaluation mode.
  static func timmMicro(_ fixture: GoldenFixture) -> SwinTransformer {
    var g = RandomGenerator(seed: 0)
    let model = SwinTransformer(
      .init(imageSize: 48, embedDimension: 12, depths: [2, 2, 2], heads: [2, 3, 4], windowSize: 3, classes: 5),
      using: &g)
    fixture.load(into: model)
    model.isTraining = false
    return model
  }

  @Test func smallSwinMatchesTimm() throws {
    let fixture = try GoldenFixture("swin_micro")
    let model = Self.timmMicro(fixture)
    // Stage 3's 3 × 3 map is one window: timm drops the shift there.
    #expect(model.layers.map { $0.blocks.map(\.shiftSize) } == [[0, 1], [0, 1], [0, 0]])
    let errors = try fixture.compare(model) { model($0) }
    #expect(errors.count == 2 + 9)
    GoldenFixture.expectWithin(errors, label: "Swin micro (48², 3 stages)")
  }

  /// Stage features on the timm-checked micro Swin: the last equals the pooled feature bit for
  /// bit, and each earlier one is the mean over tokens of that stage's blocks, taken before the
  /// patch merging that ends the stage (widths 12, 24, 48).
  @Test func stageFeaturesAreEachStagesPooledTokens() throws {
    let fixture = try GoldenFixture("swin_micro")
    let model = Self.timmMicro(fixture)
    let x = try fixture.tensor("input")
    let stages = model.stageFeatures(x)
    #expect(stages.map(\.shape) == [[2, 12], [2, 24], [2, 48]])
    #expect(stages[2].data == model.features(x).data)
    var tokens = model.patchEmbed(x)
    for (i, stage) in model.layers.enumerated() {
      for block in stage.blocks { tokens = block(tokens) }
      if i < 2 { #expect(stages[i].data == tokens.mean(axes: [1]).data) }
      tokens = stage.downsample.map { $0(tokens) } ?? tokens
    }
    // Stage 0 before the merge is not the merged output's mean (which has width 24).
    #expect(model.layers[0](model.patchEmbed(x)).shape == [2, 36, 24])
  }

  @Test func convStemMatchesCTransPathsStem() throws {
    let fixture = try GoldenFixture("swin_convstem")
    var g = RandomGenerator(seed: 0)
    let stem = ConvStem(dimension: 16, using: &g)
    fixture.load(into: stem)
    stem.isTraining = false
    let eval = try fixture.compare(stem, prefix: "eval.") { stem($0) }
    GoldenFixture.expectWithin(eval, label: "ConvStem eval")
    stem.isTraining = true
    var train = try fixture.compare(stem, prefix: "train.") { stem($0) }
    for key in ["proj.1.running_mean", "proj.1.running_var", "proj.4.running_mean", "proj.4.running_var"] {
      let p = try #require(stem.namedParameters.first { $0.name == key }?.tensor)
      train["after." + key] = GoldenFixture.relativeError(p.data, try fixture.tensor("after." + key).data)
    }
    GoldenFixture.expectWithin(train, label: "ConvStem train")
  }

  // MARK: Names, shapes, configurations

  /// `(name, shape)` pairs and the trainable-parameter count of one model in `swin_keys.json`.
  static func timmKeys(_ model: String) throws -> (keys: [(String, [Int])], trainable: Int) {
    let url = try #require(Bundle.module.url(forResource: "swin_keys", withExtension: "json", subdirectory: "Fixtures"))
    let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let entry = try #require(object[model] as? [String: Any])
    let rows = try #require(entry["keys"] as? [[Any]])
    let keys = try rows.map { (try #require($0[0] as? String), try #require($0[1] as? [Int])) }
    return (keys, try #require(entry["trainable"] as? Int))
  }

  static func expectKeys(_ model: SwinTransformer, match name: String) throws {
    let expected = try timmKeys(name)
    let ours = model.namedParameters
    #expect(ours.map(\.name) == expected.keys.map(\.0), "\(name): names")
    // timm saves num_batches_tracked as a scalar, ours is [] too.
    #expect(ours.map(\.tensor.shape) == expected.keys.map(\.1), "\(name): shapes")
    #expect(model.parameterCount == expected.trainable, "\(name): trainable count")
  }

  /// Swin-T: every state-dict key and shape of timm's `swin_tiny_patch4_window7_224`, its
  /// initialisation, and a 224² forward (batch 1, no autograd).
  @Test func swinTMatchesTimmAndRunsAt224() throws {
    var g = RandomGenerator(seed: 1)
    let model = SwinTransformer(.swinT(), using: &g)
    try Self.expectKeys(model, match: "swin_tiny_patch4_window7_224")
    #expect(model.parameterCount == 28_288_354)
    // timm init: trunc_normal(0.02) weights (the head too), zero biases, unit LayerNorm.
    let qkv = model.layers[2].blocks[3].attn.qkv
    let values = qkv.weight.data
    let mean = values.reduce(0, +) / Float(values.count)
    let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)).squareRoot()
    #expect(abs(mean) < 1e-3 && abs(std / 0.02 - 1) < 0.02, "qkv init: mean \(mean), std \(std)")
    #expect(qkv.bias?.data.allSatisfy { $0 == 0 } == true)
    #expect(model.head?.weight.data.allSatisfy { abs($0) < 0.2 } == true)
    #expect(model.norm.weight.data.allSatisfy { $0 == 1 })
    model.isTraining = false
    let y = Tensor.withoutGrad { model(Tensor.randomNormal([1, 3, 224, 224], using: &g)) }
    #expect(y.shape == [1, 1000] && y.data.allSatisfy(\.isFinite))
  }

  @Test func ctransPathHasTheConvStemAndNoHead() throws {
    var g = RandomGenerator(seed: 2)
    let model = SwinTransformer(.ctransPath(), using: &g)
    try Self.expectKeys(model, match: "ctranspath")
    #expect(model.head == nil && model.configuration.featureDimension == 768)
  }

  @Test func microConfigurationPicksWindowsThatDivideTheMaps() throws {
    let sides = [64, 96, 128, 160, 192, 224]
    #expect(sides.map { SwinTransformer.Configuration.micro(imageSize: $0).windowSize } == [4, 6, 4, 5, 6, 7])
    var g = RandomGenerator(seed: 3)
    let model = SwinTransformer(.micro(imageSize: 64), using: &g)
    try Self.expectKeys(model, match: "micro_convstem_64")
    #expect(model.layers.map { $0.blocks.map(\.windowSize) } == [[4, 4], [4, 4], [4, 4], [2, 2]])
    model.isTraining = false
    let x = Tensor.randomNormal([2, 3, 64, 64], using: &g)
    #expect(Tensor.withoutGrad { model(x) }.shape == [2, 384])
    let withHead = SwinTransformer(.micro(imageSize: 32, classes: 7, stem: .patch), using: &g)
    #expect(withHead.patchEmbed is PatchEmbedding)
    #expect(withHead(Tensor.randomNormal([1, 3, 32, 32], using: &g)).shape == [1, 7])
  }

  @Test func initialisationIsDeterministicInTheGenerator() {
    let config = SwinTransformer.Configuration(
      imageSize: 16, embedDimension: 8, depths: [2, 1], heads: [2, 2], windowSize: 2, classes: 3)
    var g1 = RandomGenerator(seed: 4), g2 = RandomGenerator(seed: 4)
    let a = SwinTransformer(config, using: &g1), b = SwinTransformer(config, using: &g2)
    let c = SwinTransformer(config, using: &g1)
    #expect(a.stateDict() == b.stateDict())
    #expect(a.stateDict() != c.stateDict())
  }

  // MARK: Gradients

  /// Window attention with the relative position bias and a shift mask against central
  /// differences: input, qkv/proj weights and the bias table.
  @Test func windowAttentionGradientCheck() {
    var g = RandomGenerator(seed: 5)
    let attention = WindowAttention(dimension: 4, windowSize: 2, heads: 2, using: &g)
    attention.relativePositionBiasTable.update { t in for i in t.indices { t[i] = Float(g.nextGaussian()) * 0.5 } }
    let mask = SwinTransformerBlock.shiftedWindowMask(height: 4, width: 4, windowSize: 2, shiftSize: 1)
    let x = Tensor.randomNormal([8, 4, 4], using: &g, requiresGrad: true)  // 2 images × 4 windows
    let masked = GradientCheck.maxRelativeError(of: { _ in attention(x, mask: mask) }, at: [x] + attention.parameters)
    #expect(masked < 5e-2, "window attention (masked): \(masked)")
    let plain = GradientCheck.maxRelativeError(of: { _ in attention(x) }, at: [attention.relativePositionBiasTable])
    #expect(plain < 5e-2, "window attention (bias table): \(plain)")
  }

  /// A whole shifted block (roll, partition, mask, reverse, MLP) against central differences.
  @Test func shiftedBlockGradientCheck() {
    var g = RandomGenerator(seed: 6)
    let block = SwinTransformerBlock(
      dimension: 4, inputResolution: (4, 4), heads: 2, windowSize: 2, shiftSize: 1, mlpRatio: 2, using: &g)
    #expect(block.shiftSize == 1 && block.attnMask != nil)
    let x = Tensor.randomNormal([1, 16, 4], using: &g, requiresGrad: true)
    let e = GradientCheck.maxRelativeError(of: { _ in block(x) }, at: [x] + block.parameters)
    #expect(e < 5e-2, "shifted Swin block: \(e)")
  }

  // MARK: The shifted-window mask

  @Test func shiftMaskSeparatesTheWrappedRegions() {
    let mask = SwinTransformerBlock.shiftedWindowMask(height: 8, width: 8, windowSize: 4, shiftSize: 2)
    #expect(mask.shape == [4, 16, 16])
    #expect(mask.data.allSatisfy { $0 == 0 || $0 == -100 })
    func window(_ k: Int) -> ArraySlice<Float> { mask.data[(k * 256)..<((k + 1) * 256)] }
    // Top-left window: nothing wrapped. Top-right and bottom-left: 2 regions of 8 tokens.
    // Bottom-right: 4 regions of 4 tokens, so 4 · 4² pairs attend.
    #expect(window(0).allSatisfy { $0 == 0 })
    #expect(window(1).filter { $0 == 0 }.count == 2 * 64 && window(2).filter { $0 == 0 }.count == 2 * 64)
    #expect(window(3).filter { $0 == 0 }.count == 4 * 16)
    for k in 0..<4 {
      for i in 0..<16 {
        #expect(mask.data[k * 256 + i * 16 + i] == 0)
        for j in 0..<16 { #expect(mask.data[k * 256 + i * 16 + j] == mask.data[k * 256 + j * 16 + i]) }
      }
    }
    // A block no larger than its window is one unshifted window and has no mask.
    var g = RandomGenerator(seed: 7)
    let small = SwinTransformerBlock(dimension: 4, inputResolution: (4, 4), heads: 1, windowSize: 7, shiftSize: 3, using: &g)
    #expect(small.windowSize == 4 && small.shiftSize == 0 && small.attnMask == nil)
  }

  /// After the cyclic shift, image token (0, 0) shares the bottom-right window with (7, 7) and
  /// (1, 1); the mask lets it reach (1, 1), its neighbour in the unshifted image, but not (7, 7)
  /// on the far side of the wrapped boundary. Without the mask, it would.
  @Test func shiftedTokensDoNotAttendAcrossTheWrappedBoundary() throws {
    var g = RandomGenerator(seed: 8)
    let block = SwinTransformerBlock(dimension: 8, inputResolution: (8, 8), heads: 2, windowSize: 4, shiftSize: 2, using: &g)
    block.isTraining = false
    for p in block.parameters {  // O(1) weights, so an attended change is plainly visible
      p.update { v in for i in v.indices { v[i] = Float(g.nextGaussian()) * 0.5 } }
    }
    let x = Tensor.randomNormal([1, 64, 8], using: &g)
    var bumped = x.data
    for c in 0..<8 { bumped[c] += Float(g.nextGaussian()) }  // token (0, 0); not constant (LayerNorm)
    let x2 = Tensor(shape: x.shape, data: bumped)
    func change(at token: Int) -> Float {
      let (a, b) = (block(x).data, block(x2).data)
      return (0..<8).map { abs(a[token * 8 + $0] - b[token * 8 + $0]) }.max() ?? 0
    }
    #expect(change(at: 1 * 8 + 1) > 1e-3)
    #expect(change(at: 7 * 8 + 7) < 1e-6)
    let mask = try #require(block.attnMask)
    mask.assign([Float](repeating: 0, count: mask.count))
    #expect(change(at: 7 * 8 + 7) > 1e-3)
  }

  // MARK: Stochastic depth

  @Test func dropPathIsSeededAndOffInEvaluation() {
    var g = RandomGenerator(seed: 9)
    var config = SwinTransformer.Configuration(
      imageSize: 16, embedDimension: 8, depths: [2, 2], heads: [2, 2], windowSize: 2, classes: 3)
    config.dropPathRate = 0.5
    let model = SwinTransformer(config, using: &g)
    let rates: [Float] = model.layers.flatMap { $0.blocks.map(\.dropPath) }
    let expected: [Float] = [0, Float(0.5) / 3, Float(1) / 3, 0.5]
    #expect(rates == expected)
    let x = Tensor.randomNormal([4, 3, 16, 16], using: &g)
    var r1 = RandomGenerator(seed: 10), r2 = RandomGenerator(seed: 10), r3 = RandomGenerator(seed: 11)
    let a = model(x, using: &r1), b = model(x, using: &r2), c = model(x, using: &r3)
    #expect(a.data == b.data && a.data != c.data)
    model.isTraining = false
    var r4 = RandomGenerator(seed: 12)
    #expect(model(x).data == model(x, using: &r4).data)
  }
}

import Engine
import Foundation
import Methods
import NN
import Testing
import _TestSupport

/// TransMIL and ABMIL against the official PyTorch code on the same weights and bags
/// (Fixtures/make_mil_fixtures.py; versions and sources in Fixtures/mil_fixtures.json): the
/// official state dicts load by name, and logits, probabilities and ABMIL attention agree to
/// 1e-4 relative for bags of 1, 7, 30, 50 and 300 instances.
@Suite struct MILGoldenTests {
  struct Fixture {
    let byName: [String: SafeTensorsEntry]
    let meta: [String: Any]

    init() throws {
      func url(_ name: String, _ ext: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"))
      }
      byName = Dictionary(
        uniqueKeysWithValues: try SafeTensors.read(try url("mil_golden", "safetensors").path).entries.map { ($0.name, $0) })
      meta = try #require(
        try JSONSerialization.jsonObject(with: Data(contentsOf: try url("mil_fixtures", "json"))) as? [String: Any])
    }

    static func weights(_ name: String) throws -> [SafeTensorsEntry] {
      let url = try #require(Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
      return try SafeTensors.read(url.path).entries
    }

    var bagSizes: [Int] { (meta["bag_sizes"] as? [Int]) ?? [] }

    func tensor(_ key: String) throws -> Tensor {
      let e = try #require(byName[key], "mil_golden has no \(key)")
      return Tensor(shape: e.shape, data: e.values)
    }
  }

  /// `max |a − b| / max |b|` (1 when the counts differ).
  static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return 1 }
    var diff: Float = 0, scale: Float = 0
    for (x, y) in zip(a.data, b.data) {
      diff = max(diff, abs(x - y))
      scale = max(scale, abs(y))
    }
    return diff / max(scale, 1e-12)
  }

  @Test(arguments: [false, true]) func transMILMatchesTheOfficialCode(legacyOutputSlice: Bool) throws {
    let fixture = try Fixture()
    var g = RandomGenerator(seed: 0)
    let model = TransMIL(inputDimension: 32, dimension: 64, classes: 3, legacyOutputSlice: legacyOutputSlice, using: &g)
    model.isTraining = false
    let report = model.loadStateDict(try Fixture.weights("mil_transmil"))
    #expect(report.isExact, "\(report)")
    let key = legacyOutputSlice ? "transmil_legacy" : "transmil"
    #expect(fixture.bagSizes.count == 5)
    for n in fixture.bagSizes {
      let bag = try fixture.tensor("bag.\(n)")
      let logits = model(bag.reshaped([1, n, 32]), using: &g)
      let logitError = Self.relativeError(logits, try fixture.tensor("\(key).logits.\(n)"))
      let probError = Self.relativeError(logits.softmax(axis: -1), try fixture.tensor("\(key).prob.\(n)"))
      #expect(logitError <= 1e-4, "\(key) N=\(n): logits relative error \(logitError)")
      #expect(probError <= 1e-4, "\(key) N=\(n): probabilities relative error \(probError)")
      print("MIL golden \(key) N=\(n): logits \(logitError), probabilities \(probError)")
    }
  }

  /// The counter-based values of Fixtures/make_transmil512_fixture.py, bit for bit: FNV-1a 64 of
  /// the name, the splitmix64 finaliser of `h + (i + 1)·γ`, 24 bits to `u ∈ [-1, 1)`, then
  /// `Float(offset + scale·u)` computed in Double (exact, since `scale` is a power of two).
  enum FixtureValues {
    static func values(_ name: String, count: Int, scale: Double, offset: Double) -> [Float] {
      var h: UInt64 = 0xCBF2_9CE4_8422_2325
      for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
      return (1...max(count, 1)).prefix(count).map { i in
        var z = h &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Double(z >> 40) / 8_388_608 - 1
        return Float(offset + scale * u)
      }
    }
  }

  /// The official TransMIL at full size (width 512, 1024 inputs, 256 landmarks, 8 heads × 64) on
  /// generated weights and bags of 1, 300 and 1000 instances: logits and probabilities agree with
  /// the official code to 1e-4 relative, for both nystrom-attention slicings.
  @Test(arguments: [false, true]) func fullSizeTransMILMatchesTheOfficialCode(legacyOutputSlice: Bool) throws {
    let url = try #require(Bundle.module.url(forResource: "mil_transmil512", withExtension: "json", subdirectory: "Fixtures"))
    let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let tensors = try #require(meta["tensors"] as? [String: [String: Any]])
    let outputs = try #require(meta["outputs"] as? [String: [Double]])
    let bagSizes = try #require(meta["bag_sizes"] as? [Int])
    var entries: [SafeTensorsEntry] = []
    for (name, spec) in tensors.sorted(by: { $0.key < $1.key }) {
      let shape = try #require(spec["shape"] as? [Int])
      let scale = try #require((spec["scale"] as? NSNumber)?.doubleValue)
      let offset = try #require((spec["offset"] as? NSNumber)?.doubleValue)
      entries.append(.init(name: name, shape: shape,
        values: FixtureValues.values(name, count: shape.reduce(1, *), scale: scale, offset: offset)))
    }
    var g = RandomGenerator(seed: 0)
    let model = TransMIL(legacyOutputSlice: legacyOutputSlice, using: &g)
    model.isTraining = false
    let report = model.loadStateDict(entries)
    #expect(report.isExact, "\(report)")
    let key = legacyOutputSlice ? "transmil_legacy" : "transmil"
    #expect(bagSizes == [1, 300, 1000])
    for n in bagSizes {
      let bag = Tensor(shape: [1, n, 1024], data: FixtureValues.values("bag.\(n)", count: n * 1024, scale: 1, offset: 0))
      let logits = model(bag, using: &g)
      let expectedLogits = try #require(outputs["\(key).logits.\(n)"]).map(Float.init)
      let expectedProb = try #require(outputs["\(key).prob.\(n)"]).map(Float.init)
      let logitError = Self.relativeError(logits, Tensor(shape: [1, 2], data: expectedLogits))
      let probError = Self.relativeError(logits.softmax(axis: -1), Tensor(shape: [1, 2], data: expectedProb))
      #expect(logitError <= 1e-4, "\(key) width 512, N=\(n): logits relative error \(logitError)")
      #expect(probError <= 1e-4, "\(key) width 512, N=\(n): probabilities relative error \(probError)")
      print("MIL golden \(key) width 512 N=\(n): logits \(logitError), probabilities \(probError)")
    }
  }

  /// The two nystrom-attention versions disagree on padded bags, so the flag is exercised.
  @Test func legacySliceChangesPaddedBags() throws {
    let fixture = try Fixture()
    let current = try fixture.tensor("transmil.logits.300"), legacy = try fixture.tensor("transmil_legacy.logits.300")
    #expect(Self.relativeError(current, legacy) > 1e-3)
  }

  @Test func abmilMatchesTheOfficialGatedAttention() throws {
    let fixture = try Fixture()
    var g = RandomGenerator(seed: 0)
    let model = ABMIL(inputDimension: 32, using: &g)
    model.isTraining = false
    let report = model.loadStateDict(try Fixture.weights("mil_abmil"))
    #expect(report.isExact, "\(report)")
    for n in fixture.bagSizes {
      let (logits, attention) = model(try fixture.tensor("bag.\(n)"), using: &g)
      let errors = [
        ("logit", Self.relativeError(logits, try fixture.tensor("abmil.logit.\(n)"))),
        ("probability", Self.relativeError(ABMIL.probabilities(logits), try fixture.tensor("abmil.prob.\(n)"))),
        ("attention", Self.relativeError(attention, try fixture.tensor("abmil.attention.\(n)"))),
      ]
      for (name, error) in errors { #expect(error <= 1e-4, "ABMIL N=\(n): \(name) relative error \(error)") }
      print("MIL golden abmil N=\(n): " + errors.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
    }
  }

  /// The Swift TransMIL at its default (official) sizes has exactly the official state-dict keys
  /// and shapes of `TransMIL(n_classes=2)` at width 512 and 1024 input features.
  @Test func transMILDefaultSizesHaveTheOfficialKeysAndShapes() throws {
    let fixture = try Fixture()
    let official = try #require(fixture.meta["transmil_official_keys"] as? [[Any]])
    let expected = official.compactMap { pair -> String? in
      guard let name = pair.first as? String, let shape = pair.last as? [Int] else { return nil }
      return "\(name) \(shape)"
    }
    var g = RandomGenerator(seed: 0)
    let model = TransMIL(classes: 2, using: &g)
    #expect(model.namedParameters.map { "\($0.name) \($0.tensor.shape)" } == expected)
  }
}

/// The experiment switch `valueResidual`: the official model has the Nyström value convolution in
/// both layers; without it the state dict lacks exactly those two tensors and the model still runs.
@Suite struct TransMILValueResidualTests {
  @Test func switchingTheValueConvolutionOffRemovesOnlyItsWeights() {
    var g = RandomGenerator(seed: 3)
    let official = TransMIL(inputDimension: 4, dimension: 16, classes: 2, dropout: 0, using: &g)
    let without = TransMIL(inputDimension: 4, dimension: 16, classes: 2, dropout: 0, valueResidual: false, using: &g)
    let names = Set(official.namedParameters.map(\.name)), other = Set(without.namedParameters.map(\.name))
    #expect(names.subtracting(other) == ["layer1.attn.res_conv.weight", "layer2.attn.res_conv.weight"])
    #expect(other.isSubset(of: names))
    without.isTraining = false
    let logits = without(Tensor(shape: [1, 5, 4], data: (0..<20).map { Float($0) / 20 }), using: &g)
    #expect(logits.shape == [1, 2] && logits.data.allSatisfy(\.isFinite))
  }
}

/// The experiment switch `exactAttention`: the same parameters under the same names and the same
/// draws (a Nyström model's weights load unchanged), and a different forward pass.
@Suite struct TransMILExactAttentionTests {
  @Test func exactAttentionKeepsTheWeightsAndTheirNames() {
    var g1 = RandomGenerator(seed: 4), g2 = RandomGenerator(seed: 4)
    let nystrom = TransMIL(inputDimension: 4, dimension: 16, classes: 2, dropout: 0, using: &g1)
    let exact = TransMIL(inputDimension: 4, dimension: 16, classes: 2, dropout: 0, attention: .exact, using: &g2)
    #expect(nystrom.namedParameters.map(\.name) == exact.namedParameters.map(\.name))
    #expect(nystrom.parameters.map(\.data) == exact.parameters.map(\.data))
    nystrom.isTraining = false
    exact.isTraining = false
    // 6 instances → a 3×3 grid + class token = 10 tokens, padded to 16 = 8 landmarks × 2: Nyström
    // averages token pairs, so the logits differ, but both are finite and of the same shape.
    var g = RandomGenerator(seed: 5)
    let bag = Tensor.randomNormal([1, 6, 4], using: &g)
    let a = nystrom(bag, using: &g), b = exact(bag, using: &g)
    #expect(a.shape == b.shape && b.data.allSatisfy(\.isFinite))
    #expect(a.data != b.data)
  }
}

/// The experiment switch `attention: .multihead`: torch's multi-head attention in both layers,
/// under torch's names, and `MILWeights.transMIL(from:)` recognises such a state dict (and one
/// without the value convolution) by its names and reloads the same model.
@Suite struct TransMILMultiheadAttentionTests {
  @Test func multiheadTransMILHasTorchNamesAndReloads() throws {
    var g = RandomGenerator(seed: 6)
    let model = TransMIL(inputDimension: 4, dimension: 16, classes: 2, attention: .multihead, using: &g)
    let names = model.namedParameters.map(\.name)
    #expect(names.filter { $0.hasPrefix("layer1.attn.") } == [
      "layer1.attn.in_proj_weight", "layer1.attn.in_proj_bias", "layer1.attn.out_proj.weight", "layer1.attn.out_proj.bias",
    ])
    #expect(!names.contains { $0.contains("res_conv") || $0.contains("to_qkv") })
    model.isTraining = false
    let bag = Tensor.randomNormal([1, 6, 4], using: &g)
    let logits = model(bag, using: &g)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mha-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("transmil.safetensors").path
    try SafeTensors.write(model.stateDict(), to: path)
    let loaded = try MILWeights.transMIL(from: path)
    #expect(loaded.layer1.attn is MultiheadSelfAttention && loaded.layer2.attn is MultiheadSelfAttention)
    #expect(loaded(bag, using: &g).data == logits.data)
    // Nyström without its value convolution reloads as such (it had been refused as incomplete).
    let plain = TransMIL(inputDimension: 4, dimension: 16, classes: 2, valueResidual: false, using: &g)
    plain.isTraining = false
    try SafeTensors.write(plain.stateDict(), to: path)
    #expect(try MILWeights.transMIL(from: path)(bag, using: &g).data == plain(bag, using: &g).data)
  }
}

/// The whole TransMIL's backward pass against central differences, for each attention: the
/// goldens check the forward pass against the official code, this checks what training uses
/// (the copy-padding to a square, the class token, PPEG's grid, both layers and the head).
/// The step is 3e-3: at 1e-2 one of `_fc1`'s ReLU inputs crosses zero inside the difference and
/// that entry alone reads 0.58 (exact) or 0.73 (Nyström); at 3e-3 every tensor is within 0.02.
@Suite struct TransMILGradientTests {
  @Test(arguments: TransMIL.Attention.allCases)
  func gradientsMatchFiniteDifferences(attention: TransMIL.Attention) {
    var g = RandomGenerator(seed: 11)
    let model = TransMIL(inputDimension: 3, dimension: 8, classes: 2, dropout: 0, attention: attention, using: &g)
    let bag = Tensor.randomNormal([1, 7, 3], using: &g, requiresGrad: true)  // 7 → a 3×3 grid: two copies
    var unused = RandomGenerator(seed: 12)
    let e = GradientCheck.maxRelativeError(of: { _ in model(bag, using: &unused) }, at: [bag] + model.parameters, epsilon: 3e-3)
    #expect(e < 5e-2, "TransMIL (\(attention)) gradients: \(e)")
  }
}

/// Training, not just one pass: TransMIL with torch's multi-head attention trained for 12
/// optimiser steps (cross-entropy, accumulation 2, torch's RAdam inside Lookahead) on six fixed
/// bags, against the project's independent PyTorch TransMIL run the same way from the same
/// weights (fixture by Fixtures/make_transmil_training_fixture.py). Every bag's loss and every
/// final weight must agree, so a difference between the two engines' training cannot hide in
/// a forward pass that matches.
@Suite struct TransMILTrainingGoldenTests {
  @Test func twelveStepsMatchPyTorch() throws {
    let url = try #require(
      Bundle.module.url(forResource: "transmil_mha_training", withExtension: "safetensors", subdirectory: "Fixtures"))
    let entries = try SafeTensors.read(url.path).entries
    let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
    func swiftName(_ name: String) -> String { name.replacingOccurrences(of: "attn.attention.", with: "attn.") }
    func prefixed(_ prefix: String) -> [SafeTensorsEntry] {
      entries.filter { $0.name.hasPrefix(prefix) }.map {
        SafeTensorsEntry(name: swiftName(String($0.name.dropFirst(prefix.count))), shape: $0.shape, values: $0.values)
      }
    }
    var g = RandomGenerator(seed: 0)
    let model = TransMIL(inputDimension: 8, dimension: 16, classes: 2, dropout: 0, attention: .multihead, using: &g)
    let report = model.loadStateDict(prefixed("init."))
    #expect(report.isExact, "\(report)")
    let bags = try (0..<6).map { i -> Tensor in
      let e = try #require(byName["bag\(i)"])
      return Tensor(shape: [1] + e.shape, data: e.values)
    }
    let labels = try #require(byName["labels"]).values.map { Int($0) }
    let expectedLosses = try #require(byName["losses"]).values
    let parameters = model.parameters
    let inner = RAdam(parameters: parameters, learningRate: 1e-2, weightDecay: 1e-5, variant: .torch)
    let optimizer = Lookahead(inner, parameters: parameters, alpha: 0.5, k: 2, variant: .paper)
    var losses: [Float] = []
    model.isTraining = true
    for epoch in 0..<4 {
      let order: [Int] = epoch % 2 == 0 ? [0, 3, 1, 4, 2, 5] : [5, 2, 4, 1, 3, 0]
      for (k, i) in order.enumerated() {
        let loss = Loss.crossEntropy(logits: model(bags[i], using: &g), labels: [labels[i]])
        (loss * 0.5).backward()
        losses.append(loss.item)
        if k % 2 == 1 {
          optimizer.step()
          for p in parameters { p.zeroGrad() }
        }
      }
    }
    #expect(losses.count == expectedLosses.count)
    for (a, b) in zip(losses, expectedLosses) { expectClose(Double(a), Double(b), rtol: 0, atol: 2e-5) }
    let final = Dictionary(uniqueKeysWithValues: prefixed("final.").map { ($0.name, $0.values) })
    for (name, tensor) in model.namedParameters {
      let expected = try #require(final[name], "\(name)")
      let scale = expected.map { abs($0) }.max() ?? 1
      let error = zip(tensor.data, expected).map { abs($0 - $1) }.max() ?? 0
      #expect(error <= 1e-4 * max(scale, 1), "\(name): max error \(error)")
    }
  }
}

import Engine
import Foundation
import Methods
import NN
import Testing
import _TestSupport

@Suite struct ABMILTests {
  /// A small model in evaluation mode and a bag of `n` instances.
  func model(classes: Int = 1, seed: UInt64 = 0) -> ABMIL {
    var g = RandomGenerator(seed: seed)
    let m = ABMIL(inputDimension: 6, hidden: 5, attentionDimension: 4, classes: classes, using: &g)
    m.isTraining = false
    return m
  }

  func bag(_ n: Int, seed: UInt64 = 1, requiresGrad: Bool = false) -> Tensor {
    var g = RandomGenerator(seed: seed)
    return Tensor.randomNormal([n, 6], using: &g, requiresGrad: requiresGrad)
  }

  @Test func attentionIsADistributionOverInstances() {
    var g = RandomGenerator(seed: 2)
    for n in [1, 3, 17] {
      let (logits, attention) = model(classes: 3)(bag(n), using: &g)
      #expect(logits.shape == [1, 3])
      #expect(attention.shape == [1, n])
      expectClose(Double(attention.data.reduce(0, +)), 1, rtol: 0, atol: 1e-5)
      #expect(attention.data.allSatisfy { $0 > 0 })
    }
  }

  /// The bag output is a function of the set: permuting the instances permutes the attention
  /// and leaves the logits unchanged (Ilse et al. 2018, Theorem 1).
  @Test func bagOutputIsPermutationInvariant() {
    let m = model()
    let x = bag(9)
    let permutation = [4, 0, 8, 2, 7, 1, 6, 3, 5]
    let rows = x.data
    let permuted = Tensor(shape: [9, 6], data: permutation.flatMap { Array(rows[($0 * 6)..<($0 * 6 + 6)]) })
    var g = RandomGenerator(seed: 3)
    let (a, attentionA) = m(x, using: &g)
    let (b, attentionB) = m(permuted, using: &g)
    expectClose(Double(a.data[0]), Double(b.data[0]), rtol: 0, atol: 1e-5)
    for (i, source) in permutation.enumerated() { expectClose(Double(attentionB.data[i]), Double(attentionA.data[source]), rtol: 0, atol: 1e-6) }
  }

  /// A one-instance bag attends fully to it, so the output is the classifier on `H`.
  @Test func singleInstanceBagIsTheInstanceClassifier() {
    let m = model(classes: 2)
    let x = bag(1)
    var g = RandomGenerator(seed: 4)
    let (logits, attention) = m(x, using: &g)
    #expect(attention.data == [1])
    let expected = m.classifier(m.featureExtractor(x).relu()).data
    for (v, e) in zip(logits.data, expected) { expectClose(Double(v), Double(e), rtol: 0, atol: 1e-6) }
  }

  /// The audit switch: uniform attention weighs every instance 1/N, so the output is the
  /// classifier on the mean of `H`, and the attention layers get no gradient.
  @Test func uniformAttentionIsMeanPoolingThroughTheSameLayers() {
    let m = model(classes: 1)
    m.uniformAttention = true
    let x = bag(5)
    var g = RandomGenerator(seed: 5)
    let (logits, attention) = m(x, using: &g)
    #expect(attention.data == [Float](repeating: 0.2, count: 5))
    let h = m.featureExtractor(x).relu()
    let mean = Tensor(shape: [1, 5], data: [Float](repeating: 0.2, count: 5)).matmul(h)
    expectClose(Double(logits.data[0]), Double(m.classifier(mean).data[0]), rtol: 0, atol: 1e-6)
    logits.sum().backward()
    #expect(m.attentionW.weight.grad == nil || m.attentionW.weight.grad!.data.allSatisfy { $0 == 0 })
    #expect(m.classifier.weight.grad != nil)
  }

  @Test func probabilitiesAreSigmoidForOneClassAndSoftmaxOtherwise() {
    let one = ABMIL.probabilities(Tensor(shape: [1, 1], data: [0.5])).data[0]
    expectClose(Double(one), Double(1 / (1 + expf(-0.5))), rtol: 0, atol: 1e-6)
    let many = ABMIL.probabilities(Tensor(shape: [1, 3], data: [1, 2, 3])).data
    #expect(abs(many.reduce(0, +) - 1) < 1e-6 && many[2] > many[1] && many[1] > many[0])
  }

  /// Autograd through the whole model (logits and attention) agrees with central differences,
  /// for the input and every parameter.
  @Test func gradientsMatchFiniteDifferences() {
    for classes in [1, 3] {
      let m = model(classes: classes, seed: 5)
      // Keep every pre-activation of H well above 0 so ±ε never crosses the ReLU kink (ReLU's
      // derivative is checked in the engine's tests).
      m.featureExtractor.bias?.update { for i in $0.indices { $0[i] += 3 } }
      let x = bag(4, seed: 6, requiresGrad: true)
      var g = RandomGenerator(seed: 7)
      let logits = GradientCheck.maxRelativeError(of: { _ in m(x, using: &g).logits }, at: [x] + m.parameters)
      #expect(logits < 5e-2, "ABMIL logits (\(classes) classes): \(logits)")
      let attention = GradientCheck.maxRelativeError(of: { _ in m(x, using: &g).attention }, at: [x] + m.parameters)
      #expect(attention < 5e-2, "ABMIL attention (\(classes) classes): \(attention)")
    }
  }

  /// Dropout acts only in training mode.
  @Test func dropoutOnlyInTraining() {
    var g = RandomGenerator(seed: 8)
    let m = ABMIL(inputDimension: 6, hidden: 32, attentionDimension: 4, dropout: 0.5, using: &g)
    let x = bag(5)
    m.isTraining = false
    let a = m(x, using: &g).logits.data, b = m(x, using: &g).logits.data
    #expect(a == b)
    m.isTraining = true
    #expect(m(x, using: &g).logits.data != a)
  }

  @Test func stateDictNamesAreTheOfficialOnes() {
    var g = RandomGenerator(seed: 9)
    let m = ABMIL(inputDimension: 128, classes: 2, using: &g)
    let names = m.namedParameters.map(\.name)
    #expect(
      names == [
        "feature_extractor_part2.0.weight", "feature_extractor_part2.0.bias", "attention_V.0.weight",
        "attention_V.0.bias", "attention_U.0.weight", "attention_U.0.bias", "attention_w.weight",
        "attention_w.bias", "classifier.0.weight", "classifier.0.bias",
      ])
    let shapes = m.namedParameters.map(\.tensor.shape)
    #expect(shapes == [[500, 128], [500], [128, 500], [128], [128, 500], [128], [1, 128], [1], [2, 500], [2]])
    // Round trip through the state dict, with the 2020–2023 key name for attention_w.
    let old = m.stateDict().map {
      SafeTensorsEntry(
        name: $0.name.replacingOccurrences(of: "attention_w.", with: "attention_weights."), shape: $0.shape,
        values: $0.values)
    }
    let copy = ABMIL(inputDimension: 128, classes: 2, using: &g)
    let report = copy.loadStateDict(ABMIL.canonicalStateDict(old))
    #expect(report.isExact, "\(report)")
    #expect(copy.attentionW.weight.data == m.attentionW.weight.data)
  }

  /// The MLP head (the TransMIL claim's "ABMIL with a non-linear readout" control): the pooled
  /// embedding goes through `classifier.0`, ReLU and `classifier.2`; gradients agree with central
  /// differences; the state dict carries both layers and loads back from a file, sized by shapes.
  @Test func mlpHeadIsClassifierReLUClassifier() throws {
    var g = RandomGenerator(seed: 10)
    let m = ABMIL(inputDimension: 6, hidden: 5, attentionDimension: 4, classes: 2, headHidden: 3, using: &g)
    m.isTraining = false
    #expect(m.headHidden == 3 && m.classes == 2)
    #expect(
      m.namedParameters.map(\.name).suffix(4) == [
        "classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias",
      ])
    #expect(m.namedParameters.map(\.tensor.shape).suffix(4) == [[3, 5], [3], [2, 3], [2]])
    // One instance: attention 1, so the logits are the head on H, computed by hand from the weights.
    let x = bag(1)
    let h = m.featureExtractor(x).relu().data
    let (w0, b0) = (m.classifier.weight.data, m.classifier.bias!.data)
    let (w2, b2) = (m.classifierOutput!.weight.data, m.classifierOutput!.bias!.data)
    let hidden = (0..<3).map { j in max(0, (0..<5).reduce(b0[j]) { $0 + w0[j * 5 + $1] * h[$1] }) }
    let expected = (0..<2).map { k in (0..<3).reduce(b2[k]) { $0 + w2[k * 3 + $1] * hidden[$1] } }
    let logits = m(x, using: &g).logits.data
    for (v, e) in zip(logits, expected) { expectClose(Double(v), Double(e), rtol: 0, atol: 1e-5) }
    // Gradients, away from both ReLU kinks.
    m.featureExtractor.bias?.update { for i in $0.indices { $0[i] += 3 } }
    m.classifier.bias?.update { for i in $0.indices { $0[i] += 3 } }
    let xs = bag(4, seed: 11, requiresGrad: true)
    let error = GradientCheck.maxRelativeError(of: { _ in m(xs, using: &g).logits }, at: [xs] + m.parameters)
    #expect(error < 5e-2, "ABMIL with an MLP head: \(error)")
    // Round trip through a file: sizes come from the shapes.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("abmil-mlp-\(UUID().uuidString).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try MILWeights.save(m, to: path)
    let loaded = try MILWeights.abmil(from: path)
    #expect("\(loaded)" == "ABMIL(inputDimension: 6, hidden: 5, attentionDimension: 4, classes: 2, dropout: 0.0, headHidden: 3)")
    #expect(loaded(xs, using: &g).logits.data == m(xs, using: &g).logits.data)
  }

  /// The default head is the official linear classifier: no `classifier.2`, and the same draws.
  @Test func defaultHeadIsTheOfficialLinearClassifier() {
    var g1 = RandomGenerator(seed: 12), g2 = RandomGenerator(seed: 12)
    let a = ABMIL(inputDimension: 6, hidden: 5, attentionDimension: 4, using: &g1)
    let b = ABMIL(inputDimension: 6, hidden: 5, attentionDimension: 4, headHidden: 0, using: &g2)
    #expect(a.classifierOutput == nil && a.headHidden == 0)
    #expect(a.namedParameters.map(\.name).last == "classifier.0.bias")
    #expect(a.parameters.map(\.data) == b.parameters.map(\.data))
  }
}

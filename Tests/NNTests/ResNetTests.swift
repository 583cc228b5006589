import Engine
import Foundation
import NN
import Testing

/// ResNet against torchvision: state-dict keys and shapes, and forward/backward on golden
/// fixtures made by `Fixtures/make_resnet_fixtures.py` (torch 2.13 CPU, see
/// `Fixtures/resnet_fixtures.json`).
@Suite struct ResNetTests {
  /// `max |a − b| / max |b|`.
  static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "relativeError: \(a.count) vs \(b.count) values")
    var diff: Float = 0, scale: Float = 0
    for (x, y) in zip(a, b) {
      diff = max(diff, abs(x - y))
      scale = max(scale, abs(y))
    }
    return diff / max(scale, 1e-12)
  }

  static func fixtureURL(_ name: String, _ ext: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"))
  }

  /// `(name, shape)` pairs of one model in `resnet_keys.json`.
  static func torchvisionKeys(_ model: String) throws -> [(String, [Int])] {
    let data = try Data(contentsOf: fixtureURL("resnet_keys", "json"))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let rows = try #require(object[model] as? [[Any]])
    return try rows.map { row in
      (try #require(row[0] as? String), try #require(row[1] as? [Int]))
    }
  }

  @Test(arguments: ["resnet18", "resnet50"])
  func stateDictKeysAndShapesMatchTorchvision(_ name: String) throws {
    var g = RandomGenerator(seed: 1)
    let model = name == "resnet18" ? ResNet.resnet18(using: &g) : ResNet.resnet50(using: &g)
    let expected = try Self.torchvisionKeys(name)
    let ours = model.namedParameters.map { ($0.name, $0.tensor.shape) }
    #expect(ours.map(\.0) == expected.map(\.0))
    #expect(ours.map(\.1) == expected.map(\.1))
    let trainable = name == "resnet18" ? 11_689_512 : 25_557_032  // torchvision's counts
    #expect(model.parameterCount == trainable)
  }

  @Test func featureEncoderHasNoFC() {
    var g = RandomGenerator(seed: 2)
    let r18 = ResNet.resnet18(numClasses: nil, stem: .cifar, using: &g)
    #expect(r18.fc == nil && r18.featureDimension == 512)
    #expect(!r18.namedParameters.contains { $0.name.hasPrefix("fc.") })
  }

  @Test func outputShapesForBothStems() {
    var g = RandomGenerator(seed: 3)
    let x32 = Tensor.randomNormal([2, 3, 32, 32], using: &g)
    let cifar = ResNet.resnet18(numClasses: 10, stem: .cifar, using: &g)
    #expect(cifar(x32).shape == [2, 10])
    let imagenet = ResNet.resnet18(numClasses: nil, stem: .imagenet, using: &g)
    imagenet.isTraining = false
    #expect(imagenet(Tensor.randomNormal([1, 3, 64, 64], using: &g)).shape == [1, 512])
    let r50 = ResNet.resnet50(numClasses: nil, stem: .imagenet, using: &g)
    #expect(r50.featureDimension == 2048 && r50.fc == nil)
    #expect(r50(Tensor.randomNormal([1, 3, 32, 32], using: &g)).shape == [1, 2048])
    let small = ResNet.small(using: &g)
    #expect(small(x32).shape == [2, 10])
    #expect(small.features(x32).shape == [2, 128])
  }

  /// Every BatchNorm in a network, found through the block types.
  static func batchNorms(_ model: ResNet) -> [BatchNorm] {
    var out = [model.bn1]
    for block in model.stages.joined() {
      if let b = block as? BasicBlock {
        out += [b.bn1, b.bn2] + (b.downsample?.layers.compactMap { $0 as? BatchNorm } ?? [])
      } else if let b = block as? Bottleneck {
        out += [b.bn1, b.bn2, b.bn3] + (b.downsample?.layers.compactMap { $0 as? BatchNorm } ?? [])
      }
    }
    return out
  }

  @Test func isTrainingReachesEveryBatchNorm() {
    var g = RandomGenerator(seed: 4)
    for model in [
      ResNet.small(blocksPerStage: 2, using: &g),
      ResNet(
        block: Bottleneck.self, blocksPerStage: [2, 1, 1, 1], widths: [4, 8, 8, 8], using: &g),
    ] {
      let norms = Self.batchNorms(model)
      let runningVars = model.namedParameters.filter { $0.name.hasSuffix(".running_var") }
      #expect(norms.count == runningVars.count)
      model.isTraining = false
      #expect(norms.allSatisfy { !$0.isTraining })
      let x = Tensor.randomNormal([2, 3, 32, 32], using: &g)
      let before = model.stateDict()
      let y1 = model(x), y2 = model(x)
      #expect(y1.data == y2.data && model.stateDict() == before)  // eval: running stats unused
      model.isTraining = true
      #expect(norms.allSatisfy { $0.isTraining })
      _ = model(x)
      #expect(norms.allSatisfy { $0.numBatchesTracked.item == 1 })
    }
  }

  @Test func initialisationFollowsTorchvision() {
    var g1 = RandomGenerator(seed: 5), g2 = RandomGenerator(seed: 5)
    let a = ResNet.resnet18(using: &g1)
    let s1 = ResNet.small(using: &g2), s2 = ResNet.small(using: &g2)
    var g3 = RandomGenerator(seed: 5)
    let s3 = ResNet.small(using: &g3)
    #expect(s1.stateDict() == s3.stateDict())  // deterministic in the generator
    #expect(s1.stateDict() != s2.stateDict())  // and it advances
    // Kaiming normal, fan out: layer3.0.conv1 is [256, 128, 3, 3], std √(2 / (256·9)).
    let w = a.stages[2][0].namedParameters[0]
    #expect(w.name == "conv1.weight")
    let values = w.tensor.data
    let mean = values.reduce(0, +) / Float(values.count)
    let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count))
      .squareRoot()
    let expected = (2 / Float(256 * 9)).squareRoot()
    #expect(abs(mean) < 0.02 * expected && abs(std / expected - 1) < 0.01)
    #expect(a.bn1.weight?.data.allSatisfy { $0 == 1 } == true)
    #expect(a.bn1.bias?.data.allSatisfy { $0 == 0 } == true)
    let bound = 1 / Float(512).squareRoot()  // fc: PyTorch default U(±1/√fan_in)
    #expect(a.fc?.weight.data.allSatisfy { abs($0) <= bound } == true)
  }

  // MARK: Golden fixtures

  /// One fixture: the model to build and its forward.
  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    var testDescription: String { name }

    func make() -> (Module, (Tensor) -> Tensor) {
      var g = RandomGenerator(seed: 6)
      switch name {
      case "basic":
        let m = BasicBlock(inputChannels: 16, planes: 32, stride: 2, using: &g)
        return (m, { m($0) })
      case "bottleneck":
        let m = Bottleneck(inputChannels: 32, planes: 8, stride: 2, using: &g)
        return (m, { m($0) })
      case "small_cifar", "small_imagenet":
        let m = ResNet.small(
          widths: [8, 16, 32, 64], numClasses: 10,
          stem: name == "small_cifar" ? .cifar : .imagenet, using: &g)
        return (m, { m($0) })
      default:
        let m = ResNet(
          block: Bottleneck.self, blocksPerStage: [1, 1, 1, 1], widths: [4, 8, 16, 32],
          stem: .imagenet, numClasses: 5, using: &g)
        return (m, { m($0) })
      }
    }
  }

  static let cases = ["basic", "bottleneck", "small_cifar", "small_imagenet", "small_bottleneck"]
    .map(Case.init)

  @Test(arguments: cases)
  func matchesPyTorch(_ fixture: Case) throws {
    let url = try Self.fixtureURL("resnet_\(fixture.name)", "safetensors")
    let entries = try SafeTensors.read(url.path).entries
    let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
    func tensor(_ key: String) throws -> Tensor {
      let e = try #require(byName[key], "fixture has no \(key)")
      return Tensor(shape: e.shape, data: e.values)
    }
    let (model, forward) = fixture.make()
    let weights = entries.filter { $0.name.hasPrefix("w.") }.map {
      SafeTensorsEntry(name: String($0.name.dropFirst(2)), shape: $0.shape, values: $0.values)
    }
    let report = model.loadStateDict(weights)
    #expect(report.isExact, "\(report)")
    #expect(report.loaded == weights.count)

    // Evaluation mode: running statistics.
    model.isTraining = false
    let input = try tensor("input")
    let expected = try tensor("eval.output")
    let y = Tensor.withoutGrad { forward(input) }
    #expect(y.shape == expected.shape)
    let evalError = Self.relativeError(y.data, expected.data)
    #expect(evalError <= 1e-4)

    // Training mode: batch statistics, gradients of output.sum(), running-stat updates.
    model.isTraining = true
    let x = Tensor(shape: input.shape, data: input.data, requiresGrad: true)
    let out = forward(x)
    var worst: [String: Float] = [:]
    worst["train.output"] = Self.relativeError(out.data, try tensor("train.output").data)
    out.sum().backward()
    worst["grad.input"] = Self.relativeError(x.grad?.data ?? [], try tensor("grad.input").data)
    let params = Dictionary(
      uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.tensor) })
    for entry in entries where entry.name.hasPrefix("grad.") && entry.name != "grad.input" {
      let p = try #require(params[String(entry.name.dropFirst(5))])
      let grad = try #require(p.grad, "no gradient for \(entry.name)")
      worst[entry.name] = Self.relativeError(grad.data, entry.values)
    }
    for entry in entries where entry.name.hasPrefix("after.") {
      let p = try #require(params[String(entry.name.dropFirst(6))])
      worst[entry.name] = Self.relativeError(p.data, entry.values)
    }
    for (key, error) in worst.sorted(by: { $0.key < $1.key }) {
      #expect(error <= (key.hasPrefix("grad.") ? 1e-3 : 1e-4), "\(key): \(error)")
    }
    let maxGrad = worst.filter { $0.key.hasPrefix("grad.") }.values.max() ?? 0
    print("ResNet fixture \(fixture.name): eval \(evalError), max grad \(maxGrad), all \(worst)")
  }
}

import Engine
import Foundation
import NN
import Testing

@Suite struct StateDictTests {
  func mlp(seed: UInt64) -> Sequential {
    var g = RandomGenerator(seed: seed)
    let a = Linear(inputSize: 3, outputSize: 4, using: &g)
    let bn = BatchNorm(features: 4)
    let b = Linear(inputSize: 4, outputSize: 2, using: &g)
    return Sequential([(a, { a($0) }), (bn, { bn($0) }), (b, { b($0) })])
  }

  @Test func namesFollowPyTorch() {
    #expect(mlp(seed: 0).namedParameters.map(\.name) == [
      "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
      "2.weight", "2.bias",
    ])
  }

  @Test func roundTripThroughSafetensors() throws {
    let source = mlp(seed: 1), target = mlp(seed: 2)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sd-\(UUID().uuidString).safetensors").path
    try SafeTensors.write(source.stateDict(), to: path)
    let report = target.loadStateDict(try SafeTensors.read(path).entries)
    #expect(report.isExact && report.loaded == 9)
    #expect(target.stateDict() == source.stateDict())
  }

  @Test func reportsMissingUnexpectedAndMisshapenKeysByName() {
    let model = mlp(seed: 3)
    var entries = model.stateDict().filter { $0.name != "2.bias" }
    entries.append(SafeTensorsEntry(name: "head.weight", shape: [1], values: [0]))
    if let i = entries.firstIndex(where: { $0.name == "0.weight" }) {
      entries[i] = SafeTensorsEntry(name: "0.weight", shape: [4, 2], values: [Float](repeating: 0, count: 8))
    }
    let report = mlp(seed: 4).loadStateDict(entries)
    #expect(report.missing == ["2.bias"])
    #expect(report.unexpected == ["head.weight"])
    #expect(report.mismatched == ["0.weight (model [4, 3], file [4, 2])"])
    #expect(!report.isExact)
  }
}

import Engine
import Foundation
import NN
import Testing

/// One golden safetensors fixture of the layout `make_swin_fixtures.py` writes: `w.<key>` weights
/// and buffers, `input`, loss weights `weight`, `output`, `grad.input`, `grad.<key>` (optionally
/// behind a mode prefix such as `eval.`).
struct GoldenFixture {
  let name: String
  let byName: [String: SafeTensorsEntry]

  init(_ name: String) throws {
    let url = try #require(
      Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
    self.name = name
    byName = Dictionary(uniqueKeysWithValues: try SafeTensors.read(url.path).entries.map { ($0.name, $0) })
  }

  /// The entry `key` as a tensor.
  func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
    let e = try #require(byName[key], "\(name) has no \(key)")
    return Tensor(shape: e.shape, data: e.values, requiresGrad: requiresGrad)
  }

  /// The `w.` entries under their state-dict names.
  var weights: [SafeTensorsEntry] {
    byName.values.filter { $0.name.hasPrefix("w.") }.map {
      SafeTensorsEntry(name: String($0.name.dropFirst(2)), shape: $0.shape, values: $0.values)
    }
  }

  /// Loads the weights into `module` and expects every key to match by name and shape.
  func load(into module: Module) {
    let report = module.loadStateDict(weights)
    #expect(report.isExact, "\(name): \(report)")
  }

  /// Runs `forward` on the input, back-propagates `Σ output ⊙ weight`, and returns the relative
  /// error of the output, of `grad.input` and of every `grad.<key>` the fixture holds for
  /// `module`'s parameters.
  func compare(_ module: Module, prefix: String = "", _ forward: (Tensor) -> Tensor) throws -> [String: Float] {
    let x = try tensor("input", requiresGrad: true)
    module.zeroGrad()
    let y = forward(x)
    let expected = try tensor(prefix + "output")
    #expect(y.shape == expected.shape, "\(name): output \(y.shape), expected \(expected.shape)")
    var errors = ["output": Self.relativeError(y.data, expected.data)]
    (y * (try tensor(prefix + "weight"))).sum().backward()
    errors["grad.input"] = Self.relativeError(x.grad?.data ?? [], try tensor(prefix + "grad.input").data)
    let params = Dictionary(uniqueKeysWithValues: module.namedParameters.map { ($0.name, $0.tensor) })
    let gradPrefix = prefix + "grad."
    for (key, entry) in byName where key.hasPrefix(gradPrefix) && key != gradPrefix + "input" {
      let parameter = String(key.dropFirst(gradPrefix.count))
      let p = try #require(params[parameter], "\(name): no parameter \(parameter)")
      errors["grad." + parameter] = Self.relativeError(p.grad?.data ?? [], entry.values)
    }
    return errors
  }

  /// `max |a − b| / max |b|` (1 when the counts differ, e.g. a missing gradient).
  static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return 1 }
    var diff: Float = 0, scale: Float = 0
    for (x, y) in zip(a, b) {
      diff = max(diff, abs(x - y))
      scale = max(scale, abs(y))
    }
    return diff / max(scale, 1e-12)
  }

  /// Expects every error ≤ `tolerance` and prints the worst, for the report.
  static func expectWithin(_ errors: [String: Float], _ tolerance: Float = 1e-4, label: String) {
    for (key, error) in errors.sorted(by: { $0.key < $1.key }) {
      #expect(error <= tolerance, "\(label) \(key): relative error \(error)")
    }
    let worstGrad = errors.filter { $0.key.hasPrefix("grad.") }.max { $0.value < $1.value }
    print(
      "\(label): output \(errors["output"] ?? -1), worst gradient \(worstGrad?.key ?? "-") \(worstGrad?.value ?? -1) "
        + "(\(errors.count - 1) gradients)")
  }
}

import Engine

/// What loading a state dict did: keys that matched, and those that did not, by name.
public struct StateDictReport: Sendable, Equatable, CustomStringConvertible {
  /// Keys of the model with no entry in the file.
  public var missing: [String]
  /// Entries in the file that the model does not have.
  public var unexpected: [String]
  /// Keys present in both with different shapes: (name, model shape, file shape).
  public var mismatched: [String]
  /// Number of tensors copied.
  public var loaded: Int

  /// True when every model key loaded and nothing was left over.
  public var isExact: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

  public var description: String {
    var parts = ["loaded \(loaded)"]
    if !missing.isEmpty { parts.append("missing: \(missing.joined(separator: ", "))") }
    if !unexpected.isEmpty { parts.append("unexpected: \(unexpected.joined(separator: ", "))") }
    if !mismatched.isEmpty { parts.append("shape mismatch: \(mismatched.joined(separator: ", "))") }
    return parts.joined(separator: "; ")
  }
}

extension Module {
  /// The model's tensors as safetensors entries, by state-dict name.
  public func stateDict() -> [SafeTensorsEntry] {
    namedParameters.map { SafeTensorsEntry(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.data) }
  }

  /// Copies matching entries into the model (PyTorch `load_state_dict(strict=False)`) and reports
  /// missing, unexpected and mis-shaped keys by name. A shape mismatch leaves that tensor unchanged.
  @discardableResult
  public func loadStateDict(_ entries: [SafeTensorsEntry]) -> StateDictReport {
    let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    var report = StateDictReport(missing: [], unexpected: [], mismatched: [], loaded: 0)
    let own = namedParameters
    for (name, tensor) in own {
      guard let entry = byName[name] else { report.missing.append(name); continue }
      // A scalar buffer (num_batches_tracked) may be saved as [] or [1].
      guard entry.shape == tensor.shape || (entry.values.count == 1 && tensor.count == 1) else {
        report.mismatched.append("\(name) (model \(tensor.shape), file \(entry.shape))")
        continue
      }
      tensor.assign(entry.values)
      report.loaded += 1
    }
    let ownNames = Set(own.map(\.name))
    report.unexpected = entries.map(\.name).filter { !ownNames.contains($0) }
    return report
  }
}

/// Runs modules one after another; children are named `0`, `1`, … as in `nn.Sequential`.
public final class Sequential: Module {
  public let layers: [any Module]
  private let forward: [(Tensor) -> Tensor]
  public var isTraining = true {
    didSet { for var layer in layers { layer.isTraining = isTraining } }
  }

  /// `steps` pairs each child module with how to apply it (modules are not callable through the protocol).
  public init(_ steps: [(any Module, (Tensor) -> Tensor)]) {
    layers = steps.map(\.0)
    forward = steps.map(\.1)
  }

  public func callAsFunction(_ x: Tensor) -> Tensor { forward.reduce(x) { $1($0) } }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    layers.enumerated().flatMap { i, layer in prefixed(String(i), layer) }
  }
}

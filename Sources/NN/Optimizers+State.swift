import Engine

/// An optimiser's state between steps, by PyTorch-like names: buffers such as
/// `momentum_buffer.3` (parameter 3's momentum) or `exp_avg_sq.0`, and counters such as `step`.
///
/// A buffer a PyTorch optimiser creates lazily (SGD's momentum before the first step) is absent
/// until it exists, so a restored optimiser makes it at the same step the original did.
public struct OptimizerState: Sendable, Equatable {
  /// Per-parameter vectors, `"<name>.<parameter index>"`.
  public var buffers: [String: [Float]]
  /// Step counters.
  public var counters: [String: Int]

  public init(buffers: [String: [Float]] = [:], counters: [String: Int] = [:]) {
    self.buffers = buffers
    self.counters = counters
  }

  /// This state with `prefix` before every name (a wrapped optimiser's state).
  func prefixed(_ prefix: String) -> OptimizerState {
    OptimizerState(
      buffers: Dictionary(uniqueKeysWithValues: buffers.map { (prefix + $0.key, $0.value) }),
      counters: Dictionary(uniqueKeysWithValues: counters.map { (prefix + $0.key, $0.value) }))
  }

  /// The part of this state under `prefix`, without it.
  func unprefixed(_ prefix: String) -> OptimizerState {
    func strip<V>(_ d: [String: V]) -> [String: V] {
      Dictionary(
        uniqueKeysWithValues: d.filter { $0.key.hasPrefix(prefix) }.map {
          (String($0.key.dropFirst(prefix.count)), $0.value)
        })
    }
    return OptimizerState(buffers: strip(buffers), counters: strip(counters))
  }
}

/// Why a saved optimiser state does not fit the optimiser it is restored into.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
  case missing(name: String)
  case wrongSize(name: String, count: Int, expected: Int)
  case unexpected(names: [String])

  public var description: String {
    switch self {
    case .missing(let name): return "optimiser state: '\(name)' is missing"
    case .wrongSize(let name, let count, let expected):
      return "optimiser state: '\(name)' has \(count) values, expected \(expected)"
    case .unexpected(let names):
      let shown = names.sorted().prefix(5).joined(separator: ", ")
      return "optimiser state: unexpected entries \(shown) (another optimiser's?)"
    }
  }
}

/// Reads per-parameter buffers out of a state, checking sizes before anything is changed.
struct OptimizerStateReader {
  let state: OptimizerState
  let parameters: [Tensor]
  private(set) var used: Set<String> = []

  init(_ state: OptimizerState, parameters: [Tensor]) {
    self.state = state
    self.parameters = parameters
  }

  /// `name.i` for every parameter i; nil entries where the buffer is absent and `optional`.
  mutating func buffers(_ name: String, optional: Bool) throws -> [[Float]?] {
    try parameters.enumerated().map { i, p in
      let key = "\(name).\(i)"
      guard let values = state.buffers[key] else {
        if optional { return nil }
        throw OptimizerStateError.missing(name: key)
      }
      guard values.count == p.count else {
        throw OptimizerStateError.wrongSize(name: key, count: values.count, expected: p.count)
      }
      used.insert(key)
      return values
    }
  }

  mutating func counter(_ name: String) throws -> Int {
    guard let value = state.counters[name] else { throw OptimizerStateError.missing(name: name) }
    used.insert(name)
    return value
  }

  /// Throws when the state holds entries nothing read (it came from another optimiser).
  func finish(ignoringPrefix prefix: String? = nil) throws {
    let extra = (Array(state.buffers.keys) + Array(state.counters.keys)).filter {
      !used.contains($0) && !(prefix.map($0.hasPrefix) ?? false)
    }
    if !extra.isEmpty { throw OptimizerStateError.unexpected(names: extra) }
  }
}

func namedBuffers(_ name: String, _ values: [[Float]?]) -> [String: [Float]] {
  var out: [String: [Float]] = [:]
  for (i, v) in values.enumerated() { if let v { out["\(name).\(i)"] = v } }
  return out
}

extension SGD {
  public var state: OptimizerState { OptimizerState(buffers: namedBuffers("momentum_buffer", buffers)) }

  public func restore(_ state: OptimizerState) throws {
    var reader = OptimizerStateReader(state, parameters: parameters)
    let restored = try reader.buffers("momentum_buffer", optional: true)
    try reader.finish()
    buffers = restored
  }
}

extension AdamFamilyOptimizer {
  /// First and second moments and the step count under PyTorch's names (`exp_avg`, `exp_avg_sq`,
  /// `step`), for AdamW and RAdam alike.
  public var state: OptimizerState {
    OptimizerState(
      buffers: namedBuffers("exp_avg", m).merging(namedBuffers("exp_avg_sq", v)) { a, _ in a },
      counters: ["step": t])
  }

  public func restore(_ state: OptimizerState) throws {
    var reader = OptimizerStateReader(state, parameters: parameters)
    let (m1, v1) = (try reader.buffers("exp_avg", optional: false), try reader.buffers("exp_avg_sq", optional: false))
    let step = try reader.counter("step")
    try reader.finish()
    (m, v, t) = (m1.map { $0 ?? [] }, v1.map { $0 ?? [] }, step)
  }
}

extension LARS {
  public var state: OptimizerState { OptimizerState(buffers: namedBuffers("mu", buffers)) }

  public func restore(_ state: OptimizerState) throws {
    var reader = OptimizerStateReader(state, parameters: parameters)
    let restored = try reader.buffers("mu", optional: false)
    try reader.finish()
    buffers = restored.map { $0 ?? [] }
  }
}

extension Lookahead {
  /// The slow weights, the fast-step count, and the inner optimiser's state under `inner.`.
  public var state: OptimizerState {
    var out = inner.state.prefixed("inner.")
    out.buffers.merge(namedBuffers("slow", slow)) { a, _ in a }
    out.counters["fast_steps"] = fastSteps
    return out
  }

  public func restore(_ state: OptimizerState) throws {
    var reader = OptimizerStateReader(state, parameters: parameters)
    let restored = try reader.buffers("slow", optional: true)
    let steps = try reader.counter("fast_steps")
    try reader.finish(ignoringPrefix: "inner.")
    try inner.restore(state.unprefixed("inner."))
    (slow, fastSteps) = (restored, steps)
  }
}

import Engine
import NN

/// Why a saved training state does not fit the method it is restored into.
public enum TrainingStateError: Error, Equatable, CustomStringConvertible {
  case missing(names: [String])
  case unexpected(names: [String])
  case wrongShape(name: String, shape: [Int], expected: [Int])
  case badValue(name: String, reason: String)

  public var description: String {
    switch self {
    case .missing(let names): return "training state: \(Self.list(names)) missing"
    case .unexpected(let names): return "training state: unexpected \(Self.list(names))"
    case .wrongShape(let name, let shape, let expected):
      return "training state: '\(name)' has shape \(shape), expected \(expected)"
    case .badValue(let name, let reason): return "training state: '\(name)': \(reason)"
    }
  }

  static func list(_ names: [String]) -> String {
    let sorted = names.sorted()
    return sorted.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (sorted.count > 5 ? " …" : "")
  }
}

/// Building and restoring the training states of the SSL methods.
///
/// A state maps names to tensors. Module parts are the module's own tensors (the live ones, so
/// restoring writes the saved values into them); derived parts (queue pointers, SwAV's growing
/// queues, InstDisc's NCE normaliser) are fresh tensors that `restore` reads back by hand.
enum TrainingState {
  /// Every tensor of each module, named `"<prefix>.<state-dict name>"`.
  static func modules(_ parts: [(String, Module)]) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (prefix, module) in parts {
      for (name, tensor) in module.namedParameters { out["\(prefix).\(name)"] = tensor }
    }
    return out
  }

  /// Checks that `saved` has exactly the names of `live`, with live's shapes except for the names
  /// in `variable`, then copies the saved values into the live tensors (all but `variable`).
  static func restore(_ saved: [String: Tensor], into live: [String: Tensor], variable: Set<String> = []) throws {
    let missing = live.keys.filter { saved[$0] == nil }
    if !missing.isEmpty { throw TrainingStateError.missing(names: missing) }
    let extra = saved.keys.filter { live[$0] == nil }
    if !extra.isEmpty { throw TrainingStateError.unexpected(names: extra) }
    for (name, tensor) in live where !variable.contains(name) {
      if let s = saved[name]?.shape, s != tensor.shape {
        throw TrainingStateError.wrongShape(name: name, shape: s, expected: tensor.shape)
      }
    }
    Tensor.withoutGrad {
      for (name, tensor) in live where !variable.contains(name) {
        if let values = saved[name]?.data { tensor.assign(values) }
      }
    }
  }
}

extension MoCo {
  public var trainingState: [String: Tensor] {
    var out = TrainingState.modules([
      ("backbone", backbone), ("head", head), ("key_backbone", keyBackbone), ("key_head", keyHead),
    ])
    out["queue.keys"] = queue.keys
    out["queue.pointer"] = Tensor(shape: [1], data: [Float(queue.pointer)])
    return out
  }

  public func restoreTrainingState(_ state: [String: Tensor]) throws {
    var q = queue
    if let p = state["queue.pointer"] {
      guard p.shape == [1] else {
        throw TrainingStateError.wrongShape(name: "queue.pointer", shape: p.shape, expected: [1])
      }
      try q.restorePointer(p.data[0])
    }
    try TrainingState.restore(state, into: trainingState, variable: ["queue.pointer"])
    queue = q
  }
}

extension MoCoV3 {
  public var trainingState: [String: Tensor] {
    TrainingState.modules([
      ("backbone", backbone), ("projector", projector), ("predictor", predictor),
      ("momentum_backbone", momentumBackbone), ("momentum_projector", momentumProjector),
    ])
  }

  public func restoreTrainingState(_ state: [String: Tensor]) throws {
    try TrainingState.restore(state, into: trainingState)
  }
}

extension SimCLR {
  public var trainingState: [String: Tensor] { TrainingState.modules([("backbone", backbone), ("head", head)]) }

  public func restoreTrainingState(_ state: [String: Tensor]) throws {
    try TrainingState.restore(state, into: trainingState)
  }
}

extension InstDisc {
  /// Also the memory bank and the NCE normaliser Z (fixed on the first batch; empty before it).
  public var trainingState: [String: Tensor] {
    var parts: [(String, Module)] = [("backbone", backbone), ("fc", fc)]
    if let classifier { parts.append(("classifier", classifier)) }
    var out = TrainingState.modules(parts)
    out["memory"] = memory
    out["normaliser"] = Tensor(shape: [normaliser == nil ? 0 : 1], data: normaliser.map { [$0] } ?? [])
    return out
  }

  public func restoreTrainingState(_ state: [String: Tensor]) throws {
    guard let z = state["normaliser"], z.shape == [0] || z.shape == [1] else {
      throw TrainingStateError.badValue(name: "normaliser", reason: "expected shape [0] or [1]")
    }
    try TrainingState.restore(state, into: trainingState, variable: ["normaliser"])
    normaliser = z.data.first
  }
}

extension SwAV {
  /// Also the two embedding queues (`queue.0`, `queue.1`, newest first, growing to
  /// `queueLength` rows) when the method has them.
  public var trainingState: [String: Tensor] {
    var out = TrainingState.modules([("backbone", backbone), ("head", head), ("prototypes", prototypes)])
    if queueLength > 0 {
      for a in 0..<2 {
        let values = a < queues.count ? queues[a] : []
        out["queue.\(a)"] = Tensor(shape: [values.count], data: values)
      }
    }
    return out
  }

  public func restoreTrainingState(_ state: [String: Tensor]) throws {
    var restored: [[Float]] = []
    if queueLength > 0 {
      let d = prototypes.weight.shape[1]
      for a in 0..<2 {
        guard let q = state["queue.\(a)"] else { throw TrainingStateError.missing(names: ["queue.\(a)"]) }
        guard q.shape.count == 1, q.count % d == 0, q.count <= queueLength * d else {
          throw TrainingStateError.badValue(
            name: "queue.\(a)", reason: "shape \(q.shape) is not up to \(queueLength) rows of \(d)")
        }
        restored.append(q.data)
      }
    }
    try TrainingState.restore(state, into: trainingState, variable: ["queue.0", "queue.1"])
    queues = restored.allSatisfy(\.isEmpty) ? [] : restored
  }
}

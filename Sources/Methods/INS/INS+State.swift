import Engine
import NN

extension INS {
  /// Everything training changes, by name, for checkpoints: both networks (query and momentum
  /// key network, batch-norm statistics included), the key queue and the score queue with their
  /// pointers, the class prototypes, and every instance's candidates and confidences. Restoring it
  /// into an `INS` built the same way continues training bit for bit.
  public var trainingState: [String: Tensor] {
    var out = TrainingState.modules([("network", network), ("key_network", keyNetwork)])
    out["queue.keys"] = queue.keys
    out["queue.pointer"] = Tensor(shape: [1], data: [Float(queue.pointer)])
    out["queue_scores.keys"] = queueScores.keys
    out["queue_scores.pointer"] = Tensor(shape: [1], data: [Float(queueScores.pointer)])
    out["prototypes"] = Tensor(shape: [prototypes.classes, prototypes.dimension], data: prototypes.values)
    out["confidence.candidates"] = Tensor(shape: [confidence.candidates.count], data: confidence.candidates)
    out["confidence.values"] = Tensor(shape: [confidence.values.count], data: confidence.values)
    return out
  }

  /// Restores a `trainingState` saved from an `INS` of the same configuration and training set.
  /// - Throws: `TrainingStateError`, changing nothing, when a name is missing or extra, a shape
  ///   differs or a queue pointer is out of range.
  public func restoreTrainingState(_ state: [String: Tensor]) throws {
    var (q, qs) = (queue, queueScores)
    for (name, target) in [("queue.pointer", 0), ("queue_scores.pointer", 1)] {
      guard let p = state[name], p.shape == [1] else {
        throw TrainingStateError.badValue(name: name, reason: "missing or not one number")
      }
      if target == 0 { try q.restorePointer(p.data[0], name: name) } else { try qs.restorePointer(p.data[0], name: name) }
    }
    // Checks every name and shape (the derived tensors included), then writes the module parts.
    try TrainingState.restore(state, into: trainingState, variable: ["queue.pointer", "queue_scores.pointer"])
    (queue, queueScores) = (q, qs)
    if let values = state["prototypes"]?.data { prototypes.values = values }
    if let values = state["confidence.candidates"]?.data { confidence.candidates = values }
    if let values = state["confidence.values"]?.data { confidence.values = values }
  }
}

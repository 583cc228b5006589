import Engine

extension Loss {
  /// Negative Cox partial log-likelihood normalised by the number of events, as PANTHER's
  /// `partial_ll_loss` (`src/utils/losses.py`, itself CoxLoss with `event = 1 − censorship`):
  /// sort the batch by time, longest first; `ℓ_i = r_i − log Σ_{j ≤ i} exp(r_j)` (a
  /// `logcumsumexp` over the sorted risks, so the risk set of `i` is everyone sorted before it);
  /// loss `= −Σ_i δ_i ℓ_i / Σ_i δ_i`. With no event in the batch the loss is `0 · Σ r`.
  ///
  /// Tied times: `torch.argsort(-t)` does not promise an order among ties; here ties keep their
  /// batch order (a stable sort), so a tied later row is in the risk set of an earlier one only.
  /// Built from `indexSelect` and `logSumExp` over a masked `[B, B]` matrix, so it has no
  /// gradient code of its own.
  /// - Parameters:
  ///   - logRisks: `[B]` log-risks (the head's output).
  ///   - times: `B` survival times (or time bins) that order the risk sets.
  ///   - events: `B` flags, true when the death was observed.
  /// - Returns: a scalar.
  public static func coxPartialLikelihood(logRisks: Tensor, times: [Double], events: [Bool]) -> Tensor {
    let b = logRisks.count
    precondition(logRisks.rank == 1 && times.count == b && events.count == b,
      "coxPartialLikelihood: log-risks \(logRisks.shape), \(times.count) times, \(events.count) events")
    let eventCount = events.filter { $0 }.count
    guard eventCount > 0 else { return logRisks.sum() * 0 }
    let order = (0..<b).sorted { times[$0] > times[$1] || (times[$0] == times[$1] && $0 < $1) }
    let sorted = logRisks.indexSelect(axis: 0, order)  // [B], longest time first
    // mask[i, j] = 0 for j ≤ i (j in the risk set of i), −∞ otherwise: a cumulative logsumexp.
    var mask = [Float](repeating: -.infinity, count: b * b)
    for i in 0..<b { for j in 0...i { mask[i * b + j] = 0 } }
    let logCumSumExp = (sorted.reshaped([1, b]) + Tensor(shape: [b, b], data: mask)).logSumExp(axis: 1)
    let eventWeights = Tensor(shape: [b], data: order.map { events[$0] ? 1 : 0 })
    return -((sorted - logCumSumExp) * eventWeights).sum() / Float(eventCount)
  }
}

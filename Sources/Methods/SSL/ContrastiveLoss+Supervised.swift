import Engine

extension ContrastiveLoss {
  /// Supervised contrastive loss (Khosla et al. 2020, Eq. 2, "L_out") in the form PiCO and INS
  /// use with a MoCo queue (`miccaiif/INS` `utils/utils_loss.py` `SupConLoss`, mask given).
  ///
  /// The first `anchors` rows of `features` are the anchors (the queries q); every row is a
  /// contrast entry (`cat(q, k, queue)`). For anchor i with logits `s_ij = f_i·f_j / T`:
  ///
  ///     log p_ij = s_ij − log Σ_{j' ≠ i} exp(s_ij')
  ///     L = −(T / T_base) · mean_i [ Σ_{j ≠ i} m_ij log p_ij / Σ_{j ≠ i} m_ij ]
  ///
  /// The anchor's own column is left out of both sums (the official `logits_mask`). The official
  /// code adds 1e-12 inside the log; that shifts the value by less than 1e-12 / Σ exp, left out.
  /// With one anchor whose only positive is its key, this is MoCo's InfoNCE exactly; with more
  /// anchors the other queries and keys of the batch are extra negatives.
  ///
  /// - Parameters:
  ///   - features: `[M, d]` L2-normalised rows; gradients flow through every row that has them
  ///     (in INS only the queries do: keys and queue are detached by the caller).
  ///   - anchors: how many leading rows are anchors (b ≤ M).
  ///   - positives: `[b · M]` row-major 0/1 mask, `m_ij = 1` when entry j is a positive of anchor
  ///     i (INS: the same pseudo-label); the diagonal is ignored.
  ///   - temperature: T (INS 0.07).
  ///   - baseTemperature: T_base (INS 0.07).
  /// - Returns: a scalar.
  /// - Precondition: every anchor has at least one positive besides itself.
  public static func supervised(
    features: Tensor, anchors b: Int, positives: [Float], temperature: Float, baseTemperature: Float
  ) -> Tensor {
    let m = features.shape[0]
    precondition(features.rank == 2 && b > 0 && b <= m, "supervised: features \(features.shape), \(b) anchors")
    precondition(positives.count == b * m, "supervised: \(positives.count) mask entries for [\(b), \(m)]")
    var selfMask = [Float](repeating: 0, count: b * m)
    var weights = positives
    for i in 0..<b {
      selfMask[i * m + i] = 1e9  // exp(−1e9) = 0: the official logits_mask
      weights[i * m + i] = 0
      let count = (0..<m).reduce(Float(0)) { $0 + weights[i * m + $1] }
      precondition(count > 0, "supervised: anchor \(i) has no positive")
      for j in 0..<m { weights[i * m + j] /= count }
    }
    let anchorRows = features.narrowed(axis: 0, start: 0, length: b)
    let logits = anchorRows.matmul(features, transposeOther: true) * (1 / temperature)  // [b, M]
    let logProb = (logits - Tensor(shape: [b, m], data: selfMask)).logSoftmax(axis: 1)
    let meanLogProbPositive = (logProb * Tensor(shape: [b, m], data: weights)).sum(axes: [1])  // [b]
    return meanLogProbPositive.mean() * (-temperature / baseTemperature)
  }
}

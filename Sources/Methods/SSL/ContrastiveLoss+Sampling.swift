import Engine

/// Which keys of the batch count as positives and negatives in MoCo v3's contrastive loss: the
/// sampling rules the data-efficiency study (Lenz et al. 2024) compares. The paper's own
/// definitions could not be read here (only its abstract and acronym list were reachable; see
/// `../shared/papers/pathology-methods.md` §(d)), so the two rules below are the project's
/// documented reading, named after the paper's terms:
///
/// - `ops` (original positive sampling): MoCo v3 as published: the positive of query i is key i
///   (the other view of the same image); every other key of the batch is a negative.
/// - `srcl` (semantically-relevant contrastive learning, CTransPath; Wang et al. 2022): besides
///   key i, the `topK` keys most similar to key i (cosine between momentum-encoder keys, no
///   gradient) are positives too, and the loss of query i averages −log p over its positives
///   (the multi-positive form of supervised contrastive learning). The commonly cited setting is
///   top-5 after 5 warm-up epochs of plain MoCo (not verified against the SRCL code, which is not
///   public).
/// - `nsam` (negative sampling, assumption): the same `topK` most similar keys are *removed*
///   from query i's negatives (likely views of the same tissue kind, so false negatives), and
///   key i stays the only positive.
///
/// With `topK` 0 every rule is `ops`. Rows are L2-normalised here, as `mocoV3`.
public enum ContrastiveSampling: String, Sendable, CaseIterable {
  case ops, srcl, nsam
}

extension ContrastiveLoss {
  /// The `topK` nearest other keys of each key by cosine similarity (ties: the lower index),
  /// row i for key i. `keys` `[n, d]`, normalised by the caller or not (cosine either way).
  public static func nearestKeys(_ keys: Tensor, topK: Int) -> [[Int]] {
    let n = keys.shape[0]
    precondition(topK >= 0 && topK < n, "nearestKeys: topK \(topK) for \(n) keys")
    if topK == 0 { return Array(repeating: [], count: n) }
    let similarity = Tensor.withoutGrad {
      let kn = keys.detached().l2Normalized(axis: 1)
      return kn.matmul(kn, transposeOther: true)
    }.data
    return (0..<n).map { i in
      let others = (0..<n).filter { $0 != i }
      let sorted = others.sorted { a, b in
        let (sa, sb) = (similarity[i * n + a], similarity[i * n + b])
        return sa != sb ? sa > sb : a < b
      }
      return Array(sorted.prefix(topK))
    }
  }

  /// MoCo v3's `contrastive_loss` under a sampling rule (see `ContrastiveSampling`): logits
  /// `q kᵀ / T`; `ops` is `mocoV3` exactly; `srcl` averages −log softmax over key i and its
  /// `topK` nearest keys; `nsam` masks those keys out of the softmax. × 2T, as the official loss.
  public static func mocoV3(query q: Tensor, key k: Tensor, temperature: Float, sampling: ContrastiveSampling, topK: Int)
    -> Tensor
  {
    precondition(q.shape == k.shape && q.rank == 2, "mocoV3 sampling: q \(q.shape), k \(k.shape)")
    let n = q.shape[0]
    // A batch smaller than topK + 1 (a short last batch) moves every other key.
    let topK = min(topK, n - 1)
    if sampling == .ops || topK <= 0 { return mocoV3(query: q, key: k, temperature: temperature) }
    let neighbours = nearestKeys(k, topK: topK)
    let qn = q.l2Normalized(axis: 1), kn = k.detached().l2Normalized(axis: 1)
    let logits = qn.matmul(kn, transposeOther: true) * (1 / temperature)  // [n, n]
    switch sampling {
    case .ops:
      preconditionFailure("returned above")
    case .srcl:
      var weights = [Float](repeating: 0, count: n * n)
      let share = 1 / Float(topK + 1)
      for i in 0..<n {
        weights[i * n + i] = share
        for j in neighbours[i] { weights[i * n + j] = share }
      }
      let meanLogProb = (logits.logSoftmax(axis: 1) * Tensor(shape: [n, n], data: weights)).sum(axes: [1])  // [n]
      return meanLogProb.mean() * (-2 * temperature)
    case .nsam:
      var mask = [Float](repeating: 0, count: n * n)
      for i in 0..<n { for j in neighbours[i] { mask[i * n + j] = 1e9 } }  // exp(−1e9) = 0
      let kept = logits - Tensor(shape: [n, n], data: mask)
      return Loss.crossEntropy(logits: kept, labels: Array(0..<n)) * (2 * temperature)
    }
  }
}

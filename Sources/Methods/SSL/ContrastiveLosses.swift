import Engine

/// The contrastive losses of the SSL papers as pure functions of feature tensors, each as its
/// official code computes it (scale included).
public enum ContrastiveLoss {
  /// MoCo v1/v2 InfoNCE (`moco/builder.py`): `q`, `k` `[n, d]` L2-normalised, `queue` `[K, d]`
  /// (rows are keys, normalised); logits `[q·k, q·queueᵀ] / T`, cross-entropy with label 0 (the
  /// positive), mean over the batch. `k` and `queue` carry no gradient.
  public static func infoNCE(query q: Tensor, key k: Tensor, queue: Tensor, temperature: Float) -> Tensor {
    precondition(q.shape == k.shape && queue.rank == 2 && queue.shape[1] == q.shape[1], "infoNCE: q \(q.shape), k \(k.shape), queue \(queue.shape)")
    let positive = (q * k.detached()).sum(axes: [1], keepDims: true)  // [n, 1]
    let negative = q.matmul(queue.detached(), transposeOther: true)  // [n, K]
    let logits = Tensor.concatenate([positive, negative], axis: 1) * (1 / temperature)
    return Loss.crossEntropy(logits: logits, labels: Array(repeating: 0, count: q.shape[0]))
  }

  /// MoCo v3's `contrastive_loss` (`moco-v3/moco/builder.py`): `q`, `k` `[n, d]` (normalised
  /// here); logits `q kᵀ / T`, labels `0..<n` (the other samples of the batch are the negatives),
  /// cross-entropy × 2T. `k` carries no gradient.
  public static func mocoV3(query q: Tensor, key k: Tensor, temperature: Float) -> Tensor {
    let qn = q.l2Normalized(axis: 1), kn = k.detached().l2Normalized(axis: 1)
    let logits = qn.matmul(kn, transposeOther: true) * (1 / temperature)
    return Loss.crossEntropy(logits: logits, labels: Array(0..<q.shape[0])) * (2 * temperature)
  }

  /// SimCLR's NT-Xent as the official code returns it (`simclr/objective.py`): `z1`, `z2` `[n, d]`
  /// (normalised here); for each anchor of view 1 the logits are `[z1·z2ᵀ, z1·z1ᵀ − 10⁹·I] / T`
  /// with the positive at column i (1 positive and 2n − 2 negatives), likewise for view 2;
  /// `loss_a + loss_b`, each a mean over n — twice the paper's 1/(2N) Σ normalisation.
  public static func ntXent(_ z1: Tensor, _ z2: Tensor, temperature: Float) -> Tensor {
    precondition(z1.shape == z2.shape && z1.rank == 2, "ntXent: \(z1.shape), \(z2.shape)")
    let n = z1.shape[0]
    let h1 = z1.l2Normalized(axis: 1), h2 = z2.l2Normalized(axis: 1)
    var mask = [Float](repeating: 0, count: n * n)
    for i in 0..<n { mask[i * n + i] = 1e9 }
    let selfMask = Tensor(shape: [n, n], data: mask)
    let inv = 1 / temperature
    let ab = h1.matmul(h2, transposeOther: true) * inv, aa = h1.matmul(h1, transposeOther: true) * inv - selfMask
    let ba = h2.matmul(h1, transposeOther: true) * inv, bb = h2.matmul(h2, transposeOther: true) * inv - selfMask
    let labels = Array(0..<n)
    let lossA = Loss.crossEntropy(logits: Tensor.concatenate([ab, aa], axis: 1), labels: labels)
    let lossB = Loss.crossEntropy(logits: Tensor.concatenate([ba, bb], axis: 1), labels: labels)
    return lossA + lossB
  }

  /// InstDisc's full non-parametric softmax (`lemniscate/lib/LinearAverage.py`): features `[n, d]`
  /// (normalised), memory bank `[N, d]` (no gradient); logits `f · memoryᵀ / T`, cross-entropy
  /// against each sample's own index.
  public static func nonParametricSoftmax(features f: Tensor, memory: Tensor, indices: [Int], temperature: Float)
    -> Tensor
  {
    let logits = f.matmul(memory.detached(), transposeOther: true) * (1 / temperature)
    return Loss.crossEntropy(logits: logits, labels: indices)
  }

  /// InstDisc's NCE loss (`lemniscate/lib/NCEAverage.py` + `NCECriterion.py`): `scores` `[n, K+1]`
  /// are `exp(f·v/T) / Z` with the data sample in column 0 and K noise samples after it; with
  /// `P_n = 1/N`: `−[log(P₀/(P₀ + K·P_n)) + Σ_noise log(K·P_n/(P + K·P_n))] / n` (ε = 1e-7 inside
  /// the logs, as the code).
  public static func nce(scores: Tensor, dataCount: Int) -> Tensor {
    let (n, cols) = (scores.shape[0], scores.shape[1])
    let k = Float(cols - 1)
    let kPn = k / Float(dataCount)
    let eps: Float = 1e-7
    let denominator = scores + (kPn + eps)
    let positive = scores.narrowed(axis: 1, start: 0, length: 1)
    let logPos = (positive / denominator.narrowed(axis: 1, start: 0, length: 1)).log()
    let logNeg = (Tensor(repeating: kPn, shape: [n, cols - 1]) / denominator.narrowed(axis: 1, start: 1, length: cols - 1)).log()
    return -(logPos.sum() + logNeg.sum()) * (1 / Float(n))
  }
}

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif
import Engine

/// SwAV's Sinkhorn–Knopp (`swav/main_swav.py` `distributed_sinkhorn`), without gradients:
/// scores `[B, K]` → codes `[B, K]`.
///
/// `Q = exp(scores/ε)ᵀ` (K × B), `Q /= ΣQ`; then `iterations` times: rows normalised to 1/K
/// each, columns to 1/B each — rows first, so the final columns are exact (each sample's code
/// sums to 1 after `Q *= B`) and the rows only approximately uniform. The exponent is shifted by
/// the global maximum first (it cancels in the first normalisation), which keeps small ε finite
/// in Float32 without changing the result.
public enum SinkhornKnopp {
  public static func codes(_ scores: Tensor, epsilon: Float = 0.05, iterations: Int = 3) -> Tensor {
    precondition(scores.rank == 2, "sinkhorn: scores \(scores.shape); expected [B, K]")
    let (b, k) = (scores.shape[0], scores.shape[1])
    let s = scores.data
    let top = s.max() ?? 0
    // q[j][i]: prototype j, sample i (the transposed layout of the official code).
    var q = [Double](repeating: 0, count: k * b)
    var total = 0.0
    for i in 0..<b {
      for j in 0..<k {
        let v = exp(Double((s[i * k + j] - top) / epsilon))
        q[j * b + i] = v
        total += v
      }
    }
    for t in q.indices { q[t] /= total }
    for _ in 0..<iterations {
      for j in 0..<k {
        var row = 0.0
        for i in 0..<b { row += q[j * b + i] }
        let scale = row > 0 ? 1 / (row * Double(k)) : 0
        for i in 0..<b { q[j * b + i] *= scale }
      }
      for i in 0..<b {
        var col = 0.0
        for j in 0..<k { col += q[j * b + i] }
        let scale = col > 0 ? 1 / (col * Double(b)) : 0
        for j in 0..<k { q[j * b + i] *= scale }
      }
    }
    var out = [Float](repeating: 0, count: b * k)
    for i in 0..<b { for j in 0..<k { out[i * k + j] = Float(q[j * b + i] * Double(b)) } }
    return Tensor(shape: [b, k], data: out)
  }
}

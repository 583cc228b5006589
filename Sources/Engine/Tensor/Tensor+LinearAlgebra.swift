// Matrix products through OpenBLAS `cblas_sgemm` (see BLAS.swift).

extension Tensor {
  /// Matrix product. `[m, k] × [k, n] → [m, n]`; batched `[b, m, k] × [b, k, n] → [b, m, n]`, and
  /// `[b, m, k] × [k, n]` (a shared right-hand matrix, as a linear layer on a sequence).
  ///
  /// Gradients: `∂A = G·Bᵀ`, `∂B = Aᵀ·G` (summed over the batch for a shared B).
  public func matmul(_ other: Tensor) -> Tensor {
    let a = self, b = other
    precondition(a.rank >= 2 && b.rank >= 2, "matmul: ranks \(a.rank) and \(b.rank); expected ≥ 2")
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
    let n = b.shape[b.rank - 1]
    precondition(b.shape[b.rank - 2] == k, "matmul: \(a.shape) × \(b.shape): inner sizes differ")
    let batch = a.shape.dropLast(2).reduce(1, *)
    let shared = b.rank == 2
    precondition(
      shared || Array(a.shape.dropLast(2)) == Array(b.shape.dropLast(2)),
      "matmul: batch dimensions of \(a.shape) and \(b.shape) differ")
    let outShape = Array(a.shape.dropLast(2)) + [m, n]
    let out = Tensor.zeros(outShape)
    if shared && batch > 1 {
      // One GEMM over the folded batch: [batch·m, k] × [k, n].
      Tensor.gemm(a.data, b.data, into: &out.data, m: batch * m, n: n, k: k)
    } else {
      for i in 0..<batch {
        Tensor.gemm(
          a.data, b.data, into: &out.data, m: m, n: n, k: k, aOffset: i * m * k,
          bOffset: shared ? 0 : i * k * n, cOffset: i * m * n)
      }
    }
    return Tensor.record(out, [a, b]) { g in
      let ga = a.requiresGrad ? g.matmul(b.transposed()) : nil
      var gb: Tensor? = nil
      if b.requiresGrad {
        if shared {
          // Σ over the batch of Aᵢᵀ Gᵢ = (A folded)ᵀ (G folded).
          gb = a.reshaped([batch * m, k]).transposed().matmul(g.reshaped([batch * m, n]))
        } else {
          gb = a.transposed().matmul(g)
        }
      }
      return [ga, gb]
    }
  }

  /// `C[cOffset…] = A[aOffset…] · B[bOffset…]` for row-major blocks.
  static func gemm(
    _ a: [Float], _ b: [Float], into c: inout [Float], m: Int, n: Int, k: Int, aOffset: Int = 0,
    bOffset: Int = 0, cOffset: Int = 0, accumulate: Bool = false
  ) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
      if !accumulate { for i in 0..<(m * n) { c[cOffset + i] = 0 } }
      return
    }
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in
          guard let aa = ap.baseAddress, let bb = bp.baseAddress, let cc = cp.baseAddress else { return }
          BLAS.gemm(
            m: m, n: n, k: k, a: aa + aOffset, lda: k, b: bb + bOffset, ldb: n, beta: accumulate ? 1 : 0,
            c: cc + cOffset, ldc: n)
        }
      }
    }
  }
}

// Matrix products through OpenBLAS `cblas_sgemm` (see BLAS.swift). Transposed operands are
// passed to the GEMM as flags, never copied.

extension Tensor {
  /// Matrix product of `op(self)` and `op(other)`, where `op` transposes the last two dimensions
  /// when the flag is set. `[m, k] × [k, n] → [m, n]`; batched `[b, m, k] × [b, k, n] → [b, m, n]`;
  /// and `[b, m, k] × [k, n]` (a shared right-hand matrix, as a linear layer on a sequence).
  ///
  /// Gradients of `C = op(A)·op(B)` with G = ∂C: for `A·B`: `∂A = G·Bᵀ`, `∂B = Aᵀ·G`; for
  /// `A·Bᵀ`: `∂A = G·B`, `∂B = Gᵀ·A`; for `Aᵀ·B`: `∂A = B·Gᵀ`, `∂B = A·G`; for `Aᵀ·Bᵀ`:
  /// `∂A = Bᵀ·Gᵀ`, `∂B = Gᵀ·Aᵀ` (summed over the batch for a shared B).
  public func matmul(_ other: Tensor, transposeSelf ta: Bool = false, transposeOther tb: Bool = false) -> Tensor {
    let a = self, b = other
    precondition(a.rank >= 2 && b.rank >= 2, "matmul: ranks \(a.rank) and \(b.rank); expected ≥ 2")
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = ta ? (ac, ar) : (ar, ac)
    let (kb, n) = tb ? (bc, br) : (br, bc)
    precondition(kb == k, "matmul: \(a.shape)\(ta ? "ᵀ" : "") × \(b.shape)\(tb ? "ᵀ" : ""): inner sizes differ")
    let batch = a.shape.dropLast(2).reduce(1, *)
    let shared = b.rank == 2
    precondition(
      shared || Array(a.shape.dropLast(2)) == Array(b.shape.dropLast(2)),
      "matmul: batch dimensions of \(a.shape) and \(b.shape) differ")
    let outShape = Array(a.shape.dropLast(2)) + [m, n]
    let total = outShape.reduce(1, *)
    let out = [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
      initialized = total
      guard let cp = buffer.baseAddress else { return }
      if k == 0 {
        cp.update(repeating: 0, count: total)
        return
      }
      a.data.withUnsafeBufferPointer { ab in
        b.data.withUnsafeBufferPointer { bb in
          guard let ap = ab.baseAddress, let bp = bb.baseAddress, m > 0, n > 0 else { return }
          if shared && batch > 1 && !ta {
            // One GEMM over the folded batch: [batch·m, k] × op(B).
            BLAS.gemm(
              transB: tb, m: batch * m, n: n, k: k, a: ap, lda: ac, b: bp, ldb: bc, c: cp, ldc: n)
          } else if batch >= Parallel.threadCount && batch > 1 {
            // Batch elements (attention heads, images) spread over the threads, one whole
            // single-threaded GEMM each: the same arithmetic per element as an unsplit call.
            Parallel.forEach(batch) { i in
              BLAS.gemm(
                transA: ta, transB: tb, m: m, n: n, k: k, a: ap + i * ar * ac, lda: ac,
                b: bp + (shared ? 0 : i * br * bc), ldb: bc, c: cp + i * m * n, ldc: n, threads: 1)
            }
          } else {
            for i in 0..<batch {
              BLAS.gemm(
                transA: ta, transB: tb, m: m, n: n, k: k, a: ap + i * ar * ac, lda: ac,
                b: bp + (shared ? 0 : i * br * bc), ldb: bc, c: cp + i * m * n, ldc: n)
            }
          }
        }
      }
    }
    return Tensor.record(Tensor(shape: outShape, data: out), [a, b]) { g in
      var ga: Tensor? = nil
      if a.requiresGrad {
        switch (ta, tb) {
        case (false, false): ga = g.matmul(b, transposeOther: true)
        case (false, true): ga = g.matmul(b)
        case (true, false): ga = shared ? nil : b.matmul(g, transposeOther: true)
        case (true, true): ga = shared ? nil : b.matmul(g, transposeSelf: true, transposeOther: true)
        }
        if ga == nil {
          // A shared B with a transposed A: per batch element, ∂Aᵢ = op'(B, Gᵢ).
          let gs = g.reshaped([batch, m, n])
          ga = Tensor.withoutGrad {
            let bb = b.reshaped([1, br, bc])
            let parts = (0..<batch).map { i -> Tensor in
              let gi = gs.narrowed(axis: 0, start: i, length: 1)
              return tb ? bb.matmul(gi, transposeSelf: true, transposeOther: true) : bb.matmul(gi, transposeOther: true)
            }
            return Tensor.concatenate(parts, axis: 0).reshaped(a.shape)
          }
        }
      }
      var gb: Tensor? = nil
      if b.requiresGrad {
        // Fold the batch for a shared B: Σᵢ over per-element products.
        let (fa, fg) = shared && !ta ? (a.reshaped([batch * ar, ac]), g.reshaped([batch * m, n])) : (a, g)
        if shared && ta {
          let parts = (0..<batch).map { i -> Tensor in
            let ai = a.reshaped([batch, ar, ac]).narrowed(axis: 0, start: i, length: 1).reshaped([ar, ac])
            let gi = g.reshaped([batch, m, n]).narrowed(axis: 0, start: i, length: 1).reshaped([m, n])
            return tb ? gi.matmul(ai, transposeSelf: true, transposeOther: true) : ai.matmul(gi)
          }
          gb = parts.dropFirst().reduce(parts[0], +)
        } else {
          switch (ta, tb) {
          case (false, false): gb = fa.matmul(fg, transposeSelf: true)
          case (false, true): gb = fg.matmul(fa, transposeSelf: true)
          case (true, false): gb = fa.matmul(fg)
          case (true, true): gb = fg.matmul(fa, transposeSelf: true, transposeOther: true)
          }
        }
      }
      return [ga, gb]
    }
  }

  /// `x Wᵀ + b` in one primitive (PyTorch `F.linear`): `[..., in]`, W `[out, in]`, b `[out]` →
  /// `[..., out]`. The bias is written first and the GEMM adds onto it; W is used transposed in
  /// place. VJP: `∂x = G W`, `∂W = Gᵀ x` (rows folded), `∂b = Σ_rows G`.
  public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
    let inSize = shape[rank - 1], outSize = weight.shape[0]
    precondition(
      weight.rank == 2 && weight.shape[1] == inSize, "linear: input \(shape), weight \(weight.shape)")
    if let bias { precondition(bias.shape == [outSize], "linear: bias \(bias.shape) for \(outSize) outputs") }
    let rows = count / Swift.max(inSize, 1)
    let outShape = Array(shape.dropLast()) + [outSize]
    let out = [Float](unsafeUninitializedCapacity: rows * outSize) { buffer, initialized in
      initialized = rows * outSize
      guard let cp = buffer.baseAddress else { return }
      if let bias {
        bias.data.withUnsafeBufferPointer { bb in
          guard let bp = bb.baseAddress else { return }
          for r in 0..<rows { (cp + r * outSize).update(from: bp, count: outSize) }
        }
      }
      guard rows > 0, outSize > 0 else { return }
      if inSize == 0 {
        if bias == nil { cp.update(repeating: 0, count: rows * outSize) }
        return
      }
      data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
          guard let xp = xb.baseAddress, let wp = wb.baseAddress else { return }
          BLAS.gemm(
            transB: true, m: rows, n: outSize, k: inSize, a: xp, lda: inSize, b: wp, ldb: inSize,
            beta: bias == nil ? 0 : 1, c: cp, ldc: outSize)
        }
      }
    }
    let inputs = [self, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(Tensor(shape: outShape, data: out), inputs) { [self] g in
      let g2 = g.reshaped([rows, outSize])
      let dx = self.requiresGrad ? g2.matmul(weight).reshaped(self.shape) : nil
      let dw = weight.requiresGrad ? g2.matmul(self.reshaped([rows, inSize]), transposeSelf: true) : nil
      var grads: [Tensor?] = [dx, dw]
      if bias != nil {
        var db = [Float](repeating: 0, count: outSize)
        g.data.withUnsafeBufferPointer { gb in
          for r in 0..<rows { for j in 0..<outSize { db[j] += gb[r * outSize + j] } }
        }
        grads.append(Tensor(shape: [outSize], data: db))
      }
      return grads
    }
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Softmax and log-softmax as fused primitives: computing them from logsumexp loses the low bits
// when |x| is large (x − lse(x) cancels), so each subtracts the row maximum first, as PyTorch does.

extension Tensor {
  /// `softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)` along `axis`, m the maximum.
  /// VJP: `∂x = y ⊙ (g − Σ g ⊙ y)`.
  public func softmax(axis: Int = -1) -> Tensor {
    let s = AxisSplit(shape, axis: normalize(axis))
    if s.inner == 1 { return softmaxOverRows(s) }
    var y = [Float](repeating: 0, count: count)
    data.withUnsafeBufferPointer { x in
      s.forEachLine { start in
        let (m, total) = s.maxAndExpSum(x, start: start)
        for k in 0..<s.size { y[start + k * s.inner] = expf(x[start + k * s.inner] - m) / total }
      }
    }
    let out = Tensor(shape: shape, data: y)
    return Tensor.record(out, [self]) { [shape] g in
      var d = [Float](repeating: 0, count: g.count)
      s.forEachLine { start in
        var dot: Float = 0
        for k in 0..<s.size { let j = start + k * s.inner; dot += g.data[j] * y[j] }
        for k in 0..<s.size { let j = start + k * s.inner; d[j] = y[j] * (g.data[j] - dot) }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }

  /// Softmax along the last axis (contiguous rows), rows spread over the engine's threads; each
  /// row is computed with the same operations in the same order as the general path.
  private func softmaxOverRows(_ s: AxisSplit) -> Tensor {
    let (rows, size) = (s.outer, s.size)
    let minimumRows = Swift.max(1, 8192 / Swift.max(size, 1))
    let y = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = count
      guard let yp = buffer.baseAddress else { return }
      data.withUnsafeBufferPointer { xb in
        guard let xp = xb.baseAddress else { return }
        Parallel.forEachChunk(rows, minimumChunk: minimumRows) { range in
          for r in range {
            let x = xp + r * size, out = yp + r * size
            var m = -Float.infinity
            for k in 0..<size { m = Swift.max(m, x[k]) }
            var total: Float = 0
            for k in 0..<size {
              let e = expf(x[k] - m)
              out[k] = e
              total += e
            }
            for k in 0..<size { out[k] /= total }
          }
        }
      }
    }
    return Tensor.record(Tensor(shape: shape, data: y), [self]) { [shape] g in
      let d = [Float](unsafeUninitializedCapacity: g.count) { buffer, initialized in
        initialized = g.count
        guard let dp = buffer.baseAddress else { return }
        g.data.withUnsafeBufferPointer { gb in
          y.withUnsafeBufferPointer { yb in
            guard let gp = gb.baseAddress, let yp = yb.baseAddress else { return }
            Parallel.forEachChunk(rows, minimumChunk: minimumRows) { range in
              for r in range {
                let gr = gp + r * size, yr = yp + r * size, dr = dp + r * size
                var dot: Float = 0
                for k in 0..<size { dot += gr[k] * yr[k] }
                for k in 0..<size { dr[k] = yr[k] * (gr[k] - dot) }
              }
            }
          }
        }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }

  /// `log softmax(x)ᵢ = (xᵢ − m) − log Σⱼ exp(xⱼ − m)` along `axis`.
  /// VJP: `∂x = g − softmax(x) ⊙ Σ g`.
  public func logSoftmax(axis: Int = -1) -> Tensor {
    let s = AxisSplit(shape, axis: normalize(axis))
    var y = [Float](repeating: 0, count: count)
    data.withUnsafeBufferPointer { x in
      s.forEachLine { start in
        let (m, total) = s.maxAndExpSum(x, start: start)
        let lse = logf(total)
        for k in 0..<s.size { y[start + k * s.inner] = (x[start + k * s.inner] - m) - lse }
      }
    }
    let out = Tensor(shape: shape, data: y)
    return Tensor.record(out, [self]) { [shape] g in
      var d = [Float](repeating: 0, count: g.count)
      s.forEachLine { start in
        var total: Float = 0
        for k in 0..<s.size { total += g.data[start + k * s.inner] }
        for k in 0..<s.size { let j = start + k * s.inner; d[j] = g.data[j] - expf(y[j]) * total }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }
}

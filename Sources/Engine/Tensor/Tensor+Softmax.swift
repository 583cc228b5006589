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

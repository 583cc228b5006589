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
      for o in 0..<s.outer {
        for i in 0..<s.inner {
          var m = -Float.infinity
          for k in 0..<s.size { m = Swift.max(m, x[(o * s.size + k) * s.inner + i]) }
          var total: Float = 0
          for k in 0..<s.size {
            let e = expf(x[(o * s.size + k) * s.inner + i] - m)
            y[(o * s.size + k) * s.inner + i] = e
            total += e
          }
          for k in 0..<s.size { y[(o * s.size + k) * s.inner + i] /= total }
        }
      }
    }
    let out = Tensor(shape: shape, data: y)
    return Tensor.record(out, [self]) { [shape] g in
      var d = [Float](repeating: 0, count: g.count)
      for o in 0..<s.outer {
        for i in 0..<s.inner {
          var dot: Float = 0
          for k in 0..<s.size { let j = (o * s.size + k) * s.inner + i; dot += g.data[j] * y[j] }
          for k in 0..<s.size { let j = (o * s.size + k) * s.inner + i; d[j] = y[j] * (g.data[j] - dot) }
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
      for o in 0..<s.outer {
        for i in 0..<s.inner {
          var m = -Float.infinity
          for k in 0..<s.size { m = Swift.max(m, x[(o * s.size + k) * s.inner + i]) }
          var total: Float = 0
          for k in 0..<s.size { total += expf(x[(o * s.size + k) * s.inner + i] - m) }
          let lse = logf(total)
          for k in 0..<s.size {
            let j = (o * s.size + k) * s.inner + i
            y[j] = (x[j] - m) - lse
          }
        }
      }
    }
    let out = Tensor(shape: shape, data: y)
    return Tensor.record(out, [self]) { [shape] g in
      var d = [Float](repeating: 0, count: g.count)
      for o in 0..<s.outer {
        for i in 0..<s.inner {
          var total: Float = 0
          for k in 0..<s.size { total += g.data[(o * s.size + k) * s.inner + i] }
          for k in 0..<s.size { let j = (o * s.size + k) * s.inner + i; d[j] = g.data[j] - expf(y[j]) * total }
        }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }
}

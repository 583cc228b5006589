#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The geometry of reducing one axis of a row-major tensor: `outer × size × inner`.
struct AxisSplit {
  let outer: Int
  let size: Int
  let inner: Int

  init(_ shape: [Int], axis: Int) {
    outer = shape[..<axis].reduce(1, *)
    size = shape[axis]
    inner = shape[(axis + 1)...].reduce(1, *)
  }

  /// Calls `body(start)` for every line along the axis; element k of a line is at
  /// `start + k · inner`.
  @inline(__always)
  func forEachLine(_ body: (Int) -> Void) {
    for o in 0..<outer { for i in 0..<inner { body(o * size * inner + i) } }
  }

  /// The maximum m of one line and `Σₖ exp(xₖ − m)`: the stable core of softmax and logsumexp.
  @inline(__always)
  func maxAndExpSum(_ x: UnsafeBufferPointer<Float>, start: Int) -> (max: Float, sum: Float) {
    var m = -Float.infinity
    for k in 0..<size { m = Swift.max(m, x[start + k * inner]) }
    var total: Float = 0
    for k in 0..<size { total += expf(x[start + k * inner] - m) }
    return (m, total)
  }
}

extension Tensor {
  /// Sum over `axes` (all when nil); `keepDims` keeps them with size 1.
  public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let list = (axes ?? Array(0..<rank)).map(normalize).sorted()
    var keptShape = shape
    for a in list { keptShape[a] = 1 }
    let out = Tensor.reduce(self, to: keptShape)  // summing to a size-1 shape is a reduction
    let finalShape = keepDims ? keptShape : shape.enumerated().filter { !list.contains($0.offset) }.map(\.element)
    let result = Tensor(shape: finalShape, data: out.data)
    return Tensor.record(result, [self]) { [shape] g in
      [Tensor(shape: shape, data: Tensor.broadcastData(Tensor(shape: keptShape, data: g.data), to: shape))]
    }
  }

  /// Mean over `axes` (all when nil).
  public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let list = (axes ?? Array(0..<rank)).map(normalize)
    let n = list.reduce(1) { $0 * shape[$1] }
    return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
  }

  /// Variance over `axes` with divisor n − `correction` (PyTorch's default correction is 1).
  public func variance(axes: [Int]? = nil, keepDims: Bool = false, correction: Int = 1) -> Tensor {
    let list = (axes ?? Array(0..<rank)).map(normalize)
    let n = list.reduce(1) { $0 * shape[$1] }
    let centred = self - mean(axes: list, keepDims: true)
    return centred.squared().sum(axes: list, keepDims: keepDims) * (1 / Float(Swift.max(n - correction, 1)))
  }

  /// Maximum along `axis`; the gradient goes to the first maximal element (as PyTorch's `max(dim)`).
  public func max(axis: Int, keepDims: Bool = false) -> Tensor {
    let a = normalize(axis)
    let s = AxisSplit(shape, axis: a)
    var values = [Float](repeating: -.infinity, count: s.outer * s.inner)
    var arg = [Int](repeating: 0, count: s.outer * s.inner)
    data.withUnsafeBufferPointer { x in
      for o in 0..<s.outer {
        for k in 0..<s.size {
          for i in 0..<s.inner {
            let v = x[(o * s.size + k) * s.inner + i]
            let j = o * s.inner + i
            if v > values[j] || (k == 0) { values[j] = v; arg[j] = k }
          }
        }
      }
    }
    var outShape = shape
    outShape[a] = 1
    if !keepDims { outShape.remove(at: a) }
    return Tensor.record(Tensor(shape: outShape, data: values), [self]) { [shape] g in
      var d = [Float](repeating: 0, count: shape.reduce(1, *))
      for o in 0..<s.outer {
        for i in 0..<s.inner { d[(o * s.size + arg[o * s.inner + i]) * s.inner + i] = g.data[o * s.inner + i] }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }

  /// Indices of the maxima along `axis` (no gradient).
  public func argmax(axis: Int) -> [Int] {
    let s = AxisSplit(shape, axis: normalize(axis))
    var out = [Int](repeating: 0, count: s.outer * s.inner)
    for o in 0..<s.outer {
      for i in 0..<s.inner {
        var best = 0
        for k in 1..<Swift.max(s.size, 1) where data[(o * s.size + k) * s.inner + i] > data[(o * s.size + best) * s.inner + i] {
          best = k
        }
        out[o * s.inner + i] = best
      }
    }
    return out
  }

  /// `log Σ exp(x)` along `axis`, stable in Float32: `m + log Σ exp(x − m)` with m the maximum.
  /// Gradient: `softmax(x)`.
  public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
    let a = normalize(axis)
    let s = AxisSplit(shape, axis: a)
    var out = [Float](repeating: 0, count: s.outer * s.inner)
    data.withUnsafeBufferPointer { x in
      var line = 0
      s.forEachLine { start in
        let (m, total) = s.maxAndExpSum(x, start: start)
        out[line] = m.isFinite ? m + logf(total) : m
        line += 1
      }
    }
    var outShape = shape
    outShape[a] = 1
    let kept = Tensor(shape: outShape, data: out)
    if !keepDims { outShape.remove(at: a) }
    return Tensor.record(Tensor(shape: outShape, data: out), [self]) { [self] g in
      let soft = Tensor.zipBroadcast(self, kept) { expf($0 - $1) }
      return [Tensor.zipBroadcast(soft, Tensor(shape: kept.shape, data: g.data), *)]
    }
  }
}

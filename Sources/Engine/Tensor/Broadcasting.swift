/// NumPy/PyTorch broadcasting: shapes are aligned at the right; a dimension of size 1 (or a
/// missing one) stretches to the other's size.
enum Broadcast {
  /// The broadcast shape of `a` and `b`. - Precondition: the shapes are compatible.
  static func shape(_ a: [Int], _ b: [Int]) -> [Int] {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
      let da = i < n - a.count ? 1 : a[i - (n - a.count)]
      let db = i < n - b.count ? 1 : b[i - (n - b.count)]
      precondition(da == db || da == 1 || db == 1, "broadcast: shapes \(a) and \(b) are incompatible")
      out[i] = da == 1 ? db : da
    }
    return out
  }

  /// Row-major strides of `shape` as seen from `outShape`: 0 on broadcast dimensions.
  static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
    let offset = outShape.count - shape.count
    var strides = [Int](repeating: 0, count: outShape.count)
    var running = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[i + offset] = shape[i] == 1 ? 0 : running
      running *= shape[i]
    }
    return strides
  }

  /// For every output element, the index of the element of an input with `strides` (row-major walk).
  static func indices(outShape: [Int], strides: [Int]) -> [Int] {
    let total = outShape.reduce(1, *)
    var out = [Int](repeating: 0, count: total)
    if total == 0 { return out }
    var counter = [Int](repeating: 0, count: outShape.count)
    var offset = 0
    for i in 0..<total {
      out[i] = offset
      var d = outShape.count - 1
      while d >= 0 {
        counter[d] += 1
        offset += strides[d]
        if counter[d] < outShape[d] { break }
        offset -= strides[d] * outShape[d]
        counter[d] = 0
        d -= 1
      }
    }
    return out
  }
}

extension Tensor {
  /// Sums `gradient` (shaped like a broadcast result) down to `shape`: the adjoint of broadcasting.
  static func reduce(_ gradient: Tensor, to shape: [Int]) -> Tensor {
    if gradient.shape == shape { return gradient }
    let strides = Broadcast.strides(of: shape, in: gradient.shape)
    let map = Broadcast.indices(outShape: gradient.shape, strides: strides)
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    gradient.data.withUnsafeBufferPointer { g in
      for i in 0..<g.count { out[map[i]] += g[i] }
    }
    return Tensor(shape: shape, data: out)
  }

  /// `f(a[i], b[j])` over the broadcast shape, with fast paths for equal shapes and scalars.
  static func zipBroadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    if a.shape == b.shape {
      var out = [Float](repeating: 0, count: a.count)
      a.data.withUnsafeBufferPointer { x in
        b.data.withUnsafeBufferPointer { y in
          for i in 0..<x.count { out[i] = f(x[i], y[i]) }
        }
      }
      return Tensor(shape: a.shape, data: out)
    }
    let shape = Broadcast.shape(a.shape, b.shape)
    if b.count == 1 {
      let s = b.data[0]
      let base = a.shape == shape ? a.data : broadcastData(a, to: shape)
      return Tensor(shape: shape, data: base.map { f($0, s) })
    }
    if a.count == 1 {
      let s = a.data[0]
      let base = b.shape == shape ? b.data : broadcastData(b, to: shape)
      return Tensor(shape: shape, data: base.map { f(s, $0) })
    }
    let ia = Broadcast.indices(outShape: shape, strides: Broadcast.strides(of: a.shape, in: shape))
    let ib = Broadcast.indices(outShape: shape, strides: Broadcast.strides(of: b.shape, in: shape))
    var out = [Float](repeating: 0, count: ia.count)
    a.data.withUnsafeBufferPointer { x in
      b.data.withUnsafeBufferPointer { y in
        for i in 0..<out.count { out[i] = f(x[ia[i]], y[ib[i]]) }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// The values of `t` stretched to `shape`.
  static func broadcastData(_ t: Tensor, to shape: [Int]) -> [Float] {
    let map = Broadcast.indices(outShape: shape, strides: Broadcast.strides(of: t.shape, in: shape))
    return map.map { t.data[$0] }
  }
}

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
}

/// A row-major walk over an output shape that reads (or writes) one or two operands through
/// their own strides, with adjacent dimensions merged where every operand allows it. The walk is
/// a sequence of *runs*: `innerCount` consecutive output elements during which each operand
/// moves by a fixed inner stride (1 for a contiguous operand, 0 for a broadcast one), so inner
/// loops are simple strided loops the compiler vectorises.
struct StridedWalk {
  /// Sizes of the outer (non-innermost) merged dimensions.
  let outerShape: [Int]
  /// Per operand, the strides of the outer dimensions.
  let outerStrides: [[Int]]
  /// Length of a run.
  let innerCount: Int
  /// Per operand, the stride within a run.
  let innerStrides: [Int]
  /// Number of runs.
  let runCount: Int

  /// - Parameters:
  ///   - shape: the output shape (row-major, contiguous).
  ///   - strides: one stride list per operand, each as long as `shape`.
  init(shape: [Int], strides: [[Int]]) {
    // Drop size-1 dimensions, then merge dimension i into i + 1 where every operand's stride
    // satisfies stride[i] == stride[i+1] · size[i+1].
    var dims: [(size: Int, strides: [Int])] = []
    for d in shape.indices where shape[d] != 1 { dims.append((shape[d], strides.map { $0[d] })) }
    var merged: [(size: Int, strides: [Int])] = []
    for dim in dims {
      if let last = merged.last,
        zip(last.strides, dim.strides).allSatisfy({ $0 == $1 * dim.size })
      {
        merged[merged.count - 1] = (last.size * dim.size, dim.strides)
      } else {
        merged.append(dim)
      }
    }
    if merged.isEmpty { merged = [(1, strides.map { _ in 0 })] }
    let inner = merged.removeLast()
    innerCount = inner.size
    innerStrides = inner.strides
    outerShape = merged.map(\.size)
    outerStrides = strides.indices.map { k in merged.map { $0.strides[k] } }
    runCount = outerShape.reduce(1, *)
  }

  /// Calls `body(run, offsets)` for runs in `range`, in order; `offsets[k]` is operand k's
  /// offset at the run's first element, and the run's first output index is `run · innerCount`.
  @inline(__always)
  func forEachRun(in range: Range<Int>, _ body: (Int, [Int]) -> Void) {
    guard !range.isEmpty else { return }
    let dims = outerShape.count
    let operands = outerStrides.count
    // Decompose the first run index into counters.
    var counter = [Int](repeating: 0, count: dims)
    var offsets = [Int](repeating: 0, count: operands)
    var rest = range.lowerBound
    for d in stride(from: dims - 1, through: 0, by: -1) {
      counter[d] = rest % outerShape[d]
      rest /= outerShape[d]
      for k in 0..<operands { offsets[k] += counter[d] * outerStrides[k][d] }
    }
    for run in range {
      body(run, offsets)
      var d = dims - 1
      while d >= 0 {
        counter[d] += 1
        for k in 0..<operands { offsets[k] += outerStrides[k][d] }
        if counter[d] < outerShape[d] { break }
        for k in 0..<operands { offsets[k] -= outerStrides[k][d] * outerShape[d] }
        counter[d] = 0
        d -= 1
      }
    }
  }

  /// Runs split over the engine's threads (each run written by one thread), at least
  /// `minimumElements` per chunk.
  @inline(__always)
  func forEachRunConcurrently(minimumElements: Int = 1 << 15, _ body: (Int, [Int]) -> Void) {
    let perChunk = Swift.max(1, minimumElements / Swift.max(innerCount, 1))
    Parallel.forEachChunk(runCount, minimumChunk: perChunk) { range in forEachRun(in: range, body) }
  }
}

extension Tensor {
  /// Sums `gradient` (shaped like a broadcast result) down to `shape`: the adjoint of broadcasting.
  ///
  /// The walk goes over the gradient in row-major order and adds each element into its target,
  /// so the summation order is fixed (single-threaded: partial sums would depend on the split).
  static func reduce(_ gradient: Tensor, to shape: [Int]) -> Tensor {
    if gradient.shape == shape { return gradient }
    let count = shape.reduce(1, *)
    if count == 1 {
      var total: Float = 0
      gradient.data.withUnsafeBufferPointer { g in for v in g { total += v } }
      return Tensor(shape: shape, data: [total])
    }
    let walk = StridedWalk(
      shape: gradient.shape, strides: [Broadcast.strides(of: shape, in: gradient.shape)])
    var out = [Float](repeating: 0, count: count)
    let n = walk.innerCount, s = walk.innerStrides[0]
    gradient.data.withUnsafeBufferPointer { g in
      out.withUnsafeMutableBufferPointer { o in
        guard let gp = g.baseAddress, let op = o.baseAddress else { return }
        walk.forEachRun(in: 0..<walk.runCount) { run, offsets in
          let src = gp + run * n, dst = op + offsets[0]
          if s == 0 {
            var acc: Float = 0
            for i in 0..<n { acc += src[i] }
            dst[0] += acc
          } else if s == 1 {
            for i in 0..<n { dst[i] += src[i] }
          } else {
            for i in 0..<n { dst[i * s] += src[i] }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// `f(a[i], b[j])` over the broadcast shape.
  @inline(__always)
  static func zipBroadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    let shape = a.shape == b.shape ? a.shape : Broadcast.shape(a.shape, b.shape)
    let total = shape.reduce(1, *)
    let out = [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
      initialized = total
      guard let op = buffer.baseAddress else { return }
      a.data.withUnsafeBufferPointer { x in
        b.data.withUnsafeBufferPointer { y in
          guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
          if a.shape == b.shape {
            Parallel.forEachChunk(total) { r in for i in r { op[i] = f(xp[i], yp[i]) } }
            return
          }
          let walk = StridedWalk(
            shape: shape,
            strides: [Broadcast.strides(of: a.shape, in: shape), Broadcast.strides(of: b.shape, in: shape)])
          let n = walk.innerCount, sa = walk.innerStrides[0], sb = walk.innerStrides[1]
          walk.forEachRunConcurrently { run, offsets in
            let dst = op + run * n, pa = xp + offsets[0], pb = yp + offsets[1]
            switch (sa, sb) {
            case (1, 1): for i in 0..<n { dst[i] = f(pa[i], pb[i]) }
            case (1, 0):
              let v = pb[0]
              for i in 0..<n { dst[i] = f(pa[i], v) }
            case (0, 1):
              let v = pa[0]
              for i in 0..<n { dst[i] = f(v, pb[i]) }
            default: for i in 0..<n { dst[i] = f(pa[i * sa], pb[i * sb]) }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// The values of `t` stretched to `shape`.
  static func broadcastData(_ t: Tensor, to shape: [Int]) -> [Float] {
    gather(t.data, shape: shape, strides: Broadcast.strides(of: t.shape, in: shape))
  }

  /// A contiguous copy of `source` read through `strides` over `shape` (permutations,
  /// broadcasts, slices).
  static func gather(_ source: [Float], shape: [Int], strides: [Int], offset: Int = 0) -> [Float] {
    let total = shape.reduce(1, *)
    let walk = StridedWalk(shape: shape, strides: [strides])
    let n = walk.innerCount, s = walk.innerStrides[0]
    return [Float](unsafeUninitializedCapacity: total) { buffer, initialized in
      initialized = total
      guard let op = buffer.baseAddress else { return }
      source.withUnsafeBufferPointer { x in
        guard let xp = x.baseAddress else { return }
        walk.forEachRunConcurrently { run, offsets in
          let dst = op + run * n, src = xp + offset + offsets[0]
          switch s {
          case 1: dst.update(from: src, count: n)
          case 0:
            let v = src[0]
            for i in 0..<n { dst[i] = v }
          default: for i in 0..<n { dst[i] = src[i * s] }
          }
        }
      }
    }
  }
}

// Shape primitives: views in PyTorch are copies here (storage stays contiguous), but a reshape
// shares the buffer copy-on-write, so it costs nothing until written.

extension Tensor {
  /// The same values with another shape; one dimension may be −1 (inferred).
  public func reshaped(_ newShape: [Int]) -> Tensor {
    var resolved = newShape
    if let i = newShape.firstIndex(of: -1) {
      let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
      precondition(known > 0 && count % known == 0, "reshape: cannot infer −1 in \(newShape) for \(count) elements")
      resolved[i] = count / known
    }
    precondition(resolved.reduce(1, *) == count, "reshape: \(shape) (\(count) elements) to \(newShape)")
    let out = Tensor(shape: resolved, data: data)
    return Tensor.record(out, [self]) { [shape] g in [Tensor(shape: shape, data: g.data)] }
  }

  /// Dimensions reordered: output dimension i is input dimension `order[i]`.
  public func permuted(_ order: [Int]) -> Tensor {
    precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of 0..<\(rank)")
    if order == Array(0..<rank) { return self }
    let outShape = order.map { shape[$0] }
    var inStrides = [Int](repeating: 1, count: rank)
    for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
    let out = Tensor.gather(data, shape: outShape, strides: order.map { inStrides[$0] })
    var inverse = [Int](repeating: 0, count: rank)
    for (i, o) in order.enumerated() { inverse[o] = i }
    return Tensor.record(Tensor(shape: outShape, data: out), [self]) { g in [g.permuted(inverse)] }
  }

  /// Swaps two dimensions (default: the last two, a matrix transpose).
  public func transposed(_ d0: Int = -2, _ d1: Int = -1) -> Tensor {
    var order = Array(0..<rank)
    order.swapAt(normalize(d0), normalize(d1))
    return permuted(order)
  }

  /// An axis counted from the end when negative.
  func normalize(_ axis: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
  }
}

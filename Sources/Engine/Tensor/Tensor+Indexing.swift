// Concatenation, slicing, gathering and selection. Each VJP routes the gradient back to the
// positions the forward read from.

extension Tensor {
  /// Joins tensors along `axis`; all other dimensions must match.
  public static func concatenate(_ parts: [Tensor], axis: Int) -> Tensor {
    precondition(!parts.isEmpty, "concatenate: no tensors")
    let first = parts[0]
    let a = first.normalize(axis)
    for p in parts {
      precondition(
        p.rank == first.rank && (0..<first.rank).allSatisfy { $0 == a || p.shape[$0] == first.shape[$0] },
        "concatenate: shape \(p.shape) does not match \(first.shape) outside axis \(a)")
    }
    let outer = first.shape[..<a].reduce(1, *)
    let inner = first.shape[(a + 1)...].reduce(1, *)
    let sizes = parts.map { $0.shape[a] }
    var outShape = first.shape
    outShape[a] = sizes.reduce(0, +)
    let total = outShape[a]
    let out = [Float](unsafeUninitializedCapacity: outShape.reduce(1, *)) { buffer, initialized in
      initialized = buffer.count
      guard let op = buffer.baseAddress else { return }
      var offset = 0
      for (p, size) in zip(parts, sizes) {
        p.data.withUnsafeBufferPointer { x in
          guard let xp = x.baseAddress else { return }
          for o in 0..<outer {
            (op + (o * total + offset) * inner).update(from: xp + o * size * inner, count: size * inner)
          }
        }
        offset += size
      }
    }
    return record(Tensor(shape: outShape, data: out), parts) { g in
      var start = 0
      return sizes.map { size in
        defer { start += size }
        return g.narrowed(axis: a, start: start, length: size)
      }
    }
  }

  /// The slice `start ..< start + length` along `axis`.
  public func narrowed(axis: Int, start: Int, length: Int) -> Tensor {
    let a = normalize(axis)
    precondition(start >= 0 && length >= 0 && start + length <= shape[a], "narrow: \(start)..<\(start + length) outside 0..<\(shape[a])")
    let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *), size = shape[a]
    var outShape = shape
    outShape[a] = length
    let out = [Float](unsafeUninitializedCapacity: outShape.reduce(1, *)) { buffer, initialized in
      initialized = buffer.count
      guard let op = buffer.baseAddress else { return }
      data.withUnsafeBufferPointer { x in
        guard let xp = x.baseAddress else { return }
        for o in 0..<outer {
          (op + o * length * inner).update(from: xp + (o * size + start) * inner, count: length * inner)
        }
      }
    }
    return Tensor.record(Tensor(shape: outShape, data: out), [self]) { [shape] g in
      var d = [Float](repeating: 0, count: shape.reduce(1, *))
      d.withUnsafeMutableBufferPointer { db in
        g.data.withUnsafeBufferPointer { gb in
          guard let dp = db.baseAddress, let gp = gb.baseAddress else { return }
          for o in 0..<outer {
            (dp + (o * size + start) * inner).update(from: gp + o * length * inner, count: length * inner)
          }
        }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }

  /// Splits along `axis` into pieces of the given sizes.
  public func split(_ sizes: [Int], axis: Int) -> [Tensor] {
    precondition(sizes.reduce(0, +) == shape[normalize(axis)], "split: sizes \(sizes) do not add up to \(shape[normalize(axis)])")
    var start = 0
    return sizes.map { size in
      defer { start += size }
      return narrowed(axis: axis, start: start, length: size)
    }
  }

  /// Rows (entries along `axis`) picked by `indices`, repeats allowed (`torch.index_select`).
  /// VJP: scatter-add of the gradient back to the picked positions.
  public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
    let a = normalize(axis)
    let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *), size = shape[a]
    for i in indices { precondition(i >= 0 && i < size, "indexSelect: index \(i) outside 0..<\(size)") }
    var outShape = shape
    outShape[a] = indices.count
    var out = [Float](repeating: 0, count: outShape.reduce(1, *))
    for o in 0..<outer {
      for (k, idx) in indices.enumerated() {
        let src = (o * size + idx) * inner, dst = (o * indices.count + k) * inner
        for i in 0..<inner { out[dst + i] = data[src + i] }
      }
    }
    return Tensor.record(Tensor(shape: outShape, data: out), [self]) { [shape] g in
      [Tensor.scatterAdd(g, axis: a, indices: indices, into: shape)]
    }
  }

  /// Adds the entries of `source` (along `axis`) into a zero tensor of `shape` at `indices`.
  public static func scatterAdd(_ source: Tensor, axis: Int, indices: [Int], into shape: [Int]) -> Tensor {
    let a = source.normalize(axis)
    let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *), size = shape[a]
    precondition(source.shape[a] == indices.count, "scatterAdd: \(indices.count) indices for \(source.shape[a]) entries")
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    for o in 0..<outer {
      for (k, idx) in indices.enumerated() {
        let dst = (o * size + idx) * inner, src = (o * indices.count + k) * inner
        for i in 0..<inner { out[dst + i] += source.data[src + i] }
      }
    }
    return record(Tensor(shape: shape, data: out), [source]) { g in [g.indexSelect(axis: a, indices)] }
  }

  /// `condition ? a : b` element-wise (condition broadcast to the operands' shape, no gradient).
  public static func select(_ condition: [Bool], _ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape && condition.count == a.count, "select: shapes \(a.shape), \(b.shape), \(condition.count) conditions")
    let out = Tensor(shape: a.shape, data: (0..<a.count).map { condition[$0] ? a.data[$0] : b.data[$0] })
    return record(out, [a, b]) { g in
      [Tensor(shape: a.shape, data: (0..<g.count).map { condition[$0] ? g.data[$0] : 0 }),
       Tensor(shape: b.shape, data: (0..<g.count).map { condition[$0] ? 0 : g.data[$0] })]
    }
  }

  /// Zero padding of each dimension by `(before, after)` elements.
  public func padded(_ padding: [(Int, Int)]) -> Tensor {
    precondition(padding.count == rank, "pad: \(padding.count) pairs for rank \(rank)")
    let outShape = zip(shape, padding).map { $0 + $1.0 + $1.1 }
    var out = Tensor.zeros(outShape).data
    var outStrides = [Int](repeating: 1, count: rank)
    for d in stride(from: rank - 2, through: 0, by: -1) { outStrides[d] = outStrides[d + 1] * outShape[d + 1] }
    let base = zip(padding, outStrides).reduce(0) { $0 + $1.0.0 * $1.1 }
    let walk = StridedWalk(shape: shape, strides: [outStrides])
    let n = walk.innerCount, step = walk.innerStrides[0]
    data.withUnsafeBufferPointer { x in
      out.withUnsafeMutableBufferPointer { o in
        guard let xp = x.baseAddress, let op = o.baseAddress else { return }
        walk.forEachRunConcurrently { run, offsets in
          let src = xp + run * n, dst = op + base + offsets[0]
          for i in 0..<n { dst[i * step] = src[i] }
        }
      }
    }
    return Tensor.record(Tensor(shape: outShape, data: out), [self]) { [shape] g in
      [Tensor(shape: shape, data: Tensor.gather(g.data, shape: shape, strides: outStrides, offset: base))]
    }
  }

  /// The `k` largest values along the last axis and their indices, largest first (`torch.topk`).
  /// The values carry gradients to the selected positions.
  public func topK(_ k: Int) -> (values: Tensor, indices: [[Int]]) {
    let n = shape[rank - 1], rows = count / Swift.max(n, 1)
    precondition(k >= 0 && k <= n, "topK: k = \(k) with \(n) entries")
    var picked: [[Int]] = []
    for r in 0..<rows {
      let row = Array(data[(r * n)..<((r + 1) * n)])
      picked.append(Array(row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k)))
    }
    var outShape = shape
    outShape[rank - 1] = k
    let flat = picked.enumerated().flatMap { r, idx in idx.map { r * n + $0 } }
    let values = Tensor(shape: outShape, data: flat.map { data[$0] })
    let out = Tensor.record(values, [self]) { [shape] g in
      var d = [Float](repeating: 0, count: shape.reduce(1, *))
      for (j, src) in flat.enumerated() { d[src] += g.data[j] }
      return [Tensor(shape: shape, data: d)]
    }
    return (out, picked)
  }

  /// Inverted dropout (training): zeroes each element with probability `p` and scales the rest by
  /// `1/(1−p)`; the mask is drawn from `generator`. Identity when `p == 0`.
  public func dropout(_ p: Float, using generator: inout RandomGenerator) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: p = \(p) must be in [0, 1)")
    if p == 0 { return self }
    let scale = 1 / (1 - p)
    var mask = [Float](repeating: 0, count: count)
    for i in 0..<count where generator.nextFloat() >= p { mask[i] = scale }
    return self * Tensor(shape: shape, data: mask)
  }
}

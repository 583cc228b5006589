#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Element-wise primitives. Each forward is followed by its vector–Jacobian product; binary ops
// broadcast and reduce their gradients back to each input's shape.

extension Tensor {
  /// `a + b` (broadcasting). ∂/∂a = g, ∂/∂b = g (summed over broadcast dimensions).
  public static func + (a: Tensor, b: Tensor) -> Tensor {
    let out = zipBroadcast(a, b, +)
    return record(out, [a, b]) { g in [reduce(g, to: a.shape), reduce(g, to: b.shape)] }
  }

  /// `a − b` (broadcasting). ∂/∂a = g, ∂/∂b = −g.
  public static func - (a: Tensor, b: Tensor) -> Tensor {
    let out = zipBroadcast(a, b, -)
    return record(out, [a, b]) { g in [reduce(g, to: a.shape), reduce(g.negated(), to: b.shape)] }
  }

  /// `a ⊙ b` (broadcasting). ∂/∂a = g ⊙ b, ∂/∂b = g ⊙ a.
  public static func * (a: Tensor, b: Tensor) -> Tensor {
    let out = zipBroadcast(a, b, *)
    return record(out, [a, b]) { g in
      [
        a.requiresGrad ? reduce(zipBroadcast(g, b, *), to: a.shape) : nil,
        b.requiresGrad ? reduce(zipBroadcast(g, a, *), to: b.shape) : nil,
      ]
    }
  }

  /// `a / b` (broadcasting). ∂/∂a = g / b, ∂/∂b = −g ⊙ a / b².
  public static func / (a: Tensor, b: Tensor) -> Tensor {
    let out = zipBroadcast(a, b, /)
    // The closure keeps the output's values, never the output tensor itself: that would be a
    // reference cycle (output → node → closure → output) and leak the whole graph.
    let (outShape, outData) = (out.shape, out.data)
    return record(out, [a, b]) { g in
      [
        a.requiresGrad ? reduce(zipBroadcast(g, b, /), to: a.shape) : nil,
        b.requiresGrad
          ? reduce(zipBroadcast(zipBroadcast(g, Tensor(shape: outShape, data: outData), *), b, { -$0 / $1 }), to: b.shape)
          : nil,
      ]
    }
  }

  public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor(s) }
  public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor(s) }
  public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor(s) }
  public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor(s) }
  public static func * (s: Float, a: Tensor) -> Tensor { Tensor(s) * a }
  public static func - (s: Float, a: Tensor) -> Tensor { Tensor(s) - a }
  public static prefix func - (a: Tensor) -> Tensor { a.negated() }

  /// `−x`.
  public func negated() -> Tensor {
    let out = Tensor(shape: shape, data: Tensor.map(data) { -$0 })
    return Tensor.record(out, [self]) { g in [g.negated()] }
  }

  /// A unary primitive: `f` forward, `df(x, y)` its derivative at input x with output y.
  @inline(__always)
  func unary(_ f: (Float) -> Float, derivative df: @escaping (Float, Float) -> Float) -> Tensor {
    let values = Tensor.map(data, f)
    let out = Tensor(shape: shape, data: values)
    // Captures the values, not `out` (a cycle through out.node would leak the graph).
    return Tensor.record(out, [self]) { [self] g in
      let d = [Float](unsafeUninitializedCapacity: g.count) { buffer, initialized in
        initialized = g.count
        guard let dp = buffer.baseAddress else { return }
        g.data.withUnsafeBufferPointer { gb in
          self.data.withUnsafeBufferPointer { xb in
            values.withUnsafeBufferPointer { yb in
              guard let gp = gb.baseAddress, let xp = xb.baseAddress, let yp = yb.baseAddress else { return }
              Parallel.forEachChunk(gb.count) { r in for i in r { dp[i] = gp[i] * df(xp[i], yp[i]) } }
            }
          }
        }
      }
      return [Tensor(shape: self.shape, data: d)]
    }
  }

  /// `f` applied to every value, split over the engine's threads.
  @inline(__always)
  static func map(_ values: [Float], _ f: (Float) -> Float) -> [Float] {
    [Float](unsafeUninitializedCapacity: values.count) { buffer, initialized in
      initialized = values.count
      guard let op = buffer.baseAddress else { return }
      values.withUnsafeBufferPointer { xb in
        guard let xp = xb.baseAddress else { return }
        Parallel.forEachChunk(xb.count) { r in for i in r { op[i] = f(xp[i]) } }
      }
    }
  }

  /// `eˣ`; derivative `eˣ`.
  public func exp() -> Tensor { unary({ expf($0) }, derivative: { _, y in y }) }

  /// Natural logarithm; derivative `1/x`.
  public func log() -> Tensor { unary({ logf($0) }, derivative: { x, _ in 1 / x }) }

  /// `√x`; derivative `1/(2√x)`.
  public func sqrt() -> Tensor { unary({ $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }

  /// `x²`; derivative `2x`.
  public func squared() -> Tensor { unary({ $0 * $0 }, derivative: { x, _ in 2 * x }) }

  /// `max(x, 0)`; derivative 1 where x > 0 (0 at 0, as PyTorch).
  public func relu() -> Tensor { unary({ Swift.max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 }) }

  /// `tanh x`; derivative `1 − tanh² x`.
  public func tanh() -> Tensor { unary({ tanhf($0) }, derivative: { _, y in 1 - y * y }) }

  /// Logistic sigmoid `1/(1+e⁻ˣ)`, computed stably for large |x|; derivative `σ(1−σ)`.
  public func sigmoid() -> Tensor {
    unary(
      { x in x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x)) },
      derivative: { _, y in y * (1 - y) })
  }

  /// GELU with the exact erf form (PyTorch's default): `x·Φ(x)`; derivative `Φ(x) + x·φ(x)`.
  public func gelu() -> Tensor {
    // x·Φ(x) and Φ(x) + x·φ(x), eight lanes at a time (Vectorized.normalCDFAndDensity).
    let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = count
      guard let op = buffer.baseAddress else { return }
      data.withUnsafeBufferPointer { xb in
        guard let xp = xb.baseAddress else { return }
        Parallel.forEachChunk(xb.count) { r in
          Vectorized.map(xp + r.lowerBound, op + r.lowerBound, r.count) { v, _ in
            v * Vectorized.normalCDFAndDensity(v).cdf
          }
        }
      }
    }
    return Tensor.record(Tensor(shape: shape, data: values), [self]) { [self] g in
      let d = [Float](unsafeUninitializedCapacity: g.count) { buffer, initialized in
        initialized = g.count
        guard let dp = buffer.baseAddress else { return }
        g.data.withUnsafeBufferPointer { gb in
          self.data.withUnsafeBufferPointer { xb in
            guard let gp = gb.baseAddress, let xp = xb.baseAddress else { return }
            Parallel.forEachChunk(gb.count) { r in
              let gr = gp + r.lowerBound
              Vectorized.map(xp + r.lowerBound, dp + r.lowerBound, r.count) { v, j in
                let (cdf, density) = Vectorized.normalCDFAndDensity(v)
                var gv = SIMD8<Float>()
                if j + 8 <= r.count {
                  gv = Vectorized.load(gr, j)
                } else {
                  for k in 0..<(r.count - j) { gv[k] = gr[j + k] }
                }
                return gv * (cdf + v * density)
              }
            }
          }
        }
      }
      return [Tensor(shape: self.shape, data: d)]
    }
  }
}

extension Tensor {
  /// `|x|`; derivative `sign(x)` (0 at 0, as PyTorch).
  public func abs() -> Tensor { unary({ Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }

  /// The largest element of the whole tensor (a scalar); the gradient goes to its first occurrence.
  public func maxAll() -> Tensor { reshaped([count]).max(axis: 0) }
}

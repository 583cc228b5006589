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
    return record(out, [a, b]) { g in
      [
        a.requiresGrad ? reduce(zipBroadcast(g, b, /), to: a.shape) : nil,
        b.requiresGrad ? reduce(zipBroadcast(zipBroadcast(g, out, *), b, { -$0 / $1 }), to: b.shape) : nil,
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
    let out = Tensor(shape: shape, data: data.map { -$0 })
    return Tensor.record(out, [self]) { g in [g.negated()] }
  }

  /// A unary primitive: `f` forward, `df(x, y)` its derivative at input x with output y.
  func unary(_ f: (Float) -> Float, derivative df: @escaping (Float, Float) -> Float) -> Tensor {
    let out = Tensor(shape: shape, data: data.map(f))
    return Tensor.record(out, [self]) { [self] g in
      var d = [Float](repeating: 0, count: g.count)
      for i in 0..<d.count { d[i] = g.data[i] * df(self.data[i], out.data[i]) }
      return [Tensor(shape: self.shape, data: d)]
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
    unary(
      { x in 0.5 * x * (1 + erff(x * 0.70710678118654752)) },
      derivative: { x, _ in
        0.5 * (1 + erff(x * 0.70710678118654752)) + x * 0.39894228040143268 * expf(-0.5 * x * x)
      })
  }
}

extension Tensor {
  /// `|x|`; derivative `sign(x)` (0 at 0, as PyTorch).
  public func abs() -> Tensor { unary({ Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }

  /// The largest element of the whole tensor (a scalar); the gradient goes to its first occurrence.
  public func maxAll() -> Tensor { reshaped([count]).max(axis: 0) }
}

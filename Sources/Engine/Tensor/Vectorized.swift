// Reductions over contiguous Float rows with 16 independent partial sums (two SIMD8 lanes).
//
// A plain `for j in 0..<n { s += p[j] }` is one dependent chain of additions: the compiler may not
// reorder floating-point sums, so it runs at one add per add-latency (about 4 cycles). Sixteen
// partial sums, added at the end in a fixed order, keep the vector units busy and are at least as
// accurate (pairwise-like). The order depends only on `n`, never on threads, so results stay
// deterministic.

enum Vectorized {
  @inline(__always)
  static func load(_ p: UnsafePointer<Float>, _ j: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
  }

  @inline(__always)
  static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ j: Int) {
    UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  /// `Σ p[j]`, j < n.
  @inline(__always)
  static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var j = 0
    while j + 16 <= n {
      a0 += load(p, j)
      a1 += load(p, j + 8)
      j += 16
    }
    if j + 8 <= n {
      a0 += load(p, j)
      j += 8
    }
    var s = (a0 + a1).sum()
    while j < n {
      s += p[j]
      j += 1
    }
    return s
  }

  /// `Σ (p[j] − mu)²`, j < n.
  @inline(__always)
  static func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from mu: Float) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mu)
    var j = 0
    while j + 16 <= n {
      let d0 = load(p, j) - m, d1 = load(p, j + 8) - m
      a0 += d0 * d0
      a1 += d1 * d1
      j += 16
    }
    if j + 8 <= n {
      let d0 = load(p, j) - m
      a0 += d0 * d0
      j += 8
    }
    var s = (a0 + a1).sum()
    while j < n {
      let d = p[j] - mu
      s += d * d
      j += 1
    }
    return s
  }

  /// `(Σ g[j], Σ g[j]·(x[j] − mu))`, j < n.
  @inline(__always)
  static func sumAndCenteredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, mu: Float)
    -> (Float, Float)
  {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), d0 = SIMD8<Float>(), d1 = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mu)
    var j = 0
    while j + 16 <= n {
      let g0 = load(g, j), g1 = load(g, j + 8)
      s0 += g0
      s1 += g1
      d0 += g0 * (load(x, j) - m)
      d1 += g1 * (load(x, j + 8) - m)
      j += 16
    }
    if j + 8 <= n {
      let g0 = load(g, j)
      s0 += g0
      d0 += g0 * (load(x, j) - m)
      j += 8
    }
    var s = (s0 + s1).sum(), d = (d0 + d1).sum()
    while j < n {
      s += g[j]
      d += g[j] * (x[j] - mu)
      j += 1
    }
    return (s, d)
  }
}

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

// Eight-lane exp and the standard normal CDF, for GELU (whose scalar `erff` and `expf` were a
// sixth of a ViT-tiny training step).
extension Vectorized {
  /// `eˣ` to about 2 ulp: Cody–Waite reduction by ln 2 and the Cephes `expf` polynomial; inputs
  /// are clamped to [−87.3, 88.7] (no denormals, no infinities).
  @inline(__always)
  static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.7)
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    // Round to nearest by the 1.5·2²³ shift: the sum's low mantissa bits hold n as an integer
    // (the standard library's generic float→int vector conversion is element by element).
    let shifted = xc * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    var r = xc - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let y = p * (r * r) + r + 1
    let bits = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return y * unsafeBitCast(bits, to: SIMD8<Float>.self)
  }

  /// `Φ(x) = ½(1 + erf(x/√2))` and the density `φ(x) = e^{−x²/2}/√(2π)`. The tail
  /// `erfc(|x|/√2) = P(t)·e^{−x²/2}` (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7) is computed
  /// directly, so Φ of large negative x does not lose its digits to `1 − erf`.
  @inline(__always)
  static func normalCDFAndDensity(_ x: SIMD8<Float>) -> (cdf: SIMD8<Float>, density: SIMD8<Float>) {
    let z = x.replacing(with: -x, where: x .< 0) * 0.707_106_78
    let t = 1 / (1 + 0.327_591_1 * z)
    var p = SIMD8<Float>(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    p = p * t
    let gauss = exp(-0.5 * x * x)
    let tail = 0.5 * p * gauss  // Φ(−|x|)
    let cdf = tail.replacing(with: 1 - tail, where: x .> 0)
    return (cdf, 0.398_942_28 * gauss)
  }

  /// `body(v)` on `count` floats at `x` in blocks of eight (the last block zero-padded), with the
  /// results written to `out`.
  @inline(__always)
  static func map(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
    _ body: (SIMD8<Float>, Int) -> SIMD8<Float>
  ) {
    var j = 0
    while j + 8 <= count {
      store(body(load(x, j), j), out, j)
      j += 8
    }
    if j < count {
      var v = SIMD8<Float>()
      for k in 0..<(count - j) { v[k] = x[j + k] }
      let r = body(v, j)
      for k in 0..<(count - j) { out[j + k] = r[k] }
    }
  }
}

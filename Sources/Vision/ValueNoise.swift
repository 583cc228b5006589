import Engine

/// Smooth value noise on the integer lattice, from a hash of the lattice point: deterministic,
/// unbounded, no tables. `sample` is in [0, 1] with mean ½.
///
/// One construction for both uses: the tissue textures sample it in `Float`, the synthetic
/// slides' warp in `Double`. A lattice value keeps the hash's top `p` bits, `p` the precision of
/// `F` (24 for `Float`, 53 for `Double`), scaled by 2⁻ᵖ, so every lattice value is exact in `F`.
/// Between lattice points the values are blended bilinearly with smoothstep weights
/// `s(t) = t²(3 − 2t)`.
@frozen
public struct ValueNoise<F: BinaryFloatingPoint & Sendable>: Sendable {
  public let key: UInt64

  @inlinable
  public init(key: UInt64) { self.key = key }

  /// A noise field keyed by the generator's next 64 bits.
  @inlinable
  public init(_ rng: inout RandomGenerator) { key = rng.next() }

  /// The lattice point's 64 random bits (a splitmix64-style mix of key, i and j).
  @inlinable @inline(__always)
  public static func hash(_ key: UInt64, _ i: Int, _ j: Int) -> UInt64 {
    var z = key ^ (UInt64(bitPattern: Int64(i)) &* 0x9E37_79B9_7F4A_7C15)
    z ^= UInt64(bitPattern: Int64(j)) &* 0xC2B2_AE3D_27D4_EB4F
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return z
  }

  /// The value at lattice point (i, j), in [0, 1).
  @inlinable @inline(__always)
  public func lattice(_ i: Int, _ j: Int) -> F {
    let precision = F.significandBitCount + 1
    return F(Self.hash(key, i, j) >> UInt64(64 - precision)) * (1 / F(UInt64(1) << UInt64(precision)))
  }

  /// Bilinear interpolation of lattice values with smoothstep weights.
  @inlinable @inline(__always)
  public func sample(_ x: F, _ y: F) -> F {
    let fx = x.rounded(.down)
    let fy = y.rounded(.down)
    let i = Int(fx)
    let j = Int(fy)
    let tx = x - fx
    let ty = y - fy
    let sx = tx * tx * (3 - 2 * tx)
    let sy = ty * ty * (3 - 2 * ty)
    let a = lattice(i, j)
    let b = lattice(i + 1, j)
    let c = lattice(i, j + 1)
    let d = lattice(i + 1, j + 1)
    return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy
  }
}

extension ValueNoise where F == Float {
  /// Two-octave fractal noise in [0, 1] (mean ½, spread narrower than `sample`).
  @inlinable @inline(__always)
  public func fbm(_ x: Float, _ y: Float) -> Float {
    (2 * sample(x, y) + sample(2.03 * x + 17.1, 2.03 * y + 5.3)) * (1.0 / 3.0)
  }
}

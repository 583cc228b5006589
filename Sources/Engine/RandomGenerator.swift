/// A seeded, splittable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Randomness is always passed explicitly (`using: &generator`); nothing in the project reads a
/// global generator. `split(_:)` derives an independent child stream from the parent's seed and a
/// label without advancing the parent, so adding a consumer in one place does not shift the
/// numbers another place draws. Same seed and the same calls give the same bits on every platform.
///
/// References: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021);
/// Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (SplitMix, 2014).
public struct RandomGenerator: RandomNumberGenerator, Sendable {
  @usableFromInline var s0: UInt64
  @usableFromInline var s1: UInt64
  @usableFromInline var s2: UInt64
  @usableFromInline var s3: UInt64
  /// The 64-bit key this stream was seeded from (used to derive children).
  public let key: UInt64

  /// Creates a generator whose whole stream is fixed by `seed`.
  public init(seed: UInt64) {
    key = seed
    var sm = seed
    s0 = RandomGenerator.splitMix(&sm)
    s1 = RandomGenerator.splitMix(&sm)
    s2 = RandomGenerator.splitMix(&sm)
    s3 = RandomGenerator.splitMix(&sm)
  }

  /// A child stream identified by `label`; the parent is not advanced.
  public func split(_ label: UInt64) -> RandomGenerator {
    var sm = key ^ (label &* 0x9E37_79B9_7F4A_7C15)
    _ = RandomGenerator.splitMix(&sm)
    return RandomGenerator(seed: RandomGenerator.splitMix(&sm) ^ 0xD1B5_4A32_D192_ED03)
  }

  /// A child stream identified by a string label (for example a component name).
  public func split(_ label: String) -> RandomGenerator {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64
    for byte in label.utf8 {
      h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
    return split(h)
  }

  /// Next 64 random bits.
  @inlinable
  public mutating func next() -> UInt64 {
    let result = rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    return result
  }

  /// Uniform Float in [0, 1) with 24 random bits.
  @inlinable
  public mutating func nextFloat() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// Uniform Double in [0, 1) with 53 random bits.
  @inlinable
  public mutating func nextDouble() -> Double {
    Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
  }

  /// Uniform Double in `range`.
  @inlinable
  public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
    range.lowerBound + (range.upperBound - range.lowerBound) * nextDouble()
  }

  /// Uniform integer in `0..<bound` without modulo bias (Lemire's method).
  @inlinable
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "nextInt(below:): bound \(bound) must be positive")
    return Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
  }

  /// Standard normal sample (Box–Muller; one value per call, deterministic).
  public mutating func nextGaussian() -> Double {
    var u1 = nextDouble()
    if u1 < 1e-300 { u1 = 1e-300 }
    let u2 = nextDouble()
    return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
  }

  /// True with probability `p`.
  @inlinable
  public mutating func bernoulli(_ p: Double) -> Bool { nextDouble() < p }

  /// A deterministic Fisher–Yates shuffle of `0..<count`.
  public mutating func permutation(_ count: Int) -> [Int] {
    var result = Array(0..<count)
    if count < 2 { return result }
    for i in stride(from: count - 1, to: 0, by: -1) {
      result.swapAt(i, nextInt(below: i + 1))
    }
    return result
  }

  @usableFromInline
  func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  private static func splitMix(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

// Platform-independent math through the C library (Glibc on Linux, Darwin on macOS).
#if canImport(Glibc)
  import Glibc
  @usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
  @usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
  import Darwin
  @usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
  @usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif

import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One stain appearance (a slide's, or an image's): Beer–Lambert optics that turn hematoxylin and
/// eosin concentrations into RGB.
///
/// Maths: `RGB = 255 · exp(−(c_H · h + c_E · e + b))` per channel plus triangular sensor noise
/// (±1.5 grey levels), rounded half up and clamped; `h`, `e` are optical-density vectors (unit
/// length times a strength) and `b` a faint background absorbance. `random` draws `h`, `e` and `b`
/// from the same distribution as `SyntheticTissue` does per image (Ruifrok & Johnston's vectors
/// with hue and strength jittered by `jitter`).
///
/// Source: Ruifrok & Johnston, "Quantification of histochemical staining by color
/// deconvolution", Anal. Quant. Cytol. Histol. (2001).
public struct StainStyle: Sendable, Equatable {
  /// Hematoxylin optical density per unit concentration (R, G, B).
  public var hematoxylin: SIMD3<Float>
  /// Eosin optical density per unit concentration (R, G, B).
  public var eosin: SIMD3<Float>
  /// Background absorbance added everywhere (R, G, B).
  public var background: SIMD3<Float>

  /// A style with every vector given.
  public init(hematoxylin: SIMD3<Float>, eosin: SIMD3<Float>, background: SIMD3<Float>) {
    self.hematoxylin = hematoxylin
    self.eosin = eosin
    self.background = background
  }

  /// A random style; `jitter` 0 gives the reference vectors at unit strength.
  public static func random(jitter: Float = 1, using rng: inout RandomGenerator) -> StainStyle {
    func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * rng.nextFloat() }
    func logUniform(_ lo: Float, _ hi: Float) -> Float { expf(logf(lo) + (logf(hi) - logf(lo)) * rng.nextFloat()) }
    func normalised(_ v: SIMD3<Float>) -> SIMD3<Float> {
      let c = pointwiseMax(v, SIMD3(repeating: 0.01))
      return c / (c * c).sum().squareRoot()
    }
    let j = jitter
    let hv = normalised(
      SIMD3(0.65 + j * uniform(-0.08, 0.08), 0.70 + j * uniform(-0.08, 0.08), 0.29 + j * uniform(-0.1, 0.12)))
    let ev = normalised(SIMD3(0.07 + j * uniform(-0.04, 0.16), 0.99, 0.11 + j * uniform(-0.06, 0.14)))
    let sH = logUniform(1 / (1 + 0.35 * j), 1 + 0.35 * j)
    let sE = logUniform(1 / (1 + 0.35 * j), 1 + 0.35 * j)
    let level = uniform(0.01, 0.05)
    let back = SIMD3<Float>(level + uniform(0, 0.02), level + uniform(0, 0.02), level + uniform(0, 0.03))
    return StainStyle(hematoxylin: hv * sH, eosin: ev * sE, background: back)
  }

  /// Writes the RGB of `count` pixels with concentrations `h[i]`, `e[i]` to
  /// `out[3i ..< 3i + 3]`. The noise comes from a SplitMix64 stream seeded by one draw from
  /// `rng` (one 64-bit word per pixel, inlined: `RandomGenerator.next()` per pixel was a fifth
  /// of a whole slide's rendering time).
  ///
  /// `255 · exp(−od)` comes from a table (`transmittance`: steps of 1/512 in optical density,
  /// linear interpolation, error below 2·10⁻⁴ grey levels; 0 beyond od = 8), which is several
  /// times faster than `expf` on whole slides.
  public func compose(
    h: UnsafePointer<Float>, e: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt8>,
    using rng: inout RandomGenerator
  ) {
    let k: Float = 1.5 / 65_536
    let table = StainStyle.transmittance
    table.withUnsafeBufferPointer { t in
      @inline(__always) func intensity(_ od: Float) -> Float {
        let u = min(max(od, 0) * StainStyle.tableSteps, Float(t.count - 2))
        let i = Int(u)
        return t[i] + (t[i + 1] - t[i]) * (u - Float(i))
      }
      var state = rng.next()
      for i in 0..<count {
        let od = hematoxylin * h[i] + eosin * e[i] + background
        state &+= 0x9E37_79B9_7F4A_7C15
        var bits = state
        bits = (bits ^ (bits >> 30)) &* 0xBF58_476D_1CE4_E5B9
        bits = (bits ^ (bits >> 27)) &* 0x94D0_49BB_1331_11EB
        bits ^= bits >> 31
        let n0 = Float(bits & 0xFFFF) + Float((bits >> 16) & 0xFFFF)
        let n1 = Float((bits >> 32) & 0xFFFF) + Float(bits >> 48)
        let n2 = Float((bits >> 8) & 0xFFFF) + Float((bits >> 40) & 0xFFFF)
        out[3 * i] = roundToByte(intensity(od.x) + (n0 - 65_536) * k)
        out[3 * i + 1] = roundToByte(intensity(od.y) + (n1 - 65_536) * k)
        out[3 * i + 2] = roundToByte(intensity(od.z) + (n2 - 65_536) * k)
      }
    }
  }

  /// Table entries per unit of optical density.
  static let tableSteps: Float = 512

  /// `255 · exp(−i / 512)` for `i = 0 … 8·512 + 1`, the last entry 0 (clamped far end).
  static let transmittance: [Float] = {
    var t = (0...(8 * 512)).map { 255 * expf(-Float($0) / 512) }
    t.append(0)
    return t
  }()
}

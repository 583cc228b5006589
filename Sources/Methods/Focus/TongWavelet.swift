import Vision

/// Outcome of the Tong et al. (2004) wavelet blur detector on one image.
///
/// Counts are over 16×16-pixel blocks of the cropped image (one block = one `Emax` triple):
/// `per = daCount / edgeCount` is the paper's sharpness ratio (higher = sharper) and
/// `blurExtent = brgCount / rgCount` its blur extent.
///
/// Source: H. Tong, M. Li, H. Zhang, C. Zhang, "Blur Detection for Digital Images Using Wavelet
/// Transform", IEEE ICME 2004, §3 (Rules 1–5, Algorithm 1 steps 6–7).
public struct TongResult: Sendable, Equatable, Codable {
  /// `N_da / N_edge`: share of edge blocks that are Dirac- or A-step structures (Paper step 6).
  /// 0 when there are no edge blocks (the reference implementation's `0/0` gives NaN instead).
  public var per: Double
  /// `N_brg / N_rg` (Paper step 7): share of Roof/G-step blocks that lost their sharpness.
  /// When `N_rg = 0` this is `100`, the sentinel the reference implementation returns.
  public var blurExtent: Double
  /// `N_edge`: blocks with `Emax1 > T` or `Emax2 > T` or `Emax3 > T` (Rule 1).
  public var edgeCount: Int
  /// `N_da`: edge blocks with `Emax1 > Emax2 > Emax3` (Rule 2, Dirac or A-step).
  public var daCount: Int
  /// `N_rg`: edge blocks that are Roof or G-step, `Emax1 < Emax2 < Emax3` (Rule 3) or
  /// `Emax2 > Emax1 ∧ Emax2 > Emax3` (Rule 4, Roof); the two rules are disjoint, and this is the
  /// reference implementation's `sum(RGstructure) + sum(RSstructure)`.
  public var rgCount: Int
  /// `N_brg`: Roof/G-step blocks with `Emax1 < T`, i.e. that lost sharpness (Rule 5).
  public var brgCount: Int

  /// Creates a result from its fields.
  public init(
    per: Double, blurExtent: Double, edgeCount: Int, daCount: Int, rgCount: Int, brgCount: Int
  ) {
    self.per = per
    self.blurExtent = blurExtent
    self.edgeCount = edgeCount
    self.daCount = daCount
    self.rgCount = rgCount
    self.brgCount = brgCount
  }

  /// The paper's decision: blurred when `per < minZero`.
  /// - Parameter minZero: the paper's `MinZero`, 0.05 (the popular port's CLI defaults to 0.001).
  public func isBlurred(minZero: Double = 0.05) -> Bool { per < minZero }
}

/// The Haar-wavelet blur detector of Tong, Li, Zhang and Zhang (ICME 2004), following the
/// widely used Python port `pedrofrodenas/blur-Detection-Haar-Wavelet` (`blur_wavelet.py`).
///
/// Algorithm (Paper §3, Algorithm 1):
/// 1. Crop the grey image to `⌊h/16⌋·16 × ⌊w/16⌋·16` (top-left), and take a 3-level Haar DWT,
///    each level `pywt.dwt2(LL, 'haar')` of the previous approximation (see ``HaarDWT``).
/// 2. Edge maps `E_i = √(LH_i² + HL_i² + HH_i²)`, `i = 1, 2, 3`.
/// 3. Local maxima over windows of 8×8 (`E1`), 4×4 (`E2`) and 2×2 (`E3`) coefficients, which
///    all cover the same 16×16-pixel block: `Emax1`, `Emax2`, `Emax3` per block.
/// 4. Rules with threshold `T = 35`: edge if any `Emax_i > T` (Rule 1); Dirac/A-step if
///    `Emax1 > Emax2 > Emax3` (Rule 2); Roof/G-step if `Emax1 < Emax2 < Emax3` (Rule 3); Roof if
///    `Emax2 > Emax1 ∧ Emax2 > Emax3` (Rule 4); a Roof/G-step with `Emax1 < T` lost sharpness
///    (Rule 5).
/// 5. `per = N_da / N_edge` (blurred if `per < MinZero`, 0.05 in the paper) and
///    `blurExtent = N_brg / N_rg`.
///
/// Scaling matters. The paper's rules assume edge strength comparable across scales, but the
/// orthonormal Haar of PyWavelets has a gain of 2 per level on piecewise-constant input (`LL`
/// doubles the grey range each level), so on real images real edges almost always satisfy
/// `Emax1 < Emax2 < Emax3` and `per ≈ 0` for sharp and blurred images alike. `.levelNormalized`
/// divides level `i`'s edge map by `2^(i−1)`, which restores the paper's behaviour: measured on a
/// real 512² image, `per ≈ 0.18 / 0.055 / 0 / 0` for Gaussian blur `σ = 0 / 0.5 / 1 / 2`; on
/// 512² centre crops of the reference repository's own sharp samples (`images/noblur`)
/// `per ≈ 0.19–0.24 / 0.12–0.16 / 0.02–0.04 / 0`, while `.orthonormal` gives `per ≤ 0.008`
/// for every one of them (`blurExtent` still rises with σ under both scalings).
///
/// Numerics: the transform is computed in float64 in PyWavelets' exact operation order, so
/// maxima, ties and therefore all counts match a NumPy/PyWavelets run bit for bit. Since `√` is
/// monotone and correctly rounded, `max √e = √(max e)`: only one square root per block is taken.
///
/// Source: H. Tong, M. Li, H. Zhang, C. Zhang, "Blur Detection for Digital Images Using Wavelet
/// Transform", IEEE ICME 2004; reference code github.com/pedrofrodenas/blur-Detection-Haar-Wavelet.
public enum TongWavelet {
  /// How the three levels' edge maps are scaled before the rules are applied.
  public enum Scaling: String, Sendable, CaseIterable, Codable {
    /// Literal PyWavelets orthonormal Haar, as the popular Python port does (`per ≈ 0` on real
    /// images, see the type documentation).
    case orthonormal
    /// Level `i`'s edge map divided by `2^(i−1)` (1, 2, 4), undoing the ×2 gain per coarser
    /// level of the orthonormal Haar approximation.
    case levelNormalized = "level-normalized"

    /// Divisors of `E1`, `E2`, `E3`.
    var divisors: (Double, Double, Double) {
      switch self {
      case .orthonormal: return (1, 1, 1)
      case .levelNormalized: return (1, 2, 4)
      }
    }
  }

  /// The paper's edge threshold `T = 35` (grey levels of an 8-bit image).
  public static let threshold = 35.0

  /// The value the reference returns for `blurExtent` when there is no Roof/G-step block.
  public static let blurExtentWhenNoRoofOrGStep = 100.0

  /// Runs the detector on one grey image.
  ///
  /// - Parameters:
  ///   - image: 8-bit grey image; only the top-left `⌊h/16⌋·16 × ⌊w/16⌋·16` part is used.
  ///     Below 16×16 there is no block: `per = 0`, `blurExtent = 100`, all counts 0.
  ///   - scaling: `.orthonormal` (literal port) or `.levelNormalized`.
  ///   - threshold: the edge threshold `T`, compared with the (scaled) `Emax_i`.
  /// - Returns: `per`, `blurExtent` and the block counts.
  public static func analyze(
    _ image: GrayImage, scaling: Scaling = .orthonormal, threshold: Double = 35
  ) -> TongResult {
    classify(EdgeMaxima(image), scaling: scaling, threshold: threshold)
  }

  /// Squared block maxima `max(LH² + HL² + HH²)` of the three levels, one triple per block.
  struct EdgeMaxima {
    var blocks: Int
    var sq1: [Double], sq2: [Double], sq3: [Double]

    init(_ image: GrayImage) {
      let bx = image.width / 16, by = image.height / 16
      blocks = bx * by
      sq1 = [Double](repeating: 0, count: blocks)
      sq2 = sq1
      sq3 = sq1
      guard blocks > 0 else { return }
      let w1 = bx * 8, h1 = by * 8  // level-1 coefficient grid
      // Scratch for LL1 (w1·h1) followed by LL2 (w1/2 · h1/2); fully written before it is read.
      let ll1 = UnsafeMutablePointer<Double>.allocate(capacity: w1 * h1 + (w1 / 2) * (h1 / 2))
      defer { ll1.deallocate() }
      let ll2 = ll1 + w1 * h1
      let stride = image.width
      image.pixels.withUnsafeBufferPointer { px in
        sq1.withUnsafeMutableBufferPointer { m1 in
          sq2.withUnsafeMutableBufferPointer { m2 in
            sq3.withUnsafeMutableBufferPointer { m3 in
              guard let src = px.baseAddress, let e1 = m1.baseAddress, let e2 = m2.baseAddress,
                let e3 = m3.baseAddress
              else { return }
              // Level 1: 16×16 block ↔ 8×8 coefficients.
              TongWavelet.level(
                src, stride: stride, outWidth: w1, outHeight: h1, window: 8, blocksX: bx,
                approx: ll1, maxima: e1, load: { Double($0) })
              // Level 2: 8×8 LL1 ↔ 4×4 coefficients.
              TongWavelet.level(
                UnsafePointer(ll1), stride: w1, outWidth: w1 / 2, outHeight: h1 / 2, window: 4,
                blocksX: bx, approx: ll2, maxima: e2, load: { $0 })
              // Level 3: 4×4 LL2 ↔ 2×2 coefficients; LL3 is not needed.
              TongWavelet.level(
                UnsafePointer(ll2), stride: w1 / 2, outWidth: w1 / 4, outHeight: h1 / 4,
                window: 2, blocksX: bx, approx: nil, maxima: e3, load: { $0 })
            }
          }
        }
      }
    }
  }

  /// One Haar level fused with the block maxima of `LH² + HL² + HH²`.
  ///
  /// Shapes: input `2·outHeight × 2·outWidth` (row stride `stride`), output coefficients
  /// `outHeight × outWidth`, tiled by `window × window` coefficient windows, `blocksX` per row.
  /// Each output row is done in two passes: the 2×2 butterflies with the edge energy into a row
  /// buffer `e` (a branch-free loop the compiler vectorises), then the window maxima.
  @inline(__always)
  static func level<T>(
    _ src: UnsafePointer<T>, stride: Int, outWidth ow: Int, outHeight oh: Int, window: Int,
    blocksX: Int, approx: UnsafeMutablePointer<Double>?, maxima: UnsafeMutablePointer<Double>,
    load: (T) -> Double
  ) {
    let e = UnsafeMutablePointer<Double>.allocate(capacity: ow)
    defer { e.deallocate() }
    for i in 0..<oh {
      let r0 = src + 2 * i * stride, r1 = r0 + stride
      if let approx {
        let out = approx + i * ow
        for j in 0..<ow {
          let c = HaarDWT.block(
            load(r0[2 * j]), load(r0[2 * j + 1]), load(r1[2 * j]), load(r1[2 * j + 1]))
          out[j] = c.a
          e[j] = (c.h * c.h + c.v * c.v) + c.d * c.d  // numpy: (LH² + HL²) + HH²
        }
      } else {
        for j in 0..<ow {
          let c = HaarDWT.block(
            load(r0[2 * j]), load(r0[2 * j + 1]), load(r1[2 * j]), load(r1[2 * j + 1]))
          e[j] = (c.h * c.h + c.v * c.v) + c.d * c.d
        }
      }
      let em = maxima + (i / window) * blocksX
      for b in 0..<blocksX {
        var m = em[b]
        for j in (b * window)..<((b + 1) * window) { m = e[j] > m ? e[j] : m }
        em[b] = m
      }
    }
  }

  /// Applies Rules 1–5 to the block maxima (Paper §3; reference `blur_detect`, steps 3–7).
  static func classify(_ em: EdgeMaxima, scaling: Scaling, threshold t: Double) -> TongResult {
    let (s1, s2, s3) = scaling.divisors
    var edges = 0, da = 0, rg = 0, brg = 0
    for b in 0..<em.blocks {
      let e1 = em.sq1[b].squareRoot() / s1
      let e2 = em.sq2[b].squareRoot() / s2
      let e3 = em.sq3[b].squareRoot() / s3
      guard e1 > t || e2 > t || e3 > t else { continue }  // Rule 1
      edges += 1
      if e1 > e2 && e2 > e3 { da += 1 }  // Rule 2: Dirac / A-step
      // Rule 3 (Roof / G-step) or Rule 4 (Roof); disjoint since one needs e2 < e3, one e2 > e3.
      if (e1 < e2 && e2 < e3) || (e2 > e1 && e2 > e3) {
        rg += 1
        if e1 < t { brg += 1 }  // Rule 5: lost sharpness
      }
    }
    let per = edges > 0 ? Double(da) / Double(edges) : 0
    let extent = rg > 0 ? Double(brg) / Double(rg) : blurExtentWhenNoRoofOrGStep
    return TongResult(
      per: per, blurExtent: extent, edgeCount: edges, daCount: da, rgCount: rg, brgCount: brg)
  }
}

import Vision

/// One level of the 2-D orthonormal Haar transform, computed bit-for-bit as PyWavelets computes
/// `cA, (cH, cV, cD) = pywt.dwt2(x.astype(np.float64), 'haar')` (mode `'symmetric'`).
///
/// With `k = 1/√2` (`0.7071067811865476`, PyWavelets' filter tap) and a 2×2 block
/// `[x00 x01; x10 x11]` (row, column), PyWavelets filters axis 0 (down the columns) first:
///
///     lo_j = k·x0j + k·x1j        hi_j = k·x0j − k·x1j          (j = 0, 1)
///
/// then axis 1 (along the rows):
///
///     cA = k·lo0 + k·lo1   cV = k·lo0 − k·lo1   cH = k·hi0 + k·hi1   cD = k·hi0 − k·hi1
///
/// i.e. `cH = (x00 + x01 − x10 − x11)/2` (horizontal edges), `cV = (x00 − x01 + x10 − x11)/2`
/// (vertical edges), `cD = (x00 − x01 − x10 + x11)/2`, with every product and sum rounded in
/// float64 in that order, so results (and ties between them) match PyWavelets exactly. An odd
/// side is extended symmetrically, so its last pair is `(x[n−1], x[n−1])`; the output has
/// `⌈h/2⌉ × ⌈w/2⌉` coefficients per band.
///
/// Source: PyWavelets `pywt.dwt2` / `dwtn` (`_dwt_axis`, `downsampling_convolution`),
/// filters `Wavelet('haar').dec_lo = [k, k]`, `dec_hi = [−k, k]`; S. Mallat, *A Wavelet Tour
/// of Signal Processing*, §7.7 (separable 2-D wavelet bases).
public enum HaarDWT {
  /// PyWavelets' Haar filter tap `1/√2`, as the double `0.7071067811865476`.
  public static let k: Double = 0.7071067811865476

  /// The four sub-bands of one level, each `height × width`, row-major.
  public struct Level: Sendable, Equatable {
    /// Coefficient columns, `⌈input width / 2⌉`.
    public var width: Int
    /// Coefficient rows, `⌈input height / 2⌉`.
    public var height: Int
    /// `cA`: approximation (low-low).
    public var approx: [Double]
    /// `cH`: detail across rows (axis-0 high pass), responds to horizontal edges.
    public var horizontal: [Double]
    /// `cV`: detail across columns (axis-1 high pass), responds to vertical edges.
    public var vertical: [Double]
    /// `cD`: diagonal detail (high-high).
    public var diagonal: [Double]
  }

  /// The Haar butterfly on one 2×2 block in PyWavelets' operation order (see the type doc).
  /// - Returns: `(cA, cH, cV, cD)`.
  @inline(__always)
  public static func block(
    _ x00: Double, _ x01: Double, _ x10: Double, _ x11: Double
  ) -> (a: Double, h: Double, v: Double, d: Double) {
    let p00 = k * x00, p01 = k * x01, p10 = k * x10, p11 = k * x11
    let lo0 = p00 + p10, hi0 = p00 - p10  // axis 0, column 0
    let lo1 = p01 + p11, hi1 = p01 - p11  // axis 0, column 1
    let q0 = k * lo0, q1 = k * lo1, r0 = k * hi0, r1 = k * hi1  // axis 1
    return (q0 + q1, r0 + r1, q0 - q1, r0 - r1)
  }

  /// `pywt.dwt2(image.astype(np.float64), 'haar')` of an 8-bit image.
  public static func dwt2(_ image: GrayImage) -> Level {
    dwt2(image.pixels.map(Double.init), width: image.width, height: image.height)
  }

  /// `pywt.dwt2(x, 'haar')` of a `height × width` row-major float64 array.
  /// - Precondition: `x.count == width * height`.
  public static func dwt2(_ x: [Double], width w: Int, height h: Int) -> Level {
    precondition(x.count == w * h, "HaarDWT.dwt2: \(x.count) values for \(w)×\(h)")
    let ow = (w + 1) / 2, oh = (h + 1) / 2
    var out = Level(
      width: ow, height: oh, approx: .init(repeating: 0, count: ow * oh),
      horizontal: .init(repeating: 0, count: ow * oh),
      vertical: .init(repeating: 0, count: ow * oh),
      diagonal: .init(repeating: 0, count: ow * oh))
    for i in 0..<oh {
      let r0 = 2 * i, r1 = min(2 * i + 1, h - 1)  // symmetric extension: (x[n−1], x[n−1])
      for j in 0..<ow {
        let c0 = 2 * j, c1 = min(2 * j + 1, w - 1)
        let b = block(x[r0 * w + c0], x[r0 * w + c1], x[r1 * w + c0], x[r1 * w + c1])
        out.approx[i * ow + j] = b.a
        out.horizontal[i * ow + j] = b.h
        out.vertical[i * ow + j] = b.v
        out.diagonal[i * ow + j] = b.d
      }
    }
    return out
  }
}

/// Mean detail energy of a one-level 2-D Haar transform, as
/// `cA, (cH, cV, cD) = pywt.dwt2(gray.astype(np.float64), 'haar')` and
/// `np.mean(cH**2 + cV**2 + cD**2)` (higher = sharper).
///
/// Because the orthonormal Haar transform preserves energy on each 2×2 block
/// `{a, b, c, d}` (`cA² + cH² + cV² + cD² = a² + b² + c² + d²`, `cA = s/2` with `s = a+b+c+d`),
/// the detail energy of a block is exactly
///
///     cH² + cV² + cD² = (4(a² + b² + c² + d²) − s²) / 4,
///
/// an integer over 4 for 8-bit input. The score sums that integer over all `⌈h/2⌉·⌈w/2⌉`
/// blocks (odd sides extended symmetrically, last pair `(x[n−1], x[n−1])` as in PyWavelets'
/// default `'symmetric'` mode) and divides once in `Double`: exact up to one rounding, so it
/// agrees with PyWavelets' float64 result to about `1e-15` relative.
///
/// Source: PyWavelets `pywt.dwt2` (Haar, mode `'symmetric'`); S. Mallat, *A Wavelet Tour of
/// Signal Processing*, §7.7; energy-based wavelet focus measures as in G. Yang, B. J. Nelson,
/// "Wavelet-based autofocusing and unsupervised segmentation of microscopic images", IROS 2003.
public enum HaarEnergy {
  /// Blocks summed in `Int32` before flushing to 64 bits. A block contributes at most
  /// `16 · 127.5² = 260100` (four pixels at 0/255), and `4096 · 260100 < 2³¹`.
  static let chunk = 4096

  /// Mean of `cH² + cV² + cD²` over the coefficient grid; 0 for an empty or constant image.
  public static func score(_ image: GrayImage) -> Double {
    let w = image.width, h = image.height
    guard w > 0, h > 0 else { return 0 }
    let ow = (w + 1) / 2, oh = (h + 1) / 2
    let evenW = w / 2  // complete column pairs
    var total: Int64 = 0  // Σ over blocks of 4·(detail energy)
    image.pixels.withUnsafeBufferPointer { buf in
      guard let base = buf.baseAddress else { return }
      for i in 0..<oh {
        let p0 = base + 2 * i * w
        let p1 = 2 * i + 1 < h ? p0 + w : p0  // odd height: last pair (row, row)
        var j0 = 0
        while j0 < evenW {
          let j1 = min(j0 + chunk, evenW)
          var acc: Int32 = 0
          for j in j0..<j1 {
            let a = Int32(p0[2 * j]), b = Int32(p0[2 * j + 1])
            let c = Int32(p1[2 * j]), d = Int32(p1[2 * j + 1])
            let s = a &+ b &+ c &+ d
            let q = a &* a &+ b &* b &+ c &* c &+ d &* d
            acc &+= 4 &* q &- s &* s
          }
          total &+= Int64(acc)
          j0 = j1
        }
        if w & 1 == 1 {
          // Odd width: block [a a; c c] has cH = a − c and cV = cD = 0.
          let diff = Int64(p0[w - 1]) - Int64(p1[w - 1])
          total &+= 4 * diff * diff
        }
      }
    }
    return Double(total) / 4 / Double(ow * oh)
  }
}

import Vision

/// Variance of the Laplacian, the classic focus measure of Pech-Pacheco et al. (2000), exactly as
/// OpenCV users compute it: `cv2.Laplacian(gray, cv2.CV_64F).var()`.
///
/// The filter is OpenCV's `ksize = 1` aperture
///
///     L(x, y) = I(x, y-1) + I(x-1, y) + I(x+1, y) + I(x, y+1) - 4 I(x, y)
///
/// with `BORDER_REFLECT_101` (OpenCV's default: index `-1 → 1`, `n → n-2`; a side of length 1
/// reflects onto itself), and the score is the population variance of `L` over all pixels,
/// `Var = Σ L² / n - (Σ L / n)²`.
///
/// `L` of an 8-bit image is an integer in `[-1020, 1020]`, so `Σ L` and `Σ L²` are accumulated
/// exactly in integers and the variance is formed once, in `Double`, from the exact sums; the
/// result agrees with OpenCV/NumPy's float64 two-pass variance to about `1e-12` relative.
///
/// Source: J. L. Pech-Pacheco, G. Cristóbal, J. Chamorro-Martínez, J. Fernández-Valdivia,
/// "Diatom autofocusing in brightfield microscopy: a comparative study", ICPR 2000; OpenCV
/// `cv::Laplacian` and `cv::borderInterpolate` documentation.
public enum LaplacianVariance {
  /// Columns accumulated in 32-bit integers before flushing to 64 bits:
  /// `1024 · 1020² < 2³¹`, so neither `Σ L` nor `Σ L²` of one chunk can overflow `Int32`.
  static let chunk = 1024

  /// Variance of the 4-neighbour Laplacian (higher = sharper); 0 for an empty or constant image.
  ///
  /// - Parameter image: 8-bit grey image, any size.
  /// - Returns: `cv2.Laplacian(gray, cv2.CV_64F).var()` (population variance, `ddof = 0`).
  public static func score(_ image: GrayImage) -> Double {
    let w = image.width, h = image.height
    let n = w * h
    guard n > 0 else { return 0 }
    var sum: Int64 = 0  // Σ L
    var sumSq: Int64 = 0  // Σ L²
    image.pixels.withUnsafeBufferPointer { buf in
      guard let base = buf.baseAddress else { return }
      for y in 0..<h {
        // BORDER_REFLECT_101 for rows: -1 → 1, h → h-2 (h == 1: the row itself).
        let yu = y > 0 ? y - 1 : min(1, h - 1)
        let yd = y < h - 1 ? y + 1 : max(h - 2, 0)
        let cur = base + y * w, up = base + yu * w, dn = base + yd * w
        let (s, q) = row(cur: cur, up: up, dn: dn, width: w)
        sum &+= s
        sumSq &+= q
      }
    }
    return variance(sum: sum, sumSq: sumSq, count: Int64(n))
  }

  /// `Σ L` and `Σ L²` over one row; the two border columns are handled apart so that the
  /// interior loop is branch-free and vectorises.
  @inline(__always)
  static func row(
    cur: UnsafePointer<UInt8>, up: UnsafePointer<UInt8>, dn: UnsafePointer<UInt8>, width w: Int
  ) -> (Int64, Int64) {
    @inline(__always) func lap(_ x: Int, _ xl: Int, _ xr: Int) -> Int32 {
      Int32(up[x]) + Int32(dn[x]) + Int32(cur[xl]) + Int32(cur[xr]) - 4 * Int32(cur[x])
    }
    if w == 1 {
      let l = Int64(lap(0, 0, 0))
      return (l, l * l)
    }
    // Border columns, reflected: x = 0 sees 1 on both sides, x = w-1 sees w-2 on both sides.
    let l0 = Int64(lap(0, 1, 1)), l1 = Int64(lap(w - 1, w - 2, w - 2))
    var sum = l0 + l1, sumSq = l0 * l0 + l1 * l1
    var x0 = 1
    while x0 < w - 1 {
      let x1 = min(x0 + chunk, w - 1)
      var s: Int32 = 0, q: Int32 = 0
      for x in x0..<x1 {
        // |L| ≤ 1020 fits Int16: 8 lanes per SSE2 vector, and L² sums map onto pmaddwd.
        let l = Int16(up[x]) &+ Int16(dn[x]) &+ Int16(cur[x - 1]) &+ Int16(cur[x + 1])
          &- 4 &* Int16(cur[x])
        s &+= Int32(l)
        q &+= Int32(l) &* Int32(l)
      }
      sum &+= Int64(s)
      sumSq &+= Int64(q)
      x0 = x1
    }
    return (sum, sumSq)
  }

  /// Population variance `(Σx² - (Σx)²/n) / n` from exact integer sums without overflow.
  ///
  /// Write `Σx = q·n + r` (`|r| < n`); then `(Σx)²/n = q(Σx + r) + r²/n`, so
  /// `n·Var = [Σx² - q(Σx + r)] - r²/n` where the bracket is an exact integer and only the last
  /// term (less than `n`) is rounded.
  static func variance(sum: Int64, sumSq: Int64, count n: Int64) -> Double {
    let q = sum / n, r = sum % n
    let exact = sumSq - q * (sum + r)
    let nVar = Double(exact) - Double(r) * Double(r) / Double(n)
    return max(0, nVar / Double(n))
  }
}

import Vision

/// Otsu's threshold for 8-bit images (Otsu 1979, "A threshold selection method from gray-level
/// histograms", IEEE Trans. SMC 9(1)).
///
/// Maths: for each candidate `t` the pixels split into `C₀ = {v ≤ t}` and `C₁ = {v > t}` with
/// counts `w₀, w₁` and means `μ₀, μ₁`; Otsu picks the `t` maximising the between-class variance
/// `σ²_B(t) ∝ w₀ w₁ (μ₀ − μ₁)²`. Candidates with an empty class are skipped; ties go to the
/// smallest `t`. Pixels `> t` are foreground. This is the rule of `cv2.threshold(…,
/// THRESH_OTSU)` (which also takes the first maximum, compared with `>`), and of
/// `skimage.filters.threshold_otsu` on 8-bit integer images (argmax over the same variance).
/// A constant image has no split and returns its single value (everything ≤ t: no foreground).
public enum OtsuThreshold {
  /// The threshold of a 256-bin histogram (`histogram[v]` = number of pixels of value `v`).
  /// - Precondition: `histogram.count == 256`, counts ≥ 0.
  public static func threshold(histogram: [Int]) -> Int {
    precondition(histogram.count == 256, "OtsuThreshold: \(histogram.count) bins, expected 256")
    precondition(histogram.allSatisfy { $0 >= 0 }, "OtsuThreshold: negative count")
    let total = histogram.reduce(0, +)
    guard total > 0 else { return 0 }
    var sumAll = 0.0
    for v in 0..<256 { sumAll += Double(v) * Double(histogram[v]) }
    var w0 = 0.0
    var sum0 = 0.0
    var best = -1.0
    var bestT = histogram.firstIndex { $0 > 0 } ?? 0
    for t in 0..<255 {
      w0 += Double(histogram[t])
      sum0 += Double(t) * Double(histogram[t])
      let w1 = Double(total) - w0
      if w0 == 0 || w1 == 0 { continue }
      let mu0 = sum0 / w0
      let mu1 = (sumAll - sum0) / w1
      let between = w0 * w1 * (mu0 - mu1) * (mu0 - mu1)
      if between > best {
        best = between
        bestT = t
      }
    }
    return bestT
  }

  /// The 256-bin histogram of an 8-bit image.
  public static func histogram(_ image: GrayImage) -> [Int] {
    var bins = [Int](repeating: 0, count: 256)
    for v in image.pixels { bins[Int(v)] += 1 }
    return bins
  }

  /// Otsu's threshold of `image`; foreground is `value > threshold`.
  public static func threshold(_ image: GrayImage) -> UInt8 {
    UInt8(threshold(histogram: histogram(image)))
  }
}

import Engine

/// Percentile bootstrap confidence intervals (Efron & Tibshirani 1993, §13.3).
public enum Bootstrap {
  /// A two-sided percentile interval for `statistic` over resamples of `count` items.
  ///
  /// - Parameters:
  ///   - count: number of items (indices `0..<count` are resampled with replacement).
  ///   - resamples: number of bootstrap replicates (1000 is customary).
  ///   - level: coverage, for example 0.95.
  ///   - statistic: the statistic of a resample, given its indices; nil (undefined, for example an
  ///     AUC with one class) replicates are skipped.
  /// - Returns: (lower, upper), or nil if no replicate was defined.
  public static func percentileInterval(
    count: Int, resamples: Int = 1000, level: Double = 0.95,
    using generator: inout RandomGenerator, statistic: ([Int]) -> Double?
  ) -> (lower: Double, upper: Double)? {
    guard count > 0 else { return nil }
    var values: [Double] = []
    values.reserveCapacity(resamples)
    var indices = [Int](repeating: 0, count: count)
    for _ in 0..<resamples {
      for i in 0..<count { indices[i] = generator.nextInt(below: count) }
      if let v = statistic(indices) { values.append(v) }
    }
    guard !values.isEmpty else { return nil }
    values.sort()
    let alpha = (1 - level) / 2
    return (quantile(values, alpha), quantile(values, 1 - alpha))
  }

  /// Linear-interpolated quantile of sorted values (`numpy.quantile`, method "linear").
  public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
    precondition(!sorted.isEmpty, "quantile of no values")
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
  }
}

import Foundation

/// What the calibration runs say about one claim: for each condition `metric op value`, the mean
/// of the metric over the seeds with a two-sided 95 % Student-t interval, and the verdict.
///
/// The runs are paired: an arm and the model it is compared with train inside one run with the
/// same seed, so a gap metric (`batch_gain = knn_accuracy − knn_accuracy.small_batch`) is already
/// the per-seed paired difference, and its interval is the paired interval.
///
/// Rule: **reproduced** when every condition's interval lies on its holding side of the threshold
/// (`lower > value` for `>`, `lower ≥ value` for `>=`, …); **not reproduced** when some
/// condition's interval lies wholly on its failing side; otherwise undecided, and `replicate
/// calibrate` adds seeds. Undecided at the seed cap is reported as inconclusive with its
/// interval. A metric with no spread over the seeds (sd 0) has a zero-width interval.
public struct ClaimEvidence: Sendable, Equatable {
  /// One condition's mean and interval.
  public struct Condition: Sendable, Equatable {
    public var text: String
    public var n: Int
    public var mean: Double
    public var lower: Double
    public var upper: Double
    /// Approximate power of the one-sided test at this n for the observed effect
    /// (`Φ(|mean − value| / (sd/√n) − 1.96)`, normal approximation); 1 when sd is 0.
    public var power: Double

    public init(text: String, n: Int, mean: Double, lower: Double, upper: Double, power: Double) {
      self.text = text
      self.n = n
      self.mean = mean
      self.lower = lower
      self.upper = upper
      self.power = power
    }
  }

  public var verdict: Verdict
  /// Whether the intervals decided the claim (false: inconclusive, more seeds would help).
  public var decided: Bool
  public var n: Int
  public var conditions: [Condition]

  /// One line per claim: "n 5: batch_gain > 0: mean 0.031, 95% CI [0.012, 0.05], power 0.93".
  public var summary: String {
    "n \(n): "
      + conditions.map {
        "\($0.text): mean \(Self.num($0.mean)), 95% CI [\(Self.num($0.lower)), \(Self.num($0.upper))], "
          + "power \(Self.num($0.power))"
      }.joined(separator: "; ")
  }

  static func num(_ v: Double) -> String { String(format: "%.4g", v) }

  public init(verdict: Verdict, decided: Bool, n: Int, conditions: [Condition]) {
    self.verdict = verdict
    self.decided = decided
    self.n = n
    self.conditions = conditions
  }
}

extension Checks {
  /// The 97.5 % quantile of Student's t with `df` degrees of freedom (df 1–30 tabulated; above,
  /// the normal 1.96 plus the first-order correction 2.4/df).
  public static func tQuantile975(df: Int) -> Double {
    let table: [Double] = [
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
      2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]
    precondition(df >= 1, "tQuantile975: df \(df)")
    return df <= table.count ? table[df - 1] : 1.96 + 2.4 / Double(df)
  }

  /// The mean of per-seed values with its sample sd and two-sided 95 % Student-t interval
  /// (`mean ± t₀.₉₇₅(n−1)·sd/√n`); nil for fewer than two values. The one interval that claims,
  /// reports and paper comparisons state.
  public static func seedInterval(_ values: [Double]) -> (mean: Double, sd: Double, lower: Double, upper: Double)? {
    guard values.count >= 2 else { return nil }
    let k = Double(values.count)
    let mean = values.reduce(0, +) / k
    let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (k - 1)).squareRoot()
    let half = tQuantile975(df: values.count - 1) * sd / k.squareRoot()
    return (mean, sd, mean - half, mean + half)
  }

  /// Decides a claim from the metrics of several runs (one dictionary per seed; see
  /// `ClaimEvidence` for the rule). Fewer than two runs with the metric decide nothing.
  public static func decide(_ claim: Claim, runs: [[String: Double]]) -> ClaimEvidence {
    var conditions: [ClaimEvidence.Condition] = []
    var allHold = true
    var someFails = false
    var n = runs.count
    for c in claim.conditions {
      let values = runs.compactMap { $0[c.metric] }.filter(\.isFinite)
      n = min(n, values.count)
      guard values.count >= 2 else {
        allHold = false
        conditions.append(.init(text: c.text, n: values.count, mean: values.first ?? .nan, lower: .nan, upper: .nan, power: 0))
        continue
      }
      let k = Double(values.count)
      let (mean, sd, lower, upper) = seedInterval(values)!
      let effect = abs(mean - c.value)
      let power = sd == 0 ? 1 : normalCDF(effect / (sd / k.squareRoot()) - 1.96)
      conditions.append(.init(text: c.text, n: values.count, mean: mean, lower: lower, upper: upper, power: power))
      // Which side of the threshold the whole interval lies on.
      let holdsEverywhere = c.op.apply(lower, c.value) && c.op.apply(upper, c.value)
      let failsEverywhere =
        c.op == .equal
        ? (c.value < lower || c.value > upper) : (!c.op.apply(lower, c.value) && !c.op.apply(upper, c.value))
      if !holdsEverywhere { allHold = false }
      if failsEverywhere { someFails = true }
    }
    if someFails { return ClaimEvidence(verdict: .notReproduced, decided: true, n: n, conditions: conditions) }
    if allHold { return ClaimEvidence(verdict: .reproduced, decided: true, n: n, conditions: conditions) }
    return ClaimEvidence(verdict: runs.isEmpty ? .notRun : .inconclusive, decided: false, n: n, conditions: conditions)
  }

  /// Φ, the standard normal distribution function.
  static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
}

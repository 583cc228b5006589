import Evaluation
import Foundation

/// One metric of one run against its band.
public struct BandCheck: Sendable, Equatable {
  public var metric: String
  public var lower: Double
  public var upper: Double
  public var better: Better
  /// The measured value; nil when the run did not produce the metric (a failure).
  public var value: Double?
  /// One-sided where a direction is better: a model that improves is not a regression, so a
  /// higher-is-better metric fails only below `lower` and a lower-is-better one only above
  /// `upper`; `neither` checks both bounds. A missing or non-finite value fails.
  public var passed: Bool {
    guard let v = value, v.isFinite else { return false }
    switch better {
    case .higher: return v >= lower
    case .lower: return v <= upper
    case .neither: return v >= lower && v <= upper
    }
  }
  /// Beyond the band on the better side (passes, and is worth a look: a recalibration, or a bug
  /// that makes a number too good).
  public var beyondBand: Bool {
    guard let v = value, v.isFinite else { return false }
    return (better == .higher && v > upper) || (better == .lower && v < lower)
  }

  public init(metric: String, lower: Double, upper: Double, better: Better, value: Double?) {
    self.metric = metric
    self.lower = lower
    self.upper = upper
    self.better = better
    self.value = value
  }
}

/// Whether a claim held in one run.
public struct ClaimOutcome: Sendable, Equatable {
  public var claimID: String
  /// nil when a metric the claim needs is missing.
  public var holds: Bool?
  /// The conditions with the measured values, for the report.
  public var detail: String

  public init(claimID: String, holds: Bool?, detail: String) {
    self.claimID = claimID
    self.holds = holds
    self.detail = detail
  }
}

/// Band checks, claim verdicts and band derivation: pure functions over metric values.
public enum Checks {
  /// Checks every band of (profile, subset) against a run's metrics.
  public static func bandChecks(_ set: BandSet?, metrics: [String: Double]) -> [BandCheck] {
    guard let set else { return [] }
    return set.bands.map {
      BandCheck(metric: $0.metric, lower: $0.lower, upper: $0.upper, better: $0.better, value: metrics[$0.metric])
    }
  }

  /// Evaluates a claim's conditions on one run's metrics.
  public static func claim(_ claim: Claim, metrics: [String: Double]) -> ClaimOutcome {
    var parts: [String] = []
    var holds: Bool? = true
    for c in claim.conditions {
      guard let v = metrics[c.metric] else {
        parts.append("\(c.text): missing")
        holds = nil
        continue
      }
      let ok = c.holds(v)
      parts.append("\(c.metric) = \(format(v)) \(ok ? "✓" : "✗") (\(c.op.rawValue) \(format(c.value)))")
      if !ok, holds != nil { holds = false }
    }
    return ClaimOutcome(claimID: claim.id, holds: holds, detail: parts.joined(separator: "; "))
  }

  /// A claim's verdict over several runs (seeds): reproduced when it held in every run, not
  /// reproduced when it failed in every run, inconclusive otherwise (more seeds needed).
  public static func verdict(_ outcomes: [Bool?]) -> Verdict {
    if outcomes.isEmpty { return .notRun }
    if outcomes.allSatisfy({ $0 == true }) { return .reproduced }
    if outcomes.allSatisfy({ $0 == false }) { return .notReproduced }
    return .inconclusive
  }

  /// The band rule: mean ± max(3·sd, 1% of |mean|, 1e-6), sd the sample standard deviation over
  /// seeds. Three sample standard deviations cover seed-to-seed noise; the relative floor keeps a
  /// deterministic metric (sd = 0) from getting a zero-width band that rounding could break.
  public static let bandRule = "mean ± max(3·sd, 0.01·|mean|, 1e-6); sd = sample standard deviation over seeds"

  /// Derives bands from the metrics of the calibration runs (one dictionary per seed). A metric
  /// missing from any run gets no band.
  public static func deriveBands(method: MethodKind, runs: [[String: Double]]) -> [Band] {
    guard !runs.isEmpty else { return [] }
    var out: [Band] = []
    for info in method.metrics where info.banded {
      let values = runs.compactMap { $0[info.name] }
      guard values.count == runs.count else { continue }
      let s = Summary(values)
      let half = max(3 * s.standardDeviation, 0.01 * abs(s.mean), 1e-6)
      out.append(
        Band(
          metric: info.name, lower: s.mean - half, upper: s.mean + half, better: info.better, mean: s.mean,
          standardDeviation: s.standardDeviation, count: s.count))
    }
    return out
  }

  static func format(_ v: Double) -> String { String(format: "%.4g", v) }
}

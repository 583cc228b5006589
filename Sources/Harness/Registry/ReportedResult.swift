import Foundation

/// A number the paper (or its official code) reports, as data in target.yaml's `reported:` list,
/// so the reports can put a run beside it.
///
/// ```yaml
/// reported:
///   - metric: knn_accuracy            # one of the method's metrics, in its units (0.826, not 82.6)
///     value: 0.826
///     spread: 0.002                   # optional: the reported standard deviation over `runs`
///     runs: 5
///     dataset: CIFAR-10
///     architecture: ResNet-18 (CIFAR stem)
///     epochs: 200
///     source: moco colab demo (branch colab-notebook), results table
///     sourceKind: readme              # table | figure | text | readme | recalled
///     profile: paper                  # optional: the profile whose runs it judges
///     tolerance: 0.02                 # with a profile: the band's half-width (else 2 × spread)
///     note: why the tolerance is what it is
/// ```
/// An entry with a `profile` is that profile's **paper band**, `value ± tolerance` (or `± 2 ×
/// spread` when only a spread is given): a run of the profile is shown beside it with the
/// difference and whether it lies inside. It is labelled "paper", never "calibrated", and the gate
/// does not judge it (paper profiles run on the user's data). An entry without a profile is context
/// (the paper's ImageNet number beside a CIFAR-10 run, say).
public struct ReportedResult: Sendable, Equatable {
  /// How the number was obtained, as `../shared/papers/` marks its facts.
  public enum SourceKind: String, Sendable, CaseIterable {
    case table, figure, text, readme, recalled
  }

  public var metric: String
  public var value: Double
  public var spread: Double?
  public var runs: Int?
  public var dataset: String
  public var architecture: String
  public var epochs: Int?
  public var source: String
  public var sourceKind: SourceKind
  public var profile: String?
  public var tolerance: Double?
  public var note: String?

  /// The paper band's half-width: the stated tolerance, else twice the reported spread.
  public var halfWidth: Double? { tolerance ?? spread.map { 2 * $0 } }

  /// The paper band, for an entry tied to a profile.
  public var band: (lower: Double, upper: Double)? {
    guard profile != nil, let h = halfWidth else { return nil }
    return (value - h, value + h)
  }

  /// "within", "below" or "above" the paper band (nil without a band).
  public func verdict(_ measured: Double) -> String? {
    guard let band else { return nil }
    return measured < band.lower ? "below" : measured > band.upper ? "above" : "within"
  }

  /// `0.826 ± 0.002 (5 runs)`.
  public var valueText: String {
    var t = ConfigValue.format(value)
    if let spread { t += " ± \(ConfigValue.format(spread))" }
    if let runs { t += " (\(runs) runs)" }
    return t
  }

  /// Reads one entry, checking the metric against the method and the profile against the target.
  static func read(_ r: inout YAMLReader, method: MethodKind, profiles: [String]) throws -> ReportedResult {
    let metric = try r.string("metric")
    guard method.metricNames.contains(metric) else {
      throw r.fail("metric", "unknown metric '\(metric)' for method \(method.rawValue); see `replicate show`")
    }
    let kindText = try r.string("sourceKind")
    guard let kind = SourceKind(rawValue: kindText) else {
      throw r.fail("sourceKind", "'\(kindText)'; expected one of \(SourceKind.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let profile = try r.optionalString("profile")
    if let profile, !profiles.contains(profile) {
      throw r.fail("profile", "no profile '\(profile)' in this target (profiles: \(profiles.joined(separator: ", ")))")
    }
    let runs = try r.optionalDouble("runs")
    let epochs = try r.optionalDouble("epochs")
    let e = ReportedResult(
      metric: metric, value: try r.double("value"), spread: try r.optionalDouble("spread"),
      runs: runs.map { Int($0) }, dataset: try r.string("dataset"), architecture: try r.string("architecture"),
      epochs: epochs.map { Int($0) }, source: try r.string("source"), sourceKind: kind, profile: profile,
      tolerance: try r.optionalDouble("tolerance"), note: try r.optionalString("note"))
    if let runs, runs < 1 || runs != runs.rounded() { throw r.fail("runs", "expected a whole number of runs, at least 1") }
    if let epochs, epochs < 0 || epochs != epochs.rounded() { throw r.fail("epochs", "expected a whole number of epochs") }
    if let s = e.spread, !(s >= 0) { throw r.fail("spread", "expected a standard deviation ≥ 0") }
    if let t = e.tolerance, !(t > 0) { throw r.fail("tolerance", "expected a half-width > 0") }
    if profile != nil && e.halfWidth == nil {
      throw r.fail("tolerance", "missing: an entry with a profile is that profile's paper band; give a tolerance (or a spread)")
    }
    try r.finish()
    return e
  }
}

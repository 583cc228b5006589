import Foundation

/// A figure of merit the HTML report draws for a target (`figures:` in target.yaml): one metric
/// per position on the x axis, every seed's value with the mean and its 95 % interval over seeds,
/// optional reference lines, and the claims it bears on named beside it with their verdicts.
///
/// ```yaml
/// figures:
///   - id: auroc-by-fraction
///     title: Test AUROC against the pretraining data fraction
///     x: pretraining images (%)
///     y: test slide AUROC
///     points:
///       - {label: "4", x: 4, metric: auc.f4}
///       - {label: "100", x: 100, metric: auc.f100}
///     references:
///       - {label: no-learning control, metric: auc.control}
///     claims: [half-the-data-suffices]
/// ```
///
/// With `x` on every point the axis is numeric (the points joined by a line); without, the points
/// are categories, evenly spaced. A figure is drawn for a profile when its runs hold at least one
/// of its metrics, so one figure serves every profile.
public struct TargetFigure: Sendable, Equatable {
  /// One position of the figure (or one reference line): a label and the metric it shows.
  public struct Point: Sendable, Equatable {
    public var label: String
    public var metric: String
    /// Position on a numeric axis; nil on a categorical one (and on reference lines).
    public var x: Double?

    public init(label: String, metric: String, x: Double? = nil) {
      self.label = label
      self.metric = metric
      self.x = x
    }
  }

  public var id: String
  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var points: [Point]
  /// Horizontal lines at the mean over seeds of each metric (a control, chance).
  public var references: [Point]
  /// Ids of the target's claims the figure bears on.
  public var claims: [String]

  /// Whether the x axis is numeric (every point has an `x`).
  public var numeric: Bool { points.allSatisfy { $0.x != nil } }

  /// Every metric the figure reads.
  public var metrics: [String] { points.map(\.metric) + references.map(\.metric) }

  public init(
    id: String, title: String, xLabel: String, yLabel: String, points: [Point], references: [Point] = [],
    claims: [String] = []
  ) {
    self.id = id
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.points = points
    self.references = references
    self.claims = claims
  }

  /// Reads one `figures:` entry, checking metric names against the method and claim ids against
  /// the target's claims.
  /// - Throws: `InputError` naming the file and key.
  static func read(_ r: inout YAMLReader, method: MethodKind, claims: [Claim]) throws -> TargetFigure {
    let id = try r.string("id")
    let title = try r.string("title")
    let xLabel = try r.string("x")
    let yLabel = try r.string("y")
    func points(_ key: String, positioned: Bool) throws -> [Point] {
      var out: [Point] = []
      for var p in try r.children(key, required: key == "points") {
        let label = try p.string("label")
        let metric = try p.string("metric")
        guard method.metricNames.contains(metric) else {
          throw p.fail("metric", "unknown metric '\(metric)' for method \(method.rawValue); see `replicate show`")
        }
        let x = positioned ? try p.optionalDouble("x") : nil
        if let x, !x.isFinite { throw p.fail("x", "expected a finite number") }
        try p.finish()
        out.append(Point(label: label, metric: metric, x: x))
      }
      return out
    }
    let shown = try points("points", positioned: true)
    if shown.count < 2 { throw r.fail("points", "expected at least two points") }
    if shown.contains(where: { $0.x != nil }) && !shown.allSatisfy({ $0.x != nil }) {
      throw r.fail("points", "give x on every point (a numeric axis) or on none (categories)")
    }
    let references = try points("references", positioned: false)
    let claimIDs = try r.stringList("claims")
    for c in claimIDs where !claims.contains(where: { $0.id == c }) {
      throw r.fail("claims", "no claim '\(c)' in this target (claims: \(claims.map(\.id).joined(separator: ", ")))")
    }
    try r.finish()
    return TargetFigure(
      id: id, title: title, xLabel: xLabel, yLabel: yLabel, points: shown, references: references, claims: claimIDs)
  }
}

import Engine
import Evaluation

/// Slide- and instance-level evaluation shared by the MIL targets.
///
/// Slide metrics (names as stored): `auc` (binary ROC-AUC, or macro one-vs-one for several
/// classes), `accuracy`, `balanced_accuracy`, `f1_weighted`, `kappa_quadratic` (predictions =
/// argmax of the class probabilities), and the percentile bootstrap 95% interval of the AUC,
/// `auc_ci_low`/`auc_ci_high` (reported, not banded). `instance_auc`: ROC-AUC of instance scores
/// against instance labels, pooled over every test instance that has a label.
///
/// Arms and tasks reuse the names with a prefix and suffix: `control.auc.abmil` is the AUC of
/// the ABMIL arm on the control task (`MILArmPlan`'s prefix and suffix, `MILEvaluation.named`).
public enum MILEvaluation {
  /// Slide-level metrics from class probabilities `[slide][class]` and labels.
  /// - Parameters:
  ///   - bootstrap: resamples of the AUC interval (0: no interval).
  ///   - generator: draws the resamples.
  public static func slideMetrics(
    probabilities: [[Double]], labels: [Int], bootstrap: Int, using generator: inout RandomGenerator
  ) -> [String: Double] {
    var out: [String: Double] = [:]
    let predictions = ClassificationMetrics.argmax(probabilities)
    out["auc"] = ClassificationMetrics.rocAUC(probabilities: probabilities, labels: labels)
    out["accuracy"] = ClassificationMetrics.accuracy(predictions: predictions, labels: labels)
    out["balanced_accuracy"] = ClassificationMetrics.balancedAccuracy(predictions: predictions, labels: labels)
    out["f1_weighted"] = ClassificationMetrics.weightedF1(predictions: predictions, labels: labels)
    out["kappa_quadratic"] = ClassificationMetrics.quadraticKappa(predictions: predictions, labels: labels)
    if bootstrap > 0,
      let ci = ClassificationMetrics.aucInterval(
        probabilities: probabilities, labels: labels, resamples: bootstrap, using: &generator)
    {
      out["auc_ci_low"] = ci.lower
      out["auc_ci_high"] = ci.upper
    }
    return out
  }

  /// Each bag's scores multiplied by its instance count: pooling weights that sum to 1 become
  /// weights relative to uniform attention (1), comparable across bag sizes.
  public static func timesBagSize(_ scores: [[Double]]) -> [[Double]] {
    scores.map { bag in bag.map { $0 * Double(bag.count) } }
  }

  /// ROC-AUC of per-instance scores against instance labels, pooled over the bags that have
  /// instance labels. - Returns: nil without labelled instances of both kinds.
  public static func instanceAUC(scores: [[Double]], bags: [MILBag]) -> Double? {
    precondition(scores.count == bags.count, "instanceAUC: \(scores.count) score lists for \(bags.count) bags")
    var s: [Double] = [], y: [Bool] = []
    for (bagScores, bag) in zip(scores, bags) {
      guard let labels = bag.instanceLabels else { continue }
      precondition(labels.count == bagScores.count, "instanceAUC: \(bagScores.count) scores, \(labels.count) labels")
      s += bagScores
      y += labels.map { $0 == 1 }
    }
    return Ranking.rocAUC(scores: s, positives: y)
  }

  /// A question the tile probes ask of the instance features: which instances are positive,
  /// which negative and which left out. Each kind is "covers at least half of the tile", the
  /// extractor's instance threshold (`BagExtractor.instanceThreshold`).
  public enum TileProbe: String, CaseIterable, Sendable {
    /// Tumour tiles against all others, from the bag's instance labels (any annotated bag).
    case tumour
    /// Lymphoid-aggregate tiles against tiles without any (ground-truth layouts only).
    case lymphoid
    /// Necrosis tiles against tiles without any (ground-truth layouts only).
    case necrosis
    /// Lymphoid-aggregate tiles against necrosis tiles, every other tile left out: what the
    /// relational task needs the features to tell apart (ground-truth layouts only).
    case lymphoidVsNecrosis = "lymphoid_vs_necrosis"

    /// The stored metric: `tile_probe_auc` for tumour (its name before the other kinds), else
    /// `tile_probe_auc.<kind>`.
    public var metric: String { self == .tumour ? "tile_probe_auc" : "tile_probe_auc.\(rawValue)" }

    /// Per-instance labels of `bag` (1 positive, 0 negative, nil left out), or nil when the bag
    /// lacks what the probe reads.
    public func labels(_ bag: MILBag) -> [Int?]? {
      let half = 0.5
      // A tile the kind covers in part (0 < fraction < ½) is neither: the probe measures the
      // features, not where the ½ threshold cuts a focus's border tiles.
      func kind(_ fraction: Double) -> Int? { fraction >= half ? 1 : fraction > 0 ? nil : 0 }
      switch self {
      case .tumour: return bag.instanceLabels.map { $0.map { $0 == 1 ? 1 : 0 } }
      case .lymphoid: return bag.instanceTruth.map { $0.map { kind($0.lymphoidAggregate) } }
      case .necrosis: return bag.instanceTruth.map { $0.map { kind($0.necrosis) } }
      case .lymphoidVsNecrosis:
        return bag.instanceTruth.map {
          $0.map { $0.lymphoidAggregate >= half ? 1 : $0.necrosis >= half ? 0 : nil }
        }
      }
    }
  }

  /// How well instance features answer `probe`: a linear probe (`LinearProbe`, two classes)
  /// fitted on the labelled instances of `train`'s bags, scored by the test-instance ROC-AUC of
  /// its positive logit margin. Instance-supervised, so an upper bound for what a weakly
  /// supervised model's instance scores can reach on these features. Nil without labelled
  /// instances of both kinds in both sets.
  public static func tileProbeAUC(_ probe: TileProbe = .tumour, train: [MILBag], test: [MILBag]) -> Double? {
    guard let fitted = fitProbe(probe, on: train) else { return nil }
    var scores: [Double] = [], positives: [Bool] = []
    for bag in test {
      guard let labels = probe.labels(bag), labels.count == bag.instanceCount else { continue }
      let margins = fitted(bag)
      for (i, label) in labels.enumerated() {
        guard let label else { continue }
        scores.append(margins[i])
        positives.append(label == 1)
      }
    }
    guard positives.contains(true), positives.contains(false) else { return nil }
    return Ranking.rocAUC(scores: scores, positives: positives)
  }

  /// A linear probe for `probe` fitted on the labelled instances of `bags`, as a function from a
  /// bag to the positive logit margin of each of its instances; nil without labelled instances of
  /// both kinds.
  public static func fitProbe(_ probe: TileProbe, on bags: [MILBag]) -> ((MILBag) -> [Double])? {
    var features: [Float] = [], labels: [Int] = []
    var d = 0
    for bag in bags {
      guard let instanceLabels = probe.labels(bag), instanceLabels.count == bag.instanceCount else { continue }
      d = bag.features.shape[1]
      let x = bag.features.data
      for (i, label) in instanceLabels.enumerated() {
        guard let label else { continue }
        features += x[(i * d)..<((i + 1) * d)]
        labels.append(label)
      }
    }
    guard d > 0, Set(labels).count == 2 else { return nil }
    let fitted = LinearProbe.fit(features: features, labels: labels, featureCount: d, classCount: 2)
    return { bag in
      guard bag.features.shape[1] == d else { return [] }
      let logits = fitted.logits(bag.features.data)
      return (0..<bag.instanceCount).map { Double(logits[2 * $0 + 1] - logits[2 * $0]) }
    }
  }

  /// The test-slide ROC-AUC of the instance count alone for the bags' (binary) labels: what a
  /// model whose score only grows with the bag would reach. Nil unless the labels are 0 and 1 and
  /// both present.
  public static func bagSizeAUC(_ bags: [MILBag]) -> Double? {
    guard Set(bags.map(\.label)) == [0, 1] else { return nil }
    return Ranking.rocAUC(scores: bags.map { Double($0.instanceCount) }, positives: bags.map { $0.label == 1 })
  }

  /// Spearman's rank correlation between the test slides' P(class 1) and their instance counts:
  /// whether a model's score follows the bag's size (beside `bagSizeAUC`, which says how far
  /// that alone would go). Nil unless there are two classes and at least three slides, or when
  /// either side is constant.
  public static func sizeCorrelation(probabilities: [[Double]], bags: [MILBag]) -> Double? {
    precondition(probabilities.count == bags.count, "sizeCorrelation: \(probabilities.count) rows for \(bags.count) bags")
    guard bags.count >= 3, probabilities.allSatisfy({ $0.count == 2 }) else { return nil }
    return Ranking.spearman(probabilities.map { $0[1] }, bags.map { Double($0.instanceCount) })
  }

  /// The instance-supervised reference of `task` on these features: the test-slide ROC-AUC of a
  /// rule that reads instance-supervised probes (`fitProbe`, fitted on `train`'s instances) the
  /// way the task's label is made. Tumour: the highest tumour margin of the slide (one tumour
  /// tile makes a positive slide). Relational: the smaller of the slide's highest lymphoid
  /// margin and its highest necrosis margin (both kinds present). Proximity: minus the grid
  /// distance (in tiles, Chebyshev) between the tile of highest lymphoid margin and the tile of
  /// highest necrosis margin. Not a strict ceiling: a weakly
  /// supervised model may also use evidence the maximum ignores (partly covered tiles), but near
  /// chance it says the features cannot carry the task. Nil for survival, or when a probe
  /// cannot be fitted or the test slides hold one class.
  public static func probeSlideAUC(task: MILTask, train: [MILBag], test: [MILBag]) -> Double? {
    let rule: (MILBag) -> Double
    switch task {
    case .tumour:
      guard let tumour = fitProbe(.tumour, on: train) else { return nil }
      rule = { tumour($0).max() ?? -.infinity }
    case .relational:
      guard let lymphoid = fitProbe(.lymphoid, on: train), let necrosis = fitProbe(.necrosis, on: train) else {
        return nil
      }
      rule = { min(lymphoid($0).max() ?? -.infinity, necrosis($0).max() ?? -.infinity) }
    case .proximity:
      guard let lymphoid = fitProbe(.lymphoid, on: train), let necrosis = fitProbe(.necrosis, on: train) else {
        return nil
      }
      // Each slide of the proximity design holds one focus of each kind, so each probe's
      // highest-margin tile locates its focus.
      rule = { bag in
        let (lm, nm) = (lymphoid(bag), necrosis(bag))
        guard let cells = bag.gridPositions, let l = lm.indices.max(by: { lm[$0] < lm[$1] }),
          let n = nm.indices.max(by: { nm[$0] < nm[$1] })
        else { return 0 }
        return -Double(max(abs(cells[l].row - cells[n].row), abs(cells[l].column - cells[n].column)))
      }
    case .survival:
      return nil
    }
    let labels = test.map { $0.label == 1 }
    guard labels.contains(true), labels.contains(false), test.allSatisfy({ $0.instanceCount > 0 }) else { return nil }
    return Ranking.rocAUC(scores: test.map(rule), positives: labels)
  }

  /// `metrics` renamed `<prefix><name><suffix>` (`named(m, prefix: "control.", suffix: ".abmil")`).
  public static func named(_ metrics: [String: Double], prefix: String = "", suffix: String = "") -> [String: Double] {
    Dictionary(uniqueKeysWithValues: metrics.map { (prefix + $0.key + suffix, $0.value) })
  }

  /// The slide metrics' descriptions, renamed as `named` does; `what` says which model and task.
  /// The shared loop's figures of the main model (`MILArm.run`), reported but not banded.
  public static let trainingMetricInfos: [MetricInfo] = [
    MetricInfo("final_loss", .lower, "training loss of the kept epoch", banded: false),
    MetricInfo("best_epoch", .higher, "epoch of the kept weights (lowest validation loss)", banded: false),
    MetricInfo("epochs", .higher, "epochs run before early stopping", banded: false),
    MetricInfo("train_seconds", .lower, "training wall time of the main model", banded: false),
  ]

  /// `size_correlation` (`sizeCorrelation`) renamed as `named` does; `what` says which model and task.
  public static func sizeCorrelationInfo(prefix: String = "", suffix: String = "", what: String) -> MetricInfo {
    MetricInfo(
      "\(prefix)size_correlation\(suffix)", .higher,
      "Spearman correlation of the test slides' P(class 1) with their instance counts, \(what) (near 0: the score does not follow the bag's size; read beside bag_size_auc)",
      banded: false)
  }

  public static func metricInfos(prefix: String = "", suffix: String = "", what: String) -> [MetricInfo] {
    [
      MetricInfo("\(prefix)auc\(suffix)", .higher, "test slide ROC-AUC, \(what)"),
      MetricInfo("\(prefix)accuracy\(suffix)", .higher, "test slide accuracy (argmax), \(what)"),
      MetricInfo("\(prefix)balanced_accuracy\(suffix)", .higher, "test balanced accuracy, \(what)"),
      MetricInfo("\(prefix)f1_weighted\(suffix)", .higher, "test weighted F1, \(what)"),
      MetricInfo("\(prefix)kappa_quadratic\(suffix)", .higher, "test quadratic-weighted Cohen's kappa, \(what)"),
      sizeCorrelationInfo(prefix: prefix, suffix: suffix, what: what),
      MetricInfo("\(prefix)auc_ci_low\(suffix)", .higher, "bootstrap 95% interval of the AUC, lower, \(what)", banded: false),
      MetricInfo("\(prefix)auc_ci_high\(suffix)", .higher, "bootstrap 95% interval of the AUC, upper, \(what)", banded: false),
    ]
  }
}

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

  /// How well instance features separate tumour tiles: a linear probe (`LinearProbe`, two
  /// classes) fitted on the instance labels of `train`'s bags, scored by the test-instance ROC-AUC
  /// of its tumour logit margin. Instance-supervised, so an upper bound for what a weakly supervised
  /// model's instance scores can reach on these features. Nil without labelled instances of both
  /// kinds in both sets.
  public static func tileProbeAUC(train: [MILBag], test: [MILBag]) -> Double? {
    func rows(_ bags: [MILBag]) -> (features: [Float], labels: [Int], d: Int) {
      var features: [Float] = [], labels: [Int] = []
      var d = 0
      for bag in bags {
        guard let instanceLabels = bag.instanceLabels, instanceLabels.count == bag.instanceCount else { continue }
        d = bag.features.shape[1]
        features += bag.features.data
        labels += instanceLabels.map { $0 == 1 ? 1 : 0 }
      }
      return (features, labels, d)
    }
    let (xTrain, yTrain, d) = rows(train), (xTest, yTest, dTest) = rows(test)
    guard d > 0, d == dTest, Set(yTrain).count == 2, Set(yTest).count == 2 else { return nil }
    let probe = LinearProbe.fit(features: xTrain, labels: yTrain, featureCount: d, classCount: 2)
    let logits = probe.logits(xTest)
    let margins = (0..<yTest.count).map { Double(logits[2 * $0 + 1] - logits[2 * $0]) }
    return Ranking.rocAUC(scores: margins, positives: yTest.map { $0 == 1 })
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

  public static func metricInfos(prefix: String = "", suffix: String = "", what: String) -> [MetricInfo] {
    [
      MetricInfo("\(prefix)auc\(suffix)", .higher, "test slide ROC-AUC, \(what)"),
      MetricInfo("\(prefix)accuracy\(suffix)", .higher, "test slide accuracy (argmax), \(what)"),
      MetricInfo("\(prefix)balanced_accuracy\(suffix)", .higher, "test balanced accuracy, \(what)"),
      MetricInfo("\(prefix)f1_weighted\(suffix)", .higher, "test weighted F1, \(what)"),
      MetricInfo("\(prefix)kappa_quadratic\(suffix)", .higher, "test quadratic-weighted Cohen's kappa, \(what)"),
      MetricInfo("\(prefix)auc_ci_low\(suffix)", .higher, "bootstrap 95% interval of the AUC, lower, \(what)", banded: false),
      MetricInfo("\(prefix)auc_ci_high\(suffix)", .higher, "bootstrap 95% interval of the AUC, upper, \(what)", banded: false),
    ]
  }
}

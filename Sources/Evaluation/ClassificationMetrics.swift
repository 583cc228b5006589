import Engine

/// Slide-level classification metrics with scikit-learn's semantics, as the pathology papers
/// report them (PANTHER's `sweep_classification_metrics`, UNI's `get_eval_metrics`): accuracy,
/// balanced accuracy, weighted F1, quadratic-weighted Cohen's κ and ROC-AUC (binary, or macro
/// one-vs-one for several classes), plus a percentile bootstrap interval for the AUC.
///
/// Labels are class indices `0..<classes`. The label set of a confusion matrix is, as sklearn's
/// `unique_labels(y_true, y_pred)`, the sorted union of the classes that occur in either array.
public enum ClassificationMetrics {
  /// Fraction of predictions equal to the label (`accuracy_score`).
  /// - Returns: nil for no items.
  public static func accuracy(predictions: [Int], labels: [Int]) -> Double? {
    precondition(predictions.count == labels.count, "accuracy: \(predictions.count) predictions, \(labels.count) labels")
    guard !labels.isEmpty else { return nil }
    return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
  }

  /// Mean recall over the classes that occur in `labels` (`balanced_accuracy_score`, not
  /// adjusted): `mean_c TP_c / (TP_c + FN_c)`; a class only predicted, never true, is left out
  /// as sklearn does (it warns and drops the NaN recall).
  /// - Returns: nil for no items.
  public static func balancedAccuracy(predictions: [Int], labels: [Int]) -> Double? {
    precondition(predictions.count == labels.count, "balancedAccuracy: \(predictions.count) vs \(labels.count)")
    guard !labels.isEmpty else { return nil }
    var support: [Int: Int] = [:], hits: [Int: Int] = [:]
    for (p, y) in zip(predictions, labels) {
      support[y, default: 0] += 1
      if p == y { hits[y, default: 0] += 1 }
    }
    let recalls = support.keys.sorted().map { Double(hits[$0] ?? 0) / Double(support[$0] ?? 1) }
    return recalls.reduce(0, +) / Double(recalls.count)
  }

  /// F1 per class averaged with the class's true support as weight (`f1_score(average=
  /// "weighted")`): `Σ_c n_c F1_c / Σ_c n_c`, where `F1_c = 2TP/(2TP + FP + FN)` and a class with
  /// no true and no predicted items (0/0) scores 0 (`zero_division` default).
  /// - Returns: nil for no items.
  public static func weightedF1(predictions: [Int], labels: [Int]) -> Double? {
    precondition(predictions.count == labels.count, "weightedF1: \(predictions.count) vs \(labels.count)")
    guard !labels.isEmpty else { return nil }
    let classes = Set(predictions).union(labels).sorted()
    var total = 0.0
    for c in classes {
      var tp = 0, fp = 0, fn = 0
      for (p, y) in zip(predictions, labels) {
        if p == c && y == c { tp += 1 } else if p == c { fp += 1 } else if y == c { fn += 1 }
      }
      let support = tp + fn
      let denominator = 2 * tp + fp + fn
      let f1 = denominator == 0 ? 0 : 2 * Double(tp) / Double(denominator)
      total += Double(support) * f1
    }
    return total / Double(labels.count)
  }

  /// Cohen's κ with quadratic weights (`cohen_kappa_score(weights="quadratic")`):
  /// `κ = 1 − Σ w_ij O_ij / Σ w_ij E_ij`, with `O` the confusion matrix over the sorted union of
  /// classes `L`, `E_ij = (Σ_k O_ik)(Σ_k O_kj) / Σ O` and `w_ij = (i − j)²` over the positions
  /// `i, j` of the classes in `L` (sklearn weights by position in the label list, not by value).
  /// - Returns: nil when undefined (no items, or `Σ w E = 0`, e.g. a single class everywhere).
  public static func quadraticKappa(predictions: [Int], labels: [Int]) -> Double? {
    precondition(predictions.count == labels.count, "quadraticKappa: \(predictions.count) vs \(labels.count)")
    guard !labels.isEmpty else { return nil }
    let classes = Set(predictions).union(labels).sorted()
    let position = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    let k = classes.count
    var observed = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
    for (p, y) in zip(predictions, labels) {
      guard let i = position[y], let j = position[p] else { continue }
      observed[i][j] += 1
    }
    let n = Double(labels.count)
    let rows = observed.map { $0.reduce(0, +) }
    let columns = (0..<k).map { j in observed.reduce(0) { $0 + $1[j] } }
    var numerator = 0.0, denominator = 0.0
    for i in 0..<k {
      for j in 0..<k {
        let w = Double((i - j) * (i - j))
        numerator += w * observed[i][j]
        denominator += w * rows[i] * columns[j] / n
      }
    }
    guard denominator > 0 else { return nil }
    return 1 - numerator / denominator
  }

  /// ROC-AUC of slide scores: binary with one score per item (the positive class's probability
  /// or logit), through `Ranking.rocAUC`.
  /// - Returns: nil when a class is missing.
  public static func binaryAUC(scores: [Double], labels: [Int]) -> Double? {
    Ranking.rocAUC(scores: scores, positives: labels.map { $0 == 1 })
  }

  /// ROC-AUC from per-class scores `probabilities[item][class]` (`roc_auc_score`): for two
  /// classes, the binary AUC of column 1; for more, the macro one-vs-one AUC of Hand & Till
  /// (2001) as sklearn's `multi_class="ovo", average="macro"`: over every pair `a < b` of the
  /// classes present in `labels`, on the items whose label is `a` or `b`, the mean of
  /// `AUC(score_a, y = a)` and `AUC(score_b, y = b)`; then the unweighted mean over pairs.
  /// - Precondition: every row has a column for every label value.
  /// - Returns: nil with fewer than two classes present.
  public static func rocAUC(probabilities: [[Double]], labels: [Int]) -> Double? {
    precondition(probabilities.count == labels.count, "rocAUC: \(probabilities.count) rows, \(labels.count) labels")
    let classes = Set(labels).sorted()
    guard classes.count >= 2 else { return nil }
    let width = probabilities.first?.count ?? 0
    precondition(
      probabilities.allSatisfy { $0.count == width } && (classes.last ?? 0) < width,
      "rocAUC: score rows of \(width) columns do not cover labels up to \(classes.last ?? 0)")
    if width == 2 { return binaryAUC(scores: probabilities.map { $0[1] }, labels: labels) }
    var pairScores: [Double] = []
    for (ia, a) in classes.enumerated() {
      for b in classes[(ia + 1)...] {
        let items = labels.indices.filter { labels[$0] == a || labels[$0] == b }
        guard
          let aucA = Ranking.rocAUC(scores: items.map { probabilities[$0][a] }, positives: items.map { labels[$0] == a }),
          let aucB = Ranking.rocAUC(scores: items.map { probabilities[$0][b] }, positives: items.map { labels[$0] == b })
        else { continue }
        pairScores.append((aucA + aucB) / 2)
      }
    }
    return pairScores.isEmpty ? nil : pairScores.reduce(0, +) / Double(pairScores.count)
  }

  /// Percentile bootstrap interval of the AUC (`Bootstrap.percentileInterval`): items resampled
  /// with replacement `resamples` times; resamples with a single class are skipped (undefined).
  /// - Returns: nil when no resample had both classes.
  public static func aucInterval(
    probabilities: [[Double]], labels: [Int], resamples: Int = 1000, level: Double = 0.95,
    using generator: inout RandomGenerator
  ) -> (lower: Double, upper: Double)? {
    Bootstrap.percentileInterval(count: labels.count, resamples: resamples, level: level, using: &generator) { idx in
      rocAUC(probabilities: idx.map { probabilities[$0] }, labels: idx.map { labels[$0] })
    }
  }

  /// Index of the largest score of each row (first on ties, as `argmax`).
  public static func argmax(_ probabilities: [[Double]]) -> [Int] {
    probabilities.map { row in
      var best = 0
      for (i, v) in row.enumerated() where v > row[best] { best = i }
      return best
    }
  }
}

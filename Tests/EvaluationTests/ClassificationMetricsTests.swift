import Engine
import Evaluation
import Testing
import _TestSupport

@Suite struct ClassificationMetricsTests {
  // y = [0, 2, 2, 0], ŷ = [0, 1, 2, 2]: class 1 is predicted but never true.
  let labels = [0, 2, 2, 0]
  let predictions = [0, 1, 2, 2]

  @Test func accuracyAndBalancedAccuracyByHand() {
    #expect(ClassificationMetrics.accuracy(predictions: predictions, labels: labels) == 0.5)
    // Recall of class 0 = 1/2, of class 2 = 1/2; class 1 has no true items and is left out.
    #expect(ClassificationMetrics.balancedAccuracy(predictions: predictions, labels: labels) == 0.5)
    // Imbalanced: 3 of class 0 all right, 1 of class 1 wrong → accuracy 3/4, balanced (1 + 0)/2.
    #expect(ClassificationMetrics.balancedAccuracy(predictions: [0, 0, 0, 0], labels: [0, 0, 0, 1]) == 0.5)
    #expect(ClassificationMetrics.accuracy(predictions: [], labels: []) == nil)
  }

  @Test func weightedF1ByHand() {
    // F1₀ = 2·1/(2+0+1) = 2/3 (support 2); F1₁ = 0 (support 0); F1₂ = 2/(2+1+1) = 1/2 (support 2).
    // Weighted: (2·2/3 + 0 + 2·1/2) / 4 = 7/12.
    let f1 = ClassificationMetrics.weightedF1(predictions: predictions, labels: labels) ?? -1
    expectClose(Double(f1), Double(7.0 / 12), rtol: 0, atol: 1e-12)
  }

  @Test func quadraticKappaByHand() {
    // Confusion over L = {0, 1, 2}: O[0][0] = 1, O[0][2] = 1, O[2][1] = 1, O[2][2] = 1; rows (2, 0, 2),
    // columns (1, 1, 2). Σ w O = 4·1 + 1·1 = 5; Σ w E = (1·2·1 + 4·2·2 + 4·2·1 + 1·2·1)/4 = 7 → κ = 1 − 5/7.
    let kappa = ClassificationMetrics.quadraticKappa(predictions: predictions, labels: labels) ?? -1
    expectClose(Double(kappa), Double(2.0 / 7), rtol: 0, atol: 1e-12)
    // Perfect agreement → 1; one class everywhere → undefined.
    #expect(ClassificationMetrics.quadraticKappa(predictions: [0, 1, 2], labels: [0, 1, 2]) == 1)
    #expect(ClassificationMetrics.quadraticKappa(predictions: [1, 1], labels: [1, 1]) == nil)
  }

  /// Values from scikit-learn 1.9.1 (`accuracy_score`, `balanced_accuracy_score`,
  /// `f1_score(average="weighted")`, `cohen_kappa_score(weights="quadratic")`,
  /// `roc_auc_score(multi_class="ovo", average="macro")`) on the same arrays.
  @Test func matchesScikitLearnOnAThreeClassCase() {
    let y = [0, 0, 1, 1, 2, 2, 2]
    let p = [0, 1, 1, 1, 2, 0, 1]
    let probabilities: [[Double]] = [
      [0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.5, 0.3], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.5, 0.2, 0.3],
      [0.3, 0.4, 0.3],
    ]
    func close(_ a: Double?, _ b: Double) -> Bool { abs((a ?? .nan) - b) < 1e-12 }
    #expect(close(ClassificationMetrics.accuracy(predictions: p, labels: y), 0.5714285714285714))
    #expect(close(ClassificationMetrics.balancedAccuracy(predictions: p, labels: y), 0.611111111111111))
    #expect(close(ClassificationMetrics.weightedF1(predictions: p, labels: y), 0.5476190476190476))
    #expect(close(ClassificationMetrics.quadraticKappa(predictions: p, labels: y), 0.2758620689655171))
    #expect(close(ClassificationMetrics.rocAUC(probabilities: probabilities, labels: y), 0.9027777777777777))
  }

  @Test func binaryAUCUsesThePositiveColumn() {
    // Positives {0.35, 0.8} vs negatives {0.1, 0.4}: 3 of 4 pairs ordered → 0.75 (sklearn agrees).
    let scores = [0.1, 0.4, 0.35, 0.8]
    #expect(ClassificationMetrics.binaryAUC(scores: scores, labels: [0, 0, 1, 1]) == 0.75)
    #expect(ClassificationMetrics.rocAUC(probabilities: scores.map { [1 - $0, $0] }, labels: [0, 0, 1, 1]) == 0.75)
    #expect(ClassificationMetrics.rocAUC(probabilities: [[0.5, 0.5]], labels: [1]) == nil)
    #expect(ClassificationMetrics.argmax([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]) == [1, 0, 0])
  }

  @Test func oneVsOneAUCIsTheMeanOfPairwiseAUCs() {
    // A perfect ranking in every pair gives 1. Swapping the scores of classes 1 and 2: pair (0, 1)
    // = (AUC(s₀) = 1 + AUC(s₁) = ½ tie) / 2 = ¾, pair (0, 2) likewise ¾, pair (1, 2) = (0 + 0)/2 = 0
    // → (¾ + ¾ + 0)/3 = ½.
    let y = [0, 1, 2]
    let perfect: [[Double]] = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    #expect(ClassificationMetrics.rocAUC(probabilities: perfect, labels: y) == 1)
    let swapped: [[Double]] = [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]]
    let auc = ClassificationMetrics.rocAUC(probabilities: swapped, labels: y) ?? -1
    expectClose(Double(auc), 0.5, rtol: 0, atol: 1e-12)
  }

  @Test func bootstrapIntervalBracketsTheAUCAndIsDeterministic() {
    let labels = (0..<40).map { $0 % 2 }
    let probabilities = labels.enumerated().map { i, y -> [Double] in
      let s = Double(y) * 0.3 + Double((i * 37) % 40) / 60
      return [1 - s, s]
    }
    let auc = ClassificationMetrics.rocAUC(probabilities: probabilities, labels: labels) ?? -1
    var g1 = RandomGenerator(seed: 7), g2 = RandomGenerator(seed: 7)
    let a = ClassificationMetrics.aucInterval(probabilities: probabilities, labels: labels, resamples: 300, using: &g1)
    let b = ClassificationMetrics.aucInterval(probabilities: probabilities, labels: labels, resamples: 300, using: &g2)
    #expect(a?.lower == b?.lower && a?.upper == b?.upper)
    #expect((a?.lower ?? 2) < auc && auc < (a?.upper ?? -1))
    #expect((a?.upper ?? 2) <= 1 && (a?.lower ?? -1) >= 0)
    // One class only: no resample is defined.
    var g3 = RandomGenerator(seed: 1)
    #expect(ClassificationMetrics.aucInterval(probabilities: [[0.5, 0.5]], labels: [0], using: &g3) == nil)
  }
}

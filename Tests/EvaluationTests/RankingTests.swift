import Engine
import Evaluation
import Testing
import _TestSupport

@Suite struct RankingTests {
  @Test func averageRanksShareTies() {
    // values 10, 20, 20, 5 → sorted 5(1) 10(2) 20(3.5) 20(3.5)
    #expect(Ranking.averageRanks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
  }

  @Test func aucHandCases() {
    // Perfect separation → 1; reversed → 0.
    #expect(Ranking.rocAUC(scores: [3, 4, 1, 2], positives: [true, true, false, false]) == 1)
    #expect(Ranking.rocAUC(scores: [1, 2, 3, 4], positives: [true, true, false, false]) == 0)
    // Positives {0.8, 0.4}, negatives {0.6, 0.2}: pairs (0.8>0.6, 0.8>0.2, 0.4<0.6, 0.4>0.2) → 3/4.
    #expect(Ranking.rocAUC(scores: [0.8, 0.4, 0.6, 0.2], positives: [true, true, false, false]) == 0.75)
    // A tie between a positive and a negative counts one half: (1 + 0.5) / 2.
    #expect(Ranking.rocAUC(scores: [0.5, 0.9, 0.5], positives: [true, true, false]) == 0.75)
    #expect(Ranking.rocAUC(scores: [1, 2], positives: [true, true]) == nil)
  }

  @Test func spearmanHandCases() {
    #expect(Ranking.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
    #expect(Ranking.spearman([1, 2, 3, 4], [9, 7, 3, 1]) == -1)
    // Monotone but non-linear is still ±1 for Spearman.
    expectClose(Double(Ranking.spearman([1, 2, 3, 4, 5], [1, 8, 27, 64, 125]) ?? 0), 1, rtol: 0, atol: 1e-12)
    // d = rank differences (0, -1, 1, 0) → ρ = 1 − 6Σd²/(n(n²−1)) = 1 − 12/60 = 0.8.
    expectClose(Double(Ranking.spearman([1, 2, 3, 4], [1, 3, 2, 4]) ?? 0), 0.8, rtol: 0, atol: 1e-12)
    #expect(Ranking.spearman([1, 1, 1], [1, 2, 3]) == nil)
  }

  @Test func pearsonHandCase() {
    // x = (1,2,3), y = (2,4,7): sxy = 5, sxx = 2, syy = 12.667 → r = 5 / sqrt(25.333) = 0.99340.
    expectClose(Double(Ranking.pearson([1, 2, 3], [2, 4, 7]) ?? 0), 0.9933992677987828, rtol: 0, atol: 1e-12)
  }
}

@Suite struct BootstrapTests {
  @Test func quantileLinear() {
    #expect(Bootstrap.quantile([1, 2, 3, 4], 0.5) == 2.5)
    #expect(Bootstrap.quantile([1, 2, 3, 4], 0) == 1)
    #expect(Bootstrap.quantile([1, 2, 3, 4], 1) == 4)
  }

  @Test func intervalCoversMeanAndIsDeterministic() {
    var g1 = RandomGenerator(seed: 1)
    var g2 = RandomGenerator(seed: 1)
    let data = (0..<200).map { Double($0 % 17) }
    let mean = { (idx: [Int]) -> Double? in idx.map { data[$0] }.reduce(0, +) / Double(idx.count) }
    let a = Bootstrap.percentileInterval(count: data.count, resamples: 300, using: &g1, statistic: mean)
    let b = Bootstrap.percentileInterval(count: data.count, resamples: 300, using: &g2, statistic: mean)
    let full = data.reduce(0, +) / Double(data.count)
    #expect(a != nil && a?.lower == b?.lower && a?.upper == b?.upper)
    if let a { #expect(a.lower < full && full < a.upper) }
  }

  @Test func summaryUsesSampleStandardDeviation() {
    let s = Summary([2, 4, 4, 4, 5, 5, 7, 9])
    #expect(s.mean == 5)
    // Σ(x−5)² = 32, n−1 = 7.
    expectClose(Double(s.standardDeviation), Double((32.0 / 7).squareRoot()), rtol: 0, atol: 1e-12)
    #expect(Summary([3]).standardDeviation == 0)
  }
}

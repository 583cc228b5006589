/// Ranks and rank-based statistics: ROC-AUC (Mann–Whitney U) and Spearman's ρ.
public enum Ranking {
  /// Average ranks (1-based), ties sharing the mean of the ranks they span
  /// (`scipy.stats.rankdata(method="average")`).
  public static func averageRanks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var i = 0
    while i < order.count {
      var j = i
      while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
      let rank = Double(i + j) / 2 + 1
      for k in i...j { ranks[order[k]] = rank }
      i = j + 1
    }
    return ranks
  }

  /// Area under the ROC curve of `scores` for `positives` (true = positive class).
  ///
  /// Computed as the Mann–Whitney statistic `(R₊ − n₊(n₊+1)/2) / (n₊ n₋)` with average ranks, so
  /// ties count one half (identical to `sklearn.metrics.roc_auc_score`).
  /// - Returns: nil when either class is empty.
  public static func rocAUC(scores: [Double], positives: [Bool]) -> Double? {
    precondition(scores.count == positives.count, "rocAUC: \(scores.count) scores, \(positives.count) labels")
    let nPos = positives.filter { $0 }.count
    let nNeg = positives.count - nPos
    guard nPos > 0, nNeg > 0 else { return nil }
    let ranks = averageRanks(scores)
    var rankSum = 0.0
    for (r, p) in zip(ranks, positives) where p { rankSum += r }
    return (rankSum - Double(nPos) * Double(nPos + 1) / 2) / (Double(nPos) * Double(nNeg))
  }

  /// Pearson's correlation coefficient; nil when either variable is constant.
  public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
    precondition(x.count == y.count, "pearson: \(x.count) vs \(y.count) values")
    let n = Double(x.count)
    guard n > 1 else { return nil }
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) {
      sxy += (a - mx) * (b - my)
      sxx += (a - mx) * (a - mx)
      syy += (b - my) * (b - my)
    }
    guard sxx > 0, syy > 0 else { return nil }
    return sxy / (sxx * syy).squareRoot()
  }

  /// Spearman's rank correlation ρ: Pearson's r of the average ranks
  /// (`scipy.stats.spearmanr`); nil when either variable is constant.
  public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
    pearson(averageRanks(x), averageRanks(y))
  }
}

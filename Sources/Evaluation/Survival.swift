/// Survival metrics and the time discretisation PANTHER's survival datasets use.
public enum Survival {
  /// Harrell's concordance index and its pair counts, as `sksurv.metrics.concordance_index_censored`.
  public struct Concordance: Sendable, Equatable {
    /// `(concordant + ½ tiedRisk) / comparable pairs`.
    public var cIndex: Double
    /// Comparable pairs where the earlier event has the strictly higher risk.
    public var concordant: Int
    /// Comparable pairs where the earlier event has the strictly lower risk.
    public var discordant: Int
    /// Comparable pairs whose risks differ by at most the tie tolerance (each counts ½).
    public var tiedRisk: Int
    /// Comparable pairs made of an event and a censored sample at the same time.
    public var tiedTime: Int
  }

  /// Harrell's C with right censoring, exactly as `sksurv.metrics.concordance_index_censored`
  /// (scikit-survival `metrics.py`, `_get_comparable` and `_estimate_concordance_index`).
  ///
  /// A pair `(i, j)` is comparable when `i` had an event and either `t_j > t_i`, or `t_j == t_i`
  /// and `j` is censored (an event and a censored sample at the same time are comparable; two
  /// events at the same time are not). It is concordant when `risk_i > risk_j`, and a tie counts
  /// ½ when `|risk_i − risk_j| ≤ tiedTolerance` (sksurv's `tied_tol`, 1e-8).
  /// - Returns: nil when no pair is comparable (sksurv raises "All samples are censored").
  public static func concordanceIndex(
    events: [Bool], times: [Double], risks: [Double], tiedTolerance: Double = 1e-8
  ) -> Concordance? {
    let n = events.count
    precondition(times.count == n && risks.count == n,
      "concordanceIndex: \(n) events, \(times.count) times, \(risks.count) risks")
    let order = (0..<n).sorted { times[$0] < times[$1] || (times[$0] == times[$1] && $0 < $1) }
    var (concordant, discordant, tiedRisk, tiedTime, pairs) = (0, 0, 0, 0, 0)
    var start = 0
    while start < n - 1 {
      var end = start + 1
      while end < n && times[order[end]] == times[order[start]] { end += 1 }
      let censoredAtSameTime = (start..<end).filter { !events[order[$0]] }
      for a in start..<end where events[order[a]] {
        let i = order[a]
        // Later samples, plus the censored ones at the same time.
        for b in censoredAtSameTime + Array(end..<n) {
          let j = order[b]
          pairs += 1
          if abs(risks[j] - risks[i]) <= tiedTolerance {
            tiedRisk += 1
          } else if risks[j] < risks[i] {
            concordant += 1
          } else {
            discordant += 1
          }
        }
        tiedTime += censoredAtSameTime.count
      }
      start = end
    }
    guard pairs > 0 else { return nil }
    return Concordance(
      cIndex: (Double(concordant) + 0.5 * Double(tiedRisk)) / Double(pairs), concordant: concordant,
      discordant: discordant, tiedRisk: tiedRisk, tiedTime: tiedTime)
  }

  /// Quantile time bins of PANTHER's survival datasets (`wsi_survival.compute_discretization`):
  /// edges are the `count`-quantiles of the **uncensored** times (`pd.qcut`, NumPy's linear
  /// interpolation), the first edge set to −1e-6 and the last to 1e6; every time gets the bin
  /// `k` with `edge_k < t ≤ edge_{k+1}` (`pd.cut`, `include_lowest`).
  /// - Returns: the edges (`count + 1`); nil when no time is uncensored.
  public static func quantileBinEdges(times: [Double], events: [Bool], count: Int = 4) -> [Double]? {
    let observed = zip(times, events).filter { $0.1 }.map(\.0).sorted()
    guard !observed.isEmpty, count > 0 else { return nil }
    var edges = (0...count).map { k -> Double in
      let position = Double(k) / Double(count) * Double(observed.count - 1)
      let lower = Int(position.rounded(.down))
      let upper = min(lower + 1, observed.count - 1)
      return observed[lower] + (position - Double(lower)) * (observed[upper] - observed[lower])
    }
    edges[0] = -1e-6
    edges[count] = 1e6
    return edges
  }

  /// The bin of `time` under `edges` (`pd.cut`, right-closed, lowest edge included); times
  /// beyond the last edge go to the last bin (pandas would give NaN).
  public static func bin(of time: Double, edges: [Double]) -> Int {
    for k in 1..<edges.count where time <= edges[k] { return k - 1 }
    return edges.count - 2
  }
}

import Evaluation
import Testing
import _TestSupport

/// Harrell's C as `sksurv.metrics.concordance_index_censored`, and PANTHER's quantile time bins.
@Suite struct SurvivalTests {
  @Test func perfectAndReversedRankings() throws {
    let times: [Double] = [1, 2, 3, 4]
    let events = [true, true, true, true]
    let perfect = try #require(Survival.concordanceIndex(events: events, times: times, risks: [4, 3, 2, 1]))
    #expect(perfect.cIndex == 1 && perfect.concordant == 6 && perfect.discordant == 0)
    let reversed = try #require(Survival.concordanceIndex(events: events, times: times, risks: [1, 2, 3, 4]))
    #expect(reversed.cIndex == 0 && reversed.discordant == 6)
  }

  @Test func censoringAndTiesByHand() throws {
    // t = (1, 2, 2, 3), δ = (1, 1, 0, 0), risk = (0.9, 0.5, 0.5, 0.1).
    // Sample 0 (event at 1) vs 1, 2, 3: three concordant pairs.
    // Sample 1 (event at 2) vs 2 (censored at the same time, comparable): tied risk → ½;
    //   vs 3: concordant. Samples 2, 3 are censored and anchor no pair.
    // C = (4 + ½) / 5 = 0.9; one tied-time pair.
    let c = try #require(
      Survival.concordanceIndex(
        events: [true, true, false, false], times: [1, 2, 2, 3], risks: [0.9, 0.5, 0.5, 0.1]))
    expectClose(Double(c.cIndex), 0.9, rtol: 0, atol: 1e-12)
    #expect(c.concordant == 4 && c.discordant == 0 && c.tiedRisk == 1 && c.tiedTime == 1)
  }

  @Test func tiedEventTimesAreNotComparable() throws {
    // Two events at t = 1 are not compared with each other; both beat the event at t = 2.
    let c = try #require(
      Survival.concordanceIndex(events: [true, true, true], times: [1, 1, 2], risks: [1, 2, 0]))
    #expect(c.cIndex == 1 && c.concordant == 2 && c.tiedTime == 0)
    // A censored sample earlier than an event is not comparable to it: only (event@1, censored@3).
    let d = try #require(
      Survival.concordanceIndex(events: [false, true, false], times: [0.5, 1, 3], risks: [9, 0, 1]))
    #expect(d.cIndex == 0 && d.concordant + d.discordant + d.tiedRisk == 1)
    // The input order does not matter.
    let e = try #require(
      Survival.concordanceIndex(events: [true, false, false], times: [1, 3, 0.5], risks: [0, 1, 9]))
    #expect(e == d)
  }

  @Test func matchesScikitSurvival() throws {
    // scikit-survival 0.28.0, numpy 2.4.6 (many tied times and risks):
    //   rng = np.random.default_rng(0); t = rng.integers(1, 8, 20).astype(float)
    //   e = rng.random(20) < 0.6; r = np.round(rng.normal(size=20), 1)
    //   concordance_index_censored(e, t, r) → (0.40217391304347827, 36, 54, 2, 10)
    let times: [Double] = [6, 5, 4, 2, 3, 1, 1, 1, 2, 6, 5, 7, 4, 5, 7, 6, 5, 4, 4, 7]
    let events = [
      false, true, false, true, false, true, false, true, true, true, true, true, false, false, false, true,
      false, false, false, false,
    ]
    let risks = [
      -1.0, -0.2, -0.2, 0.5, 0.2, 0.4, -0.7, -0.1, 0.8, 1.5, -1.3, 1.5, 1.3, 0.8, 0.3, -0.3, 1.5, 2.0, 1.8, 1.3,
    ]
    let c = try #require(Survival.concordanceIndex(events: events, times: times, risks: risks))
    expectClose(Double(c.cIndex), 0.40217391304347827, rtol: 0, atol: 1e-12)
    #expect(c.concordant == 36 && c.discordant == 54 && c.tiedRisk == 2 && c.tiedTime == 10)
  }

  @Test func allCensoredHasNoComparablePair() {
    #expect(Survival.concordanceIndex(events: [false, false], times: [1, 2], risks: [0, 1]) == nil)
  }

  @Test func quantileBinsAsPandas() throws {
    // Uncensored times 1…5 → quartiles (1, 2, 3, 4, 5); edges (−1e-6, 2, 3, 4, 1e6), right-closed.
    let edges = try #require(
      Survival.quantileBinEdges(times: [1, 2, 3, 4, 5, 100], events: [true, true, true, true, true, false]))
    #expect(edges == [-1e-6, 2, 3, 4, 1e6])
    #expect([0.0, 1, 2, 2.5, 3, 4.5, 5, 100].map { Survival.bin(of: $0, edges: edges) } == [0, 0, 0, 1, 1, 3, 3, 3])
    // Linear interpolation between order statistics (NumPy's default): times (0, 10) → (0, 2.5, 5, 7.5, 10).
    let two = try #require(Survival.quantileBinEdges(times: [0, 10], events: [true, true]))
    #expect(two == [-1e-6, 2.5, 5, 7.5, 1e6])
  }
}

import Foundation
import Testing
import _TestSupport

@testable import Harness

/// Claims decided from paired per-seed values by a 95 % Student-t interval, against values worked
/// out by hand.
@Suite struct ClaimDecisionTests {
  func claim(_ metric: String, _ op: ComparisonOperator, _ value: Double) -> Claim {
    Claim(
      id: "c", statement: "", source: "", kind: .relational, profiles: ["ci"],
      conditions: [Claim.Condition(metric: metric, op: op, value: value)], reported: nil)
  }

  func runs(_ values: [Double], metric: String = "gap") -> [[String: Double]] { values.map { [metric: $0] } }

  @Test func aClearGainIsReproducedWithItsInterval() {
    // 0.04, 0.05, 0.06, 0.05, 0.05: mean 0.05, sd √(0.0002/4) = 0.0070711, t(4) = 2.776,
    // half-width 2.776 · 0.0070711 / √5 = 0.0087786.
    let e = Checks.decide(claim("gap", .greater, 0), runs: runs([0.04, 0.05, 0.06, 0.05, 0.05]))
    #expect(e.verdict == .reproduced && e.decided && e.n == 5)
    expectClose(e.conditions[0].mean, 0.05, rtol: 1e-12)
    expectClose(e.conditions[0].lower, 0.05 - 0.0087786, rtol: 0, atol: 1e-6)
    expectClose(e.conditions[0].upper, 0.05 + 0.0087786, rtol: 0, atol: 1e-6)
    #expect(e.summary.hasPrefix("n 5: gap > 0.0: mean 0.05, 95% CI [0.04122, 0.05878]"), "\(e.summary)")
  }

  @Test func aClearLossIsNotReproduced() {
    let e = Checks.decide(claim("gap", .greaterOrEqual, 0.03), runs: runs([-0.01, 0.0, 0.01]))
    // mean 0, sd 0.01, half-width 4.303 · 0.01 / √3 = 0.024844: [−0.0248, 0.0248], upper < 0.03
    // (against 0.02 the same runs would be undecided).
    #expect(!Checks.decide(claim("gap", .greaterOrEqual, 0.02), runs: runs([-0.01, 0.0, 0.01])).decided)
    #expect(e.verdict == .notReproduced && e.decided)
    expectClose(e.conditions[0].upper, 0.024844, rtol: 0, atol: 1e-5)
  }

  @Test func anIntervalAcrossTheThresholdIsUndecided() {
    // mean 0.002, interval ≈ ±0.026 around it: straddles 0.
    let e = Checks.decide(claim("gap", .greater, 0), runs: runs([-0.02, 0.01, 0.03, 0.0, -0.01]))
    #expect(e.verdict == .inconclusive && !e.decided)
  }

  @Test func noSpreadDecidesAtOnceAndOneFailingConditionSuffices() {
    let both = Claim(
      id: "c", statement: "", source: "", kind: .relational, profiles: ["ci"],
      conditions: [
        Claim.Condition(metric: "a", op: .greaterOrEqual, value: 1), Claim.Condition(metric: "b", op: .less, value: 0.5),
      ], reported: nil)
    let r: [[String: Double]] = [["a": 1, "b": 0.9], ["a": 1, "b": 0.8], ["a": 1, "b": 0.85]]
    let e = Checks.decide(both, runs: r)
    #expect(e.verdict == .notReproduced)
    #expect(e.conditions[0].lower == 1 && e.conditions[0].upper == 1 && e.conditions[0].power == 1)
    #expect(Checks.decide(both, runs: [["a": 1]]).decided == false)
  }

  /// [1, 2, 3, 4]: mean 2.5, sd √(5/3) = 1.29099, half-width t(3)·sd/2 = 3.182·0.645497 = 2.053972.
  @Test func seedIntervalByHand() throws {
    let i = try #require(Checks.seedInterval([1, 2, 3, 4]))
    expectClose(i.mean, 2.5, rtol: 1e-12)
    expectClose(i.sd, (5.0 / 3).squareRoot(), rtol: 1e-12)
    expectClose(i.lower, 2.5 - 2.053972, rtol: 1e-6)
    expectClose(i.upper, 2.5 + 2.053972, rtol: 1e-6)
    #expect(Checks.seedInterval([0.3]) == nil)
  }

  @Test func tQuantilesMatchTheTable() {
    expectClose(Checks.tQuantile975(df: 1), 12.706, rtol: 1e-4)
    expectClose(Checks.tQuantile975(df: 19), 2.093, rtol: 1e-4)
    expectClose(Checks.tQuantile975(df: 120), 1.98, rtol: 1e-3)
  }

  @Test func evidenceRoundTripsThroughBandsYAML() throws {
    let calibration = Calibration(
      seeds: [0, 1, 2], codeVersion: "abc", codeDirty: false, date: "2026-12-05", host: "h", method: "m", dataset: "d")
    let set = BandSet(
      profile: "ci", subset: 100, calibration: calibration, bands: [],
      claimVerdicts: ["old": .reproduced, "new": .inconclusive],
      claimEvidence: ["new": "n 20: gap > 0: mean 0.001, 95% CI [-0.01, 0.012], power 0.05"])
    let text = BandTable(entries: [set]).yaml()
    #expect(text.contains("old: reproduced\n"))
    #expect(text.contains("new: {verdict: inconclusive, evidence: \"n 20: gap > 0"))
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bands-\(UUID().uuidString).yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let loaded = try BandTable.load(path: path, profiles: ["ci"])
    #expect(loaded.entries == [set])
  }
}

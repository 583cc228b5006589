import Engine
import Harness
import Testing
import _TestSupport

@Suite struct ChecksTests {
  @Test func verdicts() {
    #expect(Checks.verdict([true, true]) == .reproduced)
    #expect(Checks.verdict([false, false]) == .notReproduced)
    #expect(Checks.verdict([true, false]) == .inconclusive)
    #expect(Checks.verdict([true, nil]) == .inconclusive)
    #expect(Checks.verdict([]) == .notRun)
  }

  /// Bands are one-sided where a direction is better: only a regression fails.
  @Test func checksAreOneSidedWhereADirectionIsBetter() {
    func check(_ better: Better, _ value: Double?) -> BandCheck {
      BandCheck(metric: "m", lower: 0.4, upper: 0.6, better: better, value: value)
    }
    #expect(check(.higher, 0.9).passed && check(.higher, 0.9).beyondBand)
    #expect(check(.higher, 0.5).passed && !check(.higher, 0.5).beyondBand)
    #expect(!check(.higher, 0.39).passed)
    #expect(check(.lower, 0.1).passed && check(.lower, 0.1).beyondBand)
    #expect(!check(.lower, 0.61).passed)
    #expect(!check(.neither, 0.7).passed && !check(.neither, 0.3).passed && check(.neither, 0.4).passed)
    #expect(!check(.higher, nil).passed && !check(.higher, .nan).passed && !check(.lower, -.infinity).passed)
  }

  @Test func bandRule() {
    // Values 0.9, 0.92, 0.94: mean 0.92, sample sd 0.02 → half-width max(0.06, 0.0092) = 0.06.
    let runs: [[String: Double]] = [0.9, 0.92, 0.94].map { ["laplacian_var.auc_gaussian": $0] }
    let bands = Checks.deriveBands(method: .blurDetection, runs: runs)
    let band = bands.first { $0.metric == "laplacian_var.auc_gaussian" }
    #expect(band != nil)
    if let band {
      expectClose(Double(band.mean), 0.92, rtol: 0, atol: 1e-12)
      #expect(abs(band.lower - 0.86) < 1e-9 && abs(band.upper - 0.98) < 1e-9)
      #expect(band.better == .higher)
    }
    // A deterministic metric (sd 0) gets the 1% relative floor.
    let flat = Checks.deriveBands(method: .blurDetection, runs: [["haar_energy.auc_gaussian": 0.5], ["haar_energy.auc_gaussian": 0.5]])
    #expect(flat.first.map { abs($0.upper - 0.505) < 1e-12 } == true)
    // A metric missing from one run gets no band; non-banded metrics get none.
    let partial = Checks.deriveBands(method: .blurDetection, runs: [["x": 1, "laplacian_var.monotone_gaussian": 1], [:]])
    #expect(partial.isEmpty)
  }

  @Test func claimConditions() throws {
    let target = try Registry(root: projectRoot).target("blur-detection")
    let claim = try #require(target.claims.first { $0.id == "laplacian-falls-with-blur" })
    let ok = Checks.claim(claim, metrics: ["laplacian_var.monotone_gaussian": 1, "laplacian_var.monotone_defocus": 1])
    #expect(ok.holds == true)
    let bad = Checks.claim(claim, metrics: ["laplacian_var.monotone_gaussian": 0, "laplacian_var.monotone_defocus": 1])
    #expect(bad.holds == false)
    let missing = Checks.claim(claim, metrics: ["laplacian_var.monotone_gaussian": 1])
    #expect(missing.holds == nil)
  }

  @Test func bandsRoundTripThroughYAML() throws {
    var table = BandTable(entries: [])
    table.replace(
      BandSet(
        profile: "smoke", subset: 50,
        calibration: Calibration(
          seeds: [0, 1, 2], codeVersion: "abc", codeDirty: false, date: "2026-11-23", host: "h", method: Checks.bandRule,
          dataset: "d"),
        bands: [Band(metric: "haar_energy.auc_gaussian", lower: 0.5, upper: 0.75, better: .higher, mean: 0.6, standardDeviation: 0.01, count: 3)],
        claimVerdicts: ["haar-energy-falls-with-blur": .reproduced]))
    let text = try shippedBlurTarget()
    let registry = try temporaryRoot(text: text)
    let dir = registry.root.appendingPathComponent("Replications/blur-detection")
    try table.yaml().write(to: dir.appendingPathComponent("bands.yaml"), atomically: true, encoding: .utf8)
    let loaded = try registry.target("blur-detection").bands
    let set = try #require(loaded.set(profile: "smoke", subset: 50))
    #expect(set.bands.first?.lower == 0.5 && set.bands.first?.upper == 0.75)
    #expect(set.claimVerdicts["haar-energy-falls-with-blur"] == .reproduced)
    #expect(set.calibration.seeds == [0, 1, 2])
  }
}

@Suite struct SamplingTests {
  @Test func stratifiedSubsetIsDeterministicNestedAndBalanced() {
    let labels = (0..<400).map { $0 % 4 }
    let half = Sampling.stratifiedSubset(labels: labels, percent: 50, seed: 1)
    let quarter = Sampling.stratifiedSubset(labels: labels, percent: 25, seed: 1)
    #expect(half.count == 200)
    #expect(half == Sampling.stratifiedSubset(labels: labels, percent: 50, seed: 1))
    #expect(Set(quarter).isSubset(of: Set(half)))
    for c in 0..<4 { #expect(half.filter { labels[$0] == c }.count == 50) }
    #expect(Sampling.stratifiedSubset(labels: labels, percent: 100, seed: 1) == Array(0..<400))
  }

  @Test func stratifiedSampleRoundRobins() {
    let labels = (0..<90).map { $0 < 60 ? 0 : ($0 < 80 ? 1 : 2) }
    var g = RandomGenerator(seed: 0)
    let pick = Sampling.stratifiedSample(from: Array(0..<90), labels: labels, count: 30, using: &g)
    #expect(Set(pick).count == 30)
    #expect(pick.filter { labels[$0] == 2 }.count == 10)
    var g2 = RandomGenerator(seed: 0)
    #expect(pick == Sampling.stratifiedSample(from: Array(0..<90), labels: labels, count: 30, using: &g2))
  }
}

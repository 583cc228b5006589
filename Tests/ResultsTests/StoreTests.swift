import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif
import GRDB
import Harness
import Results
import Testing
import _TestSupport

let projectRoot = TestSupport.projectRoot

func temporaryStorePath() -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent("replicate-store-\(UUID().uuidString).sqlite").path
}

func blurTarget() throws -> TargetSpec { try Registry(root: projectRoot).target("blur-detection") }

/// Records one completed fake run of the blur target with `metrics`.
@discardableResult
func recordRun(
  _ store: ResultsStore, target: TargetSpec, seed: UInt64, metrics: [String: Double], overrides: [String: ConfigValue] = [:],
  defaultData: Bool = true
) throws -> Int64 {
  let profile = try target.profile("smoke")
  let spec = RunSpec(
    target: target.id, method: target.method, profile: "smoke", subset: 100, seed: seed,
    config: RunArguments.resolve(target: target, profile: profile, overrides: overrides), overrides: overrides, threads: 1)
  let env = RunEnvironment(
    codeVersion: "abc123", codeDirty: false, cpu: "test cpu", cores: 2, threads: 1, blas: "OpenBLAS test",
    build: "debug", operatingSystem: "test os", hostName: "host")
  let id = try store.begin(spec: spec, environment: env, dataSource: "synthetic-tissue@1:test", defaultData: defaultData, invocation: "test")
  try store.recordDataset(runID: id, datasetID: "synthetic-tissue@1:test{}", contentHash: "deadbeef")
  var output = ExperimentOutput()
  output.metrics = metrics
  output.series = [SeriesPoint(name: "laplacian_var.mean_gaussian", step: 0, x: 0, value: 10),
                   SeriesPoint(name: "laplacian_var.mean_gaussian", step: 1, x: 1, value: 4)]
  try store.complete(runID: id, output: output, checks: [], claims: [], wallSeconds: 1.5, peakMemoryBytes: 1 << 20)
  return id
}

/// A copy of the blur target with a smoke band set on `metric` = [lower, upper].
func targetWithBand(_ metric: String, lower: Double, upper: Double, claim: Verdict? = nil) throws -> TargetSpec {
  var t = try blurTarget()
  t.bands = BandTable(entries: [])
  t.bands.replace(
    BandSet(
      profile: "smoke", subset: 100,
      calibration: Calibration(seeds: [0, 1, 2], codeVersion: "abc123", codeDirty: false, date: "2026-11-23", host: "h",
        method: Checks.bandRule, dataset: "d"),
      bands: [Band(metric: metric, lower: lower, upper: upper, better: .higher, mean: (lower + upper) / 2, standardDeviation: 0, count: 3)],
      claimVerdicts: claim.map { ["laplacian-falls-with-blur": $0] } ?? [:]))
  return t
}

@Suite struct StoreTests {
  @Test func runRoundTripAndOrphans() throws {
    let path = temporaryStorePath()
    let store = try ResultsStore(path: path)
    let target = try blurTarget()
    let id = try recordRun(store, target: target, seed: 3, metrics: ["laplacian_var.auc_gaussian": 0.9])
    let runs = try store.runs()
    #expect(runs.count == 1)
    let run = try #require(runs.first)
    #expect(run.id == id && run.status == "completed" && run.seed == 3 && run.canonical)
    #expect(run.datasetHash == "deadbeef" && run.configHash.count == 64)
    #expect(run.config.contains("\"tiles\":16"))
    #expect(try store.metrics(runID: id) == ["laplacian_var.auc_gaussian": 0.9])
    #expect(try store.series(runID: id).map(\.value) == [10, 4])
    // A run left `running` by a dead process is marked interrupted when the store is opened again.
    let spec = RunSpec(
      target: target.id, method: target.method, profile: "smoke", subset: 100, seed: 9,
      config: RunArguments.resolve(target: target, profile: try target.profile("smoke"), overrides: [:]), overrides: [:], threads: 1)
    let env = RunEnvironment(codeVersion: "x", codeDirty: true, cpu: "c", cores: 1, threads: 1, blas: "b", build: "debug", operatingSystem: "o", hostName: "h")
    let orphan = try store.begin(spec: spec, environment: env, dataSource: "d", defaultData: true, invocation: "t")
    try GRDBTestHook.setPID(path: path, runID: orphan, pid: 999_999)
    let reopened = try ResultsStore(path: path)
    #expect(try reopened.runs().first { $0.id == orphan }?.status == "interrupted")
  }

  @Test func overriddenRunsAreNonCanonicalAndNotGated() throws {
    let store = try ResultsStore(path: temporaryStorePath())
    let target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0.8, upper: 0.95)
    try recordRun(store, target: target, seed: 0, metrics: ["laplacian_var.auc_gaussian": 0.1], overrides: ["tiles": .int(4)])
    try recordRun(store, target: target, seed: 0, metrics: ["laplacian_var.auc_gaussian": 0.1], defaultData: false)
    let a = try Assessor.assess(target: target, profile: "smoke", store: store)
    #expect(a.notRun)
    #expect(try store.runs().filter { !$0.canonical }.count == 1)
  }

  @Test func assessmentUsesNewestRunPerSeedAndCurrentBands() throws {
    let store = try ResultsStore(path: temporaryStorePath())
    let target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0.8, upper: 0.95)
    try recordRun(store, target: target, seed: 0, metrics: ["laplacian_var.auc_gaussian": 0.5])
    try recordRun(store, target: target, seed: 0, metrics: ["laplacian_var.auc_gaussian": 0.9])
    try recordRun(store, target: target, seed: 1, metrics: ["laplacian_var.auc_gaussian": 0.91])
    let pass = try Assessor.assess(target: target, profile: "smoke", store: store)
    #expect(pass.passed && pass.subsets.first?.runs.count == 2)
    let moved = try targetWithBand("laplacian_var.auc_gaussian", lower: 0.95, upper: 0.99)
    let fail = try Assessor.assess(target: moved, profile: "smoke", store: store)
    #expect(!fail.passed && fail.failureCount == 2)
  }

  @Test func claimVerdictChangeFailsTheGate() throws {
    let store = try ResultsStore(path: temporaryStorePath())
    let target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0, upper: 1, claim: .reproduced)
    try recordRun(store, target: target, seed: 0, metrics: [
      "laplacian_var.auc_gaussian": 0.9, "laplacian_var.monotone_gaussian": 0, "laplacian_var.monotone_defocus": 1])
    let a = try Assessor.assess(target: target, profile: "smoke", store: store)
    let claim = try #require(a.subsets.first?.claims.first { $0.claim.id == "laplacian-falls-with-blur" })
    #expect(claim.verdict == .notReproduced && !claim.passed && !a.passed)
  }

  /// The gate decides a claim over several runs as the calibration does: seven runs whose mean
  /// interval lies above the threshold reproduce it although one run alone falls below; with the
  /// interval undecided, mixed outcomes stay inconclusive.
  @Test func claimsOverSeveralRunsAreDecidedByTheirInterval() throws {
    var target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0, upper: 1, claim: .reproduced)
    let i = try #require(target.claims.firstIndex { $0.id == "laplacian-falls-with-blur" })
    target.claims[i].conditions = [.init(metric: "laplacian_var.auc_gaussian", op: .greaterOrEqual, value: 0.5)]
    func verdict(_ values: [Double]) throws -> (Verdict, Bool) {
      let store = try ResultsStore(path: temporaryStorePath())
      for (seed, v) in values.enumerated() {
        try recordRun(store, target: target, seed: UInt64(seed), metrics: ["laplacian_var.auc_gaussian": v])
      }
      let a = try Assessor.assess(target: target, profile: "smoke", store: store)
      let claim = try #require(a.subsets.first?.claims.first { $0.claim.id == "laplacian-falls-with-blur" })
      return (claim.verdict, claim.passed)
    }
    // mean 0.836, sd 0.170: 95 % interval [0.679, 0.993], wholly above 0.5; seed 6 alone fails.
    #expect(try verdict([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.45]) == (.reproduced, true))
    // mean 0.6, interval [−0.046, 1.246]: undecided, and the outcomes are mixed.
    #expect(try verdict([0.9, 0.45, 0.45]) == (.inconclusive, false))
    // One run: its own outcome.
    #expect(try verdict([0.45]) == (.notReproduced, false))
  }

  @Test func unwritableLocationsAreInputErrors() throws {
    #expect(throws: InputError.self) { try ResultsStore(path: "/nonexistent-dir/results.sqlite") }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ro-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let notADatabase = dir.appendingPathComponent("x.sqlite")
    try Data("this is not sqlite".utf8).write(to: notADatabase)
    #expect(throws: InputError.self) { try ResultsStore(path: notADatabase.path) }
  }
}

@Suite struct ReportTests {
  func assessments() throws -> ([TargetAssessment], ResultsStore) {
    let store = try ResultsStore(path: temporaryStorePath())
    let target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0.95, upper: 0.99, claim: .reproduced)
    try recordRun(store, target: target, seed: 0, metrics: [
      "laplacian_var.auc_gaussian": 0.9, "laplacian_var.monotone_gaussian": 1, "laplacian_var.monotone_defocus": 1])
    var notRun = try blurTarget()
    notRun.id = "other-target"
    return ([try Assessor.assess(target: target, profile: "smoke", store: store),
             try Assessor.assess(target: notRun, profile: "smoke", store: store)], store)
  }

  @Test func junitValidatesAgainstTheSchemaAndReportsFailures() throws {
    let (a, _) = try assessments()
    let xml = JUnitReport.render(a)
    #expect(xml.contains("<failure type=\"OutOfBand\""))
    #expect(xml.contains("<skipped"))
    #expect(xml.contains("classname=\"blur-detection.smoke.100pct\""))
    #expect(!xml.contains("%\""))
    #expect(xml.contains("name=\"laplacian_var.auc_gaussian [seed 0]\""))
    #expect(xml.contains("codeVersion=abc123"))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID().uuidString).xml")
    try xml.write(to: file, atomically: true, encoding: .utf8)
    let schema = try #require(Bundle.module.url(forResource: "junit-10", withExtension: "xsd", subdirectory: "Fixtures"))
    let (status, output) = try TestSupport.runTool("xmllint", ["--noout", "--schema", schema.path, file.path])
    #expect(status == 0, "xmllint: \(output)")
  }

  /// What GitLab reads from each case (its JUnit parser: name, classname, file, time, and the
  /// status from a `failure`/`skipped` child whose text becomes the details), and whether the
  /// times add up: a run's wall time once, so case times sum exactly to the suite's time.
  @Test func junitReadsLikeGitLabAndItsTimesAddUp() throws {
    let store = try ResultsStore(path: temporaryStorePath())
    var target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0.95, upper: 0.99, claim: .reproduced)
    target.bands.entries[0].bands.append(
      Band(metric: "haar_energy.auc_gaussian", lower: 0.5, upper: 1, better: .higher, mean: 0.8, standardDeviation: 0, count: 3))
    for seed: UInt64 in [0, 1, 2] {
      try recordRun(store, target: target, seed: seed, metrics: [
        "laplacian_var.auc_gaussian": seed == 1 ? 0.9 : 0.97, "haar_energy.auc_gaussian": 0.8,
        "laplacian_var.monotone_gaussian": 1, "laplacian_var.monotone_defocus": 1])
    }
    let xml = JUnitReport.render([try Assessor.assess(target: target, profile: "smoke", store: store)])
    let document = try XMLDocument(data: Data(xml.utf8))
    struct GitLabCase: Equatable {
      var name: String, classname: String, file: String?, seconds: Double, status: String, details: String
    }
    var total = 0.0
    for suite in try document.nodes(forXPath: "//testsuite").compactMap({ $0 as? XMLElement }) {
      let cases = suite.elements(forName: "testcase").map { c -> GitLabCase in
        let failure = c.elements(forName: "failure").first, skipped = c.elements(forName: "skipped").first
        return GitLabCase(
          name: c.attribute(forName: "name")?.stringValue ?? "", classname: c.attribute(forName: "classname")?.stringValue ?? "",
          file: c.attribute(forName: "file")?.stringValue, seconds: Double(c.attribute(forName: "time")?.stringValue ?? "") ?? -1,
          status: failure != nil ? "failed" : skipped != nil ? "skipped" : "success",
          details: (failure ?? skipped)?.stringValue ?? "")
      }
      let suiteTime = try #require(Double(suite.attribute(forName: "time")?.stringValue ?? ""))
      #expect(abs(cases.map(\.seconds).reduce(0, +) - suiteTime) < 1e-9)
      #expect(abs(suiteTime - 3 * 1.5) < 1e-9, "three runs of 1.5 s each, counted once")
      total += suiteTime
      #expect(cases.allSatisfy { !$0.classname.contains("%") && $0.file == nil && $0.seconds >= 0 })
      let failed = cases.filter { $0.status == "failed" }
      #expect(failed.map(\.name) == ["laplacian_var.auc_gaussian [seed 1]"])
      #expect(failed.first?.details == "laplacian_var.auc_gaussian = 0.9 outside [0.95, 0.99]")
      #expect(failed.first?.classname == "blur-detection.smoke.100pct")
      #expect(cases.filter { $0.seconds > 0 }.count == 3, "one timed case per run")
      #expect(cases.contains { $0.name == "claim: laplacian-falls-with-blur" && $0.classname == "blur-detection.smoke.100pct.claims" })
    }
    let root = try #require(document.rootElement())
    #expect(abs((Double(root.attribute(forName: "time")?.stringValue ?? "") ?? -1) - total) < 1e-9)
    #expect(JUnitReport.subsetLabel(12.5) == "12_5pct" && JUnitReport.subsetLabel(50) == "50pct")
  }

  /// Runs the gate does not judge (overrides, user data) reach the report, grouped and labelled,
  /// with their numbers as text; the gate's view is unchanged.
  @Test func ungatedRunsAreGroupedAndReported() throws {
    let store = try ResultsStore(path: temporaryStorePath())
    let target = try targetWithBand("laplacian_var.auc_gaussian", lower: 0.95, upper: 0.99)
    try recordRun(store, target: target, seed: 0, metrics: ["laplacian_var.auc_gaussian": 0.97])
    for seed: UInt64 in [0, 1] {
      try recordRun(store, target: target, seed: seed, metrics: ["laplacian_var.auc_gaussian": 0.5 + Double(seed) / 10],
        overrides: ["tiles": .int(8)])
    }
    try recordRun(store, target: target, seed: 0, metrics: ["laplacian_var.auc_gaussian": 0.42], defaultData: false)
    let a = try Assessor.assess(target: target, profile: "smoke", store: store)
    #expect(a.subsets.flatMap(\.runs).count == 1 && a.passed)
    #expect(a.ungated.map(\.kind) == [.overrides, .userData])
    #expect(a.ungated[0].runs.map(\.seed) == [0, 1] && a.ungated[0].label == #"overrides {"tiles":8} · 100%"#)
    #expect(a.ungated[1].label.hasPrefix("user data: synthetic-tissue@1:test (sha256 deadbeef…)"))
    let html = try HTMLReport.render([a], store: store, templateDirectory: projectRoot.appendingPathComponent("Reports/templates"))
    #expect(html.contains("Runs not gated"))
    #expect(html.contains("s0 0.5 · s1 0.6"), "per-seed values are text, not only tooltips")
    // 0.55 ± t(1)·0.0707/√2 = 0.55 ± 12.706·0.05: the interval over seeds, by hand.
    #expect(html.contains("seeds: 95% CI [-0.0853, 1.185]"), "the group's interval over its seeds")
    #expect(html.contains("s0 0.42"))
    #expect(html.contains("s0 0.97"))
    #expect(html.components(separatedBy: "Curves (newest run of the group)").count == 3, "each group's curves")
  }

  /// A target's figure of merit: each seed's value, the mean with its interval over seeds, the
  /// reference line and the claims beside it; a figure the runs hold one point of is left out.
  @Test func figuresOfMeritShowSeedsIntervalsAndClaims() throws {
    let store = try ResultsStore(path: temporaryStorePath())
    var target = try blurTarget()
    target.figures = [
      TargetFigure(
        id: "by-detector", title: "AUC by detector", xLabel: "detector", yLabel: "AUC",
        points: [
          .init(label: "Laplacian", metric: "laplacian_var.auc_gaussian"), .init(label: "Haar", metric: "haar_energy.auc_gaussian"),
        ],
        references: [.init(label: "Tong", metric: "tong_per.auc_gaussian")], claims: ["laplacian-falls-with-blur"]),
      TargetFigure(
        id: "one-point", title: "Only one point held", xLabel: "x", yLabel: "y",
        points: [.init(label: "a", metric: "laplacian_var.auc_defocus", x: 1), .init(label: "b", metric: "haar_energy.auc_defocus", x: 2)]),
    ]
    for (seed, lap) in [(UInt64(0), 0.9), (1, 0.8), (2, 0.7)] {
      try recordRun(store, target: target, seed: seed, metrics: [
        "laplacian_var.auc_gaussian": lap, "haar_energy.auc_gaussian": 0.6, "tong_per.auc_gaussian": 0.5,
        "laplacian_var.auc_defocus": 0.9,
      ])
    }
    let a = try Assessor.assess(target: target, profile: "smoke", store: store)
    let html = try HTMLReport.render([a], store: store, templateDirectory: projectRoot.appendingPathComponent("Reports/templates"))
    #expect(html.contains("Figures of merit") && html.contains("AUC by detector") && !html.contains("Only one point held"))
    // Laplacian: mean 0.8, sd 0.1, half-width t(2)·0.1/√3 = 4.303·0.05774 = 0.2484.
    #expect(html.contains("Laplacian 0.8 [0.5516, 1.048] · Haar 0.6 [0.6, 0.6] · Tong 0.5 (mean [95% CI over seeds])"), "\(html)")
    #expect(html.contains("<title>Laplacian, seed 1: 0.8</title>") && html.contains("stroke-dasharray"))
    #expect(html.contains("<b>laplacian-falls-with-blur</b>: "))
  }

  @Test func htmlIsSelfContained() throws {
    let (a, store) = try assessments()
    let html = try HTMLReport.render(a, store: store, templateDirectory: projectRoot.appendingPathComponent("Reports/templates"))
    #expect(html.contains("Blur detection with Laplacian variance"))
    #expect(html.contains("The paper") && html.contains("So no paper band"), "the reportedNote stands in for absent numbers")
    #expect(html.contains("<svg"))
    #expect(html.contains("not run"))
    #expect(html.contains("laplacian-falls-with-blur"))
    // No external resources: no scripts, stylesheets or images fetched from anywhere.
    #expect(!html.contains("<script"))
    #expect(!html.contains("<link"))
    #expect(!html.contains("src=\"http"))
  }
}

/// Direct SQL for test set-up only.
enum GRDBTestHook {
  static func setPID(path: String, runID: Int64, pid: Int64) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in try db.execute(sql: "UPDATE run SET pid = ? WHERE id = ?", arguments: [pid, runID]) }
  }
}

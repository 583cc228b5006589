import ArgumentParser
import Foundation
import Harness
import Results

/// `replicate report`: HTML and JUnit XML from the store.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Write the HTML report and/or the JUnit XML from the results store.")

  @Option(help: "Write the self-contained HTML report here.")
  var html: String?

  @Option(help: "Write JUnit XML here.")
  var junit: String?

  @Option(help: "Profiles to include (comma-separated). Default: every profile with runs, and ci.")
  var profiles: String?

  @OptionGroup var store: StoreOptions

  func run() throws {
    guard html != nil || junit != nil else {
      throw ValidationError("give --html PATH and/or --junit PATH")
    }
    let registry = try Registry.locate()
    let targets = try registry.allTargets()
    let results = try store.open(registry, create: false)
    var names: [String]
    if let profiles {
      names = profiles.split(separator: ",").map(String.init)
    } else {
      names = ["ci"]
      for run in try results.runs() where !names.contains(run.profile) { names.append(run.profile) }
    }
    var assessments: [TargetAssessment] = []
    for name in names { assessments += try Assessor.assess(targets: targets, profile: name, store: results) }
    assessments.sort { ($0.target.id, $0.profile) < ($1.target.id, $1.profile) }
    if let html {
      let text = try HTMLReport.render(
        assessments, store: results,
        templateDirectory: registry.root.appendingPathComponent("Reports").appendingPathComponent("templates"))
      try write(text, to: html)
      print("wrote \(html)")
    }
    if let junit {
      try write(JUnitReport.render(assessments), to: junit)
      print("wrote \(junit)")
    }
  }

  private func write(_ text: String, to path: String) throws {
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
      throw InputError.badArgument(option: "output", value: path, expected: "a writable file path (\(error.localizedDescription))")
    }
  }
}

/// `replicate gate`: exit 0 when every gated check holds, 1 when one fails or nothing was judged.
struct GateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gate",
    abstract: "Fail (exit 1) when a gated metric left its band, a claim changed its calibrated verdict, or nothing was judged.",
    discussion: """
      Looks at the newest canonical completed run per (target, subset, seed) of the profile, on each target's \
      embedded data, against the bands in the target files now. A gate that judges nothing fails: a store \
      without a single canonical run of the profile exits 1, and so does a target named in --targets (or, \
      with --require-all, any target with calibrated bands) that has no run. --run judges the given runs \
      (an override or audit run, which the plain gate never looks at) against their target's bands. \
      Exit codes: 0 all hold, 1 a check failed or nothing to judge, 2 bad input (a missing store, an unknown \
      target or profile).
      """)

  @Option(help: "Profile to gate on.")
  var profile: String = "ci"

  @Option(help: "Targets that must have run and pass (comma-separated). Default: every target that has runs.")
  var targets: String?

  @Flag(help: "Fail when a target with a calibrated band for the profile has no run.")
  var requireAll = false

  @Option(name: .customLong("run"), help: "Judge these run ids (comma-separated) against their bands, canonical or not.")
  var runIDs: String?

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let all = try registry.allTargets()
    if let runIDs { return try gateRuns(runIDs, registry: registry, targets: all) }
    guard all.contains(where: { t in t.profiles.contains { $0.name == profile } }) else {
      throw InputError.badArgument(option: "--profile", value: profile, expected: "a profile some target defines")
    }
    var required: Set<String> = []
    if let targets {
      let ids = targets.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      for id in ids {
        guard !id.isEmpty else {
          throw InputError.badArgument(option: "--targets", value: targets, expected: "comma-separated target ids")
        }
        let t = try registry.target(id)
        guard t.profiles.contains(where: { $0.name == profile }) else {
          throw InputError.unknownProfile(target: id, profile: profile, known: t.profiles.map(\.name))
        }
        required.insert(id)
      }
    }
    let results = try store.open(registry, create: false)
    let gated = all.filter { required.isEmpty || required.contains($0.id) }
    let assessments = try Assessor.assess(targets: gated, profile: profile, store: results)
    var failed = false
    var rows: [[String]] = []
    for a in assessments {
      let status: String
      if a.notRun {
        let calibrated = a.target.bands.entries.contains { $0.profile == profile }
        let mustRun = required.contains(a.target.id) || (requireAll && calibrated)
        status = mustRun ? "FAIL (not run)" : "not run"
        if mustRun { failed = true }
      } else if a.subsets.allSatisfy({ $0.bandSet == nil }) {
        status = "uncalibrated"
      } else if a.passed {
        status = "pass"
      } else {
        status = "FAIL (\(a.failureCount))"
        failed = true
      }
      rows += Self.rows(a, status: status)
    }
    print(table(["target", "gate (\(profile))", "in band", "claims"], rows))
    let judged = assessments.filter { !$0.notRun }
    if judged.isEmpty {
      warn("gate: no canonical completed run of profile '\(profile)' on the default data in \(results.path): nothing to judge")
      throw ExitCode(1)
    }
    if failed { throw ExitCode(1) }
  }

  /// `--run`: the named runs against the bands of their (target, profile, subset).
  private func gateRuns(_ text: String, registry: Registry, targets: [TargetSpec]) throws {
    var ids: [Int64] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let id = Int64(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
        throw InputError.badArgument(option: "--run", value: text, expected: "comma-separated run ids (see `replicate report`)")
      }
      ids.append(id)
    }
    let results = try store.open(registry, create: false)
    var rows: [[String]] = []
    var failed = false
    for id in ids {
      guard let run = try results.run(id: id) else {
        throw InputError.badArgument(option: "--run", value: String(id), expected: "the id of a run in \(results.path)")
      }
      guard run.runStatus == .completed else {
        throw InputError.badArgument(option: "--run", value: String(id), expected: "a completed run (this one is \(run.status))")
      }
      guard run.defaultData else {
        throw InputError.badArgument(
          option: "--run", value: String(id), expected: "a run on the target's default data (bands do not apply to user data)")
      }
      guard let target = targets.first(where: { $0.id == run.target }) else {
        throw InputError.unknownTarget(run.target, known: targets.map(\.id))
      }
      let a = try Assessor.assess(target: target, profile: run.profile, runs: [run], store: results)
      let status: String
      if a.subsets.allSatisfy({ $0.bandSet == nil }) {
        status = "uncalibrated"
        failed = true
      } else if a.passed {
        status = "pass"
      } else {
        status = "FAIL (\(a.failureCount))"
        failed = true
      }
      rows += Self.rows(a, status: status, label: "\(target.id) run \(id)\(run.canonical ? "" : " (non-canonical)")")
    }
    print(table(["run", "gate", "in band", "claims"], rows))
    if failed { throw ExitCode(1) }
  }

  private static func rows(_ a: TargetAssessment, status: String, label: String? = nil) -> [[String]] {
    let checks = a.subsets.flatMap { $0.checks.values.flatMap { $0 } }
    var rows = [[label ?? a.target.id, status, checks.isEmpty ? "–" : "\(checks.filter(\.passed).count)/\(checks.count)",
      a.subsets.flatMap(\.claims).map { "\($0.claim.id)=\($0.verdict.rawValue)" }.joined(separator: " ")]]
    for s in a.subsets {
      for run in s.runs {
        for c in s.checks[run.id ?? -1] ?? [] where !c.passed {
          rows.append(["", "  out of band", "seed \(run.seed)",
            "\(c.metric) = \(c.value.map(fmt) ?? "missing") not in [\(fmt(c.lower)), \(fmt(c.upper))]"])
        }
      }
      for c in s.claims where !c.passed {
        rows.append(["", "  claim changed", c.claim.id, "\(c.verdict.rawValue), calibrated \(c.expected?.rawValue ?? "")"])
      }
    }
    return rows
  }
}

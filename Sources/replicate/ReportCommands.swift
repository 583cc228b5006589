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
    let results = try store.open(registry)
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

/// `replicate gate`: exit 0 when every gated check holds, 1 when one fails.
struct GateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gate",
    abstract: "Fail (exit 1) when a gated metric left its band or a claim changed its calibrated verdict.",
    discussion: """
      Looks at the newest canonical completed run per (target, subset, seed) of the profile, on each target's
      embedded data, against the bands in the target files now. Targets never run are listed and do not fail
      the gate unless --require-all is given. Exit codes: 0 all hold, 1 a check failed, 2 bad input.
      """)

  @Option(help: "Profile to gate on.")
  var profile: String = "ci"

  @Flag(help: "Fail when a target with a calibrated band for the profile has no run.")
  var requireAll = false

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let targets = try registry.allTargets()
    guard targets.contains(where: { t in t.profiles.contains { $0.name == profile } }) else {
      throw InputError.badArgument(option: "--profile", value: profile, expected: "a profile some target defines")
    }
    let results = try store.open(registry)
    let assessments = try Assessor.assess(targets: targets, profile: profile, store: results)
    var failed = false
    var rows: [[String]] = []
    for a in assessments {
      let status: String
      if a.notRun {
        let calibrated = a.target.bands.entries.contains { $0.profile == profile }
        status = requireAll && calibrated ? "FAIL (not run)" : "not run"
        if requireAll && calibrated { failed = true }
      } else if a.subsets.allSatisfy({ $0.bandSet == nil }) {
        status = "uncalibrated"
      } else if a.passed {
        status = "pass"
      } else {
        status = "FAIL (\(a.failureCount))"
        failed = true
      }
      let checks = a.subsets.flatMap { $0.checks.values.flatMap { $0 } }
      rows.append([a.target.id, status, checks.isEmpty ? "–" : "\(checks.filter(\.passed).count)/\(checks.count)",
        a.subsets.flatMap(\.claims).map { "\($0.claim.id)=\($0.verdict.rawValue)" }.joined(separator: " ")])
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
    }
    print(table(["target", "gate (\(profile))", "in band", "claims"], rows))
    if failed { throw ExitCode(1) }
  }
}

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

  @Option(help: "Only these targets (comma-separated): a comparison page for one paper, for example --targets moco-v2 (default: every target). With it, the default profiles are those the targets have runs of.")
  var targets: String?

  @OptionGroup var store: StoreOptions

  func run() throws {
    guard html != nil || junit != nil else {
      throw ValidationError("give --html PATH and/or --junit PATH")
    }
    let registry = try Registry.locate()
    var chosen = try registry.allTargets()
    var profileList = profiles.map { $0.split(separator: ",").map(String.init) }
    let results = try store.open(registry, create: false)
    if let targets {
      let ids = targets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      chosen = try ids.map { try registry.target($0) }
      if profileList == nil {
        var names: [String] = []
        for run in try results.runs() where ids.contains(run.target) && !names.contains(run.profile) { names.append(run.profile) }
        profileList = names.isEmpty ? ["ci"] : names
      }
    }
    let assessments = try Assessor.assess(targets: chosen, profiles: profileList, store: results)
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
    let path = store.path(registry)
    if let runIDs {
      let outcome = try Gate.runs(runIDs, registry: registry, storePath: path)
      print(table(["run", "gate", "in band", "claims"], outcome.entries.flatMap(Self.rows)))
      if outcome.failed { throw ExitCode(1) }
      return
    }
    let outcome = try Gate.profile(
      profile, targets: targets, requireAll: requireAll, registry: registry, storePath: path)
    print(table(["target", "gate (\(profile))", "in band", "claims"], outcome.entries.flatMap(Self.rows)))
    if !outcome.judgedAny {
      warn(
        "gate: no canonical completed run of profile '\(profile)' on the default data in \(outcome.storePath): "
          + "nothing to judge")
      throw ExitCode(1)
    }
    if outcome.failed { throw ExitCode(1) }
  }

  /// The table rows of one entry: its status line, then each check out of band and each claim
  /// whose verdict changed.
  private static func rows(_ entry: Gate.Entry) -> [[String]] {
    let a = entry.assessment
    let checks = a.subsets.flatMap { $0.checks.values.flatMap { $0 } }
    var rows = [[entry.label, entry.status, checks.isEmpty ? "–" : "\(checks.filter(\.passed).count)/\(checks.count)",
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

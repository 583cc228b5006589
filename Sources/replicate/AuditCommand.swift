import ArgumentParser
import Basics
import Foundation
import Harness
import Results

/// `replicate audit`: do the bands have power? Runs each sabotaged variant of a target with one
/// seed and says whether the gate fails it.
struct AuditCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit",
    abstract: "Run a target's sabotaged variants (lr 0, core mechanism off) with one seed; each must fail the gate.",
    discussion: """
      The variants are the `audit:` list of Replications/<target>/target.yaml: the profile with a few config \
      keys changed so that the method cannot work. Each runs once (stored as a non-canonical run) and is \
      judged against the profile's bands and calibrated claim verdicts exactly as `replicate gate --run` \
      would. A variant the gate passes is MISSED: the bands cannot tell that model from a working one. \
      Also reported: the false-alarm rate, the share of the newest canonical runs per seed (the \
      calibration runs, usually) that fail the gate. Exit codes: 0 every variant caught, 1 one missed, 2 bad input.
      """)

  @Argument(help: "Target id.")
  var target: String

  @Option(help: "Profile whose bands are audited.")
  var profile: String = "ci"

  @Option(help: "Seed of the variant runs.")
  var seed: UInt64 = 0

  @Option(help: "Only these variants (comma-separated ids). Default: all.")
  var variants: String?

  @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Plain>

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let spec = try registry.target(target)
    _ = try spec.profile(profile)
    var chosen = spec.audits
    if let variants {
      let ids = variants.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      chosen = try ids.map { id in
        guard let v = spec.audits.first(where: { $0.id == id }) else {
          throw InputError.badArgument(
            option: "--variants", value: id,
            expected: "one of \(spec.audits.map(\.id).joined(separator: ", ")) (the audit list of \(spec.file.path))")
        }
        return v
      }
    }
    guard !chosen.isEmpty else {
      throw InputError.file(path: spec.file.path, key: "audit", message: "no sabotaged variants listed; nothing to audit")
    }
    guard spec.bands.set(profile: profile, subset: 100) != nil else {
      throw InputError.badArgument(
        option: "--profile", value: profile, expected: "a profile with calibrated bands (`replicate calibrate \(target)` first)")
    }
    let plans = try chosen.map { v in
      try RunPlan.make(
        registry: registry, target: target, profile: profile, seed: seed, seeds: nil, subset: "100%", data: nil,
        overrides: [], threads: threads.threads, typedOverrides: v.overrides)
    }
    let deferred = try store.deferred(registry)
    var rows: [[String]] = []
    var missed = 0
    for (variant, plan) in zip(chosen, plans) {
      let result = try plan.execute(store: deferred) { print(RunCommand.summary($0, target: plan.target)) }[0]
      let results = try deferred.store()
      guard let run = try results.run(id: result.runID) else { continue }
      let a = try Assessor.assess(target: spec, profile: profile, runs: [run], store: results)
      let caught = !a.passed
      if !caught { missed += 1 }
      let failing = a.subsets.flatMap { s in
        (s.checks[result.runID] ?? []).filter { !$0.passed }.map(\.metric)
          + s.claims.filter { !$0.passed }.map { "claim \($0.claim.id)" }
      }
      rows.append([
        variant.id, variant.description, caught ? "caught" : "MISSED", "run \(result.runID)",
        failing.isEmpty ? "every check in band" : failing.prefix(6).joined(separator: ", ") + (failing.count > 6 ? ", …" : ""),
      ])
    }
    print("audit of \(target) · \(profile) · seed \(seed)")
    print(table(["variant", "sabotage", "gate", "run", "failed checks"], rows))
    let results = try deferred.store()
    let canonical = try results.latestCanonicalRuns(target: target, profile: profile).filter { $0.subset == 100 }
    if !canonical.isEmpty {
      let alarms = try canonical.filter { run in
        !(try Assessor.assess(target: spec, profile: profile, runs: [run], store: results).passed)
      }
      print("false alarms: \(alarms.count) of \(canonical.count) canonical runs (seeds \(canonical.map { String($0.seed) }.joined(separator: ","))) fail the gate")
    } else {
      print("false alarms: no canonical run of \(profile) in \(results.path) to measure them on")
    }
    if missed > 0 {
      warn("audit: \(missed) of \(chosen.count) sabotaged variants pass the gate: the \(profile) bands of \(target) cannot detect them")
      throw ExitCode(1)
    }
  }
}

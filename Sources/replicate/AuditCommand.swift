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
    let plans = try Audit.plans(
      registry: registry, target: target, profile: profile, seed: seed, variants: variants, threads: threads.threads)
    let deferred = try store.deferred(registry)
    var rows: [[String]] = []
    var missed = 0
    for (variant, plan) in plans {
      let result = try plan.execute(store: deferred) { print(RunCommand.summary($0, target: plan.target)) }[0]
      guard let o = try Audit.judge(variant, plan: plan, result: result, store: try deferred.store()) else { continue }
      if !o.caught { missed += 1 }
      rows.append([
        variant.id, variant.description, o.caught ? "caught" : "MISSED", "run \(o.runID)",
        o.failing.isEmpty
          ? "every check in band" : o.failing.prefix(6).joined(separator: ", ") + (o.failing.count > 6 ? ", …" : ""),
      ])
    }
    print("audit of \(target) · \(profile) · seed \(seed)")
    print(table(["variant", "sabotage", "gate", "run", "failed checks"], rows))
    let results = try deferred.store()
    let f = try Audit.falseAlarms(target: plans[0].plan.target, profile: profile, store: results)
    if !f.runs.isEmpty {
      print(
        "false alarms: \(f.alarms) of \(f.runs.count) canonical runs (seeds "
          + "\(f.runs.map { String($0.seed) }.joined(separator: ","))) fail the gate")
    } else {
      print("false alarms: no canonical run of \(profile) in \(results.path) to measure them on")
    }
    if missed > 0 {
      warn(
        "audit: \(missed) of \(plans.count) sabotaged variants pass the gate: the \(profile) bands of \(target) "
          + "cannot detect them")
      throw ExitCode(1)
    }
  }
}

import Foundation
import Harness

/// `replicate gate`: judges stored runs against the bands and calibrated claim verdicts in the
/// target files as they are now, and says whether CI passes.
///
/// The plain gate looks at the newest canonical completed run per (target, subset, seed) of a
/// profile on each target's default data. A gate that judges nothing fails: a store without a
/// single canonical run of the profile, and a required target without a run. `runs(...)` judges
/// named runs (an override or audit run, which the plain gate never looks at).
public enum Gate {
  /// The gate's verdict on one target, or on one run with `--run`.
  public struct Entry: Sendable {
    /// What was judged.
    public var assessment: TargetAssessment
    /// `pass`, `FAIL (n)`, `FAIL (not run)`, `not run` or `uncalibrated`.
    public var status: String
    /// The row label: the target id, or `<target> run <id>` for a judged run.
    public var label: String
  }

  /// Every entry, and whether the gate fails.
  public struct Outcome: Sendable {
    /// One entry per gated target (or judged run), in target order.
    public var entries: [Entry]
    /// A gated check failed, a required target has no run, or (`--run`) a run is uncalibrated.
    public var failed: Bool
    /// The store judged.
    public var storePath: String
    /// Whether any target had a run to judge.
    public var judgedAny: Bool { entries.contains { !$0.assessment.notRun } }
  }

  /// Gates `profile` over every target with runs, or over `targets` (comma-separated ids, each
  /// of which must have run).
  ///
  /// - Parameters:
  ///   - requireAll: a target with a calibrated band for the profile and no run fails.
  ///   - storePath: the results store; it must exist.
  /// - Throws: `InputError` (exit 2) for an unknown profile or target, or a missing store.
  public static func profile(
    _ profile: String, targets: String?, requireAll: Bool, registry: Registry, storePath: String
  ) throws -> Outcome {
    let all = try registry.allTargets()
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
    let results = try ResultsStore(path: storePath, create: false)
    let gated = all.filter { required.isEmpty || required.contains($0.id) }
    var failed = false
    var entries: [Entry] = []
    for a in try Assessor.assess(targets: gated, profile: profile, store: results) {
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
      entries.append(Entry(assessment: a, status: status, label: a.target.id))
    }
    return Outcome(entries: entries, failed: failed, storePath: results.path)
  }

  /// Judges the runs `text` names (comma-separated ids) against the bands of their (target,
  /// profile, subset), canonical or not; an uncalibrated run fails.
  /// - Throws: `InputError` (exit 2) for a bad id, a run that is not completed or not on the
  ///   target's default data, or a missing store.
  public static func runs(_ text: String, registry: Registry, storePath: String) throws -> Outcome {
    let targets = try registry.allTargets()
    var ids: [Int64] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let id = Int64(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
        throw InputError.badArgument(option: "--run", value: text, expected: "comma-separated run ids (see `replicate report`)")
      }
      ids.append(id)
    }
    let results = try ResultsStore(path: storePath, create: false)
    var entries: [Entry] = []
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
      entries.append(
        Entry(assessment: a, status: status, label: "\(target.id) run \(id)\(run.canonical ? "" : " (non-canonical)")"))
    }
    return Outcome(entries: entries, failed: failed, storePath: results.path)
  }

  /// What the gate will make of these runs (`replicate run`'s last words, so they agree with the
  /// gate): a note when a canonical run left its band, and one naming the non-canonical runs that
  /// did, which only `gate --run` judges.
  public static func notes(after results: [RunResult]) -> [String] {
    let failing = results.filter { r in r.checks.contains { !$0.passed } }
    guard !failing.isEmpty else { return [] }
    let canonical = failing.filter(\.spec.canonical)
    let other = failing.filter { !$0.spec.canonical }
    var notes: [String] = []
    if let r = canonical.first {
      notes.append("note: a metric left its band; `replicate gate --profile \(r.spec.profile)` will fail")
    }
    if !other.isEmpty {
      let ids = other.map { String($0.runID) }.joined(separator: ",")
      notes.append(
        "note: a metric left its band in a non-canonical run (--set); `replicate gate` does not judge such runs, "
          + "`replicate gate --run \(ids)` does (and will fail)")
    }
    return notes
  }
}

import Foundation
import Harness

/// `replicate audit`: do the bands have power? Each sabotaged variant of a target (its `audit:`
/// list: the profile with a few config keys changed so that the method cannot work) runs once
/// and is judged exactly as `replicate gate --run` would; a variant the gate passes is missed.
public enum Audit {
  /// One variant's run and the gate's verdict on it.
  public struct Outcome: Sendable {
    /// The variant.
    public var variant: AuditVariant
    /// Its run in the store.
    public var runID: Int64
    /// Whether the gate fails the run (it should).
    public var caught: Bool
    /// The metrics out of band and the claims that changed (`claim <id>`).
    public var failing: [String]
  }

  /// The false-alarm rate: the newest canonical full-set runs per seed, and those the gate fails.
  public struct FalseAlarms: Sendable {
    /// The runs measured on (usually the calibration runs).
    public var runs: [StoredRun]
    /// How many of them fail the gate.
    public var alarms: Int
  }

  /// The plans of the variants to audit: every variant of `profile`, or those `variants` names
  /// (comma-separated ids), each with seed `seed` on the full set.
  /// - Throws: `InputError` (exit 2) for an unknown variant, a target without variants, a
  ///   profile without calibrated bands, or a bad thread count.
  public static func plans(
    registry: Registry, target: String, profile: String, seed: UInt64, variants: String?, threads: Int?
  ) throws -> [(variant: AuditVariant, plan: RunPlan)] {
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
    return try chosen.map { v in
      let plan = try RunPlan.make(
        registry: registry, target: target, profile: profile, seed: seed, seeds: nil, subset: "100%", data: nil,
        overrides: [], threads: threads, typedOverrides: v.overrides)
      return (v, plan)
    }
  }

  /// Judges the run of `variant` (stored as `result`) as `replicate gate --run` would; nil when
  /// the run is not in the store.
  public static func judge(_ variant: AuditVariant, plan: RunPlan, result: RunResult, store: ResultsStore) throws
    -> Outcome?
  {
    guard let run = try store.run(id: result.runID) else { return nil }
    let a = try Assessor.assess(target: plan.target, profile: plan.specs[0].profile, runs: [run], store: store)
    let failing = a.subsets.flatMap { s in
      (s.checks[result.runID] ?? []).filter { !$0.passed }.map(\.metric)
        + s.claims.filter { !$0.passed }.map { "claim \($0.claim.id)" }
    }
    return Outcome(variant: variant, runID: result.runID, caught: !a.passed, failing: failing)
  }

  /// The false alarms of `profile`'s bands of `target` in `store`.
  public static func falseAlarms(target: TargetSpec, profile: String, store: ResultsStore) throws -> FalseAlarms {
    let canonical = try store.latestCanonicalRuns(target: target.id, profile: profile).filter { $0.subset == 100 }
    let alarms = try canonical.filter { run in
      !(try Assessor.assess(target: target, profile: profile, runs: [run], store: store).passed)
    }
    return FalseAlarms(runs: canonical, alarms: alarms.count)
  }
}

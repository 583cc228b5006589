import Foundation
import Harness

/// A claim's verdict over the gated runs, with the verdict the calibration established.
public struct ClaimAssessment: Sendable {
  public var claim: Claim
  public var verdict: Verdict
  /// The calibrated verdict (nil when never calibrated: then the claim is reported, not gated).
  public var expected: Verdict?
  /// Per run: seed and outcome.
  public var outcomes: [(seed: Int64, outcome: ClaimOutcome)]
  /// Gated: fails when the verdict contradicts the calibrated one (`consistent`).
  public var passed: Bool { expected.map { Self.consistent(verdict, calibrated: $0) } ?? true }

  /// Whether a verdict over the gated runs agrees with the calibrated verdict. A definite
  /// calibrated verdict (reproduced, not reproduced) must be met exactly. An inconclusive one means
  /// the calibration seeds disagreed, so a run over fewer seeds may land either way and only
  /// `not-run` contradicts it; re-running the calibration's own seeds gives inconclusive again.
  public static func consistent(_ verdict: Verdict, calibrated: Verdict) -> Bool {
    if calibrated == .inconclusive { return verdict != .notRun }
    return verdict == calibrated
  }
}

/// The runs of one (target, profile, subset) judged against the current bands.
public struct SubsetAssessment: Sendable {
  public var subset: Double
  public var bandSet: BandSet?
  public var runs: [StoredRun]
  public var metrics: [Int64: [String: Double]]
  /// Per run id: its band checks.
  public var checks: [Int64: [BandCheck]]
  public var claims: [ClaimAssessment]

  /// Whether every gated check holds.
  public var passed: Bool {
    checks.values.allSatisfy { $0.allSatisfy(\.passed) } && claims.allSatisfy(\.passed)
  }
}

/// Completed runs of a target and profile that the gate does not judge, grouped by what makes
/// them different: the data they ran on (a user's dataset, by path and content hash) and the
/// `--set` overrides, at one subset. The reports show them beside the gated runs, labelled.
public struct RunGroup: Sendable {
  public enum Kind: String, Sendable {
    /// The target's embedded data with `--set` overrides.
    case overrides
    /// The user's own data (`--data`), with or without overrides.
    case userData = "user data"
    /// Results computed elsewhere and ingested (`replicate ingest`), with their provenance.
    case external
  }

  public var kind: Kind
  public var subset: Double
  /// The data source as recorded (a path for user data) and its content hash.
  public var dataSource: String
  public var datasetHash: String?
  /// The overrides as stored (canonical JSON; `{}` for none).
  public var overrides: String
  /// The newest completed run per seed, oldest seed first.
  public var runs: [StoredRun]
  public var metrics: [Int64: [String: Double]]
  /// Each claim of the profile decided over these runs as the gate would (reported, never gated).
  public var claims: [(claim: Claim, verdict: Verdict)]
  /// An external group's provenance (who, code, commit, hardware, command, dataset).
  public var provenance: ExternalResults.Provenance?

  /// `user data: /data/tiles (sha256 1a2b3c4d…) · overrides {"tiles":64} · 100%`, or
  /// `external: lab X · github.com/…@7397dfe · 8× V100 · ImageNet-1k · 100%`.
  public var label: String {
    var parts: [String] = []
    if kind == .external, let p = provenance {
      let code = [p.code, p.commit].compactMap { $0 }.joined(separator: "@")
      parts.append("external: " + [p.who, code.isEmpty ? nil : code, p.hardware, p.dataset].compactMap { $0 }.joined(separator: " · "))
    } else if kind == .userData {
      parts.append("user data: \(dataSource)" + (datasetHash.map { " (sha256 \($0.prefix(12))…)" } ?? ""))
    }
    if overrides != "{}" { parts.append("overrides \(overrides)") }
    parts.append(BandTable.subsetKey(subset))
    return parts.joined(separator: " · ")
  }
}

/// One target under one profile: what the gate and the reports look at.
public struct TargetAssessment: Sendable {
  public var target: TargetSpec
  public var profile: String
  public var subsets: [SubsetAssessment]
  /// The completed runs the gate does not judge (user data, overrides), grouped and labelled.
  public var ungated: [RunGroup] = []

  /// No canonical completed run on the default data.
  public var notRun: Bool { subsets.isEmpty }
  public var passed: Bool { subsets.allSatisfy(\.passed) }
  /// Number of gated checks that failed.
  public var failureCount: Int {
    subsets.reduce(0) { acc, s in
      acc + s.checks.values.reduce(0) { $0 + $1.filter { !$0.passed }.count } + s.claims.filter { !$0.passed }.count
    }
  }
}

/// Judges stored runs against the bands and claims in the target files as they are now.
public enum Assessor {
  /// Assesses every target for one profile.
  public static func assess(targets: [TargetSpec], profile: String, store: ResultsStore) throws -> [TargetAssessment] {
    try targets.filter { t in t.profiles.contains { $0.name == profile } }.map {
      try assess(target: $0, profile: profile, store: store)
    }
  }

  /// Assesses every target for each of `profiles` (default: `ci` and every profile with runs in
  /// the store), sorted by target and profile: what `replicate report` renders.
  public static func assess(targets: [TargetSpec], profiles: [String]?, store: ResultsStore) throws
    -> [TargetAssessment]
  {
    var names: [String]
    if let profiles {
      names = profiles
    } else {
      names = ["ci"]
      for run in try store.runs() where !names.contains(run.profile) { names.append(run.profile) }
    }
    var assessments: [TargetAssessment] = []
    for name in names { assessments += try assess(targets: targets, profile: name, store: store) }
    return assessments.sorted { ($0.target.id, $0.profile) < ($1.target.id, $1.profile) }
  }

  /// Assesses one target: the newest canonical run per (subset, seed) on the default data, and
  /// beside it every other completed run of the profile, grouped (`ungated`).
  public static func assess(target: TargetSpec, profile: String, store: ResultsStore) throws -> TargetAssessment {
    var a = try assess(
      target: target, profile: profile, runs: store.latestCanonicalRuns(target: target.id, profile: profile), store: store)
    a.ungated = try ungatedGroups(target: target, profile: profile, store: store)
    return a
  }

  /// The completed runs that are not canonical runs on the default data, grouped by (data source,
  /// content hash, overrides, subset); the newest run per seed in each group.
  static func ungatedGroups(target: TargetSpec, profile: String, store: ResultsStore) throws -> [RunGroup] {
    let runs = try store.completedRuns(target: target.id, profile: profile).filter { !($0.canonical && $0.defaultData) }
    var order: [String] = []
    var newest: [String: [Int64: StoredRun]] = [:]
    for run in runs {
      let key = [
        run.dataSource, run.datasetHash ?? "", run.overrides, "\(run.subset)", run.defaultData ? "d" : "u", run.origin ?? "",
        run.provenance ?? "",
      ]
        .joined(separator: "\u{1f}")
      if newest[key] == nil { order.append(key) }
      newest[key, default: [:]][run.seed] = run
    }
    let claims = target.claims.filter { $0.profiles.contains(profile) }
    return try order.map { key in
      let group = (newest[key] ?? [:]).values.sorted { $0.seed < $1.seed }
      let first = group[0]
      var metrics: [Int64: [String: Double]] = [:]
      for run in group { if let id = run.id { metrics[id] = try store.metrics(runID: id) } }
      let perRun = group.compactMap { $0.id.flatMap { metrics[$0] } }
      return RunGroup(
        kind: first.isExternal ? .external : first.defaultData ? .overrides : .userData, subset: first.subset,
        dataSource: first.dataSource, datasetHash: first.datasetHash, overrides: first.overrides, runs: group,
        metrics: metrics,
        claims: claims.map { claim in
          (claim, verdict(claim, outcomes: perRun.map { Checks.claim(claim, metrics: $0).holds }, metrics: perRun))
        },
        provenance: first.provenance.flatMap { try? JSONDecoder().decode(ExternalResults.Provenance.self, from: Data($0.utf8)) })
    }
  }

  /// Assesses the given runs of one target and profile against the bands of the default data,
  /// whatever their canonical status (`replicate gate --run`: judging an override or audit run).
  public static func assess(target: TargetSpec, profile: String, runs: [StoredRun], store: ResultsStore) throws
    -> TargetAssessment
  {
    var subsets: [SubsetAssessment] = []
    for subset in Array(Set(runs.map(\.subset))).sorted(by: >) {
      let group = runs.filter { $0.subset == subset }
      let bandSet = target.bands.set(profile: profile, subset: subset)
      var metrics: [Int64: [String: Double]] = [:]
      var checks: [Int64: [BandCheck]] = [:]
      for run in group {
        guard let id = run.id else { continue }
        let m = try store.metrics(runID: id)
        metrics[id] = m
        checks[id] = Checks.bandChecks(bandSet, metrics: m)
      }
      let claims = target.claims.filter { $0.profiles.contains(profile) }.map { claim -> ClaimAssessment in
        let outcomes = group.compactMap { run -> (Int64, ClaimOutcome)? in
          guard let id = run.id, let m = metrics[id] else { return nil }
          return (run.seed, Checks.claim(claim, metrics: m))
        }
        return ClaimAssessment(
          claim: claim, verdict: verdict(claim, outcomes: outcomes.map(\.1.holds), metrics: group.compactMap { run in
            run.id.flatMap { metrics[$0] }
          }),
          expected: bandSet?.claimVerdicts[claim.id], outcomes: outcomes)
      }
      subsets.append(
        SubsetAssessment(
          subset: subset, bandSet: bandSet, runs: group, metrics: metrics, checks: checks, claims: claims))
    }
    return TargetAssessment(target: target, profile: profile, subsets: subsets)
  }

  /// A claim's verdict over the gated runs, decided as `replicate calibrate` decides it: by the
  /// 95 % interval of each condition over the runs (`Checks.decide`) where that interval settles
  /// it, and otherwise by the runs' outcomes (all hold: reproduced, all fail: not reproduced, mixed:
  /// inconclusive). Re-judging the calibration's own runs so gives the calibrated verdict, even
  /// when one seed alone falls on the other side of the threshold.
  static func verdict(_ claim: Claim, outcomes: [Bool?], metrics: [[String: Double]]) -> Verdict {
    if metrics.count >= 2 {
      let evidence = Checks.decide(claim, runs: metrics)
      if evidence.decided { return evidence.verdict }
    }
    return Checks.verdict(outcomes)
  }
}

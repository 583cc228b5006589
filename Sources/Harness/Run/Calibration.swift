import Foundation

/// The calibration loop of `replicate calibrate`: run a profile over several seeds, derive the
/// bands (`Checks.bandRule`) and decide each claim from its paired per-seed values
/// (`Checks.decide`: a 95 % interval on each side of the threshold), adding seeds one at a time
/// while a claim is undecided, up to a cap; then write bands, verdicts and evidence into the
/// target's `bands.yaml`, replacing the set of the same (profile, subset).
extension Calibration {
  /// The fewest seeds a band is derived from (five or more are recommended).
  public static let minimumSeeds = 3

  /// Runs and records every seed of `seeds`, then writes the derived band set.
  ///
  /// Every argument is checked, and the bands file must be writable, before anything runs.
  ///
  /// - Parameters:
  ///   - seeds: `0-4` or `0,2,5`; at least `minimumSeeds`.
  ///   - subset: the subset whose band is calibrated, `50%`.
  ///   - maxSeeds: the seed cap: seeds are added (the next integer after the largest) while a
  ///     claim of the profile is undecided and fewer than this many ran; a claim still undecided
  ///     at the cap is inconclusive, with its interval.
  ///   - threads: the thread count (default: all cores).
  ///   - store: where the runs are recorded.
  ///   - completed: called with each run's result, and the target, as the run ends.
  /// - Returns: the band set written and the file it went to.
  /// - Throws: `InputError` (exit 2) for bad arguments or an unwritable bands file.
  public static func calibrate(
    registry: Registry, target: String, profile: String, seeds: String, subset: String, maxSeeds: Int = 20,
    threads: Int?, store: RunRecorder, completed: (RunResult, TargetSpec) -> Void = { _, _ in }
  ) throws -> (set: BandSet, file: URL) {
    var seedList = try RunArguments.seeds(seeds)
    guard seedList.count >= minimumSeeds else {
      throw InputError.badArgument(option: "--seeds", value: seeds, expected: "at least 3 seeds (5 or more recommended)")
    }
    let plan = try RunPlan.make(
      registry: registry, target: target, profile: profile, seed: nil, seeds: seeds, subset: subset, data: nil,
      overrides: [], threads: threads)
    let file = plan.target.bandsFile
    try checkWritable(file)
    guard maxSeeds >= seedList.count else {
      throw InputError.badArgument(
        option: "--max-seeds", value: String(maxSeeds), expected: "at least the \(seedList.count) seeds of --seeds")
    }
    var results = try plan.execute(store: store) { completed($0, plan.target) }
    let claims = plan.target.claims.filter { $0.profiles.contains(profile) }
    func evidence() -> [String: ClaimEvidence] {
      let runs = results.map(\.output.metrics)
      return Dictionary(uniqueKeysWithValues: claims.map { ($0.id, Checks.decide($0, runs: runs)) })
    }
    var decisions = evidence()
    while decisions.values.contains(where: { !$0.decided }) && seedList.count < maxSeeds {
      let next = (seedList.max() ?? 0) + 1
      let more = try RunPlan.make(
        registry: registry, target: target, profile: profile, seed: nil, seeds: String(next), subset: subset, data: nil,
        overrides: [], threads: threads)
      results += try more.execute(store: store) { completed($0, plan.target) }
      seedList.append(next)
      decisions = evidence()
    }
    let env = RunEnvironment.current(registry: registry, threads: plan.specs[0].threads)
    let code = registry.codeVersion
    let set = derive(
      target: plan.target, profile: profile, subset: plan.specs[0].subset, seeds: seedList,
      runs: results.map(\.output.metrics), decisions: decisions, codeVersion: code.version, codeDirty: code.dirty,
      host: "\(env.cpu), \(env.threads) threads, \(env.build)", dataset: results.first?.datasetID ?? plan.data.label)
    try write(set, target: plan.target)
    return (set, plan.target.bandsFile)
  }

  /// One finished run that `calibrate --from-store` derives bands from (a canonical, completed run
  /// on the target's embedded data, recorded locally or merged from a sweep's shards).
  public struct StoredRunSummary: Sendable {
    public var seed: UInt64
    public var metrics: [String: Double]
    public var datasetID: String
    public var codeVersion: String
    public var codeDirty: Bool
    /// `"<cpu>, <threads> threads, <build>"`.
    public var host: String

    public init(seed: UInt64, metrics: [String: Double], datasetID: String, codeVersion: String, codeDirty: Bool, host: String) {
      self.seed = seed
      self.metrics = metrics
      self.datasetID = datasetID
      self.codeVersion = codeVersion
      self.codeDirty = codeDirty
      self.host = host
    }
  }

  /// Derives and writes the band set of (profile, subset) from runs that already ran (a sweep's
  /// merged shards), one per seed, without running anything.
  ///
  /// The same rule as `calibrate`, with one difference that follows from not running: seeds
  /// cannot be added, so a claim still undecided with fewer than `maxSeeds` seeds is refused
  /// rather than written as inconclusive (sweep more seeds and merge them, or lower `maxSeeds` to
  /// the seeds at hand to accept "inconclusive" there).
  /// - Throws: `InputError` (exit 2) for fewer than `minimumSeeds` runs, runs of several code
  ///   versions, an unwritable bands file, or an undecided claim below the cap.
  public static func calibrate(
    registry: Registry, target: String, profile: String, subset: String, maxSeeds: Int = 20,
    runs: [StoredRunSummary]
  ) throws -> (set: BandSet, file: URL) {
    let plan = try RunPlan.make(
      registry: registry, target: target, profile: profile, seed: nil, seeds: nil, subset: subset, data: nil,
      overrides: [], threads: 1)
    let file = plan.target.bandsFile
    try checkWritable(file)
    let runs = runs.sorted { $0.seed < $1.seed }
    guard runs.count >= minimumSeeds, Set(runs.map(\.seed)).count == runs.count else {
      throw InputError.badArgument(
        option: "--from-store", value: "\(runs.count) runs",
        expected: "one canonical completed run per seed, at least \(minimumSeeds) seeds, of \(target) \(profile) at \(subset) in the store")
    }
    let versions = Set(runs.map { $0.codeVersion + ($0.codeDirty ? "+dirty" : "") })
    guard versions.count == 1, let first = runs.first else {
      throw InputError.badArgument(
        option: "--from-store", value: versions.sorted().joined(separator: ", "),
        expected: "runs of one code version (bands record the code they were calibrated on); choose the seeds with --seeds")
    }
    let claims = plan.target.claims.filter { $0.profiles.contains(profile) }
    let metrics = runs.map(\.metrics)
    let decisions = Dictionary(uniqueKeysWithValues: claims.map { ($0.id, Checks.decide($0, runs: metrics)) })
    let undecided = decisions.filter { !$0.value.decided }.keys.sorted()
    if !undecided.isEmpty && runs.count < maxSeeds {
      let next = (runs.map(\.seed).max() ?? 0) + 1
      throw InputError.badArgument(
        option: "--from-store", value: "\(runs.count) seeds",
        expected: "claims decided, or the seed cap reached: \(undecided.joined(separator: ", ")) undecided at \(runs.count) seeds "
          + "(cap \(maxSeeds)); sweep seeds from \(next) and merge them, or pass --max-seeds \(runs.count) to write them inconclusive")
    }
    let set = derive(
      target: plan.target, profile: profile, subset: plan.specs[0].subset, seeds: runs.map(\.seed), runs: metrics,
      decisions: decisions, codeVersion: first.codeVersion, codeDirty: first.codeDirty, host: first.host,
      dataset: first.datasetID)
    try write(set, target: plan.target)
    return (set, file)
  }

  /// The band set of per-seed `runs`: bands by `Checks.bandRule`, verdicts with their evidence.
  static func derive(
    target: TargetSpec, profile: String, subset: Double, seeds: [UInt64], runs: [[String: Double]],
    decisions: [String: ClaimEvidence], codeVersion: String, codeDirty: Bool, host: String, dataset: String
  ) -> BandSet {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd"
    formatter.timeZone = TimeZone(identifier: "UTC")
    return BandSet(
      profile: profile, subset: subset,
      calibration: Calibration(
        seeds: seeds, codeVersion: codeVersion, codeDirty: codeDirty, date: formatter.string(from: Date()),
        host: host, method: Checks.bandRule, dataset: dataset),
      bands: Checks.deriveBands(method: target.method, runs: runs), claimVerdicts: decisions.mapValues(\.verdict),
      claimEvidence: decisions.mapValues(\.summary))
  }

  /// Replaces the set of the same (profile, subset) in the target's `bands.yaml`.
  static func write(_ set: BandSet, target: TargetSpec) throws {
    var table = target.bands
    table.replace(set)
    do {
      try table.yaml().write(to: target.bandsFile, atomically: true, encoding: .utf8)
    } catch {
      throw InputError.file(path: target.bandsFile.path, key: "", message: "cannot write bands (\(error.localizedDescription))")
    }
  }

  /// Fails before any run when the bands file cannot be written afterwards.
  static func checkWritable(_ file: URL) throws {
    let fm = FileManager.default
    let ok = fm.fileExists(atPath: file.path)
      ? fm.isWritableFile(atPath: file.path) : fm.isWritableFile(atPath: file.deletingLastPathComponent().path)
    guard ok else {
      throw InputError.file(path: file.path, key: "", message: "cannot write the bands here (permission denied); nothing was run")
    }
  }
}

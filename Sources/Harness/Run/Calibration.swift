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
    let metrics = results.map(\.output.metrics)
    let bands = Checks.deriveBands(method: plan.target.method, runs: metrics)
    let verdicts = decisions.mapValues(\.verdict)
    let evidenceText = decisions.mapValues(\.summary)
    let code = registry.codeVersion
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd"
    formatter.timeZone = TimeZone(identifier: "UTC")
    let env = RunEnvironment.current(registry: registry, threads: plan.specs[0].threads)
    let set = BandSet(
      profile: profile, subset: plan.specs[0].subset,
      calibration: Calibration(
        seeds: seedList, codeVersion: code.version, codeDirty: code.dirty, date: formatter.string(from: Date()),
        host: "\(env.cpu), \(env.threads) threads, \(env.build)", method: Checks.bandRule,
        dataset: results.first?.datasetID ?? plan.data.label),
      bands: bands, claimVerdicts: verdicts, claimEvidence: evidenceText)
    var table = plan.target.bands
    table.replace(set)
    do {
      try table.yaml().write(to: file, atomically: true, encoding: .utf8)
    } catch {
      throw InputError.file(path: file.path, key: "", message: "cannot write bands (\(error.localizedDescription))")
    }
    return (set, file)
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

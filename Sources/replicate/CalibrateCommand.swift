import ArgumentParser
import Basics
import Foundation
import Harness
import Results

/// `replicate calibrate`: runs seeds and writes the band back into the target's files.
struct CalibrateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calibrate",
    abstract: "Run several seeds and write the resulting bands and claim verdicts into Replications/<target>/bands.yaml.",
    discussion: "Band rule: \(Checks.bandRule). Claims get the verdict the runs reach; a later change of a definite verdict fails the gate (an inconclusive one accepts either).")

  @Argument(help: "Target id.")
  var target: String

  @Option(help: "Profile to calibrate.")
  var profile: String = "ci"

  @Option(help: "Seeds, for example 0-4 (at least 3; 5 or more recommended).")
  var seeds: String = "0-4"

  @Option(help: "Subset percentage whose band is calibrated, for example 50%.")
  var subset: String = "100%"

  @Option(help: "Threads (default: all cores).")
  var threads: Int?

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let seedList = try RunArguments.seeds(seeds)
    guard seedList.count >= 3 else {
      throw InputError.badArgument(option: "--seeds", value: seeds, expected: "at least 3 seeds (5 or more recommended)")
    }
    let plan = try RunPlan.make(
      registry: registry, target: target, profile: profile, seed: nil, seeds: seeds, subset: subset, data: nil,
      overrides: [], threads: threads)
    try Self.checkWritable(plan.target.bandsFile)
    let results = try plan.execute(store: try store.deferred(registry))
    let metrics = results.map(\.output.metrics)
    let bands = Checks.deriveBands(method: plan.target.method, runs: metrics)
    var verdicts: [String: Verdict] = [:]
    for claim in plan.target.claims where claim.profiles.contains(profile) {
      verdicts[claim.id] = Checks.verdict(metrics.map { Checks.claim(claim, metrics: $0).holds })
    }
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
      bands: bands, claimVerdicts: verdicts)
    var table = plan.target.bands
    table.replace(set)
    do {
      try table.yaml().write(to: plan.target.bandsFile, atomically: true, encoding: .utf8)
    } catch {
      throw InputError.file(path: plan.target.bandsFile.path, key: "", message: "cannot write bands (\(error.localizedDescription))")
    }
    print("wrote \(bands.count) bands and \(verdicts.count) claim verdicts for \(profile) at \(BandTable.subsetKey(set.subset)) to \(plan.target.bandsFile.path)")
    for (id, v) in verdicts.sorted(by: { $0.key < $1.key }) { print("  claim \(id): \(v.rawValue)") }
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

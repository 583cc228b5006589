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
    discussion: "Band rule: \(Checks.bandRule). Each claim is decided from a 95 % Student-t interval of its per-seed (paired) values: reproduced when the interval lies on the holding side of the threshold, not reproduced when it lies on the other; seeds are added while a claim is undecided, up to --max-seeds, and a claim undecided there is inconclusive with its interval. A later change of a definite verdict fails the gate (an inconclusive one accepts either).")

  @Argument(help: "Target id.")
  var target: String

  @Option(help: "Profile to calibrate.")
  var profile: String = "ci"

  @Option(help: "Seeds, for example 0-4 (at least 3; 5 or more recommended). Default 0-4; with --from-store, every seed in the store.")
  var seeds: String?

  @Option(help: "Subset percentage whose band is calibrated, for example 50%.")
  var subset: String = "100%"

  @Option(help: "Seed cap: seeds are added while a claim is undecided, up to this many.")
  var maxSeeds: Int = 20

  @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Plain>

  @Flag(help: "Run nothing: derive the bands from the canonical completed runs already in the store (for example merged from a sweep), the newest per seed.")
  var fromStore = false

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let (set, file): (BandSet, URL)
    if fromStore {
      (set, file) = try Calibration.calibrate(
        registry: registry, target: target, profile: profile, subset: subset, maxSeeds: maxSeeds,
        runs: try storedRuns(registry))
      print("derived from \(set.calibration.seeds.count) runs in the store (seeds \(set.calibration.seeds.map(String.init).joined(separator: ",")))")
    } else {
      (set, file) = try Calibration.calibrate(
        registry: registry, target: target, profile: profile, seeds: seeds ?? "0-4", subset: subset, maxSeeds: maxSeeds,
        threads: threads.threads,
        store: try store.deferred(registry)
      ) { result, target in
        print(RunCommand.summary(result, target: target))
      }
    }
    print(
      "wrote \(set.bands.count) bands and \(set.claimVerdicts.count) claim verdicts for \(profile) at "
        + "\(BandTable.subsetKey(set.subset)) to \(file.path)")
    for (id, v) in set.claimVerdicts.sorted(by: { $0.key < $1.key }) {
      print("  claim \(id): \(v.rawValue)" + (set.claimEvidence[id].map { " (\($0))" } ?? ""))
    }
  }

  /// The newest canonical completed run per seed of (target, profile, subset) on the default data.
  private func storedRuns(_ registry: Registry) throws -> [Calibration.StoredRunSummary] {
    _ = try registry.target(target).profile(profile)
    let percent = try RunArguments.subset(subset)
    let wanted = try seeds.map { Set(try RunArguments.seeds($0)) }
    let results = try store.open(registry, create: false)
    return try results.latestCanonicalRuns(target: target, profile: profile)
      .filter { $0.subset == percent && (wanted?.contains(UInt64(bitPattern: $0.seed)) ?? true) }
      .map { run in
        Calibration.StoredRunSummary(
          seed: UInt64(bitPattern: run.seed), metrics: try results.metrics(runID: run.id ?? -1),
          datasetID: run.datasetID ?? run.dataSource, codeVersion: run.codeVersion, codeDirty: run.codeDirty,
          host: "\(run.cpu), \(run.threads) threads, \(run.build)")
      }
  }
}

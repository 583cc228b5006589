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

  @Option(help: "Seeds, for example 0-4 (at least 3; 5 or more recommended).")
  var seeds: String = "0-4"

  @Option(help: "Subset percentage whose band is calibrated, for example 50%.")
  var subset: String = "100%"

  @Option(help: "Seed cap: seeds are added while a claim is undecided, up to this many.")
  var maxSeeds: Int = 20

  @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Plain>

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let (set, file) = try Calibration.calibrate(
      registry: registry, target: target, profile: profile, seeds: seeds, subset: subset, maxSeeds: maxSeeds,
      threads: threads.threads,
      store: try store.deferred(registry)
    ) { result, target in
      print(RunCommand.summary(result, target: target))
    }
    print(
      "wrote \(set.bands.count) bands and \(set.claimVerdicts.count) claim verdicts for \(profile) at "
        + "\(BandTable.subsetKey(set.subset)) to \(file.path)")
    for (id, v) in set.claimVerdicts.sorted(by: { $0.key < $1.key }) {
      print("  claim \(id): \(v.rawValue)" + (set.claimEvidence[id].map { " (\($0))" } ?? ""))
    }
  }
}

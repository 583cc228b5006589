import ArgumentParser
import Basics
import Foundation
import Harness

/// `replicate dataset`: inspect the embedded datasets.
struct DatasetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dataset", abstract: "Inspect the embedded datasets.", subcommands: [Probe.self])

  /// `replicate dataset probe`: linear-probe accuracy on raw pixels (how hard the dataset is).
  struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "probe",
      abstract: "Linear-probe accuracy of a dataset's classes from raw pixels and from mean colour.",
      discussion: "Trains on the manifest's train split and scores on its test split (both generated into the cache).")

    @Argument(help: "Dataset id (a manifest in Datasets/).")
    var dataset: String = "synthetic-tissue"

    @Option(help: "Image size to generate.")
    var size: Int = 32

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Probe>

    func run() throws {
      let registry = try Registry.locate()
      let manifest = try registry.dataset(dataset)
      guard size >= 16, size <= 512 else {
        throw InputError.badArgument(option: "--size", value: String(size), expected: "an integer in 16...512")
      }
      let loader = TileLoader(cacheDirectory: registry.cacheDirectory())
      let t = try threads.count()
      func load(_ split: String) throws -> TileSet {
        try loader.load(.synthetic(manifest, DatasetRef(id: manifest.id, split: split, parameters: [:])), tileSize: size, threads: t)
      }
      let train = try load("train"), test = try load("test")
      let r = DatasetProbe.run(train: train, test: test)
      print("\(manifest.id) at \(size)² px: train \(r.trainCount), test \(r.testCount), \(train.classNames.count) classes (chance \(fmt(100 * r.chance))%)")
      print("linear probe on raw pixels: \(String(format: "%.1f", 100 * r.rawPixelAccuracy))% (λ = \(r.lambda))")
      print("linear probe on mean RGB:   \(String(format: "%.1f", 100 * r.meanColourAccuracy))%")
      print("train sha256 \(train.contentHash.prefix(16))…, test sha256 \(test.contentHash.prefix(16))…")
    }
  }
}

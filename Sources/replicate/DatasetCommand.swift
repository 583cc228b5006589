import ArgumentParser
import Basics
import Foundation
import Harness
import Vision

/// `replicate dataset`: inspect the embedded datasets.
struct DatasetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dataset", abstract: "Inspect the embedded datasets.", subcommands: [Probe.self, Export.self])

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
      let data = try EmbeddedDataset(dataset, size: size, sizes: 16...512, threads: threads.count())
      let (manifest, train, test) = (data.manifest, try data.load("train"), try data.load("test"))
      let r = DatasetProbe.run(train: train, test: test)
      print("\(manifest.id) at \(size)² px: train \(r.trainCount), test \(r.testCount), \(train.classNames.count) classes (chance \(fmt(100 * r.chance))%)")
      print("linear probe on raw pixels: \(String(format: "%.1f", 100 * r.rawPixelAccuracy))% (λ = \(r.lambda))")
      print("linear probe on mean RGB:   \(String(format: "%.1f", 100 * r.meanColourAccuracy))%")
      print("train sha256 \(train.contentHash.prefix(16))…, test sha256 \(test.contentHash.prefix(16))…")
    }
  }

  /// `replicate dataset export`: the embedded dataset as PNG class folders (`train/<class>/…`,
  /// `test/<class>/…`), the layout `--data` reads back, so another implementation can be run on
  /// exactly the tiles a target sees.
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export",
      abstract: "Write a dataset's train and test splits as PNG class folders (the layout --data reads).",
      discussion: """
        Writes <folder>/train/<class>/<index>.png and <folder>/test/<class>/<index>.png with the manifest's \
        default parameters at --size, in the order the harness uses, and prints each split's dataset id and \
        content hash (the ones a run records). The folder must not exist or be empty.
        """)

    @Argument(help: "Folder to write (created; must not exist or be empty).")
    var folder: String

    @Option(help: "Dataset id (a manifest in Datasets/).")
    var dataset: String = "synthetic-tissue"

    @Option(help: "Tile edge in pixels.")
    var size: Int = 64

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Probe>

    func run() throws {
      let data = try EmbeddedDataset(dataset, size: size, sizes: 16...1024, threads: threads.count())
      let fm = FileManager.default
      var isDirectory: ObjCBool = false
      if fm.fileExists(atPath: folder, isDirectory: &isDirectory) {
        let entries = isDirectory.boolValue ? (try? fm.contentsOfDirectory(atPath: folder)) ?? [] : ["(a file)"]
        guard entries.isEmpty else {
          throw InputError.badArgument(option: "<folder>", value: folder, expected: "a folder that does not exist or is empty")
        }
      }
      for split in ["train", "test"] {
        let set = try data.load(split)
        for name in set.classNames {
          try fm.createDirectory(atPath: "\(folder)/\(split)/\(name)", withIntermediateDirectories: true)
        }
        for (i, image) in set.images.enumerated() {
          let path = "\(folder)/\(split)/\(set.classNames[set.labels[i]])/\(String(format: "%05d", i)).png"
          try ImageIO.writePNG(image, to: path)
        }
        print("\(split): \(set.images.count) tiles of \(size)² px, \(set.classNames.count) classes; \(set.datasetId), sha256 \(set.contentHash)")
      }
    }
  }
}

/// An embedded dataset's manifest and its splits at one tile size (the manifest's default
/// parameters), for the `dataset` subcommands.
struct EmbeddedDataset {
  let manifest: DatasetManifest
  let loader: TileLoader
  let size: Int
  let threads: Int

  /// - Throws: `InputError` for an unknown dataset or a size outside `sizes`.
  init(_ id: String, size: Int, sizes: ClosedRange<Int>, threads: Int) throws {
    let registry = try Registry.locate()
    manifest = try registry.dataset(id)
    guard sizes.contains(size) else {
      throw InputError.badArgument(
        option: "--size", value: String(size), expected: "an integer in \(sizes.lowerBound)...\(sizes.upperBound)")
    }
    loader = TileLoader(cacheDirectory: registry.cacheDirectory())
    self.size = size
    self.threads = threads
  }

  func load(_ split: String) throws -> TileSet {
    try loader.load(
      .synthetic(manifest, DatasetRef(id: manifest.id, split: split, parameters: [:])), tileSize: size, threads: threads)
  }
}

import ArgumentParser
import Basics
import Foundation
import Harness

extension SlidesCommand {
  /// `replicate slides generate`.
  struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "generate",
      abstract: "Generate the synthetic-slides set (into the dataset cache, or a folder with --out).",
      discussion: """
        Writes slides/<id>.tiff (tiled pyramidal TIFF, 0.5 µm/px at level 0), annotations/<id>.xml (ASAP
        tumour polygons, positive slides only), layouts/<id>.json (all ground truth) and slides.csv. Without
        --out the set goes to the dataset cache (.cache/datasets or $REPLICATE_CACHE/datasets) and is reused.
        """)

    @Option(help: "Write the set into this folder instead of the cache.")
    var out: String?

    @Option(help: "Dataset manifest id (Datasets/<id>.yaml).")
    var dataset: String = "synthetic-slides"

    @Option(name: .customLong("set"), help: "Override a generator parameter (key=value), repeatable.")
    var overrides: [String] = []

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Generate>

    func run() throws {
      let registry = try Registry.locate()
      let manifest = try registry.dataset(dataset)
      let parsed = try keyValues(overrides, option: "--set")
      let t = try threads.count()
      let start = Date()
      let total = manifest.splits.values.reduce(0) { $0 + 2 * $1.perClass }
      let line = ProgressLine("generating slides", total: total, unit: "slides")
      let progress: @Sendable (Int, Int) -> Void = { _, _ in line.advance() }
      let set: SyntheticSlideSet
      if let out {
        set = try SlideDatasetLoader.generate(
          manifest, overrides: parsed, into: URL(fileURLWithPath: out), threads: t, progress: progress)
      } else {
        set = try SlideDatasetLoader(cacheDirectory: registry.cacheDirectory()).load(
          manifest, overrides: parsed, threads: t, progress: progress)
      }
      line.finish()
      let seconds = Date().timeIntervalSince(start)
      let records = set.table.records
      print(set.datasetId)
      print(
        "\(records.count) slides (\(records.filter { $0.label == 1 }.count) with tumour, "
          + "\(records.filter { $0.relationalLabel == 1 }.count) relational-positive) in \(set.directory.path)")
      print("sha256 \(set.contentHash)  (\(String(format: "%.1f", seconds)) s, \(t) threads)")
    }
  }
}

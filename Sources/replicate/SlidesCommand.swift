import ArgumentParser
import Basics
import Engine
import Foundation
import Harness
import Methods
import Slides
import Vision

/// `replicate slides`: the whole-slide pipeline (synthetic slides, tiling, feature bags).
struct SlidesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "slides", abstract: "Whole-slide tools: synthetic slides, tiling, feature bags.",
    discussion: """
      replicate slides generate                      # the synthetic-slides set, into the cache
      replicate slides tile SLIDE --json             # tissue, grid and focus counts of one slide
      replicate slides extract synthetic-slides --out bags/   # one feature bag per slide
      replicate slides show bags/train_000.safetensors
      """,
    subcommands: [Generate.self, Tile.self, Extract.self, Show.self])

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

  /// `replicate slides tile <slide>`.
  struct Tile: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "tile",
      abstract: "Tissue detection, tile grid and focus QC counts for one slide (no encoding).",
      discussion: """
        Counts: grid = columns × rows of the grid; rejected_tissue = grid tiles below the tissue coverage;
        rejected_focus = tissue tiles whose focus score is below the threshold; kept = the rest (what `extract`
        encodes). --thumbnail draws the grid on a low-resolution image: kept tiles green, focus-rejected red,
        annotated tumour (--annotations) blue.
        """)

    @Argument(help: "A whole-slide image OpenSlide reads.")
    var slide: String

    @OptionGroup var tiling: TilingOptions

    @Option(help: "Tumour annotations (ASAP XML or GeoJSON) to count tumour tiles.")
    var annotations: String?

    @Option(help: "Write a PNG thumbnail with the grid drawn.")
    var thumbnail: String?

    @Flag(help: "List every tissue tile (position, coverage, focus score, kept).")
    var list = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Tile>

    func run() throws {
      let registry = try Registry.locate()
      let preset = try tiling.resolved(registry)
      let focus = try tiling.focusQC()
      let t = try threads.count()
      let regions = try annotations.map { try TumourRegions(contentsOf: $0) }
      let (report, plan, kept) = try TilingReport.make(
        slidePath: slide, pipeline: TilePipeline(preset: preset, focus: focus, threads: t), regions: regions,
        listTiles: list)
      if let thumbnail {
        try ImageIO.writePNG(plan.grid.thumbnail(of: plan.slide, kept: kept, regions: regions), to: thumbnail)
      }
      if json {
        print(try jsonText(report), terminator: "")
        return
      }
      let (c, g) = (report.counts, report.grid)
      print(
        "\(report.slide): \(report.width)×\(report.height) px, \(report.levels) levels, \(report.vendor), "
          + (report.micronsPerPixel.map { String(format: "%.4g µm/px", $0) } ?? "no microns per pixel"))
      print(
        "preset \(preset.name): tissue at level \(report.segmentationLevel) (\(String(format: "%.3g", report.tissueArea)) "
          + "px² of tissue); tiles \(g.patchSize) px at \(preset.tiling.resolution), read at level \(g.level) as "
          + "\(g.readSize) px, step \(g.step)")
      print(
        "grid \(g.columns)×\(g.rows) = \(c.grid): rejected_tissue \(c.rejectedTissue), rejected_focus \(c.rejectedFocus) "
          + "(\(focus.detector.rawValue) < \(focus.threshold.map { fmt($0) } ?? "off")), kept \(c.kept)"
          + (c.tumour.map { ", tumour tiles (≥ 50%) \($0)" } ?? ""))
      if let tiles = report.tiles {
        let rows = tiles.map { t in
          [String(t.x), String(t.y), fmt(t.coverage), fmt(t.focus), t.kept ? "yes" : "no"]
            + (t.tumourFraction.map { [fmt($0)] } ?? [])
        }
        print(table(["x", "y", "coverage", "focus", "kept"] + (regions == nil ? [] : ["tumour"]), rows))
      }
    }
  }

  /// `replicate slides extract`.
  struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "extract",
      abstract: "Turn slides into feature bags (tissue → grid → focus QC → encoder), one per slide.",
      discussion: """
        Input: a slide, a folder of slides, a synthetic-slides folder (slides/, annotations/, slides.csv), or the
        word synthetic-slides for the cached set (generated first if needed). Output: <id>.safetensors (features
        [N, D], coords [N, 2] level-0 x,y, tissue_coverage, focus_score, and with annotations tumour_fraction and
        instance_label) with a JSON sidecar per slide, bags.csv, and slides.csv when the input has a slide table.
        With an annotation folder, a slide without <id>.xml is a negative slide (every instance 0).
        Tiles are resized to the encoder input and normalised with ImageNet mean/std. --encoder pixels writes
        tile-image bags instead: each instance is the tile's RGB pixels resized to --input-size² (default 32),
        [N, s·s·3] stored as U8 (INS on tiles trains its own ResNet on them).
        """)

    @Argument(help: "A slide, a folder of slides, a synthetic-slides folder, or synthetic-slides (the cached set).")
    var input: String

    @Option(help: "Output folder for the bags.")
    var out: String

    @Option(help: "Encoder: small (ResNet.small, 128-d), resnet18 (512-d), or pixels (tile images, no encoder).")
    var encoder: String = TileEncoderKind.small.rawValue

    @Option(help: "Encoder input side (default 64 for small, 224 for resnet18, 32 for pixels).")
    var inputSize: Int?

    @Option(help: "Weights (safetensors state dict with torchvision names); default: random init from --seed.")
    var weights: String?

    @Option(help: "Seed of the random initialisation.")
    var seed: UInt64 = 0

    @Option(help: "Annotation folder (<id>.xml) or, for one slide, an annotation file.")
    var annotations: String?

    @OptionGroup var tiling: TilingOptions

    @Option(help: "Tiles per encoder call.")
    var batchSize: Int = 32

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Extract>

    func run() throws {
      let registry = try Registry.locate()
      let preset = try tiling.resolved(registry)
      let focus = try tiling.focusQC()
      let t = try threads.count()
      guard (1...4096).contains(batchSize) else {
        throw InputError.badArgument(option: "--batch-size", value: String(batchSize), expected: "an integer in 1...4096")
      }
      guard let kind = TileEncoderKind(rawValue: encoder) else {
        throw InputError.badArgument(
          option: "--encoder", value: encoder, expected: TileEncoderKind.allCases.map(\.rawValue).joined(separator: ", "))
      }
      let sources = try SlideSources.resolve(input, annotations: annotations, registry: registry, threads: t)
      let tileEncoder = try TileEncoder(kind: kind, inputSize: inputSize, seed: seed, weights: weights)
      var extractor = BagExtractor(preset: preset, focus: focus, encoder: tileEncoder)
      extractor.batchSize = batchSize
      extractor.threads = t
      Parallel.setThreadCount(t)
      BLAS.setThreadCount(t)
      do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
        throw InputError.badArgument(option: "--out", value: out, expected: "a folder that can be created")
      }
      let outDir = URL(fileURLWithPath: out).standardizedFileURL.path
      let line = ProgressLine("extracting bags", total: sources.slides.count, unit: "slides")
      let start = Date()
      let (entries, times) = try extractor.writeStore(
        sources.slides,
        table: sources.table, to: outDir, progress: { _, _, note in line.advance(note: note) })
      line.finish()
      let seconds = Date().timeIntervalSince(start)
      let instances = entries.reduce(0) { $0 + $1.instanceCount }
      print(
        "\(entries.count) bags, \(instances) instances of \(tileEncoder.featureDimension)-d in \(outDir) "
          + "(\(String(format: "%.1f", seconds)) s)")
      print("encoder: \(tileEncoder.summary); sha256 \(tileEncoder.weightsSHA256.prefix(16))…")
      print(
        String(
          format: "time: read %.1f s, tissue %.1f s, focus %.1f s, encode %.1f s; rejected: tissue %d, focus %d",
          times.read, times.tissue, times.focus, times.encode, entries.reduce(0) { $0 + $1.counts.rejectedTissue },
          entries.reduce(0) { $0 + $1.counts.rejectedFocus }))
    }
  }

  /// `replicate slides show`.
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show", abstract: "Summarise a feature bag (.safetensors) or a folder of bags.")

    @Argument(help: "A bag file, or a folder with bags.csv.")
    var path: String

    func run() throws {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw BagError.cannotRead(path: path, reason: "no such file or folder")
      }
      if isDirectory.boolValue {
        let store = try BagStore(directory: path)
        let instances = store.entries.map(\.instanceCount)
        print("\(store.entries.count) bags in \(path); instances per bag \(instances.min() ?? 0)…\(instances.max() ?? 0)")
        if let table = store.slideTable {
          for split in table.splits {
            let entries = store.entries(inSplit: split)
            let positives = entries.filter { $0.record?.label == 1 }.count
            print("  \(split): \(entries.count) bags, \(positives) with tumour")
          }
        } else {
          print("  no slide table (slides.csv): bags without labels or splits")
        }
        return
      }
      let bag = try FeatureBag.read(path: path)
      let info = bag.info
      let n = bag.instanceCount
      let d = bag.featureDimension
      print("\(info.slideID): \(n) instances × \(d) features (\(path))")
      print("slide \(info.slidePath), preset \(info.preset), level \(info.level), patch \(info.patchSize) px (read \(info.readSize)), step \(info.stepSize)")
      print(
        "tiles: grid \(info.counts.grid), rejected_tissue \(info.counts.rejectedTissue), rejected_focus "
          + "\(info.counts.rejectedFocus) (\(info.focusDetector) < \(info.focusThreshold.map { fmt($0) } ?? "off")), kept \(info.counts.kept)")
      print("encoder: \(info.encoder.description); sha256 \(info.encoder.weightsSHA256.prefix(16))…")
      if let labels = bag.instanceLabels, let fractions = bag.tumourFractions {
        print(
          "instances labelled tumour (≥ \(fmt(info.instanceThreshold))): \(labels.reduce(0, +)); any tumour: "
            + "\(fractions.filter { $0 > 0 }.count)")
      } else {
        print("no instance labels (extracted without annotations)")
      }
      if n > 0, let f = bag.featureStatistics {
        print(
          "features: mean \(fmt(f.mean)), sd \(fmt(f.standardDeviation)), min \(fmt(f.minimum)), max \(fmt(f.maximum))")
        let xs = bag.coordinates.map(\.x)
        let ys = bag.coordinates.map(\.y)
        print("coords: x \(xs.min() ?? 0)…\(xs.max() ?? 0), y \(ys.min() ?? 0)…\(ys.max() ?? 0) (level 0)")
      }
    }
  }
}

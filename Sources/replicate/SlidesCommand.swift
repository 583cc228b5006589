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

    @Option(help: "Slides generated at a time (default: all cores).")
    var threads: Int?

    func run() throws {
      let registry = try Registry.locate()
      let manifest = try registry.dataset(dataset)
      let parsed = try keyValues(overrides, option: "--set")
      let t = try threadCount(threads)
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

  /// Tiling options shared by `tile` and `extract`: a preset plus overrides.
  struct TilingOptions: ParsableArguments {
    @Option(help: "Tiling preset from Datasets/presets/tiling.yaml (clam-default, tcga, camelyon16, bwh-resection).")
    var preset: String = "camelyon16"

    @Option(help: "Cut tiles at this objective magnification (overrides the preset's resolution).")
    var magnification: Double?

    @Option(help: "Cut tiles at this many microns per pixel (overrides the preset's resolution).")
    var mpp: Double?

    @Option(help: "Cut tiles at this pyramid level (overrides the preset's resolution).")
    var level: Int?

    @Option(help: "Tile side in pixels at the target resolution.")
    var patchSize: Int?

    @Option(help: "Distance between tiles in pixels at the target resolution (default: the patch size).")
    var step: Int?

    @Option(help: "Keep tiles with at least this tissue fraction (0…1).")
    var minCoverage: Double?

    @Option(help: "Focus detector: laplacian_var, haar_energy, tong_per, tong_per_norm.")
    var focusDetector: String = FocusQC.standard.detector.rawValue

    @Option(help: "Reject tiles whose focus score is below this (default 15 for laplacian_var, none for the others; 0 turns QC off).")
    var focusThreshold: Double?

    /// The preset with the overrides applied, validated.
    func resolved(_ registry: Registry) throws -> TilingPreset {
      var preset = try TilingPresets.preset(named: self.preset, path: TilingPresets.defaultPath(root: registry.root))
      let resolutions = [magnification != nil, mpp != nil, level != nil].filter { $0 }.count
      guard resolutions <= 1 else {
        throw InputError.badArgument(
          option: "--magnification/--mpp/--level", value: "several", expected: "at most one of them")
      }
      if let magnification { preset.tiling.resolution = .magnification(magnification) }
      if let mpp { preset.tiling.resolution = .micronsPerPixel(mpp) }
      if let level { preset.tiling.resolution = .level(level) }
      if let patchSize {
        preset.tiling.patchSize = patchSize
        if step == nil { preset.tiling.stepSize = patchSize }
      }
      if let step { preset.tiling.stepSize = step }
      if let minCoverage { preset.tiling.minTissueCoverage = minCoverage }
      if let problem = preset.problems.first {
        throw InputError.badArgument(option: "tiling", value: preset.name, expected: problem)
      }
      return preset
    }

    /// Focus QC from the options.
    func focusQC() throws -> FocusQC {
      guard let kind = FocusDetectorKind(rawValue: focusDetector) else {
        throw InputError.badArgument(
          option: "--focus-detector", value: focusDetector,
          expected: FocusDetectorKind.allCases.map(\.rawValue).joined(separator: ", "))
      }
      if let focusThreshold {
        guard focusThreshold.isFinite else {
          throw InputError.badArgument(option: "--focus-threshold", value: String(focusThreshold), expected: "a number")
        }
        return FocusQC(detector: kind, threshold: focusThreshold > 0 ? focusThreshold : nil)
      }
      return FocusQC(detector: kind, threshold: kind == FocusQC.standard.detector ? FocusQC.standard.threshold : nil)
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

    @Option(help: "Threads reading and scoring tiles (default: all cores).")
    var threads: Int?

    func run() throws {
      let registry = try Registry.locate()
      let preset = try tiling.resolved(registry)
      let focus = try tiling.focusQC()
      let t = try threadCount(threads)
      let regions = try annotations.map { path in
        TumourRegions(
          annotations: path.lowercased().hasSuffix("json") ? try GeoJSONReader.read(path: path) : try ASAPReader.read(path: path))
      }
      let wsi = try WholeSlideImage(path: slide)
      let mask = try TissueDetection.detect(in: wsi, parameters: preset.tissue)
      let grid = try TilingGrid(slide: wsi, parameters: preset.tiling, tissue: mask)
      let segmentationLevel = try TissueDetection.segmentationLevel(of: wsi, parameters: preset.tissue)
      let scores = try Parallel.map(grid.tiles.count, threads: t, chunk: 16) { i in
        focus.score(try grid.readTile(grid.tiles[i], from: wsi))
      }
      let kept = scores.map(focus.keeps)
      let tumourFractions = regions.map { r in grid.tiles.map { r.fraction(of: grid.rect(of: $0)) } }
      let gridCount = grid.columns * grid.rows
      let keptCount = kept.filter { $0 }.count
      if let thumbnail {
        try drawThumbnail(slide: wsi, grid: grid, kept: kept, regions: regions, to: thumbnail)
      }
      let mpp = wsi.micronsPerPixel?.x
      if json {
        var fields = [
          "\"slide\": \(jsonQuote(wsi.path))", "\"vendor\": \(jsonQuote(wsi.vendor))",
          "\"width\": \(wsi.levelDimensions[0].width)", "\"height\": \(wsi.levelDimensions[0].height)",
          "\"levels\": \(wsi.levelCount)", "\"microns_per_pixel\": \(mpp.map { String($0) } ?? "null")",
          "\"preset\": \(jsonQuote(preset.name))", "\"segmentation_level\": \(segmentationLevel)",
          "\"tissue_area\": \(mask.tissueArea)",
          "\"grid\": {\"level\": \(grid.readLevel), \"read_size\": \(grid.readSize), \"patch_size\": "
            + "\(preset.tiling.patchSize), \"step\": \(preset.tiling.stepSize), \"downsample\": \(grid.targetDownsample), "
            + "\"columns\": \(grid.columns), \"rows\": \(grid.rows)}",
          "\"focus\": {\"detector\": \(jsonQuote(focus.detector.rawValue)), \"threshold\": "
            + "\(focus.threshold.map { String($0) } ?? "null")}",
          "\"counts\": {\"grid\": \(gridCount), \"tissue\": \(grid.tiles.count), \"rejected_tissue\": "
            + "\(gridCount - grid.tiles.count), \"rejected_focus\": \(grid.tiles.count - keptCount), \"kept\": \(keptCount)"
            + (tumourFractions.map { ", \"tumour\": \($0.filter { $0 >= 0.5 }.count)" } ?? "") + "}",
        ]
        if list {
          let rows = grid.tiles.indices.map { i in
            let tile = grid.tiles[i]
            return "{\"x\": \(tile.x), \"y\": \(tile.y), \"coverage\": \(tile.tissueCoverage), \"focus\": "
              + "\(scores[i].isFinite ? String(scores[i]) : "null"), \"kept\": \(kept[i])"
              + (tumourFractions.map { ", \"tumour_fraction\": \($0[i])" } ?? "") + "}"
          }
          fields.append("\"tiles\": [\n    " + rows.joined(separator: ",\n    ") + "\n  ]")
        }
        print("{\n  " + fields.joined(separator: ",\n  ") + "\n}")
      } else {
        let (w, h) = wsi.levelDimensions[0]
        print(
          "\(wsi.path): \(w)×\(h) px, \(wsi.levelCount) levels, \(wsi.vendor), "
            + (mpp.map { String(format: "%.4g µm/px", $0) } ?? "no microns per pixel"))
        print(
          "preset \(preset.name): tissue at level \(segmentationLevel) (\(String(format: "%.3g", mask.tissueArea)) px² "
            + "of tissue); tiles \(preset.tiling.patchSize) px at \(preset.tiling.resolution), read at level "
            + "\(grid.readLevel) as \(grid.readSize) px, step \(preset.tiling.stepSize)")
        print(
          "grid \(grid.columns)×\(grid.rows) = \(gridCount): rejected_tissue \(gridCount - grid.tiles.count), "
            + "rejected_focus \(grid.tiles.count - keptCount) (\(focus.detector.rawValue) < "
            + "\(focus.threshold.map { fmt($0) } ?? "off")), kept \(keptCount)"
            + (tumourFractions.map { ", tumour tiles (≥ 50%) \($0.filter { $0 >= 0.5 }.count)" } ?? ""))
        if list {
          let rows = grid.tiles.indices.map { i in
            [String(grid.tiles[i].x), String(grid.tiles[i].y), fmt(grid.tiles[i].tissueCoverage), fmt(scores[i]),
              kept[i] ? "yes" : "no"] + (tumourFractions.map { [fmt($0[i])] } ?? [])
          }
          print(table(["x", "y", "coverage", "focus", "kept"] + (regions == nil ? [] : ["tumour"]), rows))
        }
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

    @Option(help: "Threads (default: all cores): tile reading and focus QC, engine and BLAS.")
    var threads: Int?

    func run() throws {
      let registry = try Registry.locate()
      let preset = try tiling.resolved(registry)
      let focus = try tiling.focusQC()
      let t = try threadCount(threads)
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
        sources.slides.map { BagExtractor.SlideInput(id: $0.id, path: $0.path, annotations: $0.annotations) },
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
      if n > 0 {
        let f = bag.features
        let mean = f.reduce(0.0) { $0 + Double($1) } / Double(f.count)
        let sd = (f.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(f.count)).squareRoot()
        print("features: mean \(fmt(mean)), sd \(fmt(sd)), min \(fmt(Double(f.min() ?? 0))), max \(fmt(Double(f.max() ?? 0)))")
        let xs = bag.coordinates.map(\.x)
        let ys = bag.coordinates.map(\.y)
        print("coords: x \(xs.min() ?? 0)…\(xs.max() ?? 0), y \(ys.min() ?? 0)…\(ys.max() ?? 0) (level 0)")
      }
    }
  }
}

/// The slides an `extract` reads, with their ids, annotation sources and slide table.
struct SlideSources {
  struct Slide {
    var id: String
    var path: String
    var annotations: BagExtractor.AnnotationSource?
  }

  var slides: [Slide]
  var table: SlideTable?

  static let extensions: Set<String> = ["tif", "tiff", "svs", "ndpi", "mrxs", "scn", "vms", "vmu", "bif", "svslide"]

  static func resolve(_ input: String, annotations: String?, registry: Registry, threads: Int) throws -> SlideSources {
    let fm = FileManager.default
    var root = input
    if input == SyntheticSlides.name && !fm.fileExists(atPath: input) {
      let set = try SlideDatasetLoader(cacheDirectory: registry.cacheDirectory()).load(
        try registry.dataset(SyntheticSlides.name), threads: threads)
      root = set.directory.path
    }
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: root, isDirectory: &isDirectory) else {
      throw SlideError.cannotOpen(path: root, reason: "no such file or folder")
    }
    func id(_ path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
    if !isDirectory.boolValue {
      var source: BagExtractor.AnnotationSource?
      if let annotations {
        var annotationIsDirectory: ObjCBool = false
        if fm.fileExists(atPath: annotations, isDirectory: &annotationIsDirectory), annotationIsDirectory.boolValue {
          let file = annotations + "/\(id(root)).xml"
          source = fm.fileExists(atPath: file) ? .file(file) : .negative
        } else {
          source = .file(annotations)
        }
      }
      return SlideSources(slides: [Slide(id: id(root), path: root, annotations: source)], table: nil)
    }
    let slideFolder = fm.fileExists(atPath: root + "/slides") ? root + "/slides" : root
    let names = ((try? fm.contentsOfDirectory(atPath: slideFolder)) ?? []).filter {
      extensions.contains(($0 as NSString).pathExtension.lowercased())
    }.sorted()
    guard !names.isEmpty else {
      throw SlideError.cannotOpen(path: root, reason: "no slides (.tiff, .svs, …) in the folder or its slides/ folder")
    }
    let annotationFolder = annotations ?? (fm.fileExists(atPath: root + "/annotations") ? root + "/annotations" : nil)
    if let annotationFolder {
      var isDir: ObjCBool = false
      guard fm.fileExists(atPath: annotationFolder, isDirectory: &isDir), isDir.boolValue else {
        throw AnnotationError.cannotRead(path: annotationFolder, reason: "expected a folder of <slide id>.xml files")
      }
    }
    let tablePath = root + "/slides.csv"
    let table = fm.fileExists(atPath: tablePath) ? try SlideTable.read(path: tablePath) : nil
    let slides = names.map { name -> Slide in
      let path = slideFolder + "/" + name
      let source = annotationFolder.map { folder -> BagExtractor.AnnotationSource in
        let xml = folder + "/\(id(name)).xml"
        return fm.fileExists(atPath: xml) ? .file(xml) : .negative
      }
      return Slide(id: id(name), path: path, annotations: source)
    }
    return SlideSources(slides: slides, table: table)
  }
}

/// Draws the grid on a thumbnail (longest side ≤ 1024 px) and writes it as PNG.
func drawThumbnail(
  slide: WholeSlideImage, grid: TilingGrid, kept: [Bool], regions: TumourRegions?, to path: String
) throws {
  let target = 1024.0
  let (w0, h0) = slide.levelDimensions[0]
  var level = 0
  for (l, dims) in slide.levelDimensions.enumerated() where max(dims.width, dims.height) >= Int(target) { level = l }
  let dims = slide.levelDimensions[level]
  guard dims.width * dims.height <= 64_000_000 else {
    throw SlideError.regionTooLarge(
      path: slide.path, level: level, width: dims.width, height: dims.height, limit: 64_000_000)
  }
  var image = try slide.readRegion(x: 0, y: 0, level: level, width: dims.width, height: dims.height)
  let shrink = min(1, target / Double(max(dims.width, dims.height)))
  if shrink < 1 {
    image = image.resized(
      width: max(1, Int(Double(dims.width) * shrink)), height: max(1, Int(Double(dims.height) * shrink)))
  }
  let sx = Double(image.width) / Double(w0)
  let sy = Double(image.height) / Double(h0)
  func box(_ rect: SlideRect, _ colour: (UInt8, UInt8, UInt8)) {
    let x0 = Int(rect.minX * sx)
    let y0 = Int(rect.minY * sy)
    let x1 = min(image.width - 1, Int(rect.maxX * sx) - 1)
    let y1 = min(image.height - 1, Int(rect.maxY * sy) - 1)
    guard x0 <= x1, y0 <= y1, x0 >= 0, y0 >= 0 else { return }
    func set(_ x: Int, _ y: Int) {
      let o = 3 * (y * image.width + x)
      image.pixels[o] = colour.0
      image.pixels[o + 1] = colour.1
      image.pixels[o + 2] = colour.2
    }
    for x in x0...x1 {
      set(x, y0)
      set(x, y1)
    }
    for y in y0...y1 {
      set(x0, y)
      set(x1, y)
    }
  }
  for (i, tile) in grid.tiles.enumerated() { box(grid.rect(of: tile), kept[i] ? (0, 150, 0) : (220, 0, 0)) }
  if let regions {
    for polygon in regions.polygons {
      for p in polygon.outer {
        let x = Int(p.x * sx)
        let y = Int(p.y * sy)
        guard x >= 0, y >= 0, x < image.width, y < image.height else { continue }
        let o = 3 * (y * image.width + x)
        image.pixels[o] = 0
        image.pixels[o + 1] = 0
        image.pixels[o + 2] = 230
      }
    }
  }
  try ImageIO.writePNG(image, to: path)
}

/// `key=value` pairs of a repeatable option.
func keyValues(_ items: [String], option: String) throws -> [String: String] {
  var parsed: [String: String] = [:]
  for item in items {
    guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
      throw InputError.badArgument(option: option, value: item, expected: "key=value")
    }
    parsed[String(item[..<eq])] = String(item[item.index(after: eq)...])
  }
  return parsed
}

/// Validates `--threads` (default: all cores).
func threadCount(_ threads: Int?) throws -> Int {
  let t = threads ?? HostFacts.cores
  guard (1...256).contains(t) else {
    throw InputError.badArgument(option: "--threads", value: String(t), expected: "an integer in 1...256")
  }
  return t
}

/// A JSON string literal.
func jsonQuote(_ s: String) -> String {
  "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

import Dispatch
import Engine
import Foundation
import Vision

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `synthetic-slides` v1: the project's embedded, deterministic whole-slide dataset, a small
/// stand-in for Camelyon16 with labels for three slide-level tasks.
///
/// Each slide is a tiled pyramidal TIFF (`TiledTIFFWriter`: 256² tiles, deflate with the
/// horizontal predictor (lossless, level `deflateLevel`), level 0 first,
/// each lower level a 2× box-filtered reduced-resolution page, resolution tags giving
/// `micronsPerPixel` at level 0, 0.5 µm/px = "20×" by default) of a `SyntheticSlideLayout`
/// drawn by `SyntheticSlideRenderer`: tissue sections on bright glass, each a patchwork of
/// `synthetic-tissue` classes (stroma, normal mucosa, muscle, adipose, mucus), with
///
/// - **tumour** (slide label 1) only in positive slides, from a macro-metastasis down to
///   micro-metastatic nests of well under 1% of the tissue; the polygons are written as
///   ASAP/Camelyon16 XML (`annotations/<id>.xml`, group `Tumor`), one file per positive slide;
/// - **rare foci** for a relational task: every slide has 2–4 foci that are all lymphoid
///   aggregates, all necrosis, or both kinds; `relational_label = 1` iff both kinds are present.
///   The design cells are balanced (¼ lymphoid-only, ¼ necrosis-only, ½ both, within every
///   split × tumour-label cell) and every cell draws its foci count and sizes from one
///   distribution, so neither the presence of one kind nor the number of rare instances says
///   anything about the label. An attention-weighted mean of per-instance scores cannot solve
///   it: for a fixed number of rare tiles its value is a linear-fractional, hence monotone,
///   function of how many of them are lymphoid, so a "both" slide always scores between the
///   lymphoid-only and necrosis-only slides with the same count. A model in which instances
///   see each other (self-attention) can detect the co-occurrence.
/// - with `Parameters.proximityDesign`, rare foci for a **proximity** task instead: every slide
///   holds one lymphoid aggregate and one necrotic focus, 380–600 px apart (`near`,
///   `proximity_label = 1`) or at least 1,100 px apart (`far`, 0), near and far alternating
///   within every split × tumour-label cell; no 256² tile touches both, so only where the tiles
///   lie tells the label (PPEG's task);
/// - **focus defects**: on a fraction of slides, 1–2 Gaussian-blurred areas (σ 2–4 px), kept
///   away from tumour and rare foci so that focus QC rejects tissue without changing labels;
/// - **survival**: `T ~ Exponential(λ)`, `λ = λ₀ · exp(β · z)`, `z = log₁₀(1 + 1000 · f)` with
///   `f` the tumour fraction, `λ₀ = ln 2 / 60` per month (median 60 months without tumour),
///   `β = 0.8` (hazard ratio 1.9 at f = 0.5%, 8 at f = 40%); independent censoring
///   `C ~ U(12, 120)` months; `survival_months = min(T, C)` (rounded to 0.01), `event = T ≤ C`.
///   So the hazard grows with tumour burden and a Cox model on `z` is correctly specified.
///
/// Outputs under the target folder: `slides/<id>.tiff`, `annotations/<id>.xml` (positives),
/// `layouts/<id>.json` (the full `SyntheticSlideLayout`: every polygon, class and blur region),
/// and `slides.csv` (`SlideTable`: `slide_id, label, split, tumour_fraction, survival_months,
/// event, relational_label` plus geometry and counts). Ids are `<split>_<nnn>` in a shuffled
/// order, so neither the id nor the position tells the label.
///
/// Determinism: slide `i` of split `s` is a pure function of `(parameters, s.seed, s.perClass,
/// i)`, drawn from `RandomGenerator(seed: s.seed).split("slide").split(i)`; thread count and
/// order do not change a byte.
public struct SyntheticSlides: Sendable {
  /// Generator settings.
  public struct Parameters: Sendable, Equatable {
    /// Smallest level-0 side in pixels (sides are multiples of 512 in `minSide…maxSide`).
    public var minSide = 4096
    /// Largest level-0 side in pixels.
    public var maxSide = 4096
    /// Level-0 pixel size in microns (0.5 = "20×").
    public var micronsPerPixel = 0.5
    /// Pyramid levels (the writer stops before a level smaller than one 256² tile).
    public var levels = 5
    /// Texture scale (`TissueTexture`) at level 0: 3 draws life-size cells at 0.5 µm/px.
    public var objectScale = 3.0
    /// Textures are painted this many times coarser than level 0 and enlarged (see
    /// `SyntheticSlideRenderer`); 1 paints at level 0 (about 4× slower).
    public var textureDownsample = 2
    /// Fraction of positive slides with a macro-metastasis (the rest have micro-metastases).
    public var macroFraction = 0.45
    /// Fraction of slides with focus defects.
    public var blurredSlideFraction = 0.5
    /// Gaussian σ of the defects in level-0 pixels.
    public var blurSigma: ClosedRange<Double> = 2...4
    /// zlib level of the TIFF's deflate compression (1 fastest … 9 smallest; lossless at every level).
    public var deflateLevel = 1
    /// Matched design blocks: the four slides of each block (one slide label; lymphoid-only,
    /// necrosis-only, both, both) share their size and tissue-section outlines, drawn from the
    /// block's own stream, and redraw everything else (patch classes, tumour, rare foci, blur,
    /// texture) from their own. Tissue area, and with it the number of tissue tiles, then says
    /// nothing about the relational label within a split; with independent slides a 48-slide test
    /// set happened to rank the relational label by bag size at AUC 0.326. False keeps the
    /// independent v1 slides bit for bit.
    public var matchedBlocks = false
    /// The proximity design instead of the relational one: every slide holds one lymphoid
    /// aggregate and one necrotic focus, 380–600 px apart (`near`, `proximity_label` 1) or at least
    /// 1,100 px apart (`far`, 0), in the cells near, far, near, far of each label (so half of each
    /// split × label cell, and of each matched block). Which tiles a bag holds then says nothing
    /// about the label; where they lie does (PPEG's task, `MILTask.proximity`). `slides.csv`
    /// gains `proximity_label` and `foci_distance`. False keeps the v1 slides bit for bit.
    public var proximityDesign = false

    /// The v1 defaults.
    public init() {}

    /// Problems with the settings, one sentence each naming the setting (empty when valid).
    public var problems: [String] {
      var out: [String] = []
      if minSide < 1024 || minSide % 512 != 0 { out.append("minSide \(minSide) must be a multiple of 512, ≥ 1024") }
      if maxSide < minSide || maxSide % 512 != 0 {
        out.append("maxSide \(maxSide) must be a multiple of 512, ≥ minSide")
      }
      if !(micronsPerPixel > 0) { out.append("micronsPerPixel \(micronsPerPixel) must be > 0") }
      if !(1...12).contains(levels) { out.append("levels \(levels) must be in 1…12") }
      if !(objectScale >= 0.5 && objectScale <= 8) { out.append("objectScale \(objectScale) must be in 0.5…8") }
      if !(1...4).contains(textureDownsample) { out.append("textureDownsample \(textureDownsample) must be in 1…4") }
      if !(0...1).contains(macroFraction) { out.append("macroFraction \(macroFraction) must be in 0…1") }
      if !(0...1).contains(blurredSlideFraction) {
        out.append("blurredSlideFraction \(blurredSlideFraction) must be in 0…1")
      }
      if !(blurSigma.lowerBound > 0) { out.append("blurSigma must be > 0") }
      if !(1...9).contains(deflateLevel) { out.append("deflateLevel \(deflateLevel) must be in 1…9") }
      return out
    }
  }

  /// A split: its name, seed and number of slides per slide label.
  public struct Split: Sendable, Equatable {
    public var name: String
    public var seed: UInt64
    /// Slides of each label (so the split has `2 · perClass` slides).
    public var perClass: Int

    public init(name: String, seed: UInt64, perClass: Int) {
      self.name = name
      self.seed = seed
      self.perClass = perClass
    }
  }

  /// What one slide will be, before it is drawn.
  public struct SlidePlan: Sendable {
    /// `<split>_<nnn>`.
    public var slideID: String
    public var split: String
    /// Index within the split (the order of ids).
    public var index: Int
    /// Designed slide label (1: tumour).
    public var label: Int
    /// Designed relational cell.
    public var group: RelationalGroup
    /// The slide's random stream.
    public var generator: RandomGenerator
    /// The design block's stream (`Parameters.matchedBlocks`): the same for the up to four
    /// slides of one block (one label, four consecutive cells of the group cycle).
    public var block: RandomGenerator
  }

  /// Dataset name.
  public static let name = "synthetic-slides"
  /// Generator version; bump when any written byte changes.
  public static let version = 1
  /// Level-0 tile side of the TIFF pyramid.
  public static let tileSize = 256
  /// Default splits: 20 + 4 + 8 slides per label (64 slides; 40 / 8 / 16).
  public static let defaultSplits = [
    Split(name: "train", seed: 11, perClass: 20), Split(name: "val", seed: 12, perClass: 4),
    Split(name: "test", seed: 13, perClass: 8),
  ]
  /// Extra columns of `slides.csv` in the proximity design, after `extraColumns`.
  public static let proximityColumns = ["proximity_label", "foci_distance"]
  /// Extra columns of `slides.csv`, in order.
  public static let extraColumns = [
    "relational_group", "width", "height", "microns_per_pixel", "tissue_area", "tumour_area", "tumour_lesions",
    "lymphoid_aggregates", "necrotic_foci", "blur_regions",
  ]

  /// The settings.
  public let parameters: Parameters
  /// The splits, in output order.
  public let splits: [Split]

  /// A generator. - Precondition: `parameters.problems.isEmpty`, split names unique and
  /// non-empty, `perClass ≥ 1`.
  public init(parameters: Parameters = .init(), splits: [Split] = SyntheticSlides.defaultSplits) {
    precondition(parameters.problems.isEmpty, "SyntheticSlides: \(parameters.problems.joined(separator: "; "))")
    precondition(Set(splits.map(\.name)).count == splits.count, "SyntheticSlides: split names repeat")
    precondition(splits.allSatisfy { !$0.name.isEmpty && $0.perClass >= 1 }, "SyntheticSlides: bad split")
    self.parameters = parameters
    self.splits = splits
  }

  /// Every slide's plan, split by split. Within a split the `2 · perClass` design cells (label ×
  /// relational group; groups cycle lymphoid-only, necrosis-only, both, both within each label)
  /// are shuffled with the split's seed, then numbered.
  public var plans: [SlidePlan] {
    var out: [SlidePlan] = []
    let cycle: [RelationalGroup] =
      parameters.proximityDesign ? [.near, .far, .near, .far] : [.lymphoidOnly, .necrosisOnly, .both, .both]
    for split in splits {
      var cells: [(label: Int, group: RelationalGroup)] = []
      var blocks: [Int] = []
      for label in 0...1 {
        for i in 0..<split.perClass {
          cells.append((label, cycle[i % 4]))
          blocks.append(label * ((split.perClass + 3) / 4) + i / 4)
        }
      }
      let root = RandomGenerator(seed: split.seed)
      var design = root.split("design")
      let order = design.permutation(cells.count)
      let digits = max(3, String(cells.count - 1).count)
      for (index, c) in order.enumerated() {
        let cell = cells[c]
        let number = String(index)
        let id = "\(split.name)_" + String(repeating: "0", count: max(0, digits - number.count)) + number
        out.append(
          SlidePlan(
            slideID: id, split: split.name, index: index, label: cell.label, group: cell.group,
            generator: root.split("slide").split(UInt64(index)), block: root.split("block").split(UInt64(blocks[c]))))
      }
    }
    return out
  }

  /// The layout of `plan`'s slide.
  public func layout(of plan: SlidePlan) -> SyntheticSlideLayout {
    let shared = parameters.matchedBlocks ? plan.block : plan.generator
    var sizes = shared.split("size")
    let choices = (parameters.maxSide - parameters.minSide) / 512 + 1
    let width = parameters.minSide + 512 * sizes.nextInt(below: choices)
    let height = parameters.minSide + 512 * sizes.nextInt(below: choices)
    var rng = plan.generator.split("layout")
    var sections: [SyntheticSlideLayout.Section]?
    if parameters.matchedBlocks {
      var blockRNG = plan.block.split("sections")
      sections = SyntheticSlideLayout.makeSections(width: width, height: height, rng: &blockRNG)
    }
    return SyntheticSlideLayout.random(
      width: width, height: height, tumour: plan.label == 1, group: plan.group, parameters: parameters,
      sections: sections, using: &rng)
  }

  /// The level-0 image of `plan`'s slide with layout `layout`.
  public func image(of plan: SlidePlan, layout: SyntheticSlideLayout) -> RGBImage {
    var rng = plan.generator.split("render")
    return SyntheticSlideRenderer.render(
      layout, objectScale: Float(parameters.objectScale), textureDownsample: parameters.textureDownsample,
      seed: rng.next())
  }

  /// The slide-table row of `plan`'s slide: labels from what the layout holds (they equal the
  /// design unless a placement failed), survival drawn from the model above.
  public func record(of plan: SlidePlan, layout: SyntheticSlideLayout) -> SlideRecord {
    var rng = plan.generator.split("survival")
    let fraction = layout.tumourFraction
    let (months, event) = Self.survival(tumourFraction: fraction, using: &rng)
    var extra: [String: String] = [
      "relational_group": plan.group.rawValue, "width": String(layout.width), "height": String(layout.height),
      "microns_per_pixel": String(parameters.micronsPerPixel), "tissue_area": String(layout.tissueArea),
      "tumour_area": String(layout.tumourArea), "tumour_lesions": String(layout.tumours.count),
      "lymphoid_aggregates": String(layout.count(of: .lymphoidAggregate)),
      "necrotic_foci": String(layout.count(of: .necrosis)), "blur_regions": String(layout.blurRegions.count),
    ]
    if parameters.proximityDesign {
      extra["proximity_label"] = String(layout.proximityLabel)
      extra["foci_distance"] = layout.fociDistance.map { String(($0 * 10).rounded() / 10) } ?? ""
    }
    return SlideRecord(
      slideID: plan.slideID, label: layout.tumours.isEmpty ? 0 : 1, split: plan.split, tumourFraction: fraction,
      survivalMonths: months, event: event, relationalLabel: layout.relationalLabel, extra: extra)
  }

  /// Baseline hazard per month (median survival 60 months without tumour).
  public static let baselineHazard = log(2.0) / 60
  /// Log hazard ratio per unit of `z = log₁₀(1 + 1000 f)`.
  public static let hazardCoefficient = 0.8
  /// Censoring time range in months.
  public static let censoring = 12.0...120.0

  /// One survival draw for tumour fraction `f` (model in the type's documentation).
  public static func survival(tumourFraction f: Double, using rng: inout RandomGenerator) -> (months: Double, event: Int) {
    let z = log10(1 + 1000 * max(0, f))
    let hazard = baselineHazard * exp(hazardCoefficient * z)
    let t = -log(max(1e-12, 1 - rng.nextDouble())) / hazard
    let c = rng.uniform(censoring)
    let time = min(t, c)
    return ((time * 100).rounded() / 100, t <= c ? 1 : 0)
  }

  /// Writes slide `plan` into `directory` (`slides/`, `annotations/`, `layouts/` must exist)
  /// and returns its table row.
  public func write(_ plan: SlidePlan, into directory: String) throws -> SlideRecord {
    let layout = layout(of: plan)
    let image = image(of: plan, layout: layout)
    let root = URL(fileURLWithPath: directory)
    let slide = root.appendingPathComponent("slides/\(plan.slideID).tiff").path
    let partial = slide + ".partial"
    try TiledTIFFWriter.write(
      image, to: partial, levels: parameters.levels, tileSize: Self.tileSize,
      micronsPerPixel: parameters.micronsPerPixel,
      description: "replicate \(Self.name) v\(Self.version) \(plan.slideID)", deflateLevel: parameters.deflateLevel,
      horizontalPredictor: true)
    _ = try? FileManager.default.removeItem(atPath: slide)
    try FileManager.default.moveItem(atPath: partial, toPath: slide)
    if !layout.tumours.isEmpty {
      let annotations = layout.tumours.enumerated().map { i, polygon in
        Annotation(name: "Annotation \(i)", group: "Tumor", polygon: polygon, color: ASAPWriter.defaultColor)
      }
      try ASAPWriter.write(annotations, to: root.appendingPathComponent("annotations/\(plan.slideID).xml").path)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try encoder.encode(layout).write(to: root.appendingPathComponent("layouts/\(plan.slideID).json"))
    return record(of: plan, layout: layout)
  }

  /// Generates every slide into `directory` (created if needed) with `threads` slides at a
  /// time, then writes `slides.csv`; returns the table.
  ///
  /// - Parameters:
  ///   - progress: called with (slides done, total) after each slide, from worker threads.
  ///   - isCancelled: polled between slides; when it returns true the work stops and this
  ///     throws `CancellationError` (finished slides stay, the table is not written).
  public func generate(
    into directory: String, threads: Int = 1, progress: (@Sendable (Int, Int) -> Void)? = nil,
    isCancelled: (@Sendable () -> Bool)? = nil
  ) throws -> SlideTable {
    let fm = FileManager.default
    for sub in ["slides", "annotations", "layouts"] {
      try fm.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
    }
    let plans = plans
    let records = try Parallel.map(plans.count, threads: threads, progress: progress, isCancelled: isCancelled) { i in
      try write(plans[i], into: directory)
    }
    let table = SlideTable(
      records: records, extraColumns: Self.extraColumns + (parameters.proximityDesign ? Self.proximityColumns : []))
    try table.write(to: directory + "/slides.csv")
    return table
  }
}

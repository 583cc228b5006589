import Foundation
import Slides

/// What `replicate slides tile` reports of one slide: the slide, the tissue mask, the grid, focus
/// QC and the counts of each stage (`--json` encodes it with snake_case keys).
///
/// Counts: `grid` = columns × rows; `rejected_tissue` = grid tiles below the tissue coverage;
/// `rejected_focus` = tissue tiles whose focus score is below the threshold; `kept` = the rest.
public struct TilingReport: Encodable, Sendable {
  /// The slide's path.
  public var slide: String
  /// OpenSlide's vendor name.
  public var vendor: String
  /// Level-0 size in pixels.
  public var width: Int
  public var height: Int
  /// Pyramid levels.
  public var levels: Int
  /// Level-0 microns per pixel (x), when the slide states it.
  public var micronsPerPixel: Double?
  /// The tiling preset's name.
  public var preset: String
  /// The level tissue was detected at.
  public var segmentationLevel: Int
  /// Tissue area in level-0 px².
  public var tissueArea: Double
  /// The grid.
  public var grid: Grid
  /// Focus QC settings.
  public var focus: Focus
  /// Tiles kept and rejected per stage.
  public var counts: Counts
  /// Every tissue tile, when asked for.
  public var tiles: [Tile]?

  /// The tile grid: read level and size, target patch size and step, and its columns × rows.
  public struct Grid: Encodable, Sendable {
    /// The pyramid level tiles are read at, and their side there in pixels.
    public var level: Int
    public var readSize: Int
    /// Tile side and step in pixels at the target resolution.
    public var patchSize: Int
    public var step: Int
    /// Level-0 pixels per target-resolution pixel.
    public var downsample: Double
    /// Grid size in tiles.
    public var columns: Int
    public var rows: Int

    enum CodingKeys: String, CodingKey {
      case level, readSize = "read_size", patchSize = "patch_size", step, downsample, columns, rows
    }
  }

  /// The focus detector and its threshold (nil: scores without rejecting).
  public struct Focus: Encodable, Sendable {
    /// The detector's name (`laplacian_var`, …).
    public var detector: String
    /// Scores below this are rejected; nil (JSON null) rejects nothing.
    public var threshold: Double?

    /// Encodes `threshold` as null when there is none.
    public func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(detector, forKey: .detector)
      try c.encode(threshold, forKey: .threshold)
    }

    enum CodingKeys: String, CodingKey { case detector, threshold }
  }

  /// Tile counts; `tumour` (tiles at least half tumour) only with annotations.
  public struct Counts: Encodable, Sendable {
    /// Grid tiles (columns × rows), and those with enough tissue.
    public var grid: Int
    public var tissue: Int
    /// Grid tiles below the tissue coverage, and tissue tiles below the focus threshold.
    public var rejectedTissue: Int
    public var rejectedFocus: Int
    /// Tiles kept (what `extract` encodes).
    public var kept: Int
    /// Kept or not, tissue tiles at least half tumour; nil without annotations.
    public var tumour: Int?

    enum CodingKeys: String, CodingKey {
      case grid, tissue, rejectedTissue = "rejected_tissue", rejectedFocus = "rejected_focus", kept, tumour
    }
  }

  /// One tissue tile: level-0 position, tissue coverage, focus score (null when not finite),
  /// whether QC keeps it and, with annotations, its tumour fraction.
  public struct Tile: Encodable, Sendable {
    /// Level-0 top-left corner.
    public var x: Int
    public var y: Int
    /// Tissue fraction of the tile (0…1).
    public var coverage: Double
    /// Focus score (higher = sharper).
    public var focus: Double
    /// Whether focus QC keeps the tile.
    public var kept: Bool
    /// Tumour fraction of the tile; nil without annotations.
    public var tumourFraction: Double?

    /// Encodes a non-finite focus score as null and leaves `tumour_fraction` out when nil.
    public func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(x, forKey: .x)
      try c.encode(y, forKey: .y)
      try c.encode(coverage, forKey: .coverage)
      try c.encode(focus.isFinite ? focus : nil, forKey: .focus)
      try c.encode(kept, forKey: .kept)
      try c.encodeIfPresent(tumourFraction, forKey: .tumourFraction)
    }

    enum CodingKeys: String, CodingKey {
      case x, y, coverage, focus, kept, tumourFraction = "tumour_fraction"
    }
  }

  /// Runs `pipeline`'s tissue, grid and focus stages on the slide at `path` and counts them.
  ///
  /// - Parameters:
  ///   - regions: annotated tumour, to count tumour tiles (≥ 50% tumour) and give each tile's fraction.
  ///   - listTiles: include every tissue tile.
  /// - Returns: the report and the flags of the kept tiles (for `TilingGrid.thumbnail`).
  public static func make(
    slidePath path: String, pipeline: TilePipeline, regions: TumourRegions?, listTiles: Bool
  ) throws -> (report: TilingReport, plan: TilePipeline.Plan, kept: [Bool]) {
    let plan = try pipeline.plan(slidePath: path)
    let (wsi, grid) = (plan.slide, plan.grid)
    let segmentationLevel = try TissueDetection.segmentationLevel(of: wsi, parameters: pipeline.preset.tissue)
    let scores = try pipeline.focusScores(of: plan)
    let kept = scores.map(pipeline.focus.keeps)
    let fractions = regions.map { r in grid.tiles.map { r.fraction(of: grid.rect(of: $0)) } }
    let gridCount = grid.columns * grid.rows
    let keptCount = kept.filter { $0 }.count
    let tiles = grid.tiles.indices.map { i in
      Tile(
        x: grid.tiles[i].x, y: grid.tiles[i].y, coverage: grid.tiles[i].tissueCoverage, focus: scores[i],
        kept: kept[i], tumourFraction: fractions?[i])
    }
    let report = TilingReport(
      slide: wsi.path, vendor: wsi.vendor, width: wsi.levelDimensions[0].width,
      height: wsi.levelDimensions[0].height, levels: wsi.levelCount, micronsPerPixel: wsi.micronsPerPixel?.x,
      preset: pipeline.preset.name, segmentationLevel: segmentationLevel, tissueArea: plan.mask.tissueArea,
      grid: Grid(
        level: grid.readLevel, readSize: grid.readSize, patchSize: pipeline.preset.tiling.patchSize,
        step: pipeline.preset.tiling.stepSize, downsample: grid.targetDownsample, columns: grid.columns,
        rows: grid.rows),
      focus: Focus(detector: pipeline.focus.detector.rawValue, threshold: pipeline.focus.threshold),
      counts: Counts(
        grid: gridCount, tissue: grid.tiles.count, rejectedTissue: gridCount - grid.tiles.count,
        rejectedFocus: grid.tiles.count - keptCount, kept: keptCount,
        tumour: fractions.map { $0.filter { $0 >= 0.5 }.count }),
      tiles: listTiles ? tiles : nil)
    return (report, plan, kept)
  }

  /// Encodes `microns_per_pixel` as null when the slide has none, and leaves `tiles` out
  /// unless listed.
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(slide, forKey: .slide)
    try c.encode(vendor, forKey: .vendor)
    try c.encode(width, forKey: .width)
    try c.encode(height, forKey: .height)
    try c.encode(levels, forKey: .levels)
    try c.encode(micronsPerPixel, forKey: .micronsPerPixel)
    try c.encode(preset, forKey: .preset)
    try c.encode(segmentationLevel, forKey: .segmentationLevel)
    try c.encode(tissueArea, forKey: .tissueArea)
    try c.encode(grid, forKey: .grid)
    try c.encode(focus, forKey: .focus)
    try c.encode(counts, forKey: .counts)
    try c.encodeIfPresent(tiles, forKey: .tiles)
  }

  enum CodingKeys: String, CodingKey {
    case slide, vendor, width, height, levels, micronsPerPixel = "microns_per_pixel", preset
    case segmentationLevel = "segmentation_level", tissueArea = "tissue_area", grid, focus, counts, tiles
  }
}

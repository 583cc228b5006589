import Vision

/// The resolution tiles are cut at.
public enum TileResolution: Equatable, Sendable, CustomStringConvertible {
  /// A pyramid level, read as is (CLAM `patch_level`).
  case level(Int)
  /// An objective magnification such as 20 (×).
  case magnification(Double)
  /// A pixel size in microns, such as 0.5.
  case micronsPerPixel(Double)

  public var description: String {
    switch self {
    case .level(let l): "level \(l)"
    case .magnification(let m): "\(m)×"
    case .micronsPerPixel(let u): "\(u) µm/px"
    }
  }
}

/// Settings of a tile grid (CLAM `patch_level`, `patch_size`, `step_size`, `use_padding`).
public struct TilingParameters: Equatable, Sendable {
  /// Target resolution.
  public var resolution: TileResolution
  /// Side of an output tile in pixels at the target resolution (CLAM `patch_size`).
  public var patchSize: Int
  /// Distance between tile origins in pixels at the target resolution (CLAM `step_size`);
  /// `patchSize − overlap`.
  public var stepSize: Int
  /// Keep a tile when at least this fraction of it is tissue (0 keeps every tile). It stands in
  /// for CLAM's `contour_fn: four_pt` test (a tile is kept when one of four points at ¼ and
  /// ¾ of its width and height lies in tissue).
  public var minTissueCoverage: Double
  /// Keep tiles that hang over the right or bottom edge of the slide (CLAM `use_padding`;
  /// OpenSlide returns transparent pixels there, which read as white).
  public var padding: Bool

  /// Settings with CLAM's defaults for anything not given (level 0, 256 px, no overlap).
  public init(
    resolution: TileResolution = .level(0), patchSize: Int = 256, stepSize: Int? = nil,
    minTissueCoverage: Double = 0.25, padding: Bool = true
  ) {
    self.resolution = resolution
    self.patchSize = patchSize
    self.stepSize = stepSize ?? patchSize
    self.minTissueCoverage = minTissueCoverage
    self.padding = padding
  }

  /// Settings given an overlap between neighbouring tiles instead of a step.
  public init(
    resolution: TileResolution, patchSize: Int, overlap: Int, minTissueCoverage: Double = 0.25,
    padding: Bool = true
  ) {
    self.init(
      resolution: resolution, patchSize: patchSize, stepSize: patchSize - overlap,
      minTissueCoverage: minTissueCoverage, padding: padding)
  }

  /// Problems with the settings, one sentence each naming the setting (empty when valid).
  public var problems: [String] {
    var out: [String] = []
    switch resolution {
    case .level(let l) where l < 0: out.append("level \(l) must be ≥ 0")
    case .magnification(let m) where !(m > 0): out.append("magnification \(m) must be > 0")
    case .micronsPerPixel(let u) where !(u > 0): out.append("microns per pixel \(u) must be > 0")
    default: break
    }
    if patchSize < 1 { out.append("patch size \(patchSize) must be ≥ 1") }
    if stepSize < 1 { out.append("step size \(stepSize) must be ≥ 1 (overlap smaller than the patch)") }
    if !(0...1).contains(minTissueCoverage) { out.append("tissue coverage \(minTissueCoverage) must be in 0…1") }
    return out
  }
}

/// One tile of a `TilingGrid`.
public struct GridTile: Hashable, Sendable {
  /// Column and row in the grid.
  public var column: Int
  public var row: Int
  /// Top-left corner in level-0 pixels (what `WholeSlideImage.readRegion` takes).
  public var x: Int
  public var y: Int
  /// Fraction of the tile covered by tissue (1 when the grid was built without a mask).
  public var tissueCoverage: Double

  /// A tile with every field given.
  public init(column: Int, row: Int, x: Int, y: Int, tissueCoverage: Double) {
    self.column = column
    self.row = row
    self.x = x
    self.y = y
    self.tissueCoverage = tissueCoverage
  }
}

/// The tiles to cut from a slide at a target resolution, with how to read each one.
///
/// Resolution → read plan: the target downsample `d` (level-0 pixels per target pixel) is the
/// level's downsample for `.level`, `M₀ / m` for a magnification `m`, and `u / u₀` for a pixel
/// size `u`, where `M₀` is the slide's objective power (`openslide.objective-power`, Aperio
/// `AppMag`) or, lacking that, `10 / u₀` (the usual convention 0.25 µm/px ≈ 40×, 0.5 ≈ 20×),
/// and `u₀` the level-0 microns per pixel. Tiles are read at the coarsest level whose
/// downsample is ≤ `d` (within 1%, so 4.0002 counts as 4): if it matches `d` within 1%,
/// `readSize = patchSize` and `scale = 1`; otherwise the next finer level is read over a
/// larger region, `readSize = round(patchSize · d / levelDownsample)`, and resized to
/// `patchSize` (`scale = readSize / patchSize`). A target finer than level 0 is an error (no
/// upsampling).
///
/// Grid: origins at `(round(i · s), round(j · s))` level-0 pixels with stride
/// `s = stepSize · scale · levelDownsample`, anchored at the slide origin (CLAM anchors each
/// tissue contour's bounding box instead); a tile covers `readSize · levelDownsample` level-0
/// pixels. Tiles go right then down; with `padding` the last column/row may overhang the slide.
/// Tiles whose tissue coverage is below `minTissueCoverage` are left out.
public struct TilingGrid: Sendable {
  /// The settings used.
  public let parameters: TilingParameters
  /// Level-0 pixels per target pixel.
  public let targetDownsample: Double
  /// Level the tiles are read from.
  public let readLevel: Int
  /// Downsample of `readLevel`.
  public let levelDownsample: Double
  /// Side of the region read at `readLevel`, in that level's pixels.
  public let readSize: Int
  /// `readSize / patchSize`: 1 when no resize is needed, > 1 when a larger region is read and
  /// shrunk.
  public let scale: Double
  /// Side of a tile in level-0 pixels.
  public let tileSizeLevelZero: Double
  /// Distance between tile origins in level-0 pixels.
  public let strideLevelZero: Double
  /// Grid columns and rows before the tissue filter.
  public let columns: Int
  public let rows: Int
  /// Kept tiles, row by row.
  public let tiles: [GridTile]

  /// Plans the grid for `slide`, keeping tiles with enough tissue in `tissue` (nil: keep all).
  public init(
    slide: WholeSlideImage, parameters: TilingParameters, tissue: TissueMask? = nil
  ) throws(SlideError) {
    try self.init(
      levelDimensions: slide.levelDimensions, levelDownsamples: slide.levelDownsamples,
      objectivePower: slide.properties["openslide.objective-power"].flatMap(Double.init),
      micronsPerPixel: slide.micronsPerPixel?.x, parameters: parameters, tissue: tissue, path: slide.path)
  }

  /// Plans the grid from a slide's geometry (no file needed); `path` names it in errors.
  /// - Precondition: `parameters.problems.isEmpty`; level 0 first with downsample 1.
  public init(
    levelDimensions: [(width: Int, height: Int)], levelDownsamples: [Double], objectivePower: Double?,
    micronsPerPixel: Double?, parameters: TilingParameters, tissue: TissueMask? = nil, path: String
  ) throws(SlideError) {
    precondition(parameters.problems.isEmpty, "TilingGrid: \(parameters.problems.joined(separator: "; "))")
    precondition(
      !levelDimensions.isEmpty && levelDimensions.count == levelDownsamples.count,
      "TilingGrid: \(levelDimensions.count) level sizes, \(levelDownsamples.count) downsamples")
    let tolerance = 0.01
    let target: Double
    switch parameters.resolution {
    case .level(let l):
      guard l < levelDimensions.count else {
        throw .levelOutOfRange(path: path, level: l, available: levelDimensions.count)
      }
      target = levelDownsamples[l]
    case .magnification(let m):
      guard let base = objectivePower ?? micronsPerPixel.map({ 10 / $0 }) else {
        throw .unsupportedRequest(
          path: path,
          reason: "tiling at \(m)× needs the objective power or microns per pixel, and the slide has neither")
      }
      target = base / m
    case .micronsPerPixel(let u):
      guard let base = micronsPerPixel else {
        throw .unsupportedRequest(
          path: path, reason: "tiling at \(u) µm/px needs the slide's microns per pixel, which it lacks")
      }
      target = u / base
    }
    guard target >= 1 - tolerance else {
      throw .unsupportedRequest(
        path: path,
        reason: "\(parameters.resolution) is finer than level 0 (downsample \(target)); tiles are never upsampled")
    }
    var level = 0
    for (l, d) in levelDownsamples.enumerated() where d <= target * (1 + tolerance) && d > levelDownsamples[level] {
      level = l
    }
    let levelDown = levelDownsamples[level]
    var ratio = target / levelDown
    if abs(ratio - 1) <= tolerance { ratio = 1 }
    let read = ratio == 1 ? parameters.patchSize : Int((Double(parameters.patchSize) * ratio).rounded())
    let tileSize = Double(read) * levelDown
    let stride = Double(parameters.stepSize) * (Double(read) / Double(parameters.patchSize)) * levelDown
    func count(_ extent: Double) -> Int {
      if parameters.padding { return Int((extent / stride).rounded(.up)) }
      guard extent >= tileSize else { return 0 }
      return Int(((extent - tileSize) / stride).rounded(.down)) + 1
    }
    let columnCount = count(Double(levelDimensions[0].width))
    let rowCount = count(Double(levelDimensions[0].height))
    var kept: [GridTile] = []
    for j in 0..<rowCount {
      let y = Int((Double(j) * stride).rounded())
      for i in 0..<columnCount {
        let x = Int((Double(i) * stride).rounded())
        let rect = SlideRect(x: Double(x), y: Double(y), width: tileSize, height: tileSize)
        let coverage = tissue?.coverage(of: rect) ?? 1
        if coverage >= parameters.minTissueCoverage {
          kept.append(GridTile(column: i, row: j, x: x, y: y, tissueCoverage: coverage))
        }
      }
    }
    self.parameters = parameters
    targetDownsample = target
    readLevel = level
    levelDownsample = levelDown
    readSize = read
    scale = Double(read) / Double(parameters.patchSize)
    tileSizeLevelZero = tileSize
    strideLevelZero = stride
    columns = columnCount
    rows = rowCount
    tiles = kept
  }

  /// The level-0 area a tile covers (for tumour labels: `TumourRegions.fraction(of:)`).
  public func rect(of tile: GridTile) -> SlideRect {
    SlideRect(x: Double(tile.x), y: Double(tile.y), width: tileSizeLevelZero, height: tileSizeLevelZero)
  }

  /// Reads `tile` from `slide` at `readLevel` and resizes it to `patchSize` when `scale ≠ 1`
  /// (area averaging when shrinking; `RGBImage.resized`).
  public func readTile(_ tile: GridTile, from slide: WholeSlideImage) throws -> RGBImage {
    let image = try slide.readRegion(x: tile.x, y: tile.y, level: readLevel, width: readSize, height: readSize)
    guard readSize != parameters.patchSize else { return image }
    return image.resized(width: parameters.patchSize, height: parameters.patchSize)
  }
}

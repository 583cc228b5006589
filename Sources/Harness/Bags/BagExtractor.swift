import Dispatch
import Engine
import Foundation
import Methods
import Slides
import Vision

/// Wall-clock seconds per stage of bag extraction (summed over slides).
public struct StageTimes: Sendable, Equatable {
  /// Reading tiles through OpenSlide (and resizing to the patch size when the grid asks).
  public var read = 0.0
  /// Tissue detection and planning the grid.
  public var tissue = 0.0
  /// Focus scores.
  public var focus = 0.0
  /// Resizing to the encoder input, normalising and encoding.
  public var encode = 0.0
  /// Tiles read (tissue tiles of the grid).
  public var tilesRead = 0
  /// Tiles encoded.
  public var tilesEncoded = 0

  public init() {}

  /// Sum of the stages.
  public var total: Double { read + tissue + focus + encode }

  /// Adds `other` stage by stage.
  public mutating func add(_ other: StageTimes) {
    read += other.read
    tissue += other.tissue
    focus += other.focus
    encode += other.encode
    tilesRead += other.tilesRead
    tilesEncoded += other.tilesEncoded
  }
}

/// Turns slides into feature bags: tissue detection → tiling grid (a `TilingPreset`) → focus QC
/// → encoding of the kept tiles (`TileEncoder`), with instance tumour fractions from annotations.
///
/// The tile stages are `pipeline` (`TilePipeline`), shared with `replicate slides tile`.
/// Tiles are handled in chunks of `chunkSize`: the chunk's tiles are read and focus-scored on
/// `threads` threads (OpenSlide serves one handle to several threads), then encoded in batches
/// of `batchSize` with the engine's own threads (`Parallel`, `BLAS`; set by the caller). Results
/// do not depend on the thread count: tiles land at their grid index and the encoder's
/// arithmetic does not depend on threads.
public struct BagExtractor: Sendable {
  /// Tissue and grid settings.
  public var preset: TilingPreset
  /// Focus QC.
  public var focus: FocusQC
  /// The encoder.
  public var encoder: TileEncoder
  /// Tumour fraction at which an instance is labelled tumour (half the tile, as in
  /// Camelyon16 patch-level work).
  public var instanceThreshold = 0.5
  /// Tiles per encoder call.
  public var batchSize = 32
  /// Threads reading and scoring tiles.
  public var threads = 1
  /// Tiles held in memory at once.
  public var chunkSize = 256

  /// An extractor. - Precondition: `preset.problems.isEmpty`.
  public init(preset: TilingPreset, focus: FocusQC = .standard, encoder: TileEncoder) {
    precondition(preset.problems.isEmpty, "BagExtractor: \(preset.problems.joined(separator: "; "))")
    self.preset = preset
    self.focus = focus
    self.encoder = encoder
  }

  /// The tile stages this extractor runs before encoding.
  public var pipeline: TilePipeline {
    var pipeline = TilePipeline(preset: preset, focus: focus, threads: threads)
    pipeline.chunkSize = chunkSize
    return pipeline
  }

  /// A slide's tissue mask and tile grid.
  public typealias Plan = TilePipeline.Plan

  /// Opens `path`, detects tissue and plans the grid.
  public func plan(slidePath path: String) throws -> Plan { try pipeline.plan(slidePath: path) }

  /// Extracts the bag of one slide.
  ///
  /// - Parameters:
  ///   - slideID: the id recorded in the bag (default: the file stem).
  ///   - annotations: tumour regions for instance labels: `.file(path)` reads ASAP XML (or
  ///     GeoJSON by extension), `.negative` labels every tile 0, nil leaves instance labels out.
  /// - Returns: the bag and the time spent per stage.
  public func extract(
    slidePath: String, slideID: String? = nil, annotations: AnnotationSource? = nil
  ) throws -> (bag: FeatureBag, times: StageTimes) {
    var times = StageTimes()
    let t0 = Date()
    let plan = try plan(slidePath: slidePath)
    times.tissue = Date().timeIntervalSince(t0)
    let regions: TumourRegions?
    switch annotations {
    case .file(let path): regions = try TumourRegions(contentsOf: path)
    case .negative: regions = TumourRegions(tumour: [])
    case nil: regions = nil
    }
    let grid = plan.grid
    var features: [Float] = []
    var coordinates: [(x: Int, y: Int)] = []
    var coverage: [Double] = []
    var scores: [Double] = []
    var fractions: [Double] = []
    var rejectedFocus = 0
    try pipeline.forEachChunk(of: plan, times: &times) { range, images, chunkScores, times in
      var kept: [RGBImage] = []
      for (i, image) in images.enumerated() {
        let tile = grid.tiles[range.lowerBound + i]
        guard focus.keeps(chunkScores[i]) else {
          rejectedFocus += 1
          continue
        }
        kept.append(image)
        coordinates.append((tile.x, tile.y))
        coverage.append(tile.tissueCoverage)
        scores.append(chunkScores[i])
        if let regions { fractions.append(regions.fraction(of: grid.rect(of: tile))) }
      }
      let t = Date()
      var b = 0
      while b < kept.count {
        let batch = Array(kept[b..<min(kept.count, b + batchSize)])
        features += encoder.encode(batch)
        b += batch.count
      }
      times.encode += Date().timeIntervalSince(t)
      times.tilesEncoded += kept.count
    }
    let annotationText: String?
    switch annotations {
    case .file(let path): annotationText = path
    case .negative: annotationText = "none (negative slide)"
    case nil: annotationText = nil
    }
    let gridCount = grid.columns * grid.rows
    let info = BagInfo(
      slideID: slideID ?? ((slidePath as NSString).lastPathComponent as NSString).deletingPathExtension,
      slidePath: slidePath, preset: preset.name, level: grid.readLevel, patchSize: grid.parameters.patchSize,
      readSize: grid.readSize, stepSize: grid.parameters.stepSize, downsample: grid.targetDownsample,
      micronsPerPixel: plan.slide.micronsPerPixel?.x, focusDetector: focus.detector.rawValue,
      focusThreshold: focus.threshold, annotations: annotationText, instanceThreshold: instanceThreshold,
      encoder: encoder.info,
      counts: BagInfo.Counts(
        grid: gridCount, kept: coordinates.count, rejectedTissue: gridCount - grid.tiles.count,
        rejectedFocus: rejectedFocus))
    let bag = FeatureBag(
      info: info, features: features, coordinates: coordinates, tissueCoverage: coverage, focusScores: scores,
      tumourFractions: regions == nil ? nil : fractions,
      instanceLabels: regions == nil ? nil : fractions.map { $0 >= instanceThreshold ? 1 : 0 })
    return (bag, times)
  }

  /// Where instance labels come from.
  public enum AnnotationSource: Sendable, Equatable {
    /// An ASAP XML (or QuPath GeoJSON) file.
    case file(String)
    /// No annotation: a negative slide, every instance 0.
    case negative
  }
}

import Engine
import Foundation
import Slides
import Vision

/// The tile stages of one slide: tissue detection → tiling grid (a `TilingPreset`) → reading
/// and focus QC of every tissue tile.
///
/// `replicate slides tile` counts what these stages keep; `BagExtractor` runs the same stages
/// and then encodes the kept tiles. Tiles are handled in chunks of `chunkSize`, read and
/// focus-scored on `threads` threads (OpenSlide serves one handle to several threads); scores do
/// not depend on the thread count.
public struct TilePipeline: Sendable {
  /// Tissue and grid settings.
  public var preset: TilingPreset
  /// Focus QC.
  public var focus: FocusQC
  /// Threads reading and scoring tiles.
  public var threads = 1
  /// Tiles held in memory at once.
  public var chunkSize = 256

  /// A pipeline with `threads` readers. - Precondition: `preset.problems.isEmpty`.
  public init(preset: TilingPreset, focus: FocusQC = .standard, threads: Int = 1) {
    precondition(preset.problems.isEmpty, "TilePipeline: \(preset.problems.joined(separator: "; "))")
    self.preset = preset
    self.focus = focus
    self.threads = threads
  }

  /// A slide's tissue mask and tile grid.
  public struct Plan: @unchecked Sendable {
    /// The open slide.
    public var slide: WholeSlideImage
    /// Its tissue mask.
    public var mask: TissueMask
    /// The grid of tissue tiles.
    public var grid: TilingGrid
  }

  /// Opens `path`, detects tissue and plans the grid.
  public func plan(slidePath path: String) throws -> Plan {
    let slide = try WholeSlideImage(path: path)
    let mask = try TissueDetection.detect(in: slide, parameters: preset.tissue)
    let grid = try TilingGrid(slide: slide, parameters: preset.tiling, tissue: mask)
    return Plan(slide: slide, mask: mask, grid: grid)
  }

  /// Reads every tile of `plan` and scores its focus, `threads` tiles at a time; `body` gets
  /// each chunk's grid range, tiles and scores in grid order. Read and focus time and the tiles
  /// read are added to `times`.
  /// - Throws: `CancellationError` once an interruption is requested; what `body` throws.
  public func forEachChunk(
    of plan: Plan, times: inout StageTimes, _ body: (Range<Int>, [RGBImage], [Double], inout StageTimes) throws -> Void
  ) throws {
    let tiles = plan.grid.tiles
    var start = 0
    while start < tiles.count {
      if Interruption.requested { throw CancellationError() }
      let range = start..<min(tiles.count, start + chunkSize)
      let t0 = Date()
      let images = try Parallel.map(range.count, threads: threads) { i in
        try plan.grid.readTile(tiles[range.lowerBound + i], from: plan.slide)
      }
      let t1 = Date()
      let scores = Parallel.map(range.count, threads: threads) { i in focus.score(images[i]) }
      times.read += t1.timeIntervalSince(t0)
      times.focus += Date().timeIntervalSince(t1)
      times.tilesRead += range.count
      try body(range, images, scores, &times)
      start = range.upperBound
    }
  }

  /// The focus score of every tile of `plan`'s grid, in grid order.
  public func focusScores(of plan: Plan) throws -> [Double] {
    var scores: [Double] = []
    var times = StageTimes()
    try forEachChunk(of: plan, times: &times) { _, _, chunk, _ in scores += chunk }
    return scores
  }
}

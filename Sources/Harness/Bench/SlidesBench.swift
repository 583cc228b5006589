import Basics
import Engine
import Foundation
import Slides

/// `replicate bench slides`: tiles per second of the bag pipeline (`BagExtractor`: read + tissue
/// mask + focus QC + encode) on the cached synthetic slides, by stage.
///
/// The camelyon16 preset (256-px tiles at 20×, Laplacian-variance focus QC) runs on the first
/// slides of the synthetic-slides test split (generated first if needed; generation is not
/// timed). With N threads, N tiles are read and scored at once and the engine and OpenBLAS use N
/// threads.
public enum SlidesBench {
  /// The median run at one thread count: tiles and wall-clock seconds per stage.
  public struct Row: Codable, Sendable, Equatable {
    /// Threads reading and scoring tiles, and of the engine and OpenBLAS.
    public var threads: Int
    /// Tissue tiles read, and tiles kept and encoded.
    public var tilesRead: Int
    public var tilesEncoded: Int
    /// Seconds per stage, and their sum.
    public var read: Double
    public var tissue: Double
    public var focus: Double
    public var encode: Double
    public var total: Double
    /// Tiles encoded per second of the whole pipeline.
    public var tilesPerSecond: Double
  }

  /// What was measured on: the slides and the encoder.
  public struct Setup: Sendable {
    /// Slides per run.
    public var slideCount: Int
    /// The synthetic-slides dataset id.
    public var datasetID: String
    /// The encoder's one-line summary.
    public var encoder: String
  }

  /// Extracts the first `slides` test slides `repeats` times at each thread count and keeps the
  /// median run (by total time) of each.
  /// - Precondition: `slides`, `repeats` ≥ 1; thread counts in 1...256.
  public static func run(registry: Registry, slides: Int, threads: [Int], repeats: Int, encoder kind: TileEncoderKind)
    throws -> (rows: [Row], setup: Setup)
  {
    let set = try SlideDatasetLoader(cacheDirectory: registry.cacheDirectory()).load(
      try registry.dataset(SyntheticSlides.name), threads: HostFacts.cores)
    let chosen = Array(set.table.records(inSplit: "test").prefix(slides))
    let preset = try TilingPresets.preset(named: "camelyon16", path: TilingPresets.defaultPath(root: registry.root))
    var rows: [Row] = []
    for t in threads {
      Parallel.setThreadCount(t)
      BLAS.setThreadCount(t)
      var extractor = BagExtractor(preset: preset, encoder: try TileEncoder(kind: kind))
      extractor.threads = t
      var runs: [StageTimes] = []
      for _ in 0..<repeats {
        var times = StageTimes()
        for record in chosen {
          let annotations = set.annotationPath(record.slideID).map { BagExtractor.AnnotationSource.file($0) }
          times.add(
            try extractor.extract(
              slidePath: set.slidePath(record.slideID), slideID: record.slideID, annotations: annotations ?? .negative
            ).times)
        }
        runs.append(times)
      }
      runs.sort { $0.total < $1.total }
      let m = runs[runs.count / 2]
      rows.append(
        Row(
          threads: t, tilesRead: m.tilesRead, tilesEncoded: m.tilesEncoded, read: m.read, tissue: m.tissue,
          focus: m.focus, encode: m.encode, total: m.total, tilesPerSecond: Double(m.tilesEncoded) / m.total))
    }
    let setup = Setup(
      slideCount: chosen.count, datasetID: set.datasetId, encoder: try TileEncoder(kind: kind).summary)
    return (rows, setup)
  }
}

/// A named pair of tissue-detection and tiling settings: what turns a slide into a bag of tiles.
///
/// Presets are data, committed in `Datasets/presets/tiling.yaml` (CLAM's `presets/*.csv` plus
/// the resolutions papers used) and read by the Harness layer (`TilingPresets.load`), which
/// owns YAML parsing and the input-error convention; this layer only holds the typed values,
/// so Slides needs no YAML dependency.
public struct TilingPreset: Equatable, Sendable {
  /// Preset name (`clam-default`, `tcga`, `camelyon16`, …).
  public var name: String
  /// Where the values come from (a file of the original code base, a paper section).
  public var source: String
  /// Tissue segmentation settings.
  public var tissue: TissueDetectionParameters
  /// Tile grid settings.
  public var tiling: TilingParameters

  /// A preset with every field given.
  public init(name: String, source: String, tissue: TissueDetectionParameters, tiling: TilingParameters) {
    self.name = name
    self.source = source
    self.tissue = tissue
    self.tiling = tiling
  }

  /// Problems with the settings (empty when valid), each prefixed with the part it concerns.
  public var problems: [String] {
    tissue.problems.map { "segmentation: \($0)" } + tiling.problems.map { "tiles: \($0)" }
  }
}

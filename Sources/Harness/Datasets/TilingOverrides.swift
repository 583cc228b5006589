import Foundation
import Slides

/// Changes to a tiling preset from the command line (`replicate slides tile` and `extract`):
/// at most one resolution (objective magnification, microns per pixel or pyramid level), the
/// patch size (which also sets the step unless the step is given), the step and the minimum
/// tissue coverage. Nil leaves the preset's value.
public struct TilingOverrides: Sendable, Equatable {
  /// The resolution to cut tiles at: an objective magnification, microns per pixel or a level.
  public var magnification: Double?
  public var micronsPerPixel: Double?
  public var level: Int?
  /// Tile side and step in pixels at that resolution.
  public var patchSize: Int?
  public var step: Int?
  /// The least tissue fraction (0…1) of a kept tile.
  public var minCoverage: Double?

  /// Overrides with every field given (nil: keep the preset's).
  public init(
    magnification: Double?, micronsPerPixel: Double?, level: Int?, patchSize: Int?, step: Int?, minCoverage: Double?
  ) {
    self.magnification = magnification
    self.micronsPerPixel = micronsPerPixel
    self.level = level
    self.patchSize = patchSize
    self.step = step
    self.minCoverage = minCoverage
  }

  /// The preset named `name` in the project's presets file with the overrides applied.
  /// - Throws: `InputError` (exit 2) for an unknown preset, several resolutions, or settings
  ///   the preset then rejects (`TilingPreset.problems`).
  public func preset(named name: String, root: URL) throws -> TilingPreset {
    var preset = try TilingPresets.preset(named: name, path: TilingPresets.defaultPath(root: root))
    let resolutions = [magnification != nil, micronsPerPixel != nil, level != nil].filter { $0 }.count
    guard resolutions <= 1 else {
      throw InputError.badArgument(
        option: "--magnification/--mpp/--level", value: "several", expected: "at most one of them")
    }
    if let magnification { preset.tiling.resolution = .magnification(magnification) }
    if let micronsPerPixel { preset.tiling.resolution = .micronsPerPixel(micronsPerPixel) }
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
}

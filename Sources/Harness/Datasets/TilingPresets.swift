import Foundation
import Slides

/// Loads tiling presets (`Datasets/presets/tiling.yaml`) into `TilingPreset` values.
///
/// Loading lives here rather than in Slides because Harness owns YAML and the input-error
/// convention (`YAMLReader`: a missing key, a wrong type or an unknown key is an
/// `InputError.file` naming the file and the dotted key, and the CLI exits 2); Slides keeps
/// only the typed settings and needs no YAML dependency. The file's format and units are
/// described in its header; areas are converted from CLAM's unit (one 512² level-0 patch) to
/// level-0 pixels² here, `TissueDetectionParameters.clamAreaUnit`.
public enum TilingPresets {
  /// The committed presets file under a project root.
  public static func defaultPath(root: URL) -> String {
    root.appendingPathComponent("Datasets/presets/tiling.yaml").path
  }

  /// Every preset in the file, in file order, each validated.
  public static func load(path: String) throws -> [TilingPreset] {
    var file = try YAMLReader.load(path: path)
    var presets = try file.child("presets")
    var out: [TilingPreset] = []
    for name in presets.keys {
      var entry = try presets.child(name)
      out.append(try preset(named: name, from: &entry))
    }
    try presets.finish()
    try file.finish()
    guard !out.isEmpty else { throw InputError.file(path: path, key: "presets", message: "no presets defined") }
    return out
  }

  /// The preset called `name`; an unknown name lists the known ones.
  public static func preset(named name: String, path: String) throws -> TilingPreset {
    let all = try load(path: path)
    guard let found = all.first(where: { $0.name == name }) else {
      throw InputError.file(
        path: path, key: "presets",
        message: "no preset '\(name)'; known presets: \(all.map(\.name).joined(separator: ", "))")
    }
    return found
  }

  static func preset(named name: String, from entry: inout YAMLReader) throws -> TilingPreset {
    let source = try entry.string("source")
    var segmentation = try entry.child("segmentation")
    let tissue = try tissueParameters(&segmentation)
    var tiles = try entry.child("tiles")
    let tiling = try tilingParameters(&tiles)
    try entry.finish()
    let preset = TilingPreset(name: name, source: source, tissue: tissue, tiling: tiling)
    if let problem = preset.problems.first {
      throw InputError.file(path: entry.path, key: entry.keyPath, message: problem)
    }
    return preset
  }

  static func tissueParameters(_ r: inout YAMLReader) throws -> TissueDetectionParameters {
    let levelText = try r.string("level")
    let level: TissueDetectionParameters.Level
    if levelText == "auto" {
      level = .bestFor(downsample: 64)
    } else if let index = Int(levelText) {
      level = .index(index)
    } else {
      throw r.fail("level", "expected auto or a level index, found '\(levelText)'")
    }
    let thresholdText = try r.string("saturation_threshold")
    let threshold: TissueDetectionParameters.Threshold
    if thresholdText == "otsu" {
      threshold = .otsu
    } else if let value = Int(thresholdText) {
      threshold = .fixed(value)
    } else {
      throw r.fail("saturation_threshold", "expected an integer 0…255 or otsu, found '\(thresholdText)'")
    }
    let unit = TissueDetectionParameters.clamAreaUnit
    let parameters = TissueDetectionParameters(
      level: level, threshold: threshold, medianKernel: try r.int("median_kernel"),
      closeKernel: try r.int("close_kernel"), minTissueArea: try r.double("min_tissue_area") * unit,
      maxHoleArea: try r.double("max_hole_area") * unit, maxHoles: try r.int("max_holes"))
    try r.finish()
    return parameters
  }

  static func tilingParameters(_ r: inout YAMLReader) throws -> TilingParameters {
    let level = r.keys.contains("level") ? try r.int("level") : nil
    let magnification = try r.optionalDouble("magnification")
    let mpp = try r.optionalDouble("microns_per_pixel")
    let resolution: TileResolution
    switch (level, magnification, mpp) {
    case (let l?, nil, nil): resolution = .level(l)
    case (nil, let m?, nil): resolution = .magnification(m)
    case (nil, nil, let u?): resolution = .micronsPerPixel(u)
    default:
      throw InputError.file(
        path: r.path, key: r.keyPath, message: "expected exactly one of level, magnification, microns_per_pixel")
    }
    let parameters = TilingParameters(
      resolution: resolution, patchSize: try r.int("patch_size"), stepSize: try r.int("step_size"),
      minTissueCoverage: try r.double("min_tissue_coverage"), padding: try r.optionalBool("padding") ?? true)
    try r.finish()
    return parameters
  }
}

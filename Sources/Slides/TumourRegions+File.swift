import Foundation

extension TumourRegions {
  /// Reads the tumour regions of an annotation file: QuPath GeoJSON when the name ends in
  /// `.geojson` or `.json`, ASAP XML otherwise (CAMELYON16 groups).
  /// - Throws: `AnnotationError` for a file that cannot be read or parsed.
  public init(contentsOf path: String) throws {
    let lowered = path.lowercased()
    let list =
      lowered.hasSuffix(".geojson") || lowered.hasSuffix(".json")
      ? try GeoJSONReader.read(path: path) : try ASAPReader.read(path: path)
    self.init(annotations: list)
  }
}

import Foundation

/// Reads QuPath annotation exports in GeoJSON (RFC 7946) into level-0 polygons with holes.
///
/// Accepted top levels, as QuPath writes them: a `FeatureCollection`, a JSON list of
/// `Feature`s (QuPath 0.2 "Export objects"), or a single `Feature`. Geometries: `Polygon`
/// (first ring outer, the rest holes), `MultiPolygon` (one `Annotation` per part, all with the
/// feature's name and class) and a `GeometryCollection` of those. Anything else (`Point`,
/// `LineString`, a missing or null geometry) is an error naming the key path, e.g.
/// `features[2].geometry.type: expected Polygon or MultiPolygon, found 'Point'`. Positions
/// may carry a third value (z), which is ignored; coordinates are QuPath's full-resolution
/// pixels, i.e. level 0.
///
/// Class (`Annotation.group`): `properties.classification.name` (QuPath ≥ 0.2; a bare string
/// `classification` is accepted too), else `properties.name`, else empty. Name:
/// `properties.name`, else `Annotation <index>`. Colour: `classification.color` `[r, g, b]` or
/// QuPath 0.2's packed `colorRGB`.
public enum GeoJSONReader {
  /// Reads the annotations of the file at `path`, in file order.
  public static func read(path: String) throws(AnnotationError) -> [Annotation] {
    try parse(AnnotationError.contents(of: path), path: path)
  }

  /// Parses GeoJSON bytes; `path` names the source in errors.
  public static func parse(_ data: Data, path: String) throws(AnnotationError) -> [Annotation] {
    let root: Any
    do { root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
      throw .malformed(path: path, format: "JSON", reason: describe(error))
    }
    let reader = Walker(path: path)
    var features: [(value: Any, location: String)] = []
    if let list = root as? [Any] {
      features = list.enumerated().map { ($1, "[\($0)]") }
    } else if let object = root as? [String: Any] {
      let type = try reader.string(object, "type", at: "", expected: "FeatureCollection or Feature")
      switch type {
      case "FeatureCollection":
        guard let list = object["features"] as? [Any] else {
          throw reader.invalid(
            "features", expected: "a list of Features", found: object["features"].map(Walker.kind))
        }
        features = list.enumerated().map { ($1, "features[\($0)]") }
      case "Feature":
        features = [(object, "")]
      default:
        throw reader.invalid("type", expected: "FeatureCollection or Feature", found: "'\(type)'")
      }
    } else {
      throw reader.invalid(
        "top level", expected: "a FeatureCollection, a Feature or a list of Features", found: Walker.kind(root))
    }
    var annotations: [Annotation] = []
    for (index, feature) in features.enumerated() {
      annotations += try reader.feature(feature.value, at: feature.location, index: index)
    }
    return annotations
  }

  /// Foundation's JSON errors carry the position in `NSDebugDescription`.
  static func describe(_ error: Error) -> String {
    let ns = error as NSError
    return (ns.userInfo["NSDebugDescription"] as? String) ?? ns.localizedDescription
  }

  /// Walks parsed JSON, building key paths for errors.
  struct Walker {
    let path: String

    static func join(_ base: String, _ key: String) -> String {
      base.isEmpty ? key : key.hasPrefix("[") ? base + key : "\(base).\(key)"
    }

    /// A short name for the JSON type of `value`.
    static func kind(_ value: Any) -> String {
      switch value {
      case is NSNull: "null"
      case is String: "a string"
      case is [Any]: "a list"
      case is [String: Any]: "an object"
      default: "a number or boolean"
      }
    }

    func invalid(_ location: String, expected: String, found: String?) -> AnnotationError {
      .invalid(path: path, location: location, expected: expected, found: found)
    }

    func string(_ object: [String: Any], _ key: String, at base: String, expected: String) throws(AnnotationError)
      -> String
    {
      let location = Walker.join(base, key)
      guard let value = object[key] else { throw invalid(location, expected: expected, found: nil) }
      guard let text = value as? String else { throw invalid(location, expected: expected, found: Walker.kind(value)) }
      return text
    }

    func feature(_ value: Any, at base: String, index: Int) throws(AnnotationError) -> [Annotation] {
      guard let object = value as? [String: Any] else {
        throw invalid(base.isEmpty ? "top level" : base, expected: "a Feature object", found: Walker.kind(value))
      }
      let type = try string(object, "type", at: base, expected: "Feature")
      guard type == "Feature" else {
        throw invalid(Walker.join(base, "type"), expected: "Feature", found: "'\(type)'")
      }
      let properties = object["properties"] as? [String: Any] ?? [:]
      let classification = properties["classification"]
      let className =
        (classification as? [String: Any])?["name"] as? String ?? classification as? String
        ?? properties["name"] as? String ?? ""
      let name = properties["name"] as? String ?? "Annotation \(index)"
      let color = (classification as? [String: Any]).flatMap(Walker.color)
      let polygons = try geometry(object["geometry"], at: Walker.join(base, "geometry"))
      return polygons.map { Annotation(name: name, group: className, polygon: $0, color: color) }
    }

    /// `#RRGGBB` from `color: [r, g, b]` or a packed (A)RGB `colorRGB` integer.
    static func color(_ classification: [String: Any]) -> String? {
      if let rgb = classification["color"] as? [Any], rgb.count >= 3 {
        let c = rgb.prefix(3).compactMap { ($0 as? NSNumber)?.intValue }
        guard c.count == 3, c.allSatisfy({ (0...255).contains($0) }) else { return nil }
        return "#" + c.map { hex2($0) }.joined()
      }
      if let packed = (classification["colorRGB"] as? NSNumber)?.intValue {
        return "#" + [(packed >> 16) & 0xFF, (packed >> 8) & 0xFF, packed & 0xFF].map { hex2($0) }.joined()
      }
      return nil
    }

    static func hex2(_ v: Int) -> String {
      let digits = Array("0123456789ABCDEF")
      return String([digits[v >> 4], digits[v & 15]])
    }

    func geometry(_ value: Any?, at location: String) throws(AnnotationError) -> [Polygon] {
      guard let value, !(value is NSNull) else {
        throw invalid(location, expected: "a Polygon or MultiPolygon geometry", found: value == nil ? nil : "null")
      }
      guard let object = value as? [String: Any] else {
        throw invalid(location, expected: "a geometry object", found: Walker.kind(value))
      }
      let type = try string(object, "type", at: location, expected: "Polygon or MultiPolygon")
      let coordinates = Walker.join(location, "coordinates")
      switch type {
      case "Polygon":
        return [try polygon(object["coordinates"], at: coordinates)]
      case "MultiPolygon":
        guard let parts = object["coordinates"] as? [Any] else {
          throw invalid(coordinates, expected: "a list of polygons", found: object["coordinates"].map(Walker.kind))
        }
        var out: [Polygon] = []
        for (i, part) in parts.enumerated() { out.append(try polygon(part, at: "\(coordinates)[\(i)]")) }
        return out
      case "GeometryCollection":
        let key = Walker.join(location, "geometries")
        guard let members = object["geometries"] as? [Any] else {
          throw invalid(key, expected: "a list of geometries", found: object["geometries"].map(Walker.kind))
        }
        var out: [Polygon] = []
        for (i, member) in members.enumerated() { out += try geometry(member, at: "\(key)[\(i)]") }
        return out
      default:
        throw invalid(
          Walker.join(location, "type"), expected: "Polygon or MultiPolygon (an area annotation)", found: "'\(type)'")
      }
    }

    /// `[[[x, y], …] (outer), [[x, y], …] (hole), …]`.
    func polygon(_ value: Any?, at location: String) throws(AnnotationError) -> Polygon {
      guard let rings = value as? [Any], !rings.isEmpty else {
        throw invalid(
          location, expected: "a list of linear rings (outer first, then holes)", found: value.map(Walker.kind))
      }
      var parsed: [[SlidePoint]] = []
      for (r, ringValue) in rings.enumerated() {
        let ringLocation = "\(location)[\(r)]"
        guard let positions = ringValue as? [Any] else {
          throw invalid(ringLocation, expected: "a list of [x, y] positions", found: Walker.kind(ringValue))
        }
        var ring: [SlidePoint] = []
        for (i, position) in positions.enumerated() {
          guard let pair = position as? [Any], pair.count >= 2,
            let x = (pair[0] as? NSNumber)?.doubleValue, let y = (pair[1] as? NSNumber)?.doubleValue,
            !(pair[0] is String), !(pair[1] is String), x.isFinite, y.isFinite
          else {
            throw invalid("\(ringLocation)[\(i)]", expected: "an [x, y] pair of numbers", found: Walker.short(position))
          }
          ring.append(SlidePoint(x: x, y: y))
        }
        ring = Polygon.open(ring)
        guard ring.count >= 3 else {
          throw invalid(ringLocation, expected: "a ring with at least 3 distinct positions", found: "\(ring.count)")
        }
        parsed.append(ring)
      }
      return Polygon(outer: parsed[0], holes: Array(parsed.dropFirst()))
    }

    /// A value as compact JSON text (for messages), cut at 40 characters.
    static func short(_ value: Any) -> String {
      guard JSONSerialization.isValidJSONObject([value]),
        let data = try? JSONSerialization.data(withJSONObject: [value]),
        var text = String(data: data, encoding: .utf8)
      else { return kind(value) }
      text = String(text.dropFirst().dropLast())
      return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
  }
}

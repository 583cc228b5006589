/// One annotated region of a slide: a polygon with holes in level-0 coordinates, the group (or
/// class) it belongs to, and its display name.
///
/// Read from ASAP/Camelyon16 XML (`ASAPReader`: `Name`, `PartOfGroup`, `Color`) or QuPath
/// GeoJSON (`GeoJSONReader`: `properties.name`, `properties.classification.name`); written
/// back with `ASAPWriter`. ASAP polygons have no holes; GeoJSON polygons may.
public struct Annotation: Equatable, Sendable {
  /// Display name (`Annotation 3`, a QuPath object name, …).
  public var name: String
  /// Group or class: ASAP `PartOfGroup` (`Tumor`, `_0`, `_2`, `Exclusion`, …) or the QuPath
  /// classification name; empty when the source has none.
  public var group: String
  /// The region.
  public var polygon: Polygon
  /// Display colour as `#RRGGBB`, when the source gives one.
  public var color: String?

  /// An annotation with every field given.
  public init(name: String, group: String, polygon: Polygon, color: String? = nil) {
    self.name = name
    self.group = group
    self.polygon = polygon
    self.color = color
  }
}

/// What an annotation group means for tumour labelling.
public enum AnnotationRole: String, Sendable, CaseIterable {
  /// Tumour: counts towards a tile's tumour area.
  case tumour
  /// A non-tumour region inside tumour (a hole): removed from the tumour area.
  case exclusion
  /// Anything else (stroma, tissue outlines, unclassified): ignored for tumour labels.
  case other
}

/// Maps annotation group names to roles, case-insensitively.
///
/// The default, `camelyon16`, follows the Camelyon16 evaluation (ASAP's `AnnotationToMask` with
/// `label_map = {'_0': 1, '_1': 1, '_2': 0}` painted in the order `_0, _1, _2`): groups `_0`
/// and `_1` are tumour, and `_2` is painted last as non-tumour, so it is a hole cut out of the
/// tumour around it. Released Camelyon16 XML also uses `Tumor` and `Exclusion` for the same two
/// roles, and Camelyon17 uses `metastases`; those are included. Every other group (QuPath's
/// `Stroma`, `Region*`, unclassified, …) is `other`.
public struct AnnotationGroups: Equatable, Sendable {
  /// Lower-cased names of tumour groups.
  public var tumour: Set<String>
  /// Lower-cased names of exclusion (non-tumour-inside-tumour) groups.
  public var exclusion: Set<String>

  /// A mapping from lists of group names (any case).
  /// - Precondition: no name is in both lists.
  public init(tumour: [String], exclusion: [String]) {
    self.tumour = Set(tumour.map { $0.lowercased() })
    self.exclusion = Set(exclusion.map { $0.lowercased() })
    precondition(
      self.tumour.isDisjoint(with: self.exclusion),
      "AnnotationGroups: \(self.tumour.intersection(self.exclusion).sorted()) are both tumour and exclusion")
  }

  /// Camelyon16/17 and QuPath defaults: tumour `Tumor`/`Tumour`/`_0`/`_1`/`metastases`,
  /// exclusion `_2`/`Exclusion`.
  public static let camelyon16 = AnnotationGroups(
    tumour: ["Tumor", "Tumour", "_0", "_1", "metastases"], exclusion: ["_2", "Exclusion"])

  /// The role of `group` (case-insensitive); `other` when neither list names it.
  public func role(of group: String) -> AnnotationRole {
    let key = group.lowercased()
    if tumour.contains(key) { return .tumour }
    if exclusion.contains(key) { return .exclusion }
    return .other
  }
}

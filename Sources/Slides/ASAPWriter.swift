@preconcurrency import CLibXML2

/// Writes annotations as ASAP / Camelyon16 XML through libxml2, in the layout `ASAPReader` and
/// ASAP itself read (see `ASAPReader` for the format).
///
/// Each annotation becomes one `<Annotation Type="Polygon">` with its vertices in order
/// (`Order` = 0, 1, …; coordinates printed with Swift's shortest round-tripping `Double`
/// text, so a write–read round trip is exact). ASAP has no holes: each hole of a polygon is
/// written as its own annotation named `<name> hole <k>` in `holeGroup` (default `_2`, the
/// Camelyon16 non-tumour-inside-tumour group), which `TumourRegions` turns back into a hole.
/// `<AnnotationGroups>` lists every group used, in first-use order, as ASAP does. Attribute
/// values are escaped by libxml2.
public enum ASAPWriter {
  /// ASAP's default annotation colour (yellow).
  public static let defaultColor = "#F4FA58"

  /// Writes `annotations` to `path` (UTF-8, indented).
  public static func write(
    _ annotations: [Annotation], to path: String, holeGroup: String = "_2"
  ) throws(AnnotationError) {
    let document = try makeDocument(annotations, holeGroup: holeGroup, path: path)
    defer { xmlFreeDoc(document) }
    guard xmlSaveFormatFileEnc(path, document, "UTF-8", 1) >= 0 else {
      throw .cannotWrite(path: path, reason: "libxml2 could not write the file (missing folder or no permission?)")
    }
  }

  /// The XML text `write` would produce.
  public static func xml(_ annotations: [Annotation], holeGroup: String = "_2") throws(AnnotationError) -> String {
    let document = try makeDocument(annotations, holeGroup: holeGroup, path: "<memory>")
    defer { xmlFreeDoc(document) }
    var buffer: UnsafeMutablePointer<xmlChar>?
    var length: Int32 = 0
    xmlDocDumpFormatMemoryEnc(document, &buffer, &length, "UTF-8", 1)
    guard let buffer else { return "" }
    defer { xmlFree(buffer) }
    return String(cString: buffer)
  }

  static func makeDocument(
    _ annotations: [Annotation], holeGroup: String, path: String
  ) throws(AnnotationError) -> xmlDocPtr {
    LibXML2.initialise()
    guard let document = xmlNewDoc(text("1.0")) else {
      throw .cannotWrite(path: path, reason: "libxml2 could not create a document")
    }
    let root = xmlNewNode(nil, text("ASAP_Annotations"))
    xmlDocSetRootElement(document, root)
    let list = xmlNewChild(root, nil, text("Annotations"), nil)
    var groups: [(name: String, color: String)] = []
    func addGroup(_ name: String, _ color: String) {
      if !groups.contains(where: { $0.name == name }) { groups.append((name, color)) }
    }
    func addRing(_ ring: [SlidePoint], name: String, group: String, color: String) {
      let element = xmlNewChild(list, nil, text("Annotation"), nil)
      set(element, "Name", name)
      set(element, "Type", "Polygon")
      set(element, "PartOfGroup", group)
      set(element, "Color", color)
      let coordinates = xmlNewChild(element, nil, text("Coordinates"), nil)
      for (order, p) in ring.enumerated() {
        let c = xmlNewChild(coordinates, nil, text("Coordinate"), nil)
        set(c, "Order", String(order))
        set(c, "X", String(p.x))
        set(c, "Y", String(p.y))
      }
      addGroup(group, color)
    }
    for annotation in annotations {
      let color = annotation.color ?? defaultColor
      addRing(annotation.polygon.outer, name: annotation.name, group: annotation.group, color: color)
      for (k, hole) in annotation.polygon.holes.enumerated() {
        addRing(hole, name: "\(annotation.name) hole \(k)", group: holeGroup, color: color)
      }
    }
    let groupList = xmlNewChild(root, nil, text("AnnotationGroups"), nil)
    for group in groups {
      let element = xmlNewChild(groupList, nil, text("Group"), nil)
      set(element, "Name", group.name)
      set(element, "PartOfGroup", "None")
      set(element, "Color", group.color)
      xmlNewChild(element, nil, text("Attributes"), nil)
    }
    return document
  }

  /// A NUL-terminated `xmlChar` copy of `s` (libxml2 copies names and values it is given).
  private static func text(_ s: String) -> [xmlChar] { Array(s.utf8) + [0] }

  private static func set(_ node: xmlNodePtr?, _ key: String, _ value: String) {
    xmlNewProp(node, text(key), text(value))
  }
}

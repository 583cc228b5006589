@preconcurrency import CLibXML2
import Foundation

/// Reads ASAP / Camelyon16 annotation XML through libxml2.
///
/// The format (ASAP's `XmlRepository`, used for the Camelyon16/17 ground truth):
/// ```
/// <ASAP_Annotations>
///   <Annotations>
///     <Annotation Name="Annotation 0" Type="Polygon" PartOfGroup="_0" Color="#F4FA58">
///       <Coordinates>
///         <Coordinate Order="0" X="62264.5" Y="99145.9" />   <!-- level-0 pixels -->
///         …
///   <AnnotationGroups> <Group Name="_0" PartOfGroup="None" Color="#FF0000"/> … (not needed)
/// ```
/// Rules: `Type` and `PartOfGroup` are required on every `<Annotation>`; `Name` defaults to
/// `Annotation <index>`. `Type` must be an area: `Polygon`, `Spline` (read as the polygon through
/// its control points, as CLAM and most Camelyon16 pipelines do) or `Rectangle`; `Dot`,
/// `PointSet` and anything else are errors. Every `<Coordinate>` needs numeric `X` and `Y`; if
/// `Order` is present it must be an integer and vertices are sorted by it, else document order
/// is used. A polygon needs at least 3 vertices. Each violation throws
/// `AnnotationError.invalid` naming the file, the line and the element or attribute.
///
/// ASAP polygons have no holes: non-tumour regions inside tumour are separate annotations in
/// their own group (`_2`, `Exclusion`), which `AnnotationGroups` and `TumourRegions` turn into
/// holes.
public enum ASAPReader {
  /// Reads the annotations of the file at `path`, in document order.
  public static func read(path: String) throws(AnnotationError) -> [Annotation] {
    try parse(AnnotationError.contents(of: path), path: path)
  }

  /// Parses XML bytes; `path` names the source in errors.
  public static func parse(_ data: Data, path: String) throws(AnnotationError) -> [Annotation] {
    LibXML2.initialise()
    guard let context = xmlNewParserCtxt() else {
      throw .cannotRead(path: path, reason: "libxml2 could not create a parser")
    }
    defer { xmlFreeParserCtxt(context) }
    let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
    let document = data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> xmlDocPtr? in
      guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return nil }
      return xmlCtxtReadMemory(context, base, Int32(bytes.count), path, nil, options)
    }
    guard let document else {
      throw .malformed(path: path, format: "XML", reason: lastError(context) ?? "empty document")
    }
    defer { xmlFreeDoc(document) }
    guard let root = xmlDocGetRootElement(document) else {
      throw .malformed(path: path, format: "XML", reason: "no root element")
    }
    let scope = Scope(path: path)
    guard name(of: root) == "ASAP_Annotations" else {
      throw scope.invalid(root, "root element", expected: "<ASAP_Annotations>", found: "<\(name(of: root))>")
    }
    guard let list = elements(of: root).first(where: { name(of: $0) == "Annotations" }) else {
      throw scope.invalid(root, "<ASAP_Annotations>", expected: "an <Annotations> child", found: nil)
    }
    var annotations: [Annotation] = []
    for (index, element) in elements(of: list).enumerated() where name(of: element) == "Annotation" {
      annotations.append(try scope.annotation(element, index: index))
    }
    return annotations
  }

  /// The parser's last error as `line N: message`.
  static func lastError(_ context: xmlParserCtxtPtr) -> String? {
    guard let error = xmlCtxtGetLastError(UnsafeMutableRawPointer(context)), let message = error.pointee.message else {
      return nil
    }
    let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    return error.pointee.line > 0 ? "line \(error.pointee.line): \(text)" : text
  }

  /// The element children of `node`.
  static func elements(of node: xmlNodePtr) -> [xmlNodePtr] {
    var out: [xmlNodePtr] = []
    var child = node.pointee.children
    while let c = child {
      if c.pointee.type == XML_ELEMENT_NODE { out.append(c) }
      child = c.pointee.next
    }
    return out
  }

  /// An element's tag name.
  static func name(of node: xmlNodePtr) -> String {
    guard let n = node.pointee.name else { return "" }
    return String(cString: n)
  }

  /// An attribute's value, or nil when absent.
  static func attribute(_ node: xmlNodePtr, _ key: String) -> String? {
    let value = key.withCString { cKey in
      cKey.withMemoryRebound(to: xmlChar.self, capacity: key.utf8.count + 1) { xmlGetProp(node, $0) }
    }
    guard let value else { return nil }
    defer { xmlFree(value) }
    return String(cString: value)
  }

  /// Error construction and per-element checks, bound to one file.
  struct Scope {
    let path: String

    func invalid(_ node: xmlNodePtr, _ what: String, expected: String, found: String?) -> AnnotationError {
      .invalid(path: path, location: "line \(xmlGetLineNo(node)), \(what)", expected: expected, found: found)
    }

    func required(_ node: xmlNodePtr, _ key: String, expected: String) throws(AnnotationError) -> String {
      guard let value = attribute(node, key) else {
        throw invalid(node, "<\(name(of: node))> attribute '\(key)'", expected: expected, found: nil)
      }
      return value
    }

    func number(_ node: xmlNodePtr, _ key: String) throws(AnnotationError) -> Double {
      let text = try required(node, key, expected: "a number")
      guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
        throw invalid(node, "<\(name(of: node))> attribute '\(key)'", expected: "a number", found: "'\(text)'")
      }
      return value
    }

    func annotation(_ element: xmlNodePtr, index: Int) throws(AnnotationError) -> Annotation {
      let type = try required(element, "Type", expected: "Polygon, Spline or Rectangle")
      guard ["polygon", "spline", "rectangle"].contains(type.lowercased()) else {
        throw invalid(
          element, "<Annotation> attribute 'Type'", expected: "an area type (Polygon, Spline or Rectangle)",
          found: "'\(type)'")
      }
      let group = try required(element, "PartOfGroup", expected: "a group name (Tumor, _0, _1, _2, Exclusion, …)")
      let title = attribute(element, "Name") ?? "Annotation \(index)"
      guard let list = elements(of: element).first(where: { name(of: $0) == "Coordinates" }) else {
        throw invalid(element, "<Annotation Name=\"\(title)\">", expected: "a <Coordinates> child", found: nil)
      }
      var vertices: [(order: Int, position: Int, point: SlidePoint)] = []
      for (position, coordinate) in elements(of: list).enumerated() where name(of: coordinate) == "Coordinate" {
        let x = try number(coordinate, "X")
        let y = try number(coordinate, "Y")
        var order = position
        if let text = attribute(coordinate, "Order") {
          guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw invalid(coordinate, "<Coordinate> attribute 'Order'", expected: "an integer", found: "'\(text)'")
          }
          order = value
        }
        vertices.append((order, position, SlidePoint(x: x, y: y)))
      }
      vertices.sort { ($0.order, $0.position) < ($1.order, $1.position) }
      let ring = Polygon.open(vertices.map(\.point))
      guard ring.count >= 3 else {
        throw invalid(
          list, "<Coordinates> of annotation '\(title)'", expected: "at least 3 <Coordinate> vertices",
          found: "\(ring.count)")
      }
      return Annotation(name: title, group: group, polygon: Polygon(outer: ring), color: attribute(element, "Color"))
    }
  }
}

/// libxml2's global set-up, run once: `xmlInitParser` is not safe to leave to the first parse
/// when several threads parse at once (libxml2 manual, "Thread safety").
enum LibXML2 {
  private static let ready: Void = xmlInitParser()

  static func initialise() { _ = ready }
}

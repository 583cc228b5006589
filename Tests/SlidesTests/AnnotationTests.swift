import Foundation
import Slides
import Testing

func temporaryFile(_ name: String, _ text: String? = nil) throws -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
  if let text { try text.write(toFile: path, atomically: true, encoding: .utf8) }
  return path
}

/// A Camelyon16-style file: a tumour polygon in `_0`, a second in `_1`, a non-tumour region
/// inside the first in `_2`, and a `Stroma` outline that labels ignore.
let camelyonXML = """
  <?xml version="1.0"?>
  <ASAP_Annotations>
  \t<Annotations>
  \t\t<Annotation Name="Annotation 0" Type="Polygon" PartOfGroup="_0" Color="#F4FA58">
  \t\t\t<Coordinates>
  \t\t\t\t<Coordinate Order="0" X="1000" Y="1000" />
  \t\t\t\t<Coordinate Order="2" X="2000" Y="2000" />
  \t\t\t\t<Coordinate Order="1" X="2000" Y="1000" />
  \t\t\t\t<Coordinate Order="3" X="1000" Y="2000" />
  \t\t\t</Coordinates>
  \t\t</Annotation>
  \t\t<Annotation Name="Annotation 1" Type="Spline" PartOfGroup="_1" Color="#F4FA58">
  \t\t\t<Coordinates>
  \t\t\t\t<Coordinate Order="0" X="3000.5" Y="3000" />
  \t\t\t\t<Coordinate Order="1" X="3100.5" Y="3000" />
  \t\t\t\t<Coordinate Order="2" X="3100.5" Y="3.1e3" />
  \t\t\t</Coordinates>
  \t\t</Annotation>
  \t\t<Annotation Name="Annotation 2" Type="Polygon" PartOfGroup="_2" Color="#64FE2E">
  \t\t\t<Coordinates>
  \t\t\t\t<Coordinate Order="0" X="1200" Y="1200" />
  \t\t\t\t<Coordinate Order="1" X="1400" Y="1200" />
  \t\t\t\t<Coordinate Order="2" X="1400" Y="1400" />
  \t\t\t\t<Coordinate Order="3" X="1200" Y="1400" />
  \t\t\t</Coordinates>
  \t\t</Annotation>
  \t\t<Annotation Name="outline" Type="Polygon" PartOfGroup="Stroma">
  \t\t\t<Coordinates>
  \t\t\t\t<Coordinate Order="0" X="0" Y="0" /><Coordinate Order="1" X="9000" Y="0" />
  \t\t\t\t<Coordinate Order="2" X="9000" Y="9000" />
  \t\t\t</Coordinates>
  \t\t</Annotation>
  \t</Annotations>
  \t<AnnotationGroups>
  \t\t<Group Name="_0" PartOfGroup="None" Color="#FF0000"><Attributes /></Group>
  \t</AnnotationGroups>
  </ASAP_Annotations>
  """

@Suite struct AnnotationTests {
  @Test func readsCamelyonXMLAndLabelsTiles() throws {
    let path = try temporaryFile("tumor_001.xml", camelyonXML)
    let annotations = try ASAPReader.read(path: path)
    #expect(annotations.map(\.group) == ["_0", "_1", "_2", "Stroma"])
    #expect(annotations[0].name == "Annotation 0")
    #expect(annotations[0].color == "#F4FA58")
    // Vertices follow `Order`, not document order.
    #expect(annotations[0].polygon.outer == [p(1000, 1000), p(2000, 1000), p(2000, 2000), p(1000, 2000)])
    #expect(annotations[1].polygon.outer[2] == p(3100.5, 3100))
    let groups = AnnotationGroups.camelyon16
    #expect(annotations.map { groups.role(of: $0.group) } == [.tumour, .tumour, .exclusion, .other])
    #expect(groups.role(of: "TUMOR") == .tumour && groups.role(of: "exclusion") == .exclusion)

    let regions = TumourRegions(annotations: annotations)
    #expect(regions.polygons.count == 2)
    #expect(regions.polygons[0].holes.count == 1)  // the _2 region became a hole of _0
    #expect(regions.unattachedExclusions.isEmpty)
    #expect(regions.area == 1_000_000 - 40_000 + 5_000)
    // Tiles: inside tumour, over the exclusion, straddling the tumour border, outside.
    #expect(regions.fraction(of: rect(1500, 1500, 256, 256)) == 1)
    #expect(regions.fraction(of: rect(1200, 1200, 200, 200)) == 0)
    #expect(regions.fraction(of: rect(1100, 1100, 200, 200)) == 1 - 0.25)
    #expect(regions.fraction(of: rect(1900, 1500, 200, 100)) == 0.5)
    #expect(regions.fraction(of: rect(5000, 5000, 256, 256)) == 0)
    #expect(regions.isTumour(rect(1900, 1500, 200, 100), threshold: 0.5))
    #expect(!regions.isTumour(rect(1950, 1500, 200, 100), threshold: 0.5))
  }

  @Test func exclusionOutsideTumourRemovesNothing() {
    let tumour = Polygon(rect(0, 0, 100, 100))
    let outside = Polygon(rect(500, 500, 10, 10))
    let regions = TumourRegions(tumour: [tumour], exclusions: [outside])
    #expect(regions.unattachedExclusions == [outside])
    #expect(regions.tumourArea(in: rect(-50, -50, 1000, 1000)) == 10_000)
  }

  @Test func asapRoundTripIsExact() throws {
    let annotations = [
      Annotation(
        name: "tumour & \"friends\" <1>", group: "Tumor",
        polygon: Polygon(outer: [p(0.1, 0.2), p(1e6 + 0.123456789, 3), p(77.25, 1234.5)]), color: "#FF0000"),
      Annotation(name: "B", group: "_2", polygon: Polygon(rect(10, 20, 30, 40))),
    ]
    let path = try temporaryFile("round-trip.xml")
    try ASAPWriter.write(annotations, to: path)
    let back = try ASAPReader.read(path: path)
    #expect(back.count == 2)
    #expect(back[0] == annotations[0])
    #expect(back[1].polygon == annotations[1].polygon)
    #expect(back[1].group == "_2" && back[1].color == ASAPWriter.defaultColor)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("<AnnotationGroups>"))
    #expect(text.contains("&quot;friends&quot; &lt;1&gt;"))
    // Holes are written as separate annotations in the hole group and come back as holes.
    let withHole = [Annotation(name: "T", group: "Tumor", polygon: squareWithHole)]
    let holePath = try temporaryFile("holes.xml")
    try ASAPWriter.write(withHole, to: holePath)
    let read = try ASAPReader.read(path: holePath)
    #expect(read.map(\.group) == ["Tumor", "_2"])
    #expect(read[1].name == "T hole 0")
    #expect(TumourRegions(annotations: read).area == 84)
  }

  @Test func badXMLIsATypedErrorNamingTheFile() throws {
    func failure(_ name: String, _ text: String) throws -> AnnotationError? {
      let path = try temporaryFile(name, text)
      let error = #expect(throws: AnnotationError.self) { try ASAPReader.read(path: path) }
      #expect(error?.description.contains(path) == true, "\(String(describing: error))")
      return error
    }
    let truncated = try failure("truncated.xml", String(camelyonXML.prefix(400)))
    #expect(truncated?.description.contains("not well-formed XML") == true)
    let missingX = try failure(
      "missing-x.xml", camelyonXML.replacingOccurrences(of: "X=\"2000\" Y=\"2000\"", with: "Y=\"2000\""))
    #expect(missingX?.description.contains("<Coordinate> attribute 'X': missing; expected a number") == true)
    #expect(missingX?.description.contains("line 7") == true)
    let nonNumeric = try failure(
      "nan.xml", camelyonXML.replacingOccurrences(of: "X=\"1400\" Y=\"1200\"", with: "X=\"14OO\" Y=\"1200\""))
    #expect(nonNumeric?.description.contains("attribute 'X': expected a number, found '14OO'") == true)
    let noGroup = try failure("no-group.xml", camelyonXML.replacingOccurrences(of: " PartOfGroup=\"_1\"", with: ""))
    #expect(noGroup?.description.contains("'PartOfGroup': missing") == true)
    let dot = try failure("dot.xml", camelyonXML.replacingOccurrences(of: "Type=\"Spline\"", with: "Type=\"Dot\""))
    #expect(dot?.description.contains("found 'Dot'") == true)
    let wrongRoot = try failure("root.xml", "<Annotations/>")
    #expect(wrongRoot?.description.contains("expected <ASAP_Annotations>") == true)
    let missing = #expect(throws: AnnotationError.self) { try ASAPReader.read(path: "/nonexistent/x.xml") }
    #expect(missing == .cannotRead(path: "/nonexistent/x.xml", reason: "no such file"))
  }

  @Test func readsQuPathGeoJSON() throws {
    let collection = """
      {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a1",
         "geometry": {"type": "Polygon", "coordinates": [
           [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
           [[3, 3], [3, 7], [7, 7], [7, 3], [3, 3]]]},
         "properties": {"objectType": "annotation", "name": "big",
                        "classification": {"name": "Tumor", "color": [200, 0, 16]}}},
        {"type": "Feature",
         "geometry": {"type": "MultiPolygon", "coordinates": [
           [[[20, 0], [22, 0], [22, 2], [20, 0]]],
           [[[30, 0, 1.5], [32, 0, 1.5], [32, 2, 1.5], [30, 0, 1.5]]]]},
         "properties": {"classification": {"name": "Stroma", "colorRGB": -16711936}}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1]]]},
         "properties": {"name": "Exclusion"}}
      ]}
      """
    let path = try temporaryFile("qupath.geojson", collection)
    let annotations = try GeoJSONReader.read(path: path)
    #expect(annotations.count == 4)
    #expect(annotations[0].polygon == squareWithHole)
    #expect(annotations[0].polygon.area == 84)
    #expect(annotations[0].name == "big" && annotations[0].group == "Tumor" && annotations[0].color == "#C80010")
    #expect(annotations[1].group == "Stroma" && annotations[2].group == "Stroma")
    #expect(annotations[1].color == "#00FF00")
    #expect(annotations[2].polygon.outer == [p(30, 0), p(32, 0), p(32, 2)])  // z dropped
    #expect(annotations[3].group == "Exclusion" && annotations[3].name == "Exclusion")
    #expect(annotations[1].name == "Annotation 1")

    // A list of features and a single feature.
    let list = try GeoJSONReader.parse(
      Data(
        "[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[0,4]]]},\"properties\":{\"classification\":\"Tumor\"}}]"
          .utf8),
      path: "list.json")
    #expect(list.count == 1 && list[0].group == "Tumor" && list[0].polygon.area == 8)
    let single = try GeoJSONReader.parse(
      Data("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[0,4]]]}}".utf8),
      path: "one.json")
    #expect(single.count == 1 && single[0].group == "")
  }

  @Test func badGeoJSONIsATypedErrorNamingFileAndKey() throws {
    let point = """
      {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1]]]}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5, 5]}}]}
      """
    let path = try temporaryFile("points.geojson", point)
    let error = #expect(throws: AnnotationError.self) { try GeoJSONReader.read(path: path) }
    let message = error?.description ?? ""
    #expect(message.contains(path))
    #expect(message.contains("features[1].geometry.type"))
    #expect(message.contains("expected Polygon or MultiPolygon"))
    #expect(message.contains("found 'Point'"))

    func failure(_ text: String) -> String {
      let error = #expect(throws: AnnotationError.self) { try GeoJSONReader.parse(Data(text.utf8), path: "bad.json") }
      return error?.description ?? ""
    }
    #expect(failure("{\"type\": \"FeatureCollection\", \"features\": [").contains("bad.json: not well-formed JSON"))
    #expect(
      failure("{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[0,0],[1,1]]}}")
        .contains("geometry.type: expected Polygon or MultiPolygon (an area annotation), found 'LineString'"))
    #expect(
      failure("{\"type\":\"Feature\",\"geometry\":null}").contains(
        "geometry: expected a Polygon or MultiPolygon geometry, found null"))
    #expect(
      failure("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,\"a\"],[1,1]]]}}")
        .contains("geometry.coordinates[0][1]: expected an [x, y] pair of numbers, found [1,\"a\"]"))
    #expect(
      failure("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[0,0]]]}}")
        .contains("expected a ring with at least 3 distinct positions, found 2"))
    #expect(
      failure("{\"type\":\"Topology\"}").contains("type: expected FeatureCollection or Feature, found 'Topology'"))
    #expect(failure("42").contains("top level"))
  }
}

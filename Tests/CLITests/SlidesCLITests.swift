import Foundation
import Testing
import _TestSupport

/// A sandbox with a 2-slide `tiny-slides` manifest, generated into `set/` once.
let slidesSandbox: (box: Sandbox, set: String, generate: CommandResult)? = {
  guard let box = try? Sandbox() else { return nil }
  let manifest = """
    id: tiny-slides
    version: 1
    kind: synthetic
    generator: synthetic-slides
    classes: [normal, tumour]
    parameters: {minSide: 4096, maxSide: 4096, blurredSlideFraction: 1, macroFraction: 1}
    splits:
      train: {seed: 4, perClass: 1}
    """
  try? manifest.write(toFile: box.path("Datasets/tiny-slides.yaml"), atomically: true, encoding: .utf8)
  let set = box.path("set")
  guard let result = try? box.run(["slides", "generate", "--dataset", "tiny-slides", "--out", set, "--threads", "2"])
  else { return nil }
  return (box, set, result)
}()

@Suite(.serialized) struct SlidesCLITests {
  @Test func generateTileExtractShow() throws {
    let (box, set, generate) = try #require(slidesSandbox)
    #expect(generate.status == 0, "\(generate.stderr)")
    #expect(generate.stdout.contains("2 slides (1 with tumour"))
    let csv = try String(contentsOfFile: set + "/slides.csv", encoding: .utf8)
    let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    let positive = try #require(rows.first { $0[1] == "1" }).first.map(String.init) ?? ""
    let slide = set + "/slides/\(positive).tiff"

    let tile = try box.run(["slides", "tile", slide, "--json", "--annotations", set + "/annotations/\(positive).xml",
      "--thumbnail", box.path("thumb.png")])
    #expect(tile.status == 0, "\(tile.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(tile.stdout.utf8)) as? [String: Any])
    let counts = try #require(json["counts"] as? [String: Int])
    let grid = try #require(json["grid"] as? [String: Any])
    #expect(json["width"] as? Int == 4096 && json["levels"] as? Int == 5)
    #expect(json["microns_per_pixel"] as? Double == 0.5)
    #expect(grid["columns"] as? Int == 16 && grid["level"] as? Int == 0)
    #expect(counts["grid"] == 256)
    #expect((counts["kept"] ?? 0) + (counts["rejected_tissue"] ?? 0) + (counts["rejected_focus"] ?? 0) == 256)
    #expect((counts["kept"] ?? 0) > 10 && (counts["tumour"] ?? 0) >= 1)
    #expect(FileManager.default.fileExists(atPath: box.path("thumb.png")))
    let text = try box.run(["slides", "tile", slide, "--preset", "clam-default", "--patch-size", "512"])
    #expect(text.status == 0 && text.stdout.contains("grid 8×8 = 64"), "\(text.stdout)\(text.stderr)")

    let bags = box.path("bags")
    let extract = try box.run(["slides", "extract", set, "--out", bags, "--threads", "2"])
    #expect(extract.status == 0, "\(extract.stderr)")
    #expect(extract.stdout.contains("2 bags"))
    let table = try String(contentsOfFile: bags + "/bags.csv", encoding: .utf8)
    #expect(table.hasPrefix("slide_id,bag,instances,feature_dimension,grid,kept,rejected_tissue,rejected_focus"))
    #expect(FileManager.default.fileExists(atPath: bags + "/slides.csv"))
    let show = try box.run(["slides", "show", bags + "/\(positive).safetensors"])
    #expect(show.status == 0 && show.stdout.contains("\(positive):") && show.stdout.contains("× 128 features"))
    let store = try box.run(["slides", "show", bags])
    #expect(store.status == 0 && store.stdout.contains("2 bags") && store.stdout.contains("train: 2 bags, 1 with tumour"))
  }

  @Test func badInputsExitTwoWithOneMessage() throws {
    let (box, set, _) = try #require(slidesSandbox)
    let corrupt = box.path("corrupt.tiff")
    try Data("II*\u{0}not really a tiff".utf8).write(to: URL(fileURLWithPath: corrupt))
    let slides = try FileManager.default.contentsOfDirectory(atPath: set + "/slides").sorted()
    let good = set + "/slides/" + (slides.first ?? "")
    let data = try Data(contentsOf: URL(fileURLWithPath: good))
    let truncated = box.path("truncated.tiff")
    try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: truncated))
    let badXML = box.path("bad.xml")
    try "<ASAP_Annotations><Annotations><Annotation Type=\"Polygon\">".write(
      toFile: badXML, atomically: true, encoding: .utf8)
    let bagCopy = box.path("broken.safetensors")
    try Data("12345678garbage".utf8).write(to: URL(fileURLWithPath: bagCopy))
    let cases: [([String], String)] = [
      (["slides", "tile", box.path("missing.svs")], "missing.svs"),
      (["slides", "tile", corrupt], "corrupt.tiff"),
      (["slides", "tile", truncated], "truncated.tiff"),
      (["slides", "tile", good, "--preset", "nope"], "no preset 'nope'"),
      (["slides", "tile", good, "--annotations", badXML], "bad.xml"),
      (["slides", "tile", good, "--patch-size", "0"], "patch size 0"),
      (["slides", "tile", good, "--focus-detector", "sharpness"], "--focus-detector 'sharpness'"),
      (["slides", "extract", good, "--out", box.path("b2"), "--encoder", "vgg"], "--encoder 'vgg'"),
      (["slides", "extract", truncated, "--out", box.path("b3")], "truncated.tiff"),
      (["slides", "show", bagCopy], "broken.safetensors"),
      (["slides", "generate", "--dataset", "tiny-slides", "--out", box.path("g"), "--set", "minSide=100"], "minSide"),
    ]
    for (args, message) in cases {
      let r = try box.run(args)
      #expect(r.status == 2, "\(args): status \(r.status) \(r.stderr)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count <= 3, "one clear message: \(r.stderr)")
    }
  }
}

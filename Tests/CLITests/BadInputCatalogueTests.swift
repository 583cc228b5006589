import Basics
import Engine
import Foundation
import GRDB
import Testing
import Vision
import _TestSupport

/// Every bad input the command line can meet ends in exit 2, one message that names the file,
/// key or value, and a results store exactly as it was (byte for byte, WAL included); a store
/// that did not exist is not created.
@Suite(.serialized) struct BadInputCatalogueTests {
  /// Files the cases point at, written once per sandbox.
  struct Fixtures {
    let dir: URL
    init(in box: Sandbox) throws {
      dir = box.root.appendingPathComponent("bad-inputs")
      let fm = FileManager.default
      try fm.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
      try fm.createDirectory(at: dir.appendingPathComponent("images/a"), withIntermediateDirectories: true)
      let image = RGBImage(width: 16, height: 16, pixels: (0..<(16 * 16 * 3)).map { UInt8($0 % 251) })
      try ImageIO.writePNG(image, to: path("good.png"))
      try ImageIO.writePNG(image, to: path("images/a/x.png"))
      let png = try Data(contentsOf: URL(fileURLWithPath: path("good.png")))
      try png.prefix(40).write(to: URL(fileURLWithPath: path("truncated.png")))
      var corrupt = png
      for i in 20..<40 { corrupt[i] = 0xFF }
      try corrupt.write(to: URL(fileURLWithPath: path("corrupt.png")))
      // A PNG whose header claims 100000² px.
      var huge = png
      huge.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])
      let crc = Self.crc32(huge[12..<29])  // IHDR's type and data, so only the size is wrong
      huge.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
      try huge.write(to: URL(fileURLWithPath: path("huge.png")))
      try Data([0x49, 0x49, 0x2A, 0, 8, 0, 0, 0, 5, 0]).write(to: URL(fileURLWithPath: path("truncated.tiff")))
      try "not a slide\n".write(toFile: path("fake.svs"), atomically: true, encoding: .utf8)
      try "hello\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
      try "hello\n".write(toFile: path("text.sqlite"), atomically: true, encoding: .utf8)
      try SafeTensors.write(
        [SafeTensorsEntry(name: "classifier.0.weight", shape: [1, 2], values: [Float.nan, 1])], metadata: [:],
        to: path("nan.safetensors"))
    }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// CRC-32 (IEEE, as PNG chunks use).
    static func crc32(_ bytes: Data) -> UInt32 {
      var crc: UInt32 = 0xFFFF_FFFF
      for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
      }
      return ~crc
    }
  }

  @Test func catalogue() throws {
    let box = try Sandbox()
    #expect(try box.run(["blur-detection", "--profile", "smoke"]).status == 0)
    let f = try Fixtures(in: box)
    // Another application's SQLite file (one table of its own).
    let foreign = f.path("foreign.sqlite")
    try DatabaseQueue(path: foreign).write { db in
      try db.execute(sql: "CREATE TABLE foo (x); INSERT INTO foo VALUES (1)")
    }
    let foreignBefore = FileManager.default.contents(atPath: foreign)
    let missingStore = f.path("missing.sqlite")
    let before = box.storeFingerprint()
    var cases: [([String], String)] = [
      // run: target, profile, arguments
      (["no-such-target"], "unknown target 'no-such-target'"),
      (["blur-detection", "--profile", "nope"], "has no profile 'nope'"),
      (["blur-detection", "--profile", "smoke", "--subset", "150%"], "--subset '150%'"),
      (["blur-detection", "--profile", "smoke", "--subset", "abc"], "--subset 'abc'"),
      (["blur-detection", "--profile", "smoke", "--subset", "50"], "--subset '50': expected a percentage with its % sign"),
      (["blur-detection", "--profile", "smoke", "--seeds", "1,,2"], "--seeds '1,,2'"),
      (["blur-detection", "--profile", "smoke", "--seeds", "4-0"], "--seeds '4-0'"),
      (["blur-detection", "--profile", "smoke", "--seed", "1", "--seeds", "0-2"], "either --seed or --seeds"),
      (["blur-detection", "--profile", "smoke", "--threads", "0"], "--threads '0'"),
      (["blur-detection", "--profile", "smoke", "--set", "tiles=many"], "--set tiles=many"),
      (["blur-detection", "--profile", "smoke", "--set", "noSuchKey=1"], "--set noSuchKey=1"),
      (["blur-detection", "--profile", "smoke", "--set", "tiles"], "--set tiles"),
      (["blur-detection", "--bogus-flag"], "bogus-flag"),
      (["blur-detection", "--profile", "paper"], "--data PATH as well"),
      // run: data
      (["blur-detection", "--profile", "smoke", "--data", "/no/such/folder"], "--data /no/such/folder: no such file"),
      (["blur-detection", "--profile", "smoke", "--data", f.path("empty")], "\(f.path("empty")): no .png"),
      (["blur-detection", "--profile", "smoke", "--data", f.path("truncated.png")], f.path("truncated.png")),
      (["blur-detection", "--profile", "smoke", "--data", f.path("corrupt.png")], f.path("corrupt.png")),
      (["blur-detection", "--profile", "smoke", "--data", f.path("huge.png")], "implausible size 100000×100000"),
      (["blur-detection", "--profile", "smoke", "--data", f.path("truncated.tiff")], f.path("truncated.tiff")),
      (["blur-detection", "--profile", "smoke", "--data", f.path("fake.svs")], f.path("fake.svs")),
      (["blur-detection", "--profile", "smoke", "--data", f.path("notes.txt")], "--data \(f.path("notes.txt"))"),
      (["moco-v1", "--profile", "smoke", "--data", f.path("good.png")], "split is empty"),
      (["moco-v1", "--profile", "smoke", "--data", f.path("images")], "split is empty"),
      (["abmil", "--profile", "smoke", "--data", f.path("images")], "expected a folder of feature bags"),
      // run: --save-backbone, the MIL encoder weights
      (["abmil", "--profile", "smoke", "--save-backbone", f.path("b.safetensors")], "--save-backbone '\(f.path("b.safetensors"))': expected an SSL target"),
      (["moco-v1", "--profile", "smoke", "--seeds", "0-1", "--save-backbone", f.path("b.safetensors")], "expected one seed"),
      (["moco-v1", "--profile", "smoke", "--save-backbone", "/no/such/dir/b.safetensors"], "expected a file path in an existing folder"),
      (["abmil", "--profile", "smoke", "--set", "encoderWeights=\(f.path("good.png"))"], "encoderWeights \(f.path("good.png"))"),
      (["abmil", "--profile", "smoke", "--set", "encoderWeights=\(f.path("nan.safetensors"))"], "not a small state dict"),
      (["moco-v3", "--profile", "smoke", "--set", "backbone=swin-micro", "--set", "imageSize=48"], "--set imageSize=48: swin-micro needs views whose side is a multiple of 32"),
      (["abmil", "--profile", "smoke", "--set", "encoderInputSize=8"], "--set encoderInputSize=8"),
      (["abmil", "--profile", "smoke", "--set", "sslEncoder=moco-v2"], "--set sslEncoder=moco-v2: expected none or target/profile/seed"),
      (["abmil", "--profile", "smoke", "--set", "sslEncoder=moco-v2/ci/0@0%"], "--set sslEncoder=moco-v2/ci/0@0%: expected none or target/profile/seed[@P%]"),
      (["abmil", "--profile", "smoke", "--set", "sslEncoder=abmil/smoke/0"], "--set sslEncoder=abmil/smoke/0: expected an SSL target"),
      (["abmil", "--profile", "smoke", "--set", "sslEncoder=moco-v2/nope/0"], "has no profile 'nope'"),
      (["abmil", "--profile", "smoke", "--set", "sslEncoder=moco-v2/smoke/0", "--set", "encoderWeights=\(f.path("good.png"))"], "expected encoderWeights empty"),
      (["abmil", "--profile", "smoke", "--set", "sslEncoder=moco-v2/smoke/0", "--data", f.path("images")], "--set sslEncoder=moco-v2/smoke/0: no sslEncoder with --data"),
      // run: store
      (["blur-detection", "--profile", "smoke", "--db", "/no/such/dir/x.sqlite"], "/no/such/dir"),
      (["blur-detection", "--profile", "smoke", "--db", f.path("text.sqlite")], "not a SQLite database"),
      (["blur-detection", "--profile", "smoke", "--db", f.path("empty")], "is a folder"),
      // calibrate
      (["calibrate", "blur-detection", "--profile", "smoke", "--seeds", "0-1"], "--seeds '0-1': expected at least 3 seeds"),
      (["calibrate", "no-such-target", "--profile", "smoke"], "unknown target 'no-such-target'"),
      // gate
      (["gate", "--profile", "nope"], "--profile 'nope'"),
      (["gate", "--targets", "nope"], "unknown target 'nope'"),
      (["gate", "--targets", "blur-detection,,"], "--targets 'blur-detection,,'"),
      (["gate", "--run", "x"], "--run 'x'"),
      (["gate", "--run", "99999"], "--run '99999'"),
      (["gate", "--profile", "smoke", "--db", missingStore], "\(missingStore): no such file"),
      // report, show
      (["report"], "--html PATH and/or --junit PATH"),
      (["report", "--html", "/no/such/dir/index.html"], "/no/such/dir/index.html"),
      (["report", "--junit", f.path("x.xml"), "--db", missingStore], "\(missingStore): no such file"),
      (["show", "nope"], "unknown target 'nope'"),
      (["show", "blur-detection", "--profile", "nope"], "has no profile 'nope'"),
      // predict
      (["predict", "abmil", "--weights", "/no/such.safetensors", "--bags", f.path("empty")], "--weights /no/such.safetensors"),
      (["predict", "abmil", "--weights", f.path("good.png"), "--bags", f.path("empty")], "--weights \(f.path("good.png"))"),
      (["predict", "abmil", "--weights", f.path("nan.safetensors"), "--bags", f.path("empty")], "'classifier.0.weight' holds 1 NaN"),
      (["predict", "nope", "--weights", f.path("nan.safetensors"), "--bags", f.path("empty")], "nope"),
      // slides, focus, dataset
      (["slides", "tile", f.path("fake.svs")], f.path("fake.svs")),
      (["slides", "show", f.path("good.png")], f.path("good.png")),
      (["slides", "extract", f.path("fake.svs"), "--out", f.path("bags-out")], f.path("fake.svs")),
      (["focus", "score", "/no/such/image.png"], "/no/such/image.png: no such file"),
      (["focus", "score", f.path("truncated.png")], f.path("truncated.png")),
      (["dataset", "probe", "nope"], "nope"),
      (["dataset", "export", f.path("good.png")], "\(f.path("good.png"))': expected a folder that does not exist or is empty"),
      (["dataset", "export", f.path("x"), "--size", "8"], "--size '8'"),
    ]
    cases.append((["blur-detection", "--profile", "smoke", "--db", foreign], "a SQLite database of another application"))
    cases.append((["gate", "--profile", "smoke", "--db", foreign], "a SQLite database of another application"))
    #expect(cases.count >= 40)
    for (args, message) in cases {
      let r = try box.run(args)
      #expect(r.status == 2, "\(args): status \(r.status) \(r.stderr)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count <= 6, "one clear message: \(r.stderr)")
      #expect(box.storeFingerprint() == before, "\(args) changed the store")
    }
    #expect(!FileManager.default.fileExists(atPath: missingStore), "a failed command created the store")
    #expect(!FileManager.default.fileExists(atPath: f.path("bags-out/bags.csv")))
    #expect(FileManager.default.contents(atPath: foreign) == foreignBefore, "the foreign file was written")
  }

  /// Target-file mistakes: a duplicated key and an unknown config key are one line naming the key.
  @Test func targetFileMistakes() throws {
    let box = try Sandbox()
    let file = box.path("Replications/blur-detection/target.yaml")
    let original = try String(contentsOfFile: file, encoding: .utf8)
    try (original + "\nid: blur-detection\n").write(toFile: file, atomically: true, encoding: .utf8)
    let dup = try box.run(["blur-detection", "--profile", "smoke"])
    #expect(dup.status == 2)
    #expect(dup.stderr.contains("duplicate key 'id'"), "\(dup.stderr)")
    #expect(dup.stderr.split(separator: "\n").count == 1, "\(dup.stderr)")
    let typo = original.replacingOccurrences(of: "profiles:\n  smoke:\n", with: "profiles:\n  smoke:\n    colour: red\n")
    #expect(typo != original)
    try typo.write(toFile: file, atomically: true, encoding: .utf8)
    let bad = try box.run(["blur-detection", "--profile", "smoke"])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("colour"), "\(bad.stderr)")
    #expect(!FileManager.default.fileExists(atPath: box.store), "a failed run created the store")
  }
}

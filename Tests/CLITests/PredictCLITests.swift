import Engine
import Foundation
import Testing
import _TestSupport

/// `replicate predict` on the official-code golden fixtures (Tests/MethodsTests/Fixtures,
/// made by make_mil_fixtures.py): the official state dicts and the golden bags, written as a bag
/// folder, reproduce the official probabilities and ABMIL attention; bad inputs exit 2.
@Suite struct PredictCLITests {
  static let fixtures = projectRoot.appendingPathComponent("Tests/MethodsTests/Fixtures")
  static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

  /// The golden entries by name.
  static func golden() throws -> [String: SafeTensorsEntry] {
    Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixture("mil_golden.safetensors")).entries.map { ($0.name, $0) })
  }

  /// A bag folder (bags.csv + one `features` safetensors per bag, no sidecars) of the golden bags.
  static func bagFolder(in box: Sandbox, golden: [String: SafeTensorsEntry]) throws -> (String, [Int]) {
    let dir = box.path("golden-bags")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let sizes = golden.keys.filter { $0.hasPrefix("bag.") }.compactMap { Int($0.dropFirst(4)) }.sorted()
    var table = "slide_id,bag,instances,feature_dimension,grid,kept,rejected_tissue,rejected_focus,tumour_instances\n"
    for n in sizes {
      let bag = try #require(golden["bag.\(n)"])
      try SafeTensors.write(
        [SafeTensorsEntry(name: "features", shape: bag.shape, values: bag.values)], to: dir + "/bag_\(n).safetensors")
      table += "bag_\(n),bag_\(n).safetensors,\(n),\(bag.shape[1]),\(n),\(n),0,0,\n"
    }
    try table.write(toFile: dir + "/bags.csv", atomically: true, encoding: .utf8)
    return (dir, sizes)
  }

  static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return 1 }
    let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return diff / max(b.map { abs($0) }.max() ?? 0, 1e-12)
  }

  /// The `slides` array of predict's JSON, by slide id.
  static func slides(_ stdout: String) throws -> [String: [String: Any]] {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    let rows = try #require(object["slides"] as? [[String: Any]])
    return Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row["slide_id"] as? String).map { ($0, row) } })
  }

  static func floats(_ value: Any?) -> [Float] { ((value as? [Double]) ?? []).map { Float($0) } }

  @Test func reproducesTheOfficialOutputs() throws {
    let box = try Sandbox()
    let golden = try Self.golden()
    let (dir, sizes) = try Self.bagFolder(in: box, golden: golden)
    #expect(sizes == [1, 7, 30, 50, 300])
    let cases: [(method: String, weights: String, key: String, legacy: Bool)] = [
      ("abmil", "mil_abmil.safetensors", "abmil", false),
      ("transmil", "mil_transmil.safetensors", "transmil", false),
      ("transmil", "mil_transmil.safetensors", "transmil_legacy", true),
    ]
    for c in cases {
      let arguments =
        ["predict", c.method, "--weights", Self.fixture(c.weights), "--bags", dir, "--json", "--threads", "2"]
        + (c.legacy ? ["--legacy-output-slice"] : [])
      let result = try box.run(arguments)
      #expect(result.status == 0, "\(c.key): \(result.stderr)")
      let slides = try Self.slides(result.stdout)
      #expect(slides.count == sizes.count)
      for n in sizes {
        let row = try #require(slides["bag_\(n)"], "\(c.key): no row for bag_\(n)")
        #expect(row["instances"] as? Int == n)
        var expected = try #require(golden["\(c.key).prob.\(n)"]).values
        if expected.count == 1 { expected = [1 - expected[0], expected[0]] }  // one-logit ABMIL: [1 − p, p]
        let p = Self.floats(row["probabilities"])
        let error = Self.relativeError(p, expected)
        #expect(error <= 1e-4, "\(c.key) N=\(n): probabilities \(p) vs \(expected)")
        #expect(row["predicted"] as? Int == expected.indices.max { expected[$0] < expected[$1] })
        if c.method == "abmil" {
          let attention = try #require(golden["abmil.attention.\(n)"]).values
          let e = Self.relativeError(Self.floats(row["instance_scores"]), attention)
          #expect(e <= 1e-4, "ABMIL N=\(n): attention relative error \(e)")
        } else {
          #expect(row["instance_scores"] is NSNull)
        }
      }
    }
    // One bag file, table output to a file.
    let single = try box.run([
      "predict", "abmil", "--weights", Self.fixture("mil_abmil.safetensors"), "--bags", dir + "/bag_30.safetensors",
      "--out", box.path("pred.txt"),
    ])
    #expect(single.status == 0, "\(single.stderr)")
    let table = try String(contentsOfFile: box.path("pred.txt"), encoding: .utf8)
    #expect(table.hasPrefix("slide") && table.contains("bag_30") && table.split(separator: "\n").count == 2)
  }

  @Test func badInputsExitTwoWithOneMessage() throws {
    let box = try Sandbox()
    let (dir, _) = try Self.bagFolder(in: box, golden: try Self.golden())
    // ABMIL weights without attention_U.0.bias, and with a mis-shaped attention_V bias.
    let entries = try SafeTensors.read(Self.fixture("mil_abmil.safetensors")).entries
    let missing = box.path("missing.safetensors")
    try SafeTensors.write(entries.filter { $0.name != "attention_U.0.bias" }, to: missing)
    let misShaped = box.path("mis-shaped.safetensors")
    try SafeTensors.write(
      entries.map { $0.name == "attention_V.0.bias" ? SafeTensorsEntry(name: $0.name, shape: [2, 64], values: $0.values) : $0 },
      to: misShaped)
    let extra = box.path("extra.safetensors")
    try SafeTensors.write(entries + [SafeTensorsEntry(name: "attention.0.weight", shape: [1], values: [0])], to: extra)
    let abmil = Self.fixture("mil_abmil.safetensors")
    let cases: [([String], String)] = [
      (["predict", "abmil", "--weights", missing, "--bags", dir], "missing keys: attention_U.0.bias"),
      (["predict", "abmil", "--weights", misShaped, "--bags", dir], "mis-shaped keys: attention_V.0.bias"),
      (["predict", "abmil", "--weights", extra, "--bags", dir], "unexpected keys: attention.0.weight"),
      (["predict", "transmil", "--weights", abmil, "--bags", dir], "no key '_fc1.0.weight'"),
      (["predict", "gmm", "--weights", abmil, "--bags", dir], "'gmm'"),
      (["predict", "abmil", "--weights", box.path("none.safetensors"), "--bags", dir], "none.safetensors"),
      (["predict", "abmil", "--weights", abmil, "--bags", box.path("nowhere")], "nowhere"),
      (["predict", "abmil", "--weights", abmil, "--bags", missing], "no 'features' tensor"),
    ]
    for (arguments, needle) in cases {
      let result = try box.run(arguments)
      #expect(result.status == 2, "\(arguments): status \(result.status)")
      #expect(result.stderr.contains(needle), "\(arguments): \(result.stderr)")
      #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
    }
    // Features of the wrong width.
    let wide = box.path("wide.safetensors")
    try SafeTensors.write([SafeTensorsEntry(name: "features", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])], to: wide)
    let result = try box.run(["predict", "abmil", "--weights", abmil, "--bags", wide])
    #expect(result.status == 2 && result.stderr.contains("3-d features") && result.stderr.contains("expect 32"))
  }
}

import Engine
import Foundation
import Testing
import _TestSupport

/// `replicate predict` on CLAM checkpoints and CLAM `.h5` feature bags (Tests/MethodsTests/Fixtures,
/// made by make_clam_fixtures.py with the official mahmoodlab/CLAM model file and `save_hdf5`):
/// `predict abmil` recognises a CLAM state dict, reads `.h5` files and CLAM's `h5_files/` folder,
/// and reproduces the official `Y_prob` and attention; bad `.h5` files exit 2 naming the dataset.
@Suite struct PredictCLAMCLITests {
  static func fixture(_ name: String) -> String { PredictCLITests.fixture(name) }

  static func golden() throws -> [String: SafeTensorsEntry] {
    Dictionary(uniqueKeysWithValues: try SafeTensors.read(fixture("clam_golden.safetensors")).entries.map { ($0.name, $0) })
  }

  /// Checks predict's JSON against the golden `Y_prob` and softmaxed attention of `key` (sb, mb).
  static func check(_ stdout: String, key: String, sizes: [Int], golden: [String: SafeTensorsEntry]) throws {
    let slides = try PredictCLITests.slides(stdout)
    #expect(slides.count == sizes.count)
    var worst: Float = 0
    for n in sizes {
      let row = try #require(slides["bag_\(n)"], "\(key): no row for bag_\(n)")
      #expect(row["instances"] as? Int == n)
      let expected = try #require(golden["\(key).prob.\(n)"]).values
      let p = PredictCLITests.floats(row["probabilities"])
      let predicted = expected.indices.max { expected[$0] < expected[$1] } ?? -1
      #expect(row["predicted"] as? Int == predicted)
      // The attention of the predicted class's branch (CLAM_MB), as create_heatmaps.py draws it.
      let attention = try #require(golden["\(key).attention.\(n)"]).values
      let branch = key == "sb" ? 0 : predicted
      let expectedScores = Array(attention[(branch * n)..<((branch + 1) * n)])
      let pError = PredictCLITests.relativeError(p, expected)
      let aError = PredictCLITests.relativeError(PredictCLITests.floats(row["instance_scores"]), expectedScores)
      #expect(pError <= 1e-5, "CLAM \(key) N=\(n): probabilities \(p) vs \(expected)")
      #expect(aError <= 1e-5, "CLAM \(key) N=\(n): attention relative error \(aError)")
      worst = max(worst, pError, aError)
    }
    print("predict CLAM \(key): max relative error \(worst) (probabilities and attention)")
  }

  /// The `method` field of predict's JSON.
  static func method(_ stdout: String) throws -> String? {
    (try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])?["method"] as? String
  }

  @Test func reproducesTheOfficialCLAMOutputsFromH5Bags() throws {
    let box = try Sandbox()
    let golden = try Self.golden()
    let h5 = Self.fixture("clam_h5_files")
    let sizes = [1, 7, 50]
    // CLAM_SB through `predict abmil`, on a folder of .h5 files.
    let sb = try box.run([
      "predict", "abmil", "--weights", Self.fixture("clam_sb.safetensors"), "--bags", h5, "--json", "--threads", "2",
    ])
    #expect(sb.status == 0, "\(sb.stderr)")
    #expect(try Self.method(sb.stdout) == "clam_sb", "\(sb.stdout)")
    try Self.check(sb.stdout, key: "sb", sizes: sizes, golden: golden)
    // CLAM_MB through `predict clam`, on CLAM's feature folder (h5_files/ inside it).
    let features = box.path("FEATURES")
    try FileManager.default.createDirectory(atPath: features, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: h5, toPath: features + "/h5_files")
    let mb = try box.run([
      "predict", "clam", "--weights", Self.fixture("clam_mb.safetensors"), "--bags", features, "--json",
    ])
    #expect(mb.status == 0, "\(mb.stderr)")
    #expect(try Self.method(mb.stdout) == "clam_mb", "\(mb.stdout)")
    try Self.check(mb.stdout, key: "mb", sizes: sizes, golden: golden)
    // One .h5 file, table output.
    let single = try box.run([
      "predict", "abmil", "--weights", Self.fixture("clam_mb.safetensors"), "--bags", h5 + "/bag_7.h5",
    ])
    #expect(single.status == 0, "\(single.stderr)")
    #expect(single.stdout.split(separator: "\n").count == 2 && single.stdout.contains("bag_7"), "\(single.stdout)")
  }

  @Test func badCLAMInputsExitTwoWithOneMessage() throws {
    let box = try Sandbox()
    let slidesFixtures = projectRoot.appendingPathComponent("Tests/SlidesTests/Fixtures/h5").path
    let clam = Self.fixture("clam_sb.safetensors")
    let entries = try SafeTensors.read(clam).entries
    let missing = box.path("missing.safetensors")
    try SafeTensors.write(entries.filter { $0.name != "attention_net.3.attention_b.0.bias" }, to: missing)
    let empty = box.path("empty")
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    let h5 = Self.fixture("clam_h5_files")
    let cases: [([String], [String])] = [
      (["predict", "abmil", "--weights", clam, "--bags", slidesFixtures + "/no_features.h5"], ["no_features.h5", "'features'"]),
      (["predict", "abmil", "--weights", clam, "--bags", slidesFixtures + "/bad_coords.h5"], ["'coords' has shape [5, 3]"]),
      (["predict", "abmil", "--weights", clam, "--bags", slidesFixtures + "/f16.h5"], ["3-d features", "expect 32"]),
      (["predict", "abmil", "--weights", missing, "--bags", h5], ["--weights", "missing keys: attention_net.3.attention_b.0.bias"]),
      (["predict", "clam", "--weights", Self.fixture("mil_abmil.safetensors"), "--bags", h5], ["no key 'attention_net.0.weight'"]),
      (["predict", "abmil", "--weights", clam, "--bags", empty], ["no bags.csv and no .h5 files"]),
    ]
    for (arguments, needles) in cases {
      let result = try box.run(arguments)
      #expect(result.status == 2, "\(arguments): status \(result.status) \(result.stderr)")
      for needle in needles { #expect(result.stderr.contains(needle), "\(arguments): \(result.stderr)") }
      #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
    }
  }
}

import Engine
import Foundation
import Methods
import NN
import Testing

/// CLAM_SB and CLAM_MB against the official mahmoodlab/CLAM model file on the same weights and
/// bags (Fixtures/make_clam_fixtures.py; versions and source commit in Fixtures/clam_fixtures.json):
/// the official state dicts load by name with sizes read from the shapes, and logits, `Y_prob`
/// and attention (raw and softmaxed) agree to 1e-5 relative for bags of 1, 7 and 50 instances.
@Suite struct CLAMGoldenTests {
  static func url(_ name: String, _ ext: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"))
  }

  static func golden() throws -> [String: SafeTensorsEntry] {
    Dictionary(
      uniqueKeysWithValues: try SafeTensors.read(try url("clam_golden", "safetensors").path).entries.map { ($0.name, $0) })
  }

  static func meta() throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: try url("clam_fixtures", "json"))) as? [String: Any])
  }

  static func tensor(_ golden: [String: SafeTensorsEntry], _ key: String) throws -> Tensor {
    let e = try #require(golden[key], "clam_golden has no \(key)")
    return Tensor(shape: e.shape, data: e.values)
  }

  /// `max |a − b| / max |b|` (1 when the shapes differ).
  static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return 1 }
    let diff = zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
    return diff / max(b.data.map { abs($0) }.max() ?? 0, 1e-12)
  }

  @Test(arguments: [("sb", CLAM.Branches.single, 2), ("mb", CLAM.Branches.multiple, 3)])
  func matchesTheOfficialCode(key: String, branches: CLAM.Branches, classes: Int) throws {
    let golden = try Self.golden()
    let model = try MILWeights.clam(from: try Self.url("clam_\(key)", "safetensors").path)
    #expect(model.branches == branches)
    let modelSizes: [Int] = [model.inputDimension, model.hidden, model.attentionDimension, model.classes]
    #expect(modelSizes == [32, 16, 8, classes], "\(model)")
    #expect(!model.isTraining)
    let sizes = (try Self.meta()["bag_sizes"] as? [Int]) ?? []
    #expect(sizes == [1, 7, 50])
    var g = RandomGenerator(seed: 0)
    var worst: Float = 0
    for n in sizes {
      let (logits, raw) = model(try Self.tensor(golden, "bag.\(n)"), using: &g)
      let errors = [
        ("logits", Self.relativeError(logits, try Self.tensor(golden, "\(key).logits.\(n)"))),
        ("Y_prob", Self.relativeError(CLAM.probabilities(logits), try Self.tensor(golden, "\(key).prob.\(n)"))),
        ("A_raw", Self.relativeError(raw, try Self.tensor(golden, "\(key).attention_raw.\(n)"))),
        ("softmax(A_raw)", Self.relativeError(raw.softmax(axis: -1), try Self.tensor(golden, "\(key).attention.\(n)"))),
      ]
      for (name, error) in errors {
        #expect(error <= 1e-5, "CLAM \(key) N=\(n): \(name) relative error \(error)")
        worst = max(worst, error)
      }
      print("CLAM golden \(key) N=\(n): " + errors.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
    }
    print("CLAM golden \(key): max relative error \(worst)")
  }

  /// At the official default size (embed_dim 1024, "small", 2 classes) the Swift models have the
  /// official keys and shapes, in the official order.
  @Test func officialKeysAndShapesAtDefaultSize() throws {
    let meta = try Self.meta()
    var g = RandomGenerator(seed: 0)
    for (branches, key) in [(CLAM.Branches.single, "official_keys_sb"), (.multiple, "official_keys_mb")] {
      let official = try #require(meta[key] as? [[Any]]).map { ($0[0] as? String ?? "", $0[1] as? [Int] ?? []) }
      let model = CLAM(branches: branches, using: &g)
      let ours = model.namedParameters.map { ($0.name, $0.tensor.shape) }
      #expect(ours.map(\.0) == official.map(\.0), "\(branches)")
      #expect(ours.map(\.1) == official.map(\.1), "\(branches)")
    }
  }

  /// Strict loading: a missing or an extra key is named; checkpoints saved through
  /// `nn.DataParallel` (`.module`) or with an `instance_loss_fn` entry load as CLAM's eval.py loads them.
  @Test func loadingIsStrictAndNamesTheKey() throws {
    let path = try Self.url("clam_sb", "safetensors").path
    let entries = try SafeTensors.read(path).entries
    #expect(MILWeights.isCLAM(entries))
    #expect(throws: MILWeightsError.self) { try MILWeights.clam(entries.filter { $0.name != "instance_classifiers.1.bias" }, path: path) }
    do {
      _ = try MILWeights.clam(entries.filter { $0.name != "instance_classifiers.1.bias" }, path: path)
    } catch {
      #expect("\(error)".contains("missing keys: instance_classifiers.1.bias"), "\(error)")
      #expect("\(error)".contains(path))
    }
    do {
      _ = try MILWeights.clam(entries + [SafeTensorsEntry(name: "classifiers.2.weight", shape: [1, 16], values: .init(repeating: 0, count: 16))], path: path)
      Issue.record("an extra key loaded")
    } catch {
      #expect("\(error)".contains("unexpected keys: classifiers.2.weight"), "\(error)")
    }
    do {
      _ = try MILWeights.clam(entries.filter { !$0.name.hasPrefix("classifiers") }, path: path)
      Issue.record("no classifier loaded")
    } catch {
      #expect("\(error)".contains("classifiers.weight (CLAM_SB) or classifiers.0.weight (CLAM_MB)"), "\(error)")
    }
    // nn.DataParallel names and a loss-function entry, as CLAM's initiate_model cleans them.
    let wrapped = entries.map { e in
      SafeTensorsEntry(
        name: e.name.hasPrefix("attention_net.") ? "attention_net.module." + e.name.dropFirst("attention_net.".count) : e.name,
        shape: e.shape, values: e.values)
    } + [SafeTensorsEntry(name: "instance_loss_fn.weight", shape: [2], values: [1, 1])]
    let model = try MILWeights.clam(CLAM.canonicalStateDict(wrapped), path: path)
    #expect(model.branches == .single)
    // An ungated CLAM (Attn_Net) is recognised and refused by name.
    let ungated = entries.filter { !$0.name.hasPrefix("attention_net.3.") } + [
      SafeTensorsEntry(name: "attention_net.3.module.0.weight", shape: [8, 16], values: .init(repeating: 0, count: 128))
    ]
    do {
      _ = try MILWeights.clam(ungated, path: path)
      Issue.record("an ungated CLAM loaded")
    } catch {
      #expect("\(error)".contains("ungated"), "\(error)")
    }
    // ABMIL's file is not a CLAM state dict.
    #expect(!MILWeights.isCLAM(try SafeTensors.read(try Self.url("mil_abmil", "safetensors").path).entries))
  }

  /// Bag order does not change the prediction, and the attention follows the instances.
  @Test(arguments: ["sb", "mb"]) func invariantToInstanceOrder(key: String) throws {
    let model = try MILWeights.clam(from: try Self.url("clam_\(key)", "safetensors").path)
    let bag = try Self.tensor(try Self.golden(), "bag.50")
    let order = Array((0..<50).reversed())
    var g = RandomGenerator(seed: 0)
    let (logits, raw) = model(bag, using: &g)
    let (permutedLogits, permutedRaw) = model(bag.indexSelect(axis: 0, order), using: &g)
    #expect(Self.relativeError(permutedLogits, logits) <= 1e-5)
    #expect(Self.relativeError(permutedRaw, raw.indexSelect(axis: 1, order)) <= 1e-6)
  }

  /// A CLAM made here saves under the official names and loads back.
  @Test func saveAndLoadRoundTrip() throws {
    var g = RandomGenerator(seed: 3)
    let model = CLAM(branches: .multiple, inputDimension: 6, hidden: 5, attentionDimension: 4, classes: 3, using: &g)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("clam-\(UUID().uuidString).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try MILWeights.save(model, to: path)
    let loaded = try MILWeights.clam(from: path)
    #expect("\(loaded)" == "CLAM_MB(inputDimension: 6, hidden: 5, attentionDimension: 4, classes: 3, dropout: 0.0)")
    let bag = Tensor.randomNormal([9, 6], using: &g)
    model.isTraining = false
    #expect(Self.relativeError(loaded(bag, using: &g).logits, model(bag, using: &g).logits) == 0)
  }
}

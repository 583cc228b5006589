import ArgumentParser
import Engine
import Foundation
import Harness
import Methods
import Slides

/// `replicate predict`: runs a trained MIL model (ABMIL, CLAM or TransMIL state dict) over feature bags.
struct PredictCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "predict",
    abstract: "Slide predictions of a trained MIL model (abmil, clam, transmil) on feature bags.",
    discussion: """
      replicate predict abmil --weights abmil.safetensors --bags bags/            # table, one row per slide
      replicate predict abmil --weights clam_sb.safetensors --bags FEATURES/h5_files/   # a CLAM model
      replicate predict transmil --weights w.safetensors --bags bags/s1.safetensors --json --out pred.json

      The weights are a safetensors state dict under the official PyTorch names (as written by
      `save_file(model.state_dict())`, or by the harness); the model's sizes (input features, width,
      classes) come from the weight shapes. `abmil` also runs CLAM_SB and CLAM_MB checkpoints
      (mahmoodlab/CLAM, recognised by their key attention_net.0.weight); `clam` insists on one.
      --bags is a folder from `replicate slides extract` (bags.csv), a folder of CLAM .h5 feature
      files (or CLAM's feature folder holding h5_files/), one .safetensors bag (a 'features' tensor
      [N, D]) or one .h5 file ('features' [N, D], 'coords' [N, 2]).

      Per slide: the class probabilities, the predicted class (argmax; for a one-logit ABMIL
      p ≥ 0.5 as the official code, reported as [1 − p, p]) and instance scores: ABMIL's attention
      weights (sum 1 over the bag); for CLAM the softmax over the bag of the attention branch of the
      predicted class (CLAM_MB) or of the single branch (CLAM_SB), which orders the instances as
      the raw scores CLAM's heatmaps draw. TransMIL reports no instance scores: its slide token
      mixes the instances through two Nyström attentions and a convolution, and has no
      per-instance weight.
      """)

  /// The methods `predict` runs.
  enum Method: String, CaseIterable {
    case abmil, clam, transmil
  }

  @Argument(help: "abmil (ABMIL or CLAM weights), clam or transmil.")
  var method: String

  @Option(help: "Model weights (.safetensors state dict, official names).")
  var weights: String

  @Option(help: "A bag folder (bags.csv), a folder of CLAM .h5 files, or one .safetensors or .h5 bag.")
  var bags: String

  @Flag(help: "TransMIL: nystrom-attention 0.0.9's output slice (the version the TransMIL authors pinned).")
  var legacyOutputSlice = false

  @Flag(help: "Write JSON instead of a table.")
  var json = false

  @Option(help: "Write the predictions to this file instead of standard output.")
  var out: String?

  @Option(help: "Threads for the engine and BLAS (default: all cores).")
  var threads: Int?

  /// One slide's prediction.
  struct Prediction {
    var slideID: String
    var instances: Int
    var probabilities: [Float]
    var predicted: Int
    /// ABMIL or CLAM attention; nil for TransMIL.
    var instanceScores: [Float]?
  }

  func run() throws {
    guard let method = Method(rawValue: method.lowercased()) else {
      throw InputError.badArgument(
        option: "method", value: method, expected: Method.allCases.map(\.rawValue).joined(separator: " or "))
    }
    let t = try threadCount(threads)
    Parallel.setThreadCount(t)
    BLAS.setThreadCount(t)
    if legacyOutputSlice && method != .transmil {
      throw InputError.badArgument(option: "--legacy-output-slice", value: "set", expected: "only with transmil")
    }
    let (inputDimension, model, name) = try loadModel(method)
    var predictions: [Prediction] = []
    for (slideID, path) in try bagList() {
      let features = try Self.features(path: path)
      guard features.shape[1] == inputDimension else {
        throw InputError.badData(
          path: path,
          message: "bag '\(slideID)' has \(features.shape[1])-d features; the \(name) weights expect \(inputDimension)",
          option: "--bags")
      }
      let (p, scores) = Tensor.withoutGrad { model(features) }
      let predicted = p.indices.max { p[$0] < p[$1] } ?? 0
      predictions.append(
        Prediction(slideID: slideID, instances: features.shape[0], probabilities: p, predicted: predicted, instanceScores: scores))
    }
    let text = json ? Self.jsonText(predictions, method: name) : Self.table(predictions)
    if let out {
      do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
        throw InputError.badArgument(option: "--out", value: out, expected: "a writable file path")
      }
      print("\(predictions.count) predictions written to \(out)")
    } else {
      print(text, terminator: "")
    }
  }

  /// A bag → (probabilities, instance scores) function for `method`, the input width its weights
  /// expect and the model's name (`abmil`, `clam_sb`, `clam_mb`, `transmil`).
  func loadModel(_ method: Method) throws -> (Int, (Tensor) -> (probabilities: [Float], scores: [Float]?), String) {
    do {
      // `abmil` runs a CLAM state dict too (the format most pathology MIL users hold).
      let clamWeights = try method == .abmil ? MILWeights.isCLAM(MILWeights.read(weights)) : false
      switch method {
      case .abmil where clamWeights, .clam:
        let clam = try MILWeights.clam(from: weights)
        return (
          clam.inputDimension,
          { bag in
            var g = RandomGenerator(seed: 0)  // evaluation mode draws nothing
            let (logits, raw) = clam(bag, using: &g)
            let p = CLAM.probabilities(logits).data
            // CLAM_MB: the branch of the predicted class, as create_heatmaps.py (A[Y_hat]).
            let branch = clam.branches == .single ? 0 : (p.indices.max { p[$0] < p[$1] } ?? 0)
            let attention = raw.narrowed(axis: 0, start: branch, length: 1).softmax(axis: -1)
            return (p, attention.data)
          },
          clam.branches == .single ? "clam_sb" : "clam_mb"
        )
      case .abmil:
        let abmil = try MILWeights.abmil(from: weights)
        return (
          abmil.inputDimension,
          { bag in
            var g = RandomGenerator(seed: 0)  // evaluation mode draws nothing
            let (logits, attention) = abmil(bag, using: &g)
            let p = ABMIL.probabilities(logits).data
            return (p.count == 1 ? [1 - p[0], p[0]] : p, attention.data)
          },
          "abmil"
        )
      case .transmil:
        let transMIL = try MILWeights.transMIL(from: weights, legacyOutputSlice: legacyOutputSlice)
        return (
          transMIL.fc1.weight.shape[1],
          { bag in
            var g = RandomGenerator(seed: 0)
            let logits = transMIL(bag.reshaped([1] + bag.shape), using: &g)
            return (logits.softmax(axis: -1).data, nil)
          },
          "transmil"
        )
      }
    } catch {
      throw InputError.badData(path: weights, message: "\(error)", option: "--weights")
    }
  }

  /// (slide id, bag path) for every bag: in `bags.csv` order for a bag store, by file name for a
  /// folder of CLAM `.h5` files (the folder itself or its `h5_files/`).
  func bagList() throws -> [(String, String)] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: bags, isDirectory: &isDirectory) else {
      throw BagError.cannotRead(path: bags, reason: "no such file or folder")
    }
    if isDirectory.boolValue {
      let folder = URL(fileURLWithPath: bags)
      if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(BagStore.tableName).path) {
        for candidate in [folder, folder.appendingPathComponent("h5_files")] {
          let names = (try? FileManager.default.contentsOfDirectory(atPath: candidate.path)) ?? []
          let h5 = names.filter { $0.lowercased().hasSuffix(".h5") }.sorted()
          if !h5.isEmpty {
            return h5.map { (($0 as NSString).deletingPathExtension, candidate.appendingPathComponent($0).path) }
          }
        }
        throw InputError.badData(
          path: bags,
          message: "no \(BagStore.tableName) and no .h5 files (here or in h5_files/); expected a bag folder from "
            + "`replicate slides extract` or CLAM's .h5 feature files",
          option: "--bags")
      }
      let store = try BagStore(directory: bags)
      guard !store.entries.isEmpty else { throw InputError.badData(path: bags, message: "bags.csv lists no bags", option: "--bags") }
      return store.entries.map { ($0.slideID, $0.path) }
    }
    return [(((bags as NSString).lastPathComponent as NSString).deletingPathExtension, bags)]
  }

  /// The `features` `[N, D]` of a bag file: CLAM `.h5` through libhdf5, safetensors otherwise (its
  /// sidecar, when present, is checked by `FeatureBag.read`).
  static func features(path: String) throws -> Tensor {
    if path.lowercased().hasSuffix(".h5") || path.lowercased().hasSuffix(".hdf5") {
      return try FeatureBag.readHDF5(path: path).featureTensor
    }
    if FileManager.default.fileExists(atPath: FeatureBag.sidecarPath(for: path)) {
      let bag = try FeatureBag.read(path: path)
      guard bag.instanceCount > 0 else { throw InputError.badData(path: path, message: "the bag has no instances", option: "--bags") }
      return bag.featureTensor
    }
    let entries: [SafeTensorsEntry]
    do { entries = try SafeTensors.read(path).entries } catch {
      throw InputError.badData(path: path, message: error.description, option: "--bags")
    }
    guard let f = entries.first(where: { $0.name == "features" }) else {
      throw InputError.badData(path: path, message: "no 'features' tensor; expected a bag [N, D]", option: "--bags")
    }
    guard f.shape.count == 2, f.shape[0] > 0, f.shape[1] > 0 else {
      throw InputError.badData(path: path, message: "'features' has shape \(f.shape); expected [N, D] with N, D ≥ 1", option: "--bags")
    }
    return Tensor(shape: f.shape, data: f.values)
  }

  /// A number as JSON reads it back exactly (shortest round-trip form).
  static func number(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }

  static func jsonText(_ predictions: [Prediction], method: String) -> String {
    let rows = predictions.map { p in
      var fields = [
        "\"slide_id\": \(jsonQuote(p.slideID))", "\"instances\": \(p.instances)",
        "\"probabilities\": [\(p.probabilities.map(number).joined(separator: ", "))]", "\"predicted\": \(p.predicted)",
      ]
      fields.append(
        "\"instance_scores\": " + (p.instanceScores.map { "[\($0.map(number).joined(separator: ", "))]" } ?? "null"))
      return "    {" + fields.joined(separator: ", ") + "}"
    }
    let scores = method == "transmil" ? "none" : "attention"
    return "{\n  \"method\": \"\(method)\",\n  \"instance_scores\": \"\(scores)\",\n  \"slides\": [\n"
      + rows.joined(separator: ",\n") + "\n  ]\n}\n"
  }

  static func table(_ predictions: [Prediction]) -> String {
    let classes = predictions.map(\.probabilities.count).max() ?? 0
    let idWidth = max(5, predictions.map(\.slideID.count).max() ?? 0)
    func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
    var lines = [
      pad("slide", idWidth) + "  instances  predicted  " + (0..<classes).map { pad("p(\($0))", 8) }.joined(separator: " ")
        + "  top instance (score)"
    ]
    for p in predictions {
      var line = pad(p.slideID, idWidth) + "  " + pad(String(p.instances), 9) + "  " + pad(String(p.predicted), 9) + "  "
      line += p.probabilities.map { pad(String(format: "%.4f", $0), 8) }.joined(separator: " ")
      if let s = p.instanceScores, let top = s.indices.max(by: { s[$0] < s[$1] }) {
        line += "  \(top) (\(String(format: "%.4f", s[top])))"
      } else {
        line += "  -"
      }
      lines.append(line)
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

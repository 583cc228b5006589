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

  @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Predict>

  func run() throws {
    guard let architecture = MILPredictor.Architecture(rawValue: method.lowercased()) else {
      throw InputError.badArgument(
        option: "method", value: method,
        expected: MILPredictor.Architecture.allCases.map(\.rawValue).joined(separator: " or "))
    }
    let t = try threads.count()
    Parallel.setThreadCount(t)
    BLAS.setThreadCount(t)
    if legacyOutputSlice && architecture != .transmil {
      throw InputError.badArgument(option: "--legacy-output-slice", value: "set", expected: "only with transmil")
    }
    let predictor: MILPredictor
    do {
      predictor = try MILPredictor.load(architecture, weights: weights, legacyOutputSlice: legacyOutputSlice)
    } catch {
      throw InputError.badData(path: weights, message: "\(error)", option: "--weights")
    }
    let predictions = try predictor.predict(bags: bags)
    let text =
      json ? try jsonText(MILPrediction.Report(predictor: predictor, predictions: predictions)) : Self.table(predictions)
    if let out {
      do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
        throw InputError.badArgument(option: "--out", value: out, expected: "a writable file path")
      }
      print("\(predictions.count) predictions written to \(out)")
    } else {
      print(text, terminator: "")
    }
  }

  /// One row per slide: instances, predicted class, probabilities, top instance.
  static func table(_ predictions: [MILPrediction]) -> String {
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

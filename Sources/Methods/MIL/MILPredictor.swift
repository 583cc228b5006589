import Engine
import Foundation

/// A trained MIL model loaded from a safetensors state dict under the official PyTorch names,
/// ready to predict slides from feature bags (`replicate predict`).
///
/// `abmil` also runs CLAM_SB and CLAM_MB checkpoints (mahmoodlab/CLAM, recognised by their key
/// `attention_net.0.weight`), the format most pathology MIL users hold; `clam` insists on one.
/// The model's sizes (input features, width, classes) come from the weight shapes.
public struct MILPredictor {
  /// The architectures `predict` loads: the methods of its registry.
  public enum Architecture: String, CaseIterable, Sendable {
    case abmil, clam, transmil
  }

  /// The model as loaded: `abmil`, `clam_sb`, `clam_mb` or `transmil`.
  public let name: String
  /// Feature width `D` the weights expect of a bag `[N, D]`.
  public let inputDimension: Int
  /// Whether the model reports instance scores (attention); TransMIL does not.
  public var hasInstanceScores: Bool { name != Architecture.transmil.rawValue }
  /// A bag → (class probabilities, instance scores).
  private let forward: (Tensor) -> (probabilities: [Float], scores: [Float]?)

  /// Loads `architecture` from the state dict at `weights`.
  ///
  /// - Parameter legacyOutputSlice: TransMIL: nystrom-attention 0.0.9's output slice (the
  ///   version the TransMIL authors pinned).
  /// - Throws: `MILWeightsError` for a file that is not a state dict of that architecture.
  public static func load(_ architecture: Architecture, weights: String, legacyOutputSlice: Bool = false) throws
    -> MILPredictor
  {
    let clamWeights = try architecture == .abmil ? MILWeights.isCLAM(MILWeights.read(weights)) : false
    switch architecture {
    case .abmil where clamWeights, .clam:
      let clam = try MILWeights.clam(from: weights)
      return MILPredictor(
        name: clam.branches == .single ? "clam_sb" : "clam_mb", inputDimension: clam.inputDimension
      ) { bag in
        var g = RandomGenerator(seed: 0)  // evaluation mode draws nothing
        let (logits, raw) = clam(bag, using: &g)
        let p = CLAM.probabilities(logits).data
        // CLAM_MB: the branch of the predicted class, as create_heatmaps.py (A[Y_hat]).
        let branch = clam.branches == .single ? 0 : (p.indices.max { p[$0] < p[$1] } ?? 0)
        let attention = raw.narrowed(axis: 0, start: branch, length: 1).softmax(axis: -1)
        return (p, attention.data)
      }
    case .abmil:
      let abmil = try MILWeights.abmil(from: weights)
      return MILPredictor(name: "abmil", inputDimension: abmil.inputDimension) { bag in
        var g = RandomGenerator(seed: 0)  // evaluation mode draws nothing
        let (logits, attention) = abmil(bag, using: &g)
        let p = ABMIL.probabilities(logits).data
        return (p.count == 1 ? [1 - p[0], p[0]] : p, attention.data)
      }
    case .transmil:
      let transMIL = try MILWeights.transMIL(from: weights, legacyOutputSlice: legacyOutputSlice)
      return MILPredictor(name: "transmil", inputDimension: transMIL.fc1.weight.shape[1]) { bag in
        var g = RandomGenerator(seed: 0)
        let logits = transMIL(bag.reshaped([1] + bag.shape), using: &g)
        return (logits.softmax(axis: -1).data, nil)
      }
    }
  }

  private init(name: String, inputDimension: Int, forward: @escaping (Tensor) -> ([Float], [Float]?)) {
    self.name = name
    self.inputDimension = inputDimension
    self.forward = forward
  }

  /// The prediction for one bag, without gradients.
  ///
  /// Class probabilities (for a one-logit ABMIL `[1 − p, p]`), the predicted class (argmax; the
  /// official `p ≥ 0.5` for one logit) and the instance scores: ABMIL's attention weights (sum 1
  /// over the bag); for CLAM the softmax over the bag of the attention branch of the predicted
  /// class (CLAM_MB) or of the single branch (CLAM_SB); nil for TransMIL.
  /// - Precondition: `features.shape == [N, inputDimension]`, N ≥ 1.
  public func predict(slideID: String, features: Tensor) -> MILPrediction {
    precondition(features.shape.count == 2 && features.shape[1] == inputDimension, "predict: bag \(features.shape)")
    let (p, scores) = Tensor.withoutGrad { forward(features) }
    let predicted = p.indices.max { p[$0] < p[$1] } ?? 0
    return MILPrediction(
      slideID: slideID, instances: features.shape[0], probabilities: p, predicted: predicted, instanceScores: scores)
  }
}

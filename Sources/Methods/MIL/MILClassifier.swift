import Engine
import NN

/// A MIL classifier the shared loop trains (`MILTraining` in Harness): one bag in, slide logits
/// and (optionally) one score per instance out. ABMIL (attention weights as instance scores),
/// its embedded-mean arm `MeanPoolingMIL` and TransMIL (no instance scores) conform.
public protocol MILClassifier: Module {
  /// - Parameter bag: `[N, D]` instance features.
  /// - Returns: logits `[1, C]` (C = 1: one logit, sigmoid + binary cross-entropy; C ≥ 2:
  ///   softmax + cross-entropy) and instance scores `[N]` or nil.
  func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?)
  /// Whether the instance scores are pooling weights that sum to 1 over the bag (ABMIL's
  /// attention): such a score is about 1/N whatever the instance, so scores of bags of different
  /// sizes are compared after multiplying by N (1 = uniform attention). Default false.
  var instanceScoresAreBagWeights: Bool { get }
}

extension MILClassifier {
  public var instanceScoresAreBagWeights: Bool { false }
}

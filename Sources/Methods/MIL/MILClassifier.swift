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
}

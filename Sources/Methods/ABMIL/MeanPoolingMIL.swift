import Engine
import NN

/// The embedded-mean baseline of Ilse et al. (2018, Tables 2–4, "Embedded-mean"): the same
/// instance embedding as ABMIL, `H = ReLU(W x + b)`, averaged over instances instead of
/// attention-weighted, then the same linear classifier. An arm of the `abmil` target only.
public final class MeanPoolingMIL: Module, MILClassifier {
  let embedding: Linear
  let classifier: Linear
  public var isTraining = true

  public init(inputDimension: Int, hidden: Int, using generator: inout RandomGenerator) {
    embedding = Linear(inputSize: inputDimension, outputSize: hidden, using: &generator)
    classifier = Linear(inputSize: hidden, outputSize: 1, using: &generator)
  }

  public func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?) {
    let h = embedding(bag).relu()  // [N, L]
    let z = h.mean(axes: [0], keepDims: true)  // [1, L]
    return (classifier(z), nil)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("feature_extractor_part2.0", embedding) + prefixed("classifier.0", classifier)
  }
}

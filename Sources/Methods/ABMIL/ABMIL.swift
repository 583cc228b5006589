import Engine
import NN

/// Gated-attention multiple-instance learning, ABMIL (Ilse, Tomczak & Welling 2018, ICML, Eq. 9),
/// as the official `GatedAttention` class (AMLab-Amsterdam/AttentionDeepMIL `model.py`):
///
/// `H = ReLU(feature_extractor_part2(x))` `[N, L]`;
/// `a = attention_w(tanh(attention_V(H)) ⊙ sigmoid(attention_U(H)))` `[N, K]`;
/// `A = softmax_N(aᵀ)` `[K, N]`; `Z = A H` `[K, L]`; `Y = classifier(Z)`.
///
/// Differences from the official file, all deliberate:
/// - The official `feature_extractor_part1` (a LeNet on 28×28 MNIST digits) is replaced by
///   precomputed tile features: `x` is `[N, inputDimension]`, and `feature_extractor_part2.0`
///   maps `inputDimension → L` (officially `50·4·4 = 800 → 500`).
/// - The module returns **logits**; `classes == 1` gives the official sigmoid probability through
///   `probabilities(_:)` (trained with BCE as `calculate_objective`), `classes ≥ 2` a softmax over
///   classes (trained with cross-entropy) — an extension the official file does not have.
/// - `dropout` (default 0, as the official model) drops elements of `H` in training mode.
/// - `headHidden > 0` replaces the linear classifier by a one-hidden-layer MLP, `classifier.0`
///   (`L → headHidden`), ReLU, `classifier.2` (`headHidden → classes`): the "ABMIL with an MLP head"
///   control of TransMIL's claim (a non-linear readout of the pooled embedding, still no
///   interaction between instances). The default 0 is the official model, bit for bit.
///
/// State-dict names are the official ones at the newest revision (2023): `feature_extractor_part2.0.*`,
/// `attention_V.0.*`, `attention_U.0.*`, `attention_w.*`, `classifier.0.*`. Revisions 2020–2023
/// named the last attention layer `attention_weights`; `canonicalStateDict(_:)` renames it.
/// Initialisation is PyTorch's default for every Linear, in the official registration order.
///
/// Shape: `[N, inputDimension]` → logits `[1, classes]`, attention `[1, N]` (K = 1 branch).
public final class ABMIL: Module, CustomStringConvertible {
  /// `feature_extractor_part2.0`: `inputDimension → L`, followed by ReLU.
  public let featureExtractor: Linear
  /// `attention_V.0`: `L → D`, followed by tanh (matrix V of Eq. 9).
  public let attentionV: Linear
  /// `attention_U.0`: `L → D`, followed by sigmoid (gate U of Eq. 9).
  public let attentionU: Linear
  /// `attention_w`: `D → K = 1` (vector w of Eq. 9).
  public let attentionW: Linear
  /// `classifier.0`: `L·K → classes` (or `L·K → headHidden` when the head is an MLP).
  public let classifier: Linear
  /// `classifier.2`: `headHidden → classes`, after a ReLU; nil for the official linear classifier.
  public let classifierOutput: Linear?
  /// Element drop probability on `H` in training mode.
  public let dropout: Float
  public var isTraining = true
  /// Audit switch (`replicate audit`): every instance weighs 1/N, so the attention branch is off
  /// and the model is mean pooling through ABMIL's own layers. Off in every paper setting.
  public var uniformAttention = false

  /// - Parameters:
  ///   - inputDimension: feature size of each instance (the tile encoder's output).
  ///   - hidden: `L` (official `M = 500`).
  ///   - attentionDimension: `D` (official `L = 128`).
  ///   - classes: 1 for the official sigmoid output; ≥ 2 for softmax over classes.
  ///   - dropout: drop probability on the instance embeddings `H` (training only; official 0).
  ///   - headHidden: 0 for the official linear classifier; > 0 for an MLP head of that width.
  public init(
    inputDimension: Int, hidden: Int = 500, attentionDimension: Int = 128, classes: Int = 1, dropout: Float = 0,
    headHidden: Int = 0, using generator: inout RandomGenerator
  ) {
    precondition(
      inputDimension > 0 && hidden > 0 && attentionDimension > 0 && classes >= 1 && headHidden >= 0, "ABMIL: bad sizes")
    precondition((0..<1).contains(dropout), "ABMIL: dropout \(dropout) must be in [0, 1)")
    // Registration order of the official __init__: part2, attention_V, attention_U, attention_w, classifier.
    featureExtractor = Linear(inputSize: inputDimension, outputSize: hidden, using: &generator)
    attentionV = Linear(inputSize: hidden, outputSize: attentionDimension, using: &generator)
    attentionU = Linear(inputSize: hidden, outputSize: attentionDimension, using: &generator)
    attentionW = Linear(inputSize: attentionDimension, outputSize: 1, using: &generator)
    if headHidden > 0 {
      classifier = Linear(inputSize: hidden, outputSize: headHidden, using: &generator)
      classifierOutput = Linear(inputSize: headHidden, outputSize: classes, using: &generator)
    } else {
      classifier = Linear(inputSize: hidden, outputSize: classes, using: &generator)
      classifierOutput = nil
    }
    self.dropout = dropout
  }

  /// Feature size of each instance.
  public var inputDimension: Int { featureExtractor.weight.shape[1] }
  /// `L`.
  public var hidden: Int { featureExtractor.weight.shape[0] }
  /// `D`.
  public var attentionDimension: Int { attentionV.weight.shape[0] }
  /// Number of outputs of the classifier.
  public var classes: Int { (classifierOutput ?? classifier).weight.shape[0] }
  /// Width of the MLP head's hidden layer; 0 for the official linear classifier.
  public var headHidden: Int { classifierOutput == nil ? 0 : classifier.weight.shape[0] }

  /// The classifier on pooled embeddings `[b, L]`: linear (official) or the MLP head.
  public func head(_ z: Tensor) -> Tensor {
    guard let classifierOutput else { return classifier(z) }
    return classifierOutput(classifier(z).relu())
  }

  /// The bag's logits and attention weights.
  ///
  /// - Parameters:
  ///   - x: one bag, `[N, inputDimension]`, N ≥ 1.
  ///   - generator: draws the dropout mask in training mode.
  /// - Returns: `logits` `[1, classes]` and `attention` `[1, N]` (softmax over instances, sums to 1).
  public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, attention: Tensor) {
    precondition(
      x.rank == 2 && x.shape[0] > 0 && x.shape[1] == inputDimension,
      "ABMIL: bag \(x.shape); expected [N, \(inputDimension)]")
    var h = featureExtractor(x).relu()  // [N, L]
    if isTraining && dropout > 0 { h = h.dropout(dropout, using: &generator) }
    let gated = attentionV(h).tanh() * attentionU(h).sigmoid()  // [N, D], Eq. 9
    let n = x.shape[0]
    let attention =
      uniformAttention
      ? Tensor(shape: [1, n], data: [Float](repeating: 1 / Float(n), count: n))
      : attentionW(gated).transposed().softmax(axis: -1)  // [1, N]
    let z = attention.matmul(h)  // [1, L]
    return (head(z), attention)
  }

  /// Class probabilities from logits `[b, classes]`: sigmoid of the single logit for one class
  /// (the official `Y_prob`), softmax over classes otherwise.
  public static func probabilities(_ logits: Tensor) -> Tensor {
    logits.shape[logits.rank - 1] == 1 ? logits.sigmoid() : logits.softmax(axis: -1)
  }

  /// Renames the 2020–2023 official key `attention_weights.*` to `attention_w.*`; other entries unchanged.
  public static func canonicalStateDict(_ entries: [SafeTensorsEntry]) -> [SafeTensorsEntry] {
    entries.map { e in
      guard e.name.hasPrefix("attention_weights.") else { return e }
      return SafeTensorsEntry(
        name: "attention_w." + e.name.dropFirst("attention_weights.".count), shape: e.shape, values: e.values)
    }
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("feature_extractor_part2.0", featureExtractor) + prefixed("attention_V.0", attentionV)
      + prefixed("attention_U.0", attentionU) + prefixed("attention_w", attentionW) + prefixed("classifier.0", classifier)
      + (classifierOutput.map { prefixed("classifier.2", $0) } ?? [])
  }

  public var description: String {
    "ABMIL(inputDimension: \(inputDimension), hidden: \(hidden), attentionDimension: \(attentionDimension), "
      + "classes: \(classes), dropout: \(dropout)\(headHidden > 0 ? ", headHidden: \(headHidden)" : ""))"
  }
}

extension ABMIL: MILClassifier {
  /// Logits and the attention weights `[N]` as instance scores (Ilse et al.'s instance-level
  /// interpretation; the baseline of the INS claim).
  public func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?) {
    let (logits, attention) = self(bag, using: &generator)
    return (logits, attention.reshaped([bag.shape[0]]))
  }

  /// The attention weights sum to 1 over the bag.
  public var instanceScoresAreBagWeights: Bool { true }
}

import Engine
import NN

/// Clustering-constrained attention MIL, CLAM (Lu et al. 2021, *Nature Biomedical Engineering*),
/// as the official `CLAM_SB` and `CLAM_MB` classes with gated attention (mahmoodlab/CLAM
/// `models/model_clam.py`), so that CLAM checkpoints converted to safetensors run here.
///
/// `h = ReLU(attention_net.0(x))` `[N, L]`;
/// `a = attention_c(tanh(attention_a(h)) ⊙ sigmoid(attention_b(h)))` `[N, K]`;
/// `A_raw = aᵀ` `[K, N]`; `A = softmax_N(A_raw)`; `M = A h` `[K, L]`;
/// single branch (`CLAM_SB`, K = 1): `logits = classifiers(M)` `[1, C]`;
/// multiple branches (`CLAM_MB`, K = C): `logits[c] = classifiers[c](M[c])`;
/// `Y_prob = softmax(logits)`.
///
/// Official sizes: `size_dict` "small" `[1024, 512, 256]`, "big" `[1024, 512, 384]` for
/// `[embed_dim, L, D]`. Here `inputDimension`, `hidden` (L) and `attentionDimension` (D) are free,
/// and `MILWeights.clam(from:)` reads them from the weight shapes.
///
/// The instance classifiers (`instance_classifiers.<c>`: `L → 2`, one per class) serve only
/// CLAM's training-time clustering loss on the top-k attended instances; they are kept so that
/// checkpoints load strictly (and save back) under the official names, but the evaluation
/// forward does not use them, as in the official `forward(h)` without `instance_eval`.
///
/// State-dict names, all official: `attention_net.0.*` (the first Linear of the
/// `nn.Sequential([Linear, ReLU, Dropout, Attn_Net_Gated])`), `attention_net.3.attention_a.0.*`,
/// `attention_net.3.attention_b.0.*`, `attention_net.3.attention_c.*`, `classifiers.*` (SB) or
/// `classifiers.<c>.*` (MB), `instance_classifiers.<c>.*`. The ungated `Attn_Net` variant
/// (`--no_gate`) is not implemented. Initialisation is PyTorch's default for every Linear, in the
/// official registration order.
///
/// Shape: `[N, inputDimension]` → logits `[1, classes]`, raw attention `[K, N]`.
public final class CLAM: Module, CustomStringConvertible {
  /// One attention branch shared by all classes (`CLAM_SB`) or one branch per class (`CLAM_MB`).
  public enum Branches: String, Sendable, CaseIterable {
    case single = "CLAM_SB"
    case multiple = "CLAM_MB"
  }

  /// SB or MB.
  public let branches: Branches
  /// `attention_net.0`: `inputDimension → L`, followed by ReLU (and dropout in training).
  public let fc: Linear
  /// `attention_net.3.attention_a.0`: `L → D`, followed by tanh.
  public let attentionA: Linear
  /// `attention_net.3.attention_b.0`: `L → D`, followed by sigmoid (the gate).
  public let attentionB: Linear
  /// `attention_net.3.attention_c`: `D → K` (K = 1 for SB, `classes` for MB).
  public let attentionC: Linear
  /// SB: one `L → classes` Linear (`classifiers`); MB: `classes` Linears `L → 1` (`classifiers.<c>`).
  public let classifiers: [Linear]
  /// `instance_classifiers.<c>`: `L → 2`, one per class (training-time clustering only).
  public let instanceClassifiers: [Linear]
  /// Drop probability in training mode: after `attention_net.0` (`dropout`) and, when it is
  /// positive, 0.25 after the tanh and the sigmoid of the gated attention (the official rule).
  public let dropout: Float
  public var isTraining = true

  /// - Parameters:
  ///   - branches: `.single` (CLAM_SB) or `.multiple` (CLAM_MB).
  ///   - inputDimension: `embed_dim` (official default 1024).
  ///   - hidden: L (official 512).
  ///   - attentionDimension: D (official 256 "small", 384 "big").
  ///   - classes: `n_classes` (official default 2).
  ///   - dropout: `dropout` (official default 0; CLAM's main.py passes 0.25).
  public init(
    branches: Branches, inputDimension: Int = 1024, hidden: Int = 512, attentionDimension: Int = 256,
    classes: Int = 2, dropout: Float = 0, using generator: inout RandomGenerator
  ) {
    precondition(
      inputDimension > 0 && hidden > 0 && attentionDimension > 0 && classes >= 1,
      "CLAM: bad sizes input \(inputDimension), L \(hidden), D \(attentionDimension), classes \(classes)")
    precondition((0..<1).contains(dropout), "CLAM: dropout \(dropout) must be in [0, 1)")
    self.branches = branches
    // Registration order of the official __init__: attention_net (0, then attention_a, _b, _c),
    // classifiers, instance_classifiers.
    fc = Linear(inputSize: inputDimension, outputSize: hidden, using: &generator)
    attentionA = Linear(inputSize: hidden, outputSize: attentionDimension, using: &generator)
    attentionB = Linear(inputSize: hidden, outputSize: attentionDimension, using: &generator)
    attentionC = Linear(
      inputSize: attentionDimension, outputSize: branches == .single ? 1 : classes, using: &generator)
    switch branches {
    case .single: classifiers = [Linear(inputSize: hidden, outputSize: classes, using: &generator)]
    case .multiple: classifiers = (0..<classes).map { _ in Linear(inputSize: hidden, outputSize: 1, using: &generator) }
    }
    instanceClassifiers = (0..<classes).map { _ in Linear(inputSize: hidden, outputSize: 2, using: &generator) }
    self.dropout = dropout
  }

  /// `embed_dim`.
  public var inputDimension: Int { fc.weight.shape[1] }
  /// L.
  public var hidden: Int { fc.weight.shape[0] }
  /// D.
  public var attentionDimension: Int { attentionA.weight.shape[0] }
  /// `n_classes`.
  public var classes: Int { instanceClassifiers.count }

  /// The bag's logits and raw attention scores.
  ///
  /// - Parameters:
  ///   - x: one bag, `[N, inputDimension]`, N ≥ 1.
  ///   - generator: draws the dropout masks in training mode.
  /// - Returns: `logits` `[1, classes]` and `attention` `A_raw` `[K, N]` before the softmax over
  ///   instances (K = 1 for SB, `classes` for MB), as the official forward returns it and
  ///   `create_heatmaps.py` draws it; `softmax(axis: -1)` of it weighs the instances.
  public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, attention: Tensor) {
    precondition(
      x.rank == 2 && x.shape[0] > 0 && x.shape[1] == inputDimension,
      "CLAM: bag \(x.shape); expected [N, \(inputDimension)]")
    let training = isTraining && dropout > 0
    var h = fc(x).relu()  // [N, L]
    if training { h = h.dropout(dropout, using: &generator) }
    var a = attentionA(h).tanh()  // [N, D]
    var b = attentionB(h).sigmoid()
    if training {
      a = a.dropout(0.25, using: &generator)
      b = b.dropout(0.25, using: &generator)
    }
    let raw = attentionC(a * b).transposed()  // [K, N]
    let m = raw.softmax(axis: -1).matmul(h)  // [K, L]
    switch branches {
    case .single:
      return (classifiers[0](m), raw)
    case .multiple:
      let perClass = classifiers.indices.map { c in classifiers[c](m.narrowed(axis: 0, start: c, length: 1)) }
      return (Tensor.concatenate(perClass, axis: 1), raw)  // [1, C]
    }
  }

  /// The official `Y_prob`: softmax over classes of logits `[b, classes]`.
  public static func probabilities(_ logits: Tensor) -> Tensor { logits.softmax(axis: -1) }

  /// The entries as CLAM's `eval.py` (`initiate_model`) loads a checkpoint: keys holding
  /// `instance_loss_fn` are dropped and `.module` (left by `nn.DataParallel`) is removed from
  /// the names. Other entries are unchanged.
  public static func canonicalStateDict(_ entries: [SafeTensorsEntry]) -> [SafeTensorsEntry] {
    entries.compactMap { e in
      guard !e.name.contains("instance_loss_fn") else { return nil }
      guard e.name.contains(".module") else { return e }
      return SafeTensorsEntry(name: e.name.replacing(".module", with: ""), shape: e.shape, values: e.values)
    }
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var named =
      prefixed("attention_net.0", fc) + prefixed("attention_net.3.attention_a.0", attentionA)
      + prefixed("attention_net.3.attention_b.0", attentionB) + prefixed("attention_net.3.attention_c", attentionC)
    switch branches {
    case .single: named += prefixed("classifiers", classifiers[0])
    case .multiple: for (c, l) in classifiers.enumerated() { named += prefixed("classifiers.\(c)", l) }
    }
    for (c, l) in instanceClassifiers.enumerated() { named += prefixed("instance_classifiers.\(c)", l) }
    return named
  }

  public var description: String {
    "\(branches.rawValue)(inputDimension: \(inputDimension), hidden: \(hidden), "
      + "attentionDimension: \(attentionDimension), classes: \(classes), dropout: \(dropout))"
  }
}

import Basics
import Engine
import Foundation
import NN

/// Why a MIL weights file cannot be used.
public enum MILWeightsError: Error, CustomStringConvertible, Equatable {
  /// The file does not exist or is not valid safetensors.
  case unreadable(path: String, reason: String)
  /// A key needed to infer the model's sizes is absent.
  case missingKey(path: String, key: String, model: String)
  /// A key has a shape the model cannot have.
  case badShape(path: String, key: String, shape: [Int], expected: String)
  /// The file's keys do not match the model's state dict exactly (names from the report).
  case mismatch(path: String, model: String, report: StateDictReport)
  /// A tensor holds NaN or infinite values (a diverged or corrupted checkpoint).
  case nonFinite(path: String, key: String, count: Int)
  /// A variant of a model that is recognised but not implemented.
  case unsupported(path: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason):
      return "weights \(path): \(reason)"
    case .missingKey(let path, let key, let model):
      return "weights \(path): no key '\(key)' (needed to size \(model)); is this a \(model) state dict?"
    case .badShape(let path, let key, let shape, let expected):
      return "weights \(path): key '\(key)' has shape \(shape); expected \(expected)"
    case .mismatch(let path, let model, let report):
      var parts: [String] = []
      if !report.missing.isEmpty { parts.append("missing keys: \(report.missing.joined(separator: ", "))") }
      if !report.unexpected.isEmpty { parts.append("unexpected keys: \(report.unexpected.joined(separator: ", "))") }
      if !report.mismatched.isEmpty { parts.append("mis-shaped keys: \(report.mismatched.joined(separator: ", "))") }
      return "weights \(path) do not fit \(model): " + parts.joined(separator: "; ")
    case .nonFinite(let path, let key, let count):
      return "weights \(path): key '\(key)' holds \(count) NaN or infinite values; expected finite weights "
        + "(a diverged or corrupted checkpoint)"
    case .unsupported(let path, let reason):
      return "weights \(path): \(reason)"
    }
  }
}

/// Saving and loading MIL models as safetensors state dicts under the official PyTorch names, so
/// a model trained here, or converted from the official code (`save_file(model.state_dict())`),
/// runs in `replicate predict`.
///
/// Model sizes are inferred from the weight shapes: ABMIL from `feature_extractor_part2.0.weight`
/// `[L, inputDimension]`, `attention_V.0.weight` `[D, L]` and `classifier.0.weight` `[classes, L]`
/// (with an MLP head, `classifier.0.weight` `[headHidden, L]` and `classifier.2.weight` `[classes, headHidden]`);
/// TransMIL from `_fc1.0.weight` `[dim, inputDimension]` and `_fc2.weight` `[classes, dim]`
/// (8 heads of `dim/8`, `dim/2` landmarks, as the official model); CLAM as `clam(from:)` says.
/// Loading is strict: every key of the model must be present with its shape and nothing else may
/// be in the file.
///
/// ```swift
/// try MILWeights.save(model, to: "abmil.safetensors", metadata: ["method": "abmil"])
/// let restored = try MILWeights.abmil(from: "abmil.safetensors")   // evaluation mode
/// ```
public enum MILWeights {
  /// Writes the model's state dict (F32, official names) to `path`.
  public static func save(_ model: Module, to path: String, metadata: [String: String] = [:]) throws(SafeTensorsError) {
    try SafeTensors.write(model.stateDict(), metadata: metadata, to: path)
  }

  /// The entries of a safetensors file.
  public static func read(_ path: String) throws(MILWeightsError) -> [SafeTensorsEntry] {
    let entries: [SafeTensorsEntry]
    do { entries = try SafeTensors.read(path).entries } catch { throw .unreadable(path: path, reason: error.description) }
    for e in entries {
      let bad = e.values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
      if bad > 0 { throw .nonFinite(path: path, key: e.name, count: bad) }
    }
    return entries
  }

  /// Copies `entries` into `model`, throwing unless every key matches by name and shape.
  public static func loadExactly(_ entries: [SafeTensorsEntry], into model: Module, path: String, name: String)
    throws(MILWeightsError)
  {
    let report = model.loadStateDict(entries)
    guard report.isExact else { throw .mismatch(path: path, model: name, report: report) }
  }

  /// An ABMIL sized and loaded from a state-dict file, in evaluation mode. The 2020–2023 key
  /// `attention_weights.*` is accepted for `attention_w.*`.
  public static func abmil(from path: String) throws(MILWeightsError) -> ABMIL {
    let entries = ABMIL.canonicalStateDict(try read(path))
    let model = "ABMIL"
    let part2 = try matrix(entries, "feature_extractor_part2.0.weight", path: path, model: model)
    let v = try matrix(entries, "attention_V.0.weight", path: path, model: model)
    let classifier = try matrix(entries, "classifier.0.weight", path: path, model: model)
    // An MLP head (`classifier.0`, ReLU, `classifier.2`) is recognised by its second layer.
    let output =
      entries.contains { $0.name == "classifier.2.weight" }
      ? try matrix(entries, "classifier.2.weight", path: path, model: model) : nil
    var g = RandomGenerator(seed: 0)  // overwritten by the load
    let abmil = ABMIL(
      inputDimension: part2[1], hidden: part2[0], attentionDimension: v[0], classes: output?[0] ?? classifier[0],
      headHidden: output == nil ? 0 : classifier[0], using: &g)
    try loadExactly(entries, into: abmil, path: path, name: "\(abmil)")
    abmil.isTraining = false
    return abmil
  }

  /// A TransMIL sized and loaded from a state-dict file, in evaluation mode.
  public static func transMIL(from path: String, legacyOutputSlice: Bool = false) throws(MILWeightsError) -> TransMIL {
    let entries = try read(path)
    let model = "TransMIL"
    let fc1 = try matrix(entries, "_fc1.0.weight", path: path, model: model)
    let fc2 = try matrix(entries, "_fc2.weight", path: path, model: model)
    guard fc1[0] % 8 == 0, fc1[0] >= 8 else {
      throw .badShape(
        path: path, key: "_fc1.0.weight", shape: fc1, expected: "[dim, input] with dim a multiple of 8 (8 heads)")
    }
    // The attention from its names: torch's multi-head attention (`attn.in_proj_weight`), or
    // Nyström with or without its value convolution (`attn.res_conv.weight`).
    let names = Set(entries.map(\.name))
    let attention: TransMIL.Attention = names.contains("layer1.attn.in_proj_weight") ? .multihead : .nystrom
    let valueResidual = names.contains("layer1.attn.res_conv.weight")
    var g = RandomGenerator(seed: 0)  // overwritten by the load
    let transMIL = TransMIL(
      inputDimension: fc1[1], dimension: fc1[0], classes: fc2[0], legacyOutputSlice: legacyOutputSlice,
      valueResidual: valueResidual, attention: attention, using: &g)
    try loadExactly(
      entries, into: transMIL, path: path,
      name: "TransMIL(inputDimension: \(fc1[1]), dimension: \(fc1[0]), classes: \(fc2[0])"
        + (attention == .multihead ? ", attention: .multihead" : valueResidual ? "" : ", valueResidual: false") + ")")
    transMIL.isTraining = false
    return transMIL
  }

  /// Whether a state dict is a CLAM model's (it has `attention_net.0.weight`, also under
  /// `nn.DataParallel`'s `.module` names), rather than an ABMIL or TransMIL one.
  public static func isCLAM(_ entries: [SafeTensorsEntry]) -> Bool {
    CLAM.canonicalStateDict(entries).contains { $0.name == "attention_net.0.weight" }
  }

  /// A CLAM_SB or CLAM_MB sized and loaded from a state-dict file, in evaluation mode.
  ///
  /// Sizes come from `attention_net.0.weight` `[L, embed_dim]` and
  /// `attention_net.3.attention_a.0.weight` `[D, L]`; the kind from the classifier keys
  /// (`classifiers.weight` `[n_classes, L]`: SB; `classifiers.<c>.weight` `[1, L]`: MB, with
  /// `n_classes` from `attention_net.3.attention_c.weight` `[n_classes, D]`). Keys are first
  /// cleaned as CLAM's `eval.py` does (`CLAM.canonicalStateDict`), then must match exactly,
  /// `instance_classifiers.<c>` included.
  public static func clam(from path: String) throws(MILWeightsError) -> CLAM {
    try clam(CLAM.canonicalStateDict(try read(path)), path: path)
  }

  /// A CLAM from canonical entries (see `clam(from:)`); `path` names the source in errors.
  public static func clam(_ entries: [SafeTensorsEntry], path: String) throws(MILWeightsError) -> CLAM {
    let model = "CLAM"
    let fc = try matrix(entries, "attention_net.0.weight", path: path, model: model)
    let gated = entries.contains { $0.name.hasPrefix("attention_net.3.attention_") }
    if !gated && entries.contains(where: { $0.name.hasPrefix("attention_net.3.") }) {
      throw .unsupported(
        path: path,
        reason: "CLAM with ungated attention (Attn_Net, gate=False; keys attention_net.3.module.*) is not "
          + "supported; expected gated attention (attention_net.3.attention_a/_b/_c)")
    }
    let a = try matrix(entries, "attention_net.3.attention_a.0.weight", path: path, model: model)
    let c = try matrix(entries, "attention_net.3.attention_c.weight", path: path, model: model)
    let branches: CLAM.Branches
    let classes: Int
    if entries.contains(where: { $0.name == "classifiers.weight" }) {
      branches = .single
      classes = try matrix(entries, "classifiers.weight", path: path, model: "CLAM_SB")[0]
    } else if entries.contains(where: { $0.name == "classifiers.0.weight" }) {
      branches = .multiple
      classes = c[0]
    } else {
      throw .missingKey(path: path, key: "classifiers.weight (CLAM_SB) or classifiers.0.weight (CLAM_MB)", model: model)
    }
    guard a[1] == fc[0] else {
      throw .badShape(
        path: path, key: "attention_net.3.attention_a.0.weight", shape: a, expected: "[D, \(fc[0])] (L from attention_net.0)")
    }
    var g = RandomGenerator(seed: 0)  // overwritten by the load
    let clam = CLAM(
      branches: branches, inputDimension: fc[1], hidden: fc[0], attentionDimension: a[0], classes: classes, using: &g)
    try loadExactly(entries, into: clam, path: path, name: "\(clam)")
    clam.isTraining = false
    return clam
  }

  /// The shape of a 2-d entry.
  static func matrix(_ entries: [SafeTensorsEntry], _ key: String, path: String, model: String) throws(MILWeightsError)
    -> [Int]
  {
    guard let entry = entries.first(where: { $0.name == key }) else {
      throw .missingKey(path: path, key: key, model: model)
    }
    guard entry.shape.count == 2, entry.shape.allSatisfy({ $0 > 0 }) else {
      throw .badShape(path: path, key: key, shape: entry.shape, expected: "a non-empty matrix")
    }
    return entry.shape
  }
}

extension MILWeightsError: UserFacingError {}

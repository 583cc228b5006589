import Engine
import Foundation
import Methods
import NN

/// The `transmil` target: TransMIL (Shao et al. 2021) exactly as the official model, trained as
/// the official `train.py` (Lookahead-RAdam, lr 2e-4, weight decay 1e-5 on ≥ 2-D parameters,
/// gradient accumulation 2, batch 1, cross-entropy over 2 classes, early stopping on the
/// validation loss with patience 10 and the best checkpoint tested).
///
/// The main model learns `task` (default `relational`: the slide label depends on which rare
/// tissue kinds occur together). Comparison arms inside the same run check the claims:
/// - `abmil`: gated ABMIL on the same task (`auc.abmil`, `gain_over_abmil`);
/// - `abmil_mlp` (when `abmilMLPHidden > 0`): the same ABMIL with an MLP head (`auc.abmil_mlp`,
///   `gain_over_abmil_mlp`), so that a TransMIL gain is not a non-linear readout's alone;
/// - `no_ppeg`: TransMIL without the PPEG position encoding (`auc.no_ppeg`, `ppeg_gain`);
/// - `nystrom` (when `nystromArm` and the main model's attention is an experiment): the official
///   Nyström TransMIL on the main task (`auc.nystrom`), so that the paper's model is still run
///   and reported beside the one that carries the claims;
/// - `control`: TransMIL and ABMIL on `controlTask` (default `tumour`, where one instance
///   decides and attention pooling suffices): `control.auc`, `control.auc.abmil`,
///   `control.gain_over_abmil`, and `relational_advantage` = gain on the task − gain on the control.
public enum TransMILVariant: MILVariant {
  public typealias Config = TransMILConfig
  public static let name = "TransMIL"

  public static var metrics: [MetricInfo] {
    MILEvaluation.metricInfos(what: "TransMIL on the main task")
      + [
        MetricInfo("auc.no_ppeg", .higher, "test slide ROC-AUC, TransMIL without PPEG, main task"),
        MetricInfo("auc.abmil", .higher, "test slide ROC-AUC, ABMIL, main task"),
        MetricInfo("auc.abmil_mlp", .higher, "test slide ROC-AUC, ABMIL with an MLP head, main task"),
        MetricInfo("auc.nystrom", .higher, "test slide ROC-AUC, the official Nyström TransMIL, main task"),
        MetricInfo("auc.sequence", .higher, "test slide ROC-AUC, TransMIL with the official token layout, main task"),
        MetricInfo("slide_grid_gain", .higher, "auc − auc.sequence: tokens on the slide's grid against the official fold"),
        MetricInfo("control.auc", .higher, "test slide ROC-AUC, TransMIL, control task"),
        MetricInfo("control.auc.abmil", .higher, "test slide ROC-AUC, ABMIL, control task"),
        MetricInfo("gain_over_abmil", .higher, "auc − auc.abmil (main task)"),
        MetricInfo("gain_over_abmil_mlp", .higher, "auc − auc.abmil_mlp (main task)"),
        MetricInfo("control.gain_over_abmil", .higher, "control.auc − control.auc.abmil"),
        MetricInfo("relational_advantage", .higher, "gain_over_abmil − control.gain_over_abmil"),
        MetricInfo("ppeg_gain", .higher, "auc − auc.no_ppeg"),
      ]
      + [("", ".no_ppeg", "TransMIL without PPEG, main task"), ("", ".abmil", "ABMIL, main task"),
         ("", ".abmil_mlp", "ABMIL with an MLP head, main task"),
         ("", ".nystrom", "the official Nyström TransMIL, main task"),
         ("", ".sequence", "TransMIL with the official token layout, main task"),
         ("control.", "", "TransMIL, control task"), ("control.", ".abmil", "ABMIL, control task")].map { prefix, suffix, what in
        MILEvaluation.sizeCorrelationInfo(prefix: prefix, suffix: suffix, what: what)
      } + MILEvaluation.trainingMetricInfos
  }

  static func transMILSettings(_ config: TransMILConfig) -> MILTrainingSettings {
    var settings = MILTrainingSettings(
      optimizer: .lookaheadRAdam, learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay),
      maxEpochs: config.maxEpochs, patience: config.patience, gradientAccumulation: config.gradientAccumulation)
    settings.selection = config.selectOn
    return settings
  }

  /// The ABMIL arm selects its epoch as TransMIL does (`selectOn`, `patience`).
  static func abmilSettings(_ config: TransMILConfig) -> MILTrainingSettings {
    var settings = MILTrainingSettings(
      optimizer: .adam, learningRate: Float(config.abmilLearningRate), weightDecay: Float(config.abmilWeightDecay),
      maxEpochs: config.abmilMaxEpochs, patience: config.patience, gradientAccumulation: 1)
    settings.selection = config.selectOn
    return settings
  }

  /// TransMIL (with or without PPEG) under `label` on `data`; the main model (label "") keeps
  /// every metric and the bootstrap, an arm copies its `auc` as `prefix + auc + suffix`.
  static func transMIL(
    _ label: String, ppeg: Bool, data: MILSplits, config: TransMILConfig, attention: TransMIL.Attention? = nil,
    tokenLayout: TransMIL.TokenLayout? = nil, prefix: String = "", suffix: String? = nil
  ) -> MILArmPlan {
    .trained(
      label, generator: "transmil \(label)", data: data, settings: transMILSettings(config),
      bootstrap: label.isEmpty ? config.data.bootstrap : 0, copies: label.isEmpty ? nil : ["auc", "size_correlation"],
      prefix: prefix,
      suffix: suffix
    ) { g in
      TransMIL(
        inputDimension: data.featureDimension, dimension: config.dimension, classes: data.classCount,
        dropout: Float(config.dropout), legacyOutputSlice: config.legacyOutputSlice, usesPPEG: ppeg,
        valueResidual: config.valueResidual, attention: attention ?? config.attention,
        tokenLayout: tokenLayout ?? config.tokenLayout, using: &g)
    }
  }

  /// The ABMIL arm under `label` on `data` (with an MLP head of `headHidden` when > 0), its `auc`
  /// copied as `prefix + auc + suffix`.
  static func abmil(
    _ label: String, data: MILSplits, config: TransMILConfig, headHidden: Int = 0, prefix: String = "",
    suffix: String? = nil
  ) -> MILArmPlan {
    .trained(
      label, generator: "abmil \(label)", data: data, settings: abmilSettings(config), copies: ["auc", "size_correlation"],
      prefix: prefix,
      suffix: suffix
    ) { g in
      ABMIL(inputDimension: data.featureDimension, hidden: config.abmilHidden, classes: 1, headHidden: headHidden, using: &g)
    }
  }

  public static func task(_ config: TransMILConfig) -> MILTask { config.task }

  public static func main(_ config: TransMILConfig, bags data: MILSplits, context: RunContext) throws -> MILArmPlan {
    if config.tokenLayout == .slideGrid, let bag = (data.train + data.val + data.test).first(where: { $0.gridPositions == nil }) {
      throw InputError.badOverride(
        key: "tokenLayout", value: "slide-grid",
        expected: "bags whose tiles have level-0 coordinates on a grid (coords and a step size); slide \(bag.slideID) of "
          + "\(data.dataset.datasetId) has none, so use tokenLayout: sequence")
    }
    return transMIL("", ppeg: config.ppeg, data: data, config: config)
  }

  public static func arms(_ config: TransMILConfig, bags data: MILSplits, context: RunContext) throws -> [MILArmPlan] {
    guard config.arms else { return [] }
    let control = try MILData.splits(
      of: data.dataset, task: config.controlTask, subset: context.spec.subset, permuteLabels: config.data.permuteLabels)
    // Each arm draws from its own named stream, so the optional arm goes last without moving the others.
    return [
      transMIL("no_ppeg", ppeg: false, data: data, config: config),
      abmil("abmil", data: data, config: config),
      transMIL("control", ppeg: true, data: control, config: config, prefix: "control.", suffix: ""),
      abmil("control.abmil", data: control, config: config, prefix: "control.", suffix: ".abmil"),
    ] + (config.abmilMLPHidden > 0 ? [abmil("abmil_mlp", data: data, config: config, headHidden: config.abmilMLPHidden)] : [])
      + (config.trainsNystromArm
        ? [transMIL("nystrom", ppeg: true, data: data, config: config, attention: .nystrom)] : [])
      + (config.trainsSequenceArm ? [transMIL("sequence", ppeg: true, data: data, config: config, tokenLayout: .sequence)] : [])
  }

  public static func gaps(_ config: TransMILConfig) -> [MILGap] {
    [
      MILGap("gain_over_abmil", "auc", minus: "auc.abmil"),
      MILGap("gain_over_abmil_mlp", "auc", minus: "auc.abmil_mlp"),
      MILGap("control.gain_over_abmil", "control.auc", minus: "control.auc.abmil"),
      MILGap("ppeg_gain", "auc", minus: "auc.no_ppeg"),
      MILGap("slide_grid_gain", "auc", minus: "auc.sequence"),
      MILGap("relational_advantage", "gain_over_abmil", minus: "control.gain_over_abmil"),
    ]
  }

  public static func finish(
    _ config: TransMILConfig, bags data: MILSplits, context: RunContext, metrics: inout [String: Double],
    notes: inout [String]
  ) {
    notes += MILData.emptySlidesNote(data)
    notes.append(
      "\(name) (width \(config.dimension), "
        + attentionDescription(config) + ") "
        + "on the \(config.task.rawValue) task of \(data.dataset.datasetId): \(data.train.count) training slides (subset "
        + "\(ConfigValue.format(context.spec.subset))% of \(data.fullTrainCount)), \(data.val.count) validation, "
        + "\(data.test.count) test; kept epoch \(Int(metrics["best_epoch"] ?? 0)) of \(Int(metrics["epochs"] ?? 0))"
        + (config.arms ? "; arms: " + armNames(config).joined(separator: ", ") : ""))
  }

  /// The comparison arms as the run's note lists them, in training order.
  static func armNames(_ config: TransMILConfig) -> [String] {
    ["no_ppeg", "abmil", "control (\(config.controlTask.rawValue)) TransMIL and ABMIL"]
      + (config.abmilMLPHidden > 0 ? ["abmil_mlp (MLP head \(config.abmilMLPHidden))"] : [])
      + (config.trainsNystromArm ? ["nystrom (the official attention)"] : [])
      + (config.trainsSequenceArm ? ["sequence (the official token layout)"] : [])
  }

  /// The attention as the run's note names it.
  static func attentionDescription(_ config: TransMILConfig) -> String {
    switch config.attention {
    case .multihead: return "torch multi-head attention"
    case .exact: return "exact softmax attention" + (config.valueResidual ? "" : ", no value convolution")
    case .nystrom:
      return (config.legacyOutputSlice ? "nystrom 0.0.9 slicing" : "nystrom ≥ 0.0.10 slicing")
        + (config.valueResidual ? "" : ", no value convolution")
    }
  }
}

/// The `transmil` target's config: the shared MIL data keys, then TransMIL's own (official
/// `train.py` and `Camelyon/TransMIL.yaml` values) and its ABMIL arm's.
public struct TransMILConfig: MILMethodConfig, Equatable {
  public var data = MILDataConfig()
  public var task = MILTask.relational
  public var controlTask = MILTask.tumour
  public var dimension = 512
  public var dropout = 0.1
  public var legacyOutputSlice = false
  public var learningRate = 2e-4
  public var weightDecay = 1e-5
  public var gradientAccumulation = 2
  public var maxEpochs = 200
  public var patience = 10
  public var selectOn = MILTrainingSettings.Selection.loss
  public var arms = true
  public var ppeg = true
  public var valueResidual = true
  public var attention = TransMIL.Attention.nystrom
  public var abmilHidden = 500
  public var abmilMLPHidden = 0
  public var nystromArm = false
  /// Whether the run trains the official Nyström arm: asked for, and the main model's attention is another.
  var trainsNystromArm: Bool { nystromArm && attention != .nystrom }
  public var tokenLayout = TransMIL.TokenLayout.sequence
  public var sequenceArm = false
  /// Whether the run trains the official token layout as an arm: asked for, and the main model's layout is another.
  var trainsSequenceArm: Bool { sequenceArm && tokenLayout != .sequence }
  public var abmilMaxEpochs = 200
  public var abmilLearningRate = 5e-4
  public var abmilWeightDecay = 1e-4

  public init() {}

  /// `dimension`: the heads need width/8 each.
  static let dimensionCheck: @Sendable (ConfigValue) -> String? = { v in
    if case .int(let n) = v, n >= 8, n % 8 == 0, n <= 4096 { return nil }
    return "expected a multiple of 8 in 8...4096"
  }

  public static let fields: [ConfigField<Self>] =
    .lifted(MILDataConfig.self, at: \.data) + [
      .choice(
        "task", \.task, "slide task of the main model: relational | tumour | proximity (needs proximityDesign)",
        among: MILTask.classification),
      .choice(
        "controlTask", \.controlTask, "task of the control arms: tumour | relational | proximity", among: MILTask.classification),
      .int("dimension", \.dimension, "model width (official 512; heads 8 × width/8, width/2 landmarks)", check: dimensionCheck),
      .double("dropout", \.dropout, "dropout after each Nyström attention (official 0.1)", check: ConfigCheck.probability),
      .bool("legacyOutputSlice", \.legacyOutputSlice, "nystrom-attention 0.0.9 output slicing (the version the authors pinned)"),
      .double("learningRate", \.learningRate, "RAdam learning rate (official 2e-4)"),
      .double("weightDecay", \.weightDecay, "weight decay on ≥2-D parameters (official 1e-5)"),
      .int("gradientAccumulation", \.gradientAccumulation, "bags per optimiser step (official 2)", check: ConfigCheck.positive),
      .int("maxEpochs", \.maxEpochs, "maximum epochs (official 200)", check: ConfigCheck.positive),
      .int("patience", \.patience, "early-stopping patience on the validation loss (official 10; 0: off)", check: ConfigCheck.nonNegative),
      .choice(
        "selectOn", \.selectOn,
        "what early stopping watches: val-loss (official) | val-auc (the validation slide AUC, higher is better)"),
      .bool("arms", \.arms, "train the comparison arms (ABMIL, no PPEG, control task)"),
      .bool(
        "valueResidual", \.valueResidual,
        "the Nyström attention's depthwise value convolution (kernel 33; official true); false is an experiment"),
      .choice(
        "attention", \.attention,
        "nystrom (official: width/2 landmarks) | exact (full softmax attention, same parameters) | multihead "
          + "(torch's nn.MultiheadAttention: q/k/v biases, dropout on the attention weights); the last two are experiments"),
      .bool("ppeg", \.ppeg, "audit: false removes PPEG from the main model (its arms keep their own setting)"),
      .choice(
        "tokenLayout", \.tokenLayout,
        "where PPEG puts the tokens: sequence (official: the bag's order folded into a square) | slide-grid (each tile's cell "
          + "on the slide's tile grid; an experiment)"),
      .bool(
        "sequenceArm", \.sequenceArm,
        "with tokenLayout slide-grid: also train TransMIL with the official sequence layout on the main task (auc.sequence)"),
      .int("abmilHidden", \.abmilHidden, "ABMIL arm: embedding size", check: ConfigCheck.positive),
      .int(
        "abmilMLPHidden", \.abmilMLPHidden,
        "width of the MLP head of a second ABMIL arm, abmil_mlp (0: no such arm; not in the paper)",
        check: ConfigCheck.nonNegative),
      .bool(
        "nystromArm", \.nystromArm,
        "with an experimental attention: also train the official Nyström TransMIL on the main task (auc.nystrom)"),
      .int("abmilMaxEpochs", \.abmilMaxEpochs, "ABMIL arm: maximum epochs (early stopping as TransMIL)", check: ConfigCheck.positive),
      .double("abmilLearningRate", \.abmilLearningRate, "ABMIL arm: Adam learning rate"),
      .double("abmilWeightDecay", \.abmilWeightDecay, "ABMIL arm: Adam L2 weight decay"),
    ]
}

import Engine
import Foundation
import Methods
import NN

/// The `abmil` target: gated-attention MIL (Ilse, Tomczak & Welling 2018) on feature bags,
/// trained bag at a time with the optimiser of the official `main.py` (Adam, lr 5e-4, betas
/// (0.9, 0.999), weight decay 1e-4 as L2) and the shared MIL loop (early stopping on the
/// validation loss). Reports the slide metrics on the task (tumour by default), the attention
/// weights' instance AUC (for the INS comparison), and an embedded-mean arm (`MeanPoolingMIL`)
/// for Ilse et al.'s claim that attention pooling beats mean pooling.
public enum ABMILVariant: MILVariant {
  public typealias Config = ABMILConfig
  public static let name = "ABMIL (gated)"

  public static var metrics: [MetricInfo] {
    MILEvaluation.metricInfos(what: "ABMIL")
      + [
        MetricInfo("instance_auc", .higher, "ROC-AUC of the attention weights × bag size (1 = uniform) against tumour instance labels, pooled over the test bags"),
        MetricInfo("auc.mean_pooling", .higher, "test slide ROC-AUC, embedded-mean baseline"),
        MetricInfo("gain_over_mean_pooling", .higher, "auc − auc.mean_pooling"),
        MetricInfo("auc.permuted_labels", .higher, "test slide ROC-AUC of the same model trained on permuted training labels"),
        MetricInfo("instance_auc.permuted_labels", .higher, "attention instance AUC of the permuted-label control"),
        MetricInfo("auc_gain_over_permuted", .higher, "auc − auc.permuted_labels"),
        MetricInfo("instance_auc_gain_over_permuted", .higher, "instance_auc − instance_auc.permuted_labels"),
      ] + MILEvaluation.trainingMetricInfos
  }

  /// ABMIL's training settings from the config (accumulation 1: one step per bag, as main.py).
  static func settings(_ config: ABMILConfig) -> MILTrainingSettings {
    var settings = MILTrainingSettings(
      optimizer: .adam, learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay),
      maxEpochs: config.maxEpochs, patience: config.patience, gradientAccumulation: 1)
    settings.selection = config.selectOn
    return settings
  }

  public static func task(_ config: ABMILConfig) -> MILTask { config.task }

  public static func main(_ config: ABMILConfig, bags data: MILSplits, context: RunContext) -> MILArmPlan {
    .trained("", generator: "abmil", data: data, settings: settings(config), bootstrap: config.data.bootstrap) { g in
      let model = abmil(config, data: data, using: &g)
      model.uniformAttention = config.uniformAttention
      return model
    }
  }

  /// The official gated ABMIL at the config's sizes (the main model and the permuted-label arm).
  static func abmil(_ config: ABMILConfig, data: MILSplits, using g: inout RandomGenerator) -> ABMIL {
    ABMIL(
      inputDimension: data.featureDimension, hidden: config.hidden, attentionDimension: config.attentionDimension,
      classes: 1, dropout: Float(config.dropout), using: &g)
  }

  public static func arms(_ config: ABMILConfig, bags data: MILSplits, context: RunContext) -> [MILArmPlan] {
    var arms: [MILArmPlan] = []
    if config.meanPoolingArm {
      arms.append(
        .trained("mean_pooling", generator: "mean_pooling", data: data, settings: settings(config), copies: ["auc"]) { g in
          MeanPoolingMIL(inputDimension: data.featureDimension, hidden: config.hidden, using: &g)
        })
    }
    // The label-permutation control inside the run: the main model's generator (the same initial
    // weights), the training and validation labels moved by MILData's balanced permutation (early
    // stopping must not see the true labels either), everything else the same. What it reaches is what ABMIL gets from the features without the slide labels.
    // (Skipped when the main model is itself the permuted audit variant.)
    if config.permutedLabelsArm && !config.data.permuteLabels {
      var permuted = data
      (permuted.train, permuted.val) = (MILData.permutingLabels(data.train), MILData.permutingLabels(data.val))
      arms.append(
        .trained(
          "permuted_labels", generator: "abmil", data: permuted, settings: settings(config), copies: ["auc", "instance_auc"]
        ) { g in abmil(config, data: data, using: &g) })
    }
    return arms
  }

  public static func gaps(_ config: ABMILConfig) -> [MILGap] {
    [
      MILGap("gain_over_mean_pooling", "auc", minus: "auc.mean_pooling"),
      MILGap("auc_gain_over_permuted", "auc", minus: "auc.permuted_labels"),
      MILGap("instance_auc_gain_over_permuted", "instance_auc", minus: "instance_auc.permuted_labels"),
    ]
  }

  public static func finish(
    _ config: ABMILConfig, bags data: MILSplits, context: RunContext, metrics: inout [String: Double],
    notes: inout [String]
  ) {
    notes += MILData.emptySlidesNote(data)
    notes.append(
      "\(name) on the \(config.task.rawValue) task of \(data.dataset.datasetId): \(data.train.count) training slides "
        + "(subset \(ConfigValue.format(context.spec.subset))% of \(data.fullTrainCount)), \(data.val.count) validation, "
        + "\(data.test.count) test; \(data.featureDimension)-d features; kept epoch \(Int(metrics["best_epoch"] ?? 0)) "
        + "of \(Int(metrics["epochs"] ?? 0))")
  }
}

/// The `abmil` target's config: the shared MIL data keys, then ABMIL's own (official `main.py`
/// values where it sets one).
public struct ABMILConfig: MILMethodConfig, Equatable {
  public var data = MILDataConfig()
  public var task = MILTask.tumour
  public var hidden = 500
  public var attentionDimension = 128
  public var dropout = 0.0
  public var learningRate = 5e-4
  public var weightDecay = 1e-4
  public var maxEpochs = 100
  public var patience = 10
  public var selectOn = MILTrainingSettings.Selection.loss
  public var meanPoolingArm = true
  public var uniformAttention = false
  public var permutedLabelsArm = true

  public init() {}

  public static let fields: [ConfigField<Self>] =
    .lifted(MILDataConfig.self, at: \.data) + [
      .choice("task", \.task, "slide task: tumour | relational", among: MILTask.classification),
      .int("hidden", \.hidden, "instance embedding size L (official M = 500)", check: ConfigCheck.positive),
      .int("attentionDimension", \.attentionDimension, "attention size D (official L = 128)", check: ConfigCheck.positive),
      .double("dropout", \.dropout, "dropout on the instance embeddings (official: none)", check: ConfigCheck.probability),
      .double("learningRate", \.learningRate, "Adam learning rate (official main.py: 5e-4)"),
      .double("weightDecay", \.weightDecay, "Adam L2 weight decay (official main.py: 10e-5)"),
      .int("maxEpochs", \.maxEpochs, "maximum epochs (official main.py: 20, no early stopping)", check: ConfigCheck.positive),
      .int("patience", \.patience, "early-stopping patience on the validation loss (0: off)", check: ConfigCheck.nonNegative),
      .choice(
        "selectOn", \.selectOn,
        "what early stopping watches: val-loss (official) | val-auc (the validation slide AUC, higher is better)"),
      .bool("meanPoolingArm", \.meanPoolingArm, "also train the embedded-mean baseline"),
      .bool(
        "permutedLabelsArm", \.permutedLabelsArm,
        "also train the same model on permuted training labels (the in-run label-permutation control)"),
      .bool(
        "uniformAttention", \.uniformAttention,
        "audit only: the main model's attention fixed at 1/N (the attention mechanism switched off)"),
    ]
}

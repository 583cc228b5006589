import Engine
import Foundation
import Methods
import NN

extension ABMIL: MILClassifier {
  /// Logits and the attention weights `[N]` as instance scores.
  public func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?) {
    let (logits, attention) = self(bag, using: &generator)
    return (logits, attention.reshaped([bag.shape[0]]))
  }
}

/// The embedded-mean baseline of Ilse et al. (2018, Tables 2–4, "Embedded-mean"): the same
/// instance embedding as ABMIL, `H = ReLU(W x + b)`, averaged over instances instead of
/// attention-weighted, then the same linear classifier. An arm of the `abmil` target only.
final class MeanPoolingMIL: Module, MILClassifier {
  let embedding: Linear
  let classifier: Linear
  var isTraining = true

  init(inputDimension: Int, hidden: Int, using generator: inout RandomGenerator) {
    embedding = Linear(inputSize: inputDimension, outputSize: hidden, using: &generator)
    classifier = Linear(inputSize: hidden, outputSize: 1, using: &generator)
  }

  func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?) {
    let h = embedding(bag).relu()  // [N, L]
    let z = h.mean(axes: [0], keepDims: true)  // [1, L]
    return (classifier(z), nil)
  }

  var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("feature_extractor_part2.0", embedding) + prefixed("classifier.0", classifier)
  }
}

/// The `abmil` target: gated-attention MIL (Ilse, Tomczak & Welling 2018) on feature bags,
/// trained bag at a time with the optimiser of the official `main.py` (Adam, lr 5e-4, betas
/// (0.9, 0.999), weight decay 1e-4 as L2) and the shared MIL loop (early stopping on the
/// validation loss). Reports the slide metrics on the task (tumour by default), the attention
/// weights' instance AUC (for the INS comparison), and an embedded-mean arm for Ilse et al.'s
/// claim that attention pooling beats mean pooling.
public enum ABMILExperiment: Experiment {
  public static var schema: [ConfigKey] { ABMILConfig.schema }

  /// `task` of the MIL targets that classify slides (tumour present, or the relational label).
  static let classificationTask: @Sendable (ConfigValue) -> String? = ConfigCheck.oneOf(MILTask.classification.map(\.rawValue))

  public static var metrics: [MetricInfo] {
    MILEvaluation.metricInfos(what: "ABMIL")
      + [
        MetricInfo("instance_auc", .higher, "ROC-AUC of the attention weights against tumour instance labels (test)"),
        MetricInfo("auc.mean_pooling", .higher, "test slide ROC-AUC, embedded-mean baseline"),
        MetricInfo("gain_over_mean_pooling", .higher, "auc − auc.mean_pooling"),
        MetricInfo("final_loss", .lower, "training loss of the kept epoch", banded: false),
        MetricInfo("best_epoch", .higher, "epoch of the kept weights (lowest validation loss)", banded: false),
        MetricInfo("epochs", .higher, "epochs run before early stopping", banded: false),
        MetricInfo("train_seconds", .lower, "training wall time", banded: false),
      ]
  }

  /// ABMIL's training settings from the config (accumulation 1: one step per bag, as main.py).
  static func settings(_ config: ABMILConfig) -> MILTrainingSettings {
    MILTrainingSettings(
      optimizer: .adam, learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay),
      maxEpochs: config.maxEpochs, patience: config.patience, gradientAccumulation: 1)
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = try ABMILConfig(context.spec.config)
    Parallel.setThreadCount(context.spec.threads)
    BLAS.setThreadCount(context.spec.threads)
    let task = config.task
    let data = try context.loadBags(task: task, settings: config.data.extraction)
    var output = ExperimentOutput()
    var g = context.generator.split("abmil")
    let model = ABMIL(
      inputDimension: data.featureDimension, hidden: config.hidden, attentionDimension: config.attentionDimension,
      classes: 1, dropout: Float(config.dropout),
      using: &g)
    let main = try MILArm.run(
      model, data: data, settings: settings(config), label: "", bootstrap: config.data.bootstrap, context: context,
      using: &g)
    var metrics = main.metrics
    output.series += main.series
    output.notes += main.notes
    if config.meanPoolingArm {
      var gm = context.generator.split("mean_pooling")
      let baseline = MeanPoolingMIL(inputDimension: data.featureDimension, hidden: config.hidden, using: &gm)
      let arm = try MILArm.run(
        baseline, data: data, settings: settings(config), label: "mean_pooling", bootstrap: 0, context: context,
        using: &gm)
      metrics["auc.mean_pooling"] = arm.metrics["auc"]
      output.series += arm.series
      output.notes += arm.notes
      if let a = metrics["auc"], let b = arm.metrics["auc"] { metrics["gain_over_mean_pooling"] = a - b }
    }
    output.metrics = metrics.filter { $0.value.isFinite }
    if !data.emptySlides.isEmpty {
      output.notes.append("left out (no tiles kept): \(data.emptySlides.joined(separator: ", "))")
    }
    output.notes.append(
      "ABMIL (gated) on the \(task.rawValue) task of \(data.dataset.datasetId): \(data.train.count) training slides "
        + "(subset \(ConfigValue.format(context.spec.subset))% of \(data.fullTrainCount)), \(data.val.count) validation, "
        + "\(data.test.count) test; \(data.featureDimension)-d features; kept epoch \(Int(metrics["best_epoch"] ?? 0)) "
        + "of \(Int(metrics["epochs"] ?? 0))")
    return output
  }
}

/// The `abmil` target's config: the shared MIL data keys, then ABMIL's own (official `main.py`
/// values where it sets one).
public struct ABMILConfig: MethodConfig, Equatable {
  public var data = MILDataConfig()
  public var task = MILTask.tumour
  public var hidden = 500
  public var attentionDimension = 128
  public var dropout = 0.0
  public var learningRate = 5e-4
  public var weightDecay = 1e-4
  public var maxEpochs = 100
  public var patience = 10
  public var meanPoolingArm = true

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
      .bool("meanPoolingArm", \.meanPoolingArm, "also train the embedded-mean baseline"),
    ]
}

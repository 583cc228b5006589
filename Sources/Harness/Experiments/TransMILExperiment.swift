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
/// - `no_ppeg`: TransMIL without the PPEG position encoding (`auc.no_ppeg`, `ppeg_gain`);
/// - `control`: TransMIL and ABMIL on `controlTask` (default `tumour`, where one instance
///   decides and attention pooling suffices): `control.auc`, `control.auc.abmil`,
///   `control.gain_over_abmil`, and `relational_advantage` = gain on the task − gain on the control.
public enum TransMILExperiment: Experiment {
  public static var schema: [ConfigKey] {
    MILData.schema + [
      ConfigKey("task", .string, default: .string("relational"), "slide task of the main model: relational | tumour", check: ABMILExperiment.classificationTask),
      ConfigKey("controlTask", .string, default: .string("tumour"), "task of the control arms: tumour | relational", check: ABMILExperiment.classificationTask),
      ConfigKey("dimension", .int, default: .int(512), "model width (official 512; heads 8 × width/8, width/2 landmarks)", check: { v in
        if case .int(let n) = v, n >= 8, n % 8 == 0, n <= 4096 { return nil }
        return "expected a multiple of 8 in 8...4096"
      }),
      ConfigKey("dropout", .double, default: .double(0.1), "dropout after each Nyström attention (official 0.1)", check: ConfigCheck.probability),
      ConfigKey("legacyOutputSlice", .bool, default: .bool(false), "nystrom-attention 0.0.9 output slicing (the version the authors pinned)"),
      ConfigKey("learningRate", .double, default: .double(2e-4), "RAdam learning rate (official 2e-4)"),
      ConfigKey("weightDecay", .double, default: .double(1e-5), "weight decay on ≥2-D parameters (official 1e-5)"),
      ConfigKey("gradientAccumulation", .int, default: .int(2), "bags per optimiser step (official 2)", check: ConfigCheck.positive),
      ConfigKey("maxEpochs", .int, default: .int(200), "maximum epochs (official 200)", check: ConfigCheck.positive),
      ConfigKey("patience", .int, default: .int(10), "early-stopping patience on the validation loss (official 10; 0: off)", check: ConfigCheck.nonNegative),
      ConfigKey("arms", .bool, default: .bool(true), "train the comparison arms (ABMIL, no PPEG, control task)"),
      ConfigKey("abmilHidden", .int, default: .int(500), "ABMIL arm: embedding size", check: ConfigCheck.positive),
      ConfigKey("abmilMaxEpochs", .int, default: .int(200), "ABMIL arm: maximum epochs (early stopping as TransMIL)", check: ConfigCheck.positive),
      ConfigKey("abmilLearningRate", .double, default: .double(5e-4), "ABMIL arm: Adam learning rate"),
      ConfigKey("abmilWeightDecay", .double, default: .double(1e-4), "ABMIL arm: Adam L2 weight decay"),
    ]
  }

  public static var metrics: [MetricInfo] {
    MILEvaluation.metricInfos(what: "TransMIL on the main task")
      + [
        MetricInfo("auc.no_ppeg", .higher, "test slide ROC-AUC, TransMIL without PPEG, main task"),
        MetricInfo("auc.abmil", .higher, "test slide ROC-AUC, ABMIL, main task"),
        MetricInfo("control.auc", .higher, "test slide ROC-AUC, TransMIL, control task"),
        MetricInfo("control.auc.abmil", .higher, "test slide ROC-AUC, ABMIL, control task"),
        MetricInfo("gain_over_abmil", .higher, "auc − auc.abmil (main task)"),
        MetricInfo("control.gain_over_abmil", .higher, "control.auc − control.auc.abmil"),
        MetricInfo("relational_advantage", .higher, "gain_over_abmil − control.gain_over_abmil"),
        MetricInfo("ppeg_gain", .higher, "auc − auc.no_ppeg"),
        MetricInfo("final_loss", .lower, "training loss of the kept epoch", banded: false),
        MetricInfo("best_epoch", .higher, "epoch of the kept weights (lowest validation loss)", banded: false),
        MetricInfo("epochs", .higher, "epochs run before early stopping", banded: false),
        MetricInfo("train_seconds", .lower, "training wall time of the main model", banded: false),
      ]
  }

  static func transMILSettings(_ config: ResolvedConfig) -> MILTrainingSettings {
    MILTrainingSettings(
      optimizer: .lookaheadRAdam, learningRate: Float(config.double("learningRate")),
      weightDecay: Float(config.double("weightDecay")), maxEpochs: config.int("maxEpochs"),
      patience: config.int("patience"), gradientAccumulation: config.int("gradientAccumulation"))
  }

  static func abmilSettings(_ config: ResolvedConfig) -> MILTrainingSettings {
    MILTrainingSettings(
      optimizer: .adam, learningRate: Float(config.double("abmilLearningRate")),
      weightDecay: Float(config.double("abmilWeightDecay")), maxEpochs: config.int("abmilMaxEpochs"),
      patience: config.int("patience"), gradientAccumulation: 1)
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = context.spec.config
    Parallel.setThreadCount(context.spec.threads)
    BLAS.setThreadCount(context.spec.threads)
    let task = MILTask(rawValue: config.string("task")) ?? .relational
    let controlTask = MILTask(rawValue: config.string("controlTask")) ?? .tumour
    let extraction = try MILData.extraction(config)
    let data = try context.loadBags(task: task, settings: extraction)
    let bootstrap = config.int("bootstrap")
    var output = ExperimentOutput()

    func transMIL(_ name: String, ppeg: Bool, data: MILSplits) throws -> MILArm.Outcome {
      var g = context.generator.split("transmil \(name)")
      let model = TransMIL(
        inputDimension: data.featureDimension, dimension: config.int("dimension"), classes: data.classCount,
        dropout: Float(config.double("dropout")), legacyOutputSlice: config.bool("legacyOutputSlice"), usesPPEG: ppeg,
        using: &g)
      let outcome = try MILArm.run(
        model, data: data, settings: transMILSettings(config), label: name, bootstrap: name.isEmpty ? bootstrap : 0,
        context: context, using: &g)
      output.series += outcome.series
      output.notes += outcome.notes
      return outcome
    }
    func abmil(_ name: String, data: MILSplits) throws -> MILArm.Outcome {
      var g = context.generator.split("abmil \(name)")
      let model = ABMIL(
        inputDimension: data.featureDimension, hidden: config.int("abmilHidden"), classes: 1, using: &g)
      let outcome = try MILArm.run(
        model, data: data, settings: abmilSettings(config), label: name, bootstrap: 0, context: context, using: &g)
      output.series += outcome.series
      output.notes += outcome.notes
      return outcome
    }

    let main = try transMIL("", ppeg: true, data: data)
    var metrics = main.metrics
    if config.bool("arms") {
      let noPPEG = try transMIL("no_ppeg", ppeg: false, data: data)
      let abmilMain = try abmil("abmil", data: data)
      let control = try MILData.splits(of: data.dataset, task: controlTask, subset: context.spec.subset)
      let controlTransMIL = try transMIL("control", ppeg: true, data: control)
      let controlABMIL = try abmil("control.abmil", data: control)
      metrics["auc.no_ppeg"] = noPPEG.metrics["auc"]
      metrics["auc.abmil"] = abmilMain.metrics["auc"]
      metrics["control.auc"] = controlTransMIL.metrics["auc"]
      metrics["control.auc.abmil"] = controlABMIL.metrics["auc"]
      func difference(_ a: String, _ b: String) -> Double? {
        guard let x = metrics[a], let y = metrics[b] else { return nil }
        return x - y
      }
      metrics["gain_over_abmil"] = difference("auc", "auc.abmil")
      metrics["control.gain_over_abmil"] = difference("control.auc", "control.auc.abmil")
      metrics["ppeg_gain"] = difference("auc", "auc.no_ppeg")
      metrics["relational_advantage"] = difference("gain_over_abmil", "control.gain_over_abmil")
    }
    output.metrics = metrics.filter { $0.value.isFinite }
    if !data.emptySlides.isEmpty {
      output.notes.append("left out (no tiles kept): \(data.emptySlides.joined(separator: ", "))")
    }
    output.notes.append(
      "TransMIL (width \(config.int("dimension")), \(config.bool("legacyOutputSlice") ? "nystrom 0.0.9 slicing" : "nystrom ≥ 0.0.10 slicing")) "
        + "on the \(task.rawValue) task of \(data.dataset.datasetId): \(data.train.count) training slides (subset "
        + "\(ConfigValue.format(context.spec.subset))% of \(data.fullTrainCount)), \(data.val.count) validation, "
        + "\(data.test.count) test; kept epoch \(Int(metrics["best_epoch"] ?? 0)) of \(Int(metrics["epochs"] ?? 0))"
        + (config.bool("arms") ? "; arms: no_ppeg, abmil, control (\(controlTask.rawValue)) TransMIL and ABMIL" : ""))
    return output
  }
}

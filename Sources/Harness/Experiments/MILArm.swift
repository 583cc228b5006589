import Engine
import Foundation
import Methods

/// One trained-and-evaluated MIL model inside a run (the target's own model or a comparison
/// arm), so that every MIL experiment reports arms the same way.
public enum MILArm {
  /// What one arm produced.
  public struct Outcome {
    /// Slide metrics (`MILEvaluation.slideMetrics`), `instance_auc` when the model gives instance
    /// scores and the test bags have instance labels, and `epochs`, `best_epoch`, `final_loss`
    /// (mean training loss of the kept epoch), `train_seconds`.
    public var metrics: [String: Double]
    /// Per-epoch training and validation losses (`loss`, `val_loss`).
    public var series: [SeriesPoint]
    /// Test slide probabilities `[slide][class]`.
    public var probabilities: [[Double]]
    /// Test instance scores per slide, when the model gives them.
    public var instanceScores: [[Double]]?
    /// Checkpoint remarks (resumed, or a checkpoint ignored) for the run's notes.
    public var notes: [String] = []

    public init(
      metrics: [String: Double], series: [SeriesPoint] = [], probabilities: [[Double]] = [],
      instanceScores: [[Double]]? = nil, notes: [String] = []
    ) {
      self.metrics = metrics
      self.series = series
      self.probabilities = probabilities
      self.instanceScores = instanceScores
      self.notes = notes
    }
  }

  /// Trains `model` on `data.train` (early stopping on `data.val`), evaluates it on `data.test`.
  /// - Parameters:
  ///   - label: names the progress line and the curves (`loss.<label>`; "" for the main model).
  ///   - generator: the arm's own generator (split it from the run's by arm name).
  ///   - bootstrap: resamples of the AUC interval.
  ///   - checkpointKind: names the checkpoints with `label` (nil: the model's type name).
  public static func run(
    _ model: some MILClassifier, data: MILSplits, settings: MILTrainingSettings, label: String, bootstrap: Int,
    context: RunContext, checkpointKind: String? = nil, using generator: inout RandomGenerator
  ) throws -> Outcome {
    let bar = context.progress(label.isEmpty ? "train" : label, settings.maxEpochs, "epochs")
    let checkpoints = MILCheckpoints(
      store: context.checkpoints, kind: checkpointKind ?? "\(type(of: model))", label: label)
    let training = try MILTraining.train(
      model, train: data.train, validation: data.val, settings: settings, using: &generator, checkpoints: checkpoints
    ) { _, trainLoss, validationLoss in
      try context.checkInterrupted()
      bar.advance(by: 1, note: String(format: "loss %.3f val %.3f", trainLoss, validationLoss))
    }
    bar.finish()
    let predicted = MILTraining.predict(model, bags: data.test)
    var bootstrapGenerator = generator.split("bootstrap")
    var metrics = MILEvaluation.slideMetrics(
      probabilities: predicted.probabilities, labels: data.test.map(\.label), bootstrap: bootstrap,
      using: &bootstrapGenerator)
    var notes: [String] = []
    if let correlation = MILEvaluation.sizeCorrelation(probabilities: predicted.probabilities, bags: data.test) {
      metrics["size_correlation"] = correlation
    }
    if let scores = predicted.instanceScores {
      // Pooling weights are about 1/N whatever the instance: pooled over bags of 37 to 76
      // instances, raw weights would rank every tile of a small bag above those of a large one.
      let comparable = model.instanceScoresAreBagWeights ? MILEvaluation.timesBagSize(scores) : scores
      if let auc = MILEvaluation.instanceAUC(scores: comparable, bags: data.test) {
        metrics["instance_auc"] = auc
        if model.instanceScoresAreBagWeights, let raw = MILEvaluation.instanceAUC(scores: scores, bags: data.test) {
          notes.append(
            String(
              format: "%@instance AUC %.3f on attention weights × bag size (1 = uniform; before 2026-12-07 the raw weights, here %.3f)",
              label.isEmpty ? "" : "\(label): ", auc, raw))
        }
      }
    }
    metrics["epochs"] = Double(training.trainLosses.count)
    metrics["best_epoch"] = Double(training.bestEpoch)
    if training.bestEpoch >= 1 { metrics["final_loss"] = training.trainLosses[training.bestEpoch - 1] }
    metrics["train_seconds"] = training.seconds
    let suffix = label.isEmpty ? "" : ".\(label)"
    var series: [SeriesPoint] = []
    for (e, l) in training.trainLosses.enumerated() {
      series.append(SeriesPoint(name: "loss\(suffix)", step: e + 1, x: Double(e + 1), value: l))
    }
    for (e, l) in training.validationLosses.enumerated() {
      series.append(SeriesPoint(name: "val_loss\(suffix)", step: e + 1, x: Double(e + 1), value: l))
    }
    return Outcome(
      metrics: metrics, series: series, probabilities: predicted.probabilities, instanceScores: predicted.instanceScores,
      notes: (checkpoints?.notes ?? []) + notes)
  }
}

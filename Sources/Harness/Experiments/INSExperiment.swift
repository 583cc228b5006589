import Engine
import Evaluation
import Foundation
import Methods
import NN
import Vision

/// The INS target: the instance classifier of Qu et al. (`Methods/MIL/INS.swift`) trained on the
/// tumour task's bags from bag labels only, evaluated per instance (`instance_auc`) and per slide
/// from the mean (`auc`, the official `auc_bag`) and the max (`auc_max`, `auc_bag_ins2`) of the
/// instances' P(tumour). The same bags also train an ABMIL arm (the shared MIL loop, Adam as the
/// ABMIL repository) whose attention weights are its instance scores, for the claim that INS's
/// instance classifier ranks instances better than attention (`instance_auc_gain`).
///
/// Two inputs (`input`): on bags of features (the default) the encoder is an MLP over the tile
/// features and the two views are feature dropouts; on tiles (`input: tiles`) the instances are
/// the slides' RGB tiles resized to `tileSide`² (tile-image bags, `TileEncoderKind.pixels`,
/// cut by the same tiling, tissue and focus QC as the feature bags), the encoder is the
/// engine's ResNet (`tileEncoder`, CIFAR stem) trained from scratch, and the views are the
/// project's MoCo v2 augmentations. In both the ABMIL arm runs on the feature bags: on tiles these
/// are the same slides' same tiles in the same order, so both instance AUCs score the same
/// instances.
///
/// Differences from the official Camelyon16 script, all forced by feature bags or a fair test:
/// on features the encoder is an MLP over tile features (`INSNetwork`) and the two image views
/// are feature dropouts; candidates and the true-negative reset come from **bag** labels (the official
/// `dataset_CAMELYON16.py` builds the batch's `[1,0]`/`[0,1]` labels and `point` from the
/// *instance* labels, a leak of the annotations); no slide downsampling (0.6/0.8/0.5); the queue
/// is capped at the training-instance count (rounded down to whole batches) so it holds no
/// stale keys from long-gone epochs; the last epoch is evaluated (the official code keeps the
/// epoch with the best *test* instance AUC).
public enum INSExperiment: Experiment {
  public static var schema: [ConfigKey] {
    return MILData.schema + [
      ConfigKey("input", .string, default: .string("features"), "INS instances: features (MLP encoder over tile features) | tiles (RGB tiles, ResNet encoder, MoCo v2 views)", check: ConfigCheck.oneOf(["features", "tiles"])),
      ConfigKey("tileSide", .int, default: .int(32), "input: tiles — tiles are resized to this side (area averaging)", check: ConfigCheck.range(8, 256)),
      ConfigKey("tileEncoder", .string, default: .string("resnet18"), "input: tiles — the engine's ResNet (CIFAR stem): resnet18 (official trunk) | resnet-small (16-32-64-128) | resnet-small-wide (32-64-128-256)", check: ConfigCheck.oneOf(["resnet18", "resnet-small", "resnet-small-wide"])),
      ConfigKey("epochs", .int, default: .int(40), "training epochs (official 40)", check: ConfigCheck.range(1, 100_000)),
      ConfigKey("warmupEpochs", .int, default: .int(1), "epochs of InfoNCE + bag constraint before prototype updating (prot_start, official 1)", check: ConfigCheck.range(0, 100_000)),
      ConfigKey("batchSize", .int, default: .int(64), "instances per step (official 64)", check: ConfigCheck.range(2, 65_536)),
      ConfigKey("learningRate", .double, default: .double(0.01), "SGD learning rate (official 0.01)"),
      ConfigKey("momentum", .double, default: .double(0.9), "SGD momentum (official 0.9)"),
      ConfigKey("weightDecay", .double, default: .double(1e-3), "SGD weight decay (official 1e-3)"),
      ConfigKey("cosine", .bool, default: .bool(false), "per-epoch cosine to lr·1e-3 (official --cosine, off by default)"),
      ConfigKey("bagWeight", .double, default: .double(1), "weight wl of the mean-pooling bag constraint (argparse 1, README 0.5)"),
      ConfigKey("queueSize", .int, default: .int(8192), "queue of keys (official 8192; capped at the training instances)", check: ConfigCheck.range(1, 1_000_000)),
      ConfigKey("encoderHidden", .int, default: .int(512), "input: features — hidden width of the feature encoder MLP", check: ConfigCheck.range(1, 65_536)),
      ConfigKey("encoderOutput", .int, default: .int(512), "input: features — encoder output, read by classifier and head (ResNet-18: 512)", check: ConfigCheck.range(1, 65_536)),
      ConfigKey("lowDimension", .int, default: .int(128), "contrastive embedding size (low_dim 128)", check: ConfigCheck.range(1, 65_536)),
      ConfigKey("keyMomentum", .double, default: .double(0.999), "key encoder momentum (moco_m 0.999)"),
      ConfigKey("prototypeMomentum", .double, default: .double(0.9), "prototype momentum (proto_m 0.9)"),
      ConfigKey("temperature", .double, default: .double(0.07), "contrastive temperature (0.07)"),
      ConfigKey("contrastiveWeight", .double, default: .double(0.5), "weight of L_cont (loss_weight 0.5)"),
      ConfigKey("viewDropout", .double, default: .double(0.1), "input: features — feature dropout of each view (stand-in for image augmentation)"),
      ConfigKey("abmilArm", .bool, default: .bool(true), "also train ABMIL on the same bags (attention instance scores)"),
      ConfigKey("abmilEpochs", .int, default: .int(40), "ABMIL arm: maximum epochs", check: ConfigCheck.range(1, 100_000)),
      ConfigKey("abmilPatience", .int, default: .int(10), "ABMIL arm: early-stopping patience on validation loss (0: off)", check: ConfigCheck.range(0, 100_000)),
    ]
  }

  public static var metrics: [MetricInfo] {
    MILEvaluation.metricInfos(what: "INS, mean of instance P(tumour)") + [
      MetricInfo("instance_auc", .higher, "test instance ROC-AUC of INS's P(tumour)"),
      MetricInfo("auc_max", .higher, "test slide ROC-AUC from the max of instance P(tumour)"),
      MetricInfo("final_loss", .lower, "mean L_cls + 0.5·L_cont over the last epoch"),
      MetricInfo("train_seconds", .lower, "INS training wall time", banded: false),
      MetricInfo("instance_auc.abmil", .higher, "test instance ROC-AUC of ABMIL's attention weights"),
      MetricInfo("auc.abmil", .higher, "test slide ROC-AUC of the ABMIL arm"),
      MetricInfo("instance_auc_gain", .higher, "instance_auc − instance_auc.abmil"),
    ]
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = context.spec.config
    Parallel.setThreadCount(context.spec.threads)
    BLAS.setThreadCount(context.spec.threads)
    let onTiles = config.string("input") == "tiles"
    // Feature bags: INS's instances on features, the ABMIL arm's in both modes.
    let featureData = !onTiles || config.bool("abmilArm")
      ? try context.loadBags(task: .tumour, settings: MILData.extraction(config)) : nil
    var tileSettings = try MILData.extraction(config)
    (tileSettings.encoder, tileSettings.inputSize) = (.pixels, config.int("tileSide"))
    // Loaded last, so the run records the tile-image bags as its dataset.
    let tileData = onTiles ? try context.loadBags(task: .tumour, settings: tileSettings) : nil
    guard let data = tileData ?? featureData else { return ExperimentOutput() }  // unreachable: one is loaded
    var output = ExperimentOutput()
    var generator = context.generator.split("ins")
    let tiles = tileData.map { _ in
      (side: config.int("tileSide"), views: TwoViewPipeline(recipe: .mocoV2(size: config.int("tileSide"))))
    }
    /// The INS instances of `bags`, bag after bag.
    func instances(_ bags: [MILBag]) -> INSInstances {
      guard let tiles else {
        let rows = bags.reduce(0) { $0 + $1.instanceCount }
        return .features(Tensor(shape: [rows, data.featureDimension], data: bags.flatMap(\.features.data)))
      }
      let images = bags.flatMap { bag in
        let pixels = bag.features.data.map { UInt8($0) }  // [N, s·s·3], 0…255
        let size = 3 * tiles.side * tiles.side
        return (0..<bag.instanceCount).map {
          RGBImage(width: tiles.side, height: tiles.side, pixels: Array(pixels[($0 * size)..<(($0 + 1) * size)]))
        }
      }
      return .tiles(images, views: tiles.views, normalize: .imageNet)
    }

    // Training instances, bag after bag.
    var ranges: [Range<Int>] = []
    for bag in data.train {
      let start = ranges.last?.upperBound ?? 0
      ranges.append(start..<(start + bag.instanceCount))
    }
    let trainingSet = INSTrainingSet(
      instances: instances(data.train), bagRanges: ranges, bagLabels: data.train.map(\.label))
    var schedule = INSSchedule()
    schedule.epochs = config.int("epochs")
    schedule.warmupEpochs = config.int("warmupEpochs")
    schedule.batchSize = config.int("batchSize")
    schedule.learningRate = Float(config.double("learningRate"))
    schedule.momentum = Float(config.double("momentum"))
    schedule.weightDecay = Float(config.double("weightDecay"))
    schedule.cosine = config.bool("cosine")
    schedule.bagWeight = Float(config.double("bagWeight"))
    var ins = INSConfiguration(inputDimension: data.featureDimension)
    if onTiles {
      switch BackboneKind.named(config.string("tileEncoder"), imageSize: config.int("tileSide")) {
      case .resnetSmall(let widths): ins.encoder = .resnet(widths: widths, blocksPerStage: 1)
      default: ins.encoder = .resnet(widths: [64, 128, 256, 512], blocksPerStage: 2)  // resnet18
      }
      output.notes.append(
        "tiles: \(trainingSet.count) training tiles of \(config.int("tileSide"))² px, encoder \(config.string("tileEncoder")) "
          + "(CIFAR stem) from scratch, MoCo v2 views")
    }
    let instanceCount = trainingSet.count
    let wholeBatches = max(schedule.batchSize, instanceCount / schedule.batchSize * schedule.batchSize)
    ins.queueSize = min(config.int("queueSize"), wholeBatches)
    ins.encoderHidden = config.int("encoderHidden")
    ins.encoderOutput = config.int("encoderOutput")
    ins.lowDimension = config.int("lowDimension")
    ins.keyMomentum = Float(config.double("keyMomentum"))
    ins.prototypeMomentum = Float(config.double("prototypeMomentum"))
    ins.temperature = Float(config.double("temperature"))
    ins.baseTemperature = ins.temperature
    ins.contrastiveWeight = Float(config.double("contrastiveWeight"))
    ins.viewDropout = Float(config.double("viewDropout"))
    if ins.queueSize < config.int("queueSize") {
      output.notes.append("queue capped at \(ins.queueSize) keys (\(instanceCount) training instances)")
    }

    let start = Date()
    let generatorBeforeModel = generator
    func build() -> (INS, SGD) {
      let model = INS(configuration: ins, instanceBagLabels: trainingSet.instanceBagLabels, using: &generator)
      let optimizer = SGD(
        parameters: model.trainableParameters, learningRate: schedule.learningRate, momentum: schedule.momentum,
        weightDecay: schedule.weightDecay)
      return (model, optimizer)
    }
    var (model, optimizer) = build()
    // Epoch checkpoints: an interrupted run of this spec continues after its last finished epoch.
    var checkpoints = INSCheckpoints(store: context.checkpoints, epochs: schedule.epochs)
    var progress = INSCheckpoints.Progress(
      epoch: 0, generator: generator, losses: [], classificationLosses: [], seconds: 0)
    var rebuild = false
    if let resumed = checkpoints.resume(model: model, optimizer: optimizer, notes: &output.notes, rebuild: &rebuild) {
      progress = resumed
      generator = resumed.generator
    } else if rebuild {
      generator = generatorBeforeModel
      (model, optimizer) = build()
    }
    for (e, (loss, cls)) in zip(progress.losses, progress.classificationLosses).enumerated() {
      output.series.append(SeriesPoint(name: "loss", step: e + 1, x: Double(e + 1), value: loss))
      output.series.append(SeriesPoint(name: "loss_cls", step: e + 1, x: Double(e + 1), value: cls))
    }
    let bar = context.progress("train", schedule.epochs, "epochs")
    if progress.epoch > 0 { bar.advance(by: progress.epoch, note: "resumed") }
    var finalLoss = progress.losses.last ?? 0
    for epoch in progress.epoch..<schedule.epochs {
      try context.checkInterrupted()
      let last = model.trainEpoch(epoch, schedule: schedule, data: trainingSet, optimizer: optimizer, using: &generator)
      let loss = last.classification + Double(ins.contrastiveWeight) * last.contrastive
      finalLoss = loss
      output.series.append(SeriesPoint(name: "loss", step: epoch + 1, x: Double(epoch + 1), value: loss))
      output.series.append(SeriesPoint(name: "loss_cls", step: epoch + 1, x: Double(epoch + 1), value: last.classification))
      progress.epoch = epoch + 1
      progress.generator = generator
      progress.losses.append(loss)
      progress.classificationLosses.append(last.classification)
      var saved = progress
      saved.seconds += Date().timeIntervalSince(start)
      checkpoints.save(model: model, optimizer: optimizer, progress: saved, notes: &output.notes)
      bar.advance(by: 1, note: String(format: "cls %.3f cont %.3f", last.classification, last.contrastive))
    }
    bar.finish()
    var metrics: [String: Double] = [:]
    metrics["train_seconds"] = progress.seconds + Date().timeIntervalSince(start)
    metrics["final_loss"] = finalLoss

    // Test: instance P(tumour); slides by mean (official auc_bag) and max (auc_bag_ins2).
    let scores = data.test.map { bag in
      model.positiveProbabilities(instances([bag]).input(Array(0..<bag.instanceCount))).map(Double.init)
    }
    let labels = data.test.map(\.label)
    let meanScores = scores.map { $0.reduce(0, +) / Double($0.count) }
    var bootstrapGenerator = generator.split("bootstrap")
    metrics.merge(
      MILEvaluation.slideMetrics(
        probabilities: meanScores.map { [1 - $0, $0] }, labels: labels, bootstrap: config.int("bootstrap"),
        using: &bootstrapGenerator)
    ) { $1 }
    let maxScores = scores.map { $0.max() ?? 0 }
    if let aucMax = ClassificationMetrics.rocAUC(probabilities: maxScores.map { [1 - $0, $0] }, labels: labels) { metrics["auc_max"] = aucMax }
    if let auc = MILEvaluation.instanceAUC(scores: scores, bags: data.test) {
      metrics["instance_auc"] = auc
    } else {
      output.notes.append("instance_auc undefined: the test bags have no instance labels of both kinds")
    }

    if config.bool("abmilArm"), let featureData {
      if onTiles,
        !zip(featureData.test, data.test).allSatisfy({ $0.slideID == $1.slideID && $0.instanceCount == $1.instanceCount })
        || featureData.test.count != data.test.count
      {
        output.notes.append("the feature bags' test tiles differ from the tile bags': the instance AUCs score different tiles")
      }
      var armGenerator = context.generator.split("abmil")
      let abmil = AttentionScoredABMIL(ABMIL(inputDimension: featureData.featureDimension, using: &armGenerator))
      let settings = MILTrainingSettings(
        optimizer: .adam, learningRate: 5e-4, weightDecay: 1e-4, maxEpochs: config.int("abmilEpochs"),
        patience: config.int("abmilPatience"), gradientAccumulation: 1)
      let arm = try MILArm.run(
        abmil, data: featureData, settings: settings, label: "abmil", bootstrap: 0, context: context, using: &armGenerator)
      output.series += arm.series
      output.notes += arm.notes
      if let v = arm.metrics["instance_auc"] { metrics["instance_auc.abmil"] = v }
      if let v = arm.metrics["auc"] { metrics["auc.abmil"] = v }
      if let a = metrics["instance_auc"], let b = metrics["instance_auc.abmil"] { metrics["instance_auc_gain"] = a - b }
    }
    output.metrics = metrics
    return output
  }
}

/// ABMIL as a `MILClassifier` whose instance scores are its attention weights (Ilse et al.'s
/// instance-level interpretation, the baseline of the INS claim).
final class AttentionScoredABMIL: MILClassifier {
  let model: ABMIL
  var isTraining: Bool {
    get { model.isTraining }
    set { model.isTraining = newValue }
  }

  init(_ model: ABMIL) { self.model = model }

  func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?) {
    let (logits, attention) = model(bag, using: &generator)
    return (logits, attention.reshaped([bag.shape[0]]))
  }

  var namedParameters: [(name: String, tensor: Tensor)] { model.namedParameters }
}

import Engine
import Evaluation
import Foundation
import Methods
import NN
import Vision

/// The INS target: the instance classifier of Qu et al. (`Methods/INS/INS.swift`) trained on the
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
///
/// The model, its loss and its training step and epoch live in `Methods/INS`; what stays here is
/// the wiring: the bags as `INSInstances`, the config, and the epoch loop, which stays in Harness
/// because its checkpoints (`INSCheckpoints`) use the run's `CheckpointStore`.
public enum INSVariant: MILVariant {
  public typealias Config = INSConfig
  public static let name = "INS"

  /// The feature bags (INS's instances on features, the ABMIL arm's in both modes; nil on tiles
  /// without the arm), the tile-image bags (`input: tiles`), and the bags INS trains on.
  public struct INSBags {
    public var features: MILSplits?
    public var tiles: MILSplits?
    public var data: MILSplits
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
      MetricInfo("instance_auc.permuted_labels", .higher, "test instance AUC of the same INS trained on permuted bag labels"),
      MetricInfo("auc.permuted_labels", .higher, "test slide ROC-AUC (mean of P(tumour)) of the permuted-label control"),
      MetricInfo("instance_auc_gain_over_permuted", .higher, "instance_auc − instance_auc.permuted_labels: what the bag labels add"),
      MetricInfo("auc_gain_over_permuted", .higher, "auc − auc.permuted_labels"),
    ]
  }

  public static func task(_ config: INSConfig) -> MILTask { .tumour }

  public static func load(_ config: INSConfig, context: RunContext) throws -> INSBags {
    let onTiles = config.input == .tiles
    // The tile encoder's start must be a backbone of its widths: checked before any data is read
    // (so no run row) and before the SSL run is pretrained.
    if onTiles, let reference = PretrainedEncoderReference(config.tileEncoderInit), let registry = context.registry {
      let backbone = try PretrainedEncoders.backboneName(reference, registry: registry)
      if backbone != config.tileEncoder {
        throw InputError.badOverride(
          key: "tileEncoderInit", value: config.tileEncoderInit,
          expected: "expected an SSL run whose backbone is the tileEncoder (\(config.tileEncoder)); \(reference) pretrains \(backbone)")
      }
    }
    let featureData = !onTiles || config.abmilArm
      ? try context.loadBags(task: .tumour, settings: config.data.extraction, permuteLabels: config.data.permuteLabels)
      : nil
    var tileSettings = config.data.extraction
    (tileSettings.encoder, tileSettings.inputSize, tileSettings.encoderWeights) = (.pixels, config.tileSide, nil)
    tileSettings.pretrainedEncoder = nil
    // Loaded last, so the run records the tile-image bags as its dataset.
    let tileData =
      onTiles ? try context.loadBags(task: .tumour, settings: tileSettings, permuteLabels: config.data.permuteLabels) : nil
    guard let data = tileData ?? featureData else { preconditionFailure("INS: no bags loaded") }  // one always is
    return INSBags(features: featureData, tiles: tileData, data: data)
  }

  /// INS's own loop (`.custom`): tile-level training with its epoch checkpoints, then instance
  /// and slide scores of the test bags.
  public static func main(_ config: INSConfig, bags: INSBags, context: RunContext) -> MILArmPlan {
    .custom("") { try train(config, bags: bags, context: context) }
  }

  /// The ABMIL arm on the feature bags (its attention weights are its instance scores,
  /// `extension ABMIL: MILClassifier`), and the label-permutation control.
  public static func arms(_ config: INSConfig, bags: INSBags, context: RunContext) -> [MILArmPlan] {
    var arms = abmilArm(config, bags: bags)
    // The label-permutation control inside the run: INS with the same generator (the same initial
    // weights, queue and batch order), its training (and validation) bags' labels moved by
    // MILData's balanced permutation, everything else the same. What it reaches is what INS gets
    // from the features and its own clustering without the bag labels. (Skipped when the main
    // model is itself the permuted audit variant.)
    if config.permutedLabelsArm && !config.data.permuteLabels {
      var permuted = bags
      (permuted.data.train, permuted.data.val) = (
        MILData.permutingLabels(bags.data.train), MILData.permutingLabels(bags.data.val)
      )
      arms.append(
        .custom("permuted_labels", copies: ["instance_auc", "auc"]) {
          try train(config, bags: permuted, context: context, label: "permuted_labels")
        })
    }
    return arms
  }

  static func abmilArm(_ config: INSConfig, bags: INSBags) -> [MILArmPlan] {
    guard config.abmilArm, let featureData = bags.features else { return [] }
    let data = bags.data
    var notes: [String] = []
    if bags.tiles != nil,
      !zip(featureData.test, data.test).allSatisfy({ $0.slideID == $1.slideID && $0.instanceCount == $1.instanceCount })
        || featureData.test.count != data.test.count
    {
      notes.append("the feature bags' test tiles differ from the tile bags': the instance AUCs score different tiles")
    }
    let settings = MILTrainingSettings(
      optimizer: .adam, learningRate: 5e-4, weightDecay: 1e-4, maxEpochs: config.abmilEpochs,
      patience: config.abmilPatience, gradientAccumulation: 1)
    // Checkpointed under the name of the wrapper this arm used before (`AttentionScoredABMIL`),
    // so a run interrupted by an older build resumes.
    return [
      .trained(
        "abmil", generator: "abmil", data: featureData, settings: settings, copies: ["instance_auc", "auc"],
        checkpointKind: "AttentionScoredABMIL", notes: notes
      ) { g in ABMIL(inputDimension: featureData.featureDimension, using: &g) }
    ]
  }

  public static func gaps(_ config: INSConfig) -> [MILGap] {
    [
      MILGap("instance_auc_gain", "instance_auc", minus: "instance_auc.abmil"),
      MILGap("instance_auc_gain_over_permuted", "instance_auc", minus: "instance_auc.permuted_labels"),
      MILGap("auc_gain_over_permuted", "auc", minus: "auc.permuted_labels"),
    ]
  }

  public static func featureBags(_ bags: INSBags) -> MILSplits? { bags.features }

  /// INS has always stored its metrics unfiltered.
  public static var keepsNonFiniteMetrics: Bool { true }

  /// Trains INS on `bags.data` (with its epoch checkpoints, `INSCheckpoints`) and evaluates it on
  /// the test bags. `label` names an arm's curves (`loss.<label>`), progress line and checkpoint
  /// ("" for the main model); every training splits its generator by "ins", so an arm starts from
  /// the main model's initial weights.
  static func train(_ config: INSConfig, bags: INSBags, context: RunContext, label: String = "") throws
    -> MILArm.Outcome
  {
    let suffix = label.isEmpty ? "" : ".\(label)"
    let data = bags.data
    var output = MILArm.Outcome(metrics: [:])
    var generator = context.generator.split("ins")
    let tiles = bags.tiles.map { _ in
      (side: config.tileSide, views: TwoViewPipeline(recipe: .mocoV2(size: config.tileSide)))
    }
    /// The INS instances of `bags`, bag after bag.
    func instances(_ bags: [MILBag]) -> INSInstances {
      guard let tiles else {
        let rows = bags.reduce(0) { $0 + $1.instanceCount }
        return .features(Tensor(shape: [rows, data.featureDimension], data: bags.flatMap(\.features.data)))
      }
      let images = bags.flatMap { INSInstances.tileImages(pixels: $0.features.data, side: tiles.side) }
      return .tiles(images, views: tiles.views, normalize: .imageNet)
    }

    let trainingSet = INSTrainingSet(
      instances: instances(data.train), bagSizes: data.train.map(\.instanceCount), bagLabels: data.train.map(\.label))
    let schedule = config.schedule
    var ins = INSConfiguration(inputDimension: data.featureDimension)
    if tiles != nil {
      ins.encoder = .tiles(named: config.tileEncoder, side: config.tileSide)
      if label.isEmpty {
        output.notes.append(
        "tiles: \(trainingSet.count) training tiles of \(config.tileSide)² px, encoder \(config.tileEncoder) "
          + "(CIFAR stem) " + (PretrainedEncoderReference(config.tileEncoderInit) == nil ? "from scratch" : "from tileEncoderInit")
          + ", MoCo v2 views")
      }
    }
    let instanceCount = trainingSet.count
    ins.queueSize = INSConfiguration.queueSize(
      requested: config.queueSize, instances: instanceCount, batchSize: schedule.batchSize)
    ins.encoderHidden = config.encoderHidden
    ins.encoderOutput = config.encoderOutput
    ins.lowDimension = config.lowDimension
    ins.keyMomentum = Float(config.keyMomentum)
    ins.prototypeMomentum = Float(config.prototypeMomentum)
    ins.temperature = Float(config.temperature)
    ins.baseTemperature = ins.temperature
    ins.contrastiveWeight = Float(config.contrastiveWeight)
    ins.viewDropout = Float(config.viewDropout)
    ins.updatesConfidence = config.confidenceUpdates
    if ins.queueSize < config.queueSize && label.isEmpty {
      output.notes.append("queue capped at \(ins.queueSize) keys (\(instanceCount) training instances)")
    }

    // A pretrained tile encoder (tiles only): the SSL backbone, pretrained into the cache on first use.
    var pretrained: [SafeTensorsEntry]?
    if tiles != nil, let reference = PretrainedEncoderReference(config.tileEncoderInit) {
      let entry = try context.pretrainedEncoder(reference)
      do { pretrained = try SafeTensors.read(entry.weights.path).entries } catch {
        throw InputError.badData(path: entry.weights.path, message: error.description, option: "tileEncoderInit")
      }
      if label.isEmpty { output.notes.append("INS's tile encoder starts from \(entry.description)") }
    }
    let start = Date()
    let generatorBeforeModel = generator
    func build() throws -> (INS, SGD) {
      let model = INS(configuration: ins, instanceBagLabels: trainingSet.instanceBagLabels, using: &generator)
      if let pretrained, let report = model.loadPretrainedEncoder(pretrained),
        !report.missing.filter({ !$0.hasSuffix("num_batches_tracked") }).isEmpty || !report.mismatched.isEmpty
      {
        let missing = report.missing.filter { !$0.hasSuffix("num_batches_tracked") }
        let problems = (report.mismatched.map { "shape mismatch \($0)" } + missing.map { "missing \($0)" })
        throw InputError.badOverride(
          key: "tileEncoderInit", value: config.tileEncoderInit,
          expected: "expected a backbone of the tileEncoder's widths (\(config.tileEncoder)); "
            + "\(problems.prefix(2).joined(separator: "; ")) (\(problems.count) tensors)")
      }
      let optimizer = SGD(
        parameters: model.trainableParameters, learningRate: schedule.learningRate, momentum: schedule.momentum,
        weightDecay: schedule.weightDecay)
      return (model, optimizer)
    }
    var (model, optimizer) = try build()
    // Epoch checkpoints: an interrupted run of this spec continues after its last finished epoch.
    var checkpoints = INSCheckpoints(store: context.checkpoints, epochs: schedule.epochs, label: label)
    var progress = INSCheckpoints.Progress(
      epoch: 0, generator: generator, losses: [], classificationLosses: [], seconds: 0)
    var rebuild = false
    if let resumed = checkpoints.resume(model: model, optimizer: optimizer, notes: &output.notes, rebuild: &rebuild) {
      progress = resumed
      generator = resumed.generator
    } else if rebuild {
      generator = generatorBeforeModel
      (model, optimizer) = try build()
    }
    for (e, (loss, cls)) in zip(progress.losses, progress.classificationLosses).enumerated() {
      output.series.append(SeriesPoint(name: "loss\(suffix)", step: e + 1, x: Double(e + 1), value: loss))
      output.series.append(SeriesPoint(name: "loss_cls\(suffix)", step: e + 1, x: Double(e + 1), value: cls))
    }
    let bar = context.progress(label.isEmpty ? "train" : label, schedule.epochs, "epochs")
    if progress.epoch > 0 { bar.advance(by: progress.epoch, note: "resumed") }
    var finalLoss = progress.losses.last ?? 0
    for epoch in progress.epoch..<schedule.epochs {
      try context.checkInterrupted()
      let last = model.trainEpoch(epoch, schedule: schedule, data: trainingSet, optimizer: optimizer, using: &generator)
      let loss = last.classification + Double(ins.contrastiveWeight) * last.contrastive
      finalLoss = loss
      output.series.append(SeriesPoint(name: "loss\(suffix)", step: epoch + 1, x: Double(epoch + 1), value: loss))
      output.series.append(SeriesPoint(name: "loss_cls\(suffix)", step: epoch + 1, x: Double(epoch + 1), value: last.classification))
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
        probabilities: meanScores.map { [1 - $0, $0] }, labels: labels, bootstrap: config.data.bootstrap,
        using: &bootstrapGenerator)
    ) { $1 }
    let maxScores = scores.map { $0.max() ?? 0 }
    if let aucMax = ClassificationMetrics.rocAUC(probabilities: maxScores.map { [1 - $0, $0] }, labels: labels) { metrics["auc_max"] = aucMax }
    if let auc = MILEvaluation.instanceAUC(scores: scores, bags: data.test) {
      metrics["instance_auc"] = auc
    } else {
      output.notes.append("instance_auc undefined: the test bags have no instance labels of both kinds")
    }
    output.metrics = metrics
    return output
  }
}

/// The `ins` target's config: the shared MIL data keys, then INS's own (official
/// `train_withbag_cam.py` argument names and defaults in parentheses) and its ABMIL arm's.
public struct INSConfig: MILMethodConfig, Equatable {
  /// What INS's instances are.
  public enum Input: String, CaseIterable, Sendable {
    /// Tile features; an MLP encoder, feature-dropout views.
    case features
    /// RGB tiles; a ResNet encoder, MoCo v2 views.
    case tiles
  }

  public var data = MILDataConfig()
  public var input = Input.features
  public var tileSide = 32
  public var tileEncoder = "resnet18"
  public var epochs = 40
  public var warmupEpochs = 1
  public var batchSize = 64
  public var learningRate = 0.01
  public var momentum = 0.9
  public var weightDecay = 1e-3
  public var cosine = false
  public var bagWeight = 1.0
  public var queueSize = 8192
  public var encoderHidden = 512
  public var encoderOutput = 512
  public var lowDimension = 128
  public var keyMomentum = 0.999
  public var prototypeMomentum = 0.9
  public var temperature = 0.07
  public var contrastiveWeight = 0.5
  public var viewDropout = 0.1
  public var confidenceUpdates = true
  public var permutedLabelsArm = true
  public var tileEncoderInit = ""
  public var abmilArm = true
  public var abmilEpochs = 40
  public var abmilPatience = 10

  public init() {}

  /// INS's schedule from the config.
  public var schedule: INSSchedule {
    var schedule = INSSchedule()
    schedule.epochs = epochs
    schedule.warmupEpochs = warmupEpochs
    schedule.batchSize = batchSize
    schedule.learningRate = Float(learningRate)
    schedule.momentum = Float(momentum)
    schedule.weightDecay = Float(weightDecay)
    schedule.cosine = cosine
    schedule.bagWeight = Float(bagWeight)
    return schedule
  }

  public static let fields: [ConfigField<Self>] =
    .lifted(MILDataConfig.self, at: \.data) + [
      .choice("input", \.input, "INS instances: features (MLP encoder over tile features) | tiles (RGB tiles, ResNet encoder, MoCo v2 views)"),
      .int("tileSide", \.tileSide, "input: tiles — tiles are resized to this side (area averaging)", check: ConfigCheck.range(8, 256)),
      .string("tileEncoder", \.tileEncoder, "input: tiles — the engine's ResNet (CIFAR stem): resnet18 (official trunk) | resnet-small (16-32-64-128) | resnet-small-wide (32-64-128-256)", check: ConfigCheck.oneOf(["resnet18", "resnet-small", "resnet-small-wide"])),
      .string(
        "tileEncoderInit", \.tileEncoderInit,
        "input: tiles — start the ResNet from an SSL target's backbone, target/profile/seed such as moco-v2/ci/0 (widths must match tileEncoder; none: from scratch)",
        check: PretrainedEncoderReference.check),
      .int("epochs", \.epochs, "training epochs (official 40)", check: ConfigCheck.range(1, 100_000)),
      .int("warmupEpochs", \.warmupEpochs, "epochs of InfoNCE + bag constraint before prototype updating (prot_start, official 1)", check: ConfigCheck.range(0, 100_000)),
      .int("batchSize", \.batchSize, "instances per step (official 64)", check: ConfigCheck.range(2, 65_536)),
      .double("learningRate", \.learningRate, "SGD learning rate (official 0.01)"),
      .double("momentum", \.momentum, "SGD momentum (official 0.9)"),
      .double("weightDecay", \.weightDecay, "SGD weight decay (official 1e-3)"),
      .bool("cosine", \.cosine, "per-epoch cosine to lr·1e-3 (official --cosine, off by default)"),
      .double("bagWeight", \.bagWeight, "weight wl of the mean-pooling bag constraint (argparse 1, README 0.5)"),
      .int("queueSize", \.queueSize, "queue of keys (official 8192; capped at the training instances)", check: ConfigCheck.range(1, 1_000_000)),
      .int("encoderHidden", \.encoderHidden, "input: features — hidden width of the feature encoder MLP", check: ConfigCheck.range(1, 65_536)),
      .int("encoderOutput", \.encoderOutput, "input: features — encoder output, read by classifier and head (ResNet-18: 512)", check: ConfigCheck.range(1, 65_536)),
      .int("lowDimension", \.lowDimension, "contrastive embedding size (low_dim 128)", check: ConfigCheck.range(1, 65_536)),
      .double("keyMomentum", \.keyMomentum, "key encoder momentum (moco_m 0.999)"),
      .double("prototypeMomentum", \.prototypeMomentum, "prototype momentum (proto_m 0.9)"),
      .double("temperature", \.temperature, "contrastive temperature (0.07)"),
      .double("contrastiveWeight", \.contrastiveWeight, "weight of L_cont (loss_weight 0.5)"),
      .double("viewDropout", \.viewDropout, "input: features — feature dropout of each view (stand-in for image augmentation)"),
      .bool(
        "confidenceUpdates", \.confidenceUpdates,
        "audit only: false keeps positive-bag instances at confidence 0.5 (no pseudo-label updates: INS's core switched off)"),
      .bool(
        "permutedLabelsArm", \.permutedLabelsArm,
        "also train the same INS on permuted bag labels (the in-run label-permutation control)"),
      .bool("abmilArm", \.abmilArm, "also train ABMIL on the same bags (attention instance scores)"),
      .int("abmilEpochs", \.abmilEpochs, "ABMIL arm: maximum epochs", check: ConfigCheck.range(1, 100_000)),
      .int("abmilPatience", \.abmilPatience, "ABMIL arm: early-stopping patience on validation loss (0: off)", check: ConfigCheck.range(0, 100_000)),
    ]
}

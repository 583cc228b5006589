import Engine
import Evaluation
import Foundation
import Methods
import NN
import Vision

/// What differs between the SSL targets: the method's own config keys, its augmentation recipe,
/// how to build it, and the comparison arms its claims need (trained inside the same run).
public protocol SelfSupervisedVariant {
  /// The method's own keys, listed after the common ones (`SelfSupervisedConfig.method`).
  associatedtype Config: MethodConfig
  static var name: String { get }
  static func recipe(_ config: Config, size: Int) -> AugmentationRecipe
  static func make(
    _ config: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using generator: inout RandomGenerator
  ) -> SelfSupervisedMethod
  /// Extra trainings for the claims: a metric suffix and the config it trains with (the run's,
  /// with the values that differ).
  static func arms(_ config: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)]
  /// Whether `learningRate` is a base rate multiplied by `batchSize / 256` (the official rule of
  /// MoCo v3's `main_moco.py`); the others use it as is.
  static var scalesLearningRateWithBatch: Bool { get }
  /// The loss of a network whose outputs carry no information (every logit equal), for a batch
  /// of `batch` out of `dataCount` pretraining images; nil when the loss has no such value.
  static func chanceLoss(_ config: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double?
  /// Metrics derived from the measured ones (gaps the claims check), with their descriptions.
  static var derivedMetrics: [MetricInfo] { get }
  static func derive(_ metrics: [String: Double]) -> [String: Double]
}

extension SelfSupervisedVariant {
  public static var scalesLearningRateWithBatch: Bool { false }
}

/// The SSL pretraining protocol shared by every SSL target: pretrain on the (subset of the)
/// training split without labels, then evaluate frozen backbone features on labels with the
/// weighted kNN of InstDisc (k, T) and a linear probe. Beside it, always: the same backbone at
/// random initialisation as constructed (`random_init.*`), and the no-learning control
/// (`control.*`): the same initial weights with the batch-norm running statistics refitted on the
/// pretraining images, the one fair baseline for "did training do anything" (a trained network's
/// statistics were refitted by every training-mode step; the constructed ones are 0 and 1).
public enum SelfSupervisedExperiment<Variant: SelfSupervisedVariant>: Experiment {
  /// The common keys, then the variant's.
  public typealias Config = SelfSupervisedConfig<Variant.Config>

  public static var schema: [ConfigKey] { Config.schema }

  public static var metrics: [MetricInfo] {
    var out = [
      MetricInfo("knn_accuracy", .higher, "weighted kNN top-1 on the test split, trained backbone"),
      MetricInfo("linear_accuracy", .higher, "linear probe top-1 on frozen features, trained backbone"),
      MetricInfo("random_init.knn_accuracy", .higher, "weighted kNN top-1, same backbone at random initialisation"),
      MetricInfo("random_init.linear_accuracy", .higher, "linear probe top-1, random initialisation"),
      MetricInfo("knn_gain_over_random", .higher, "knn_accuracy − random_init.knn_accuracy"),
      MetricInfo(
        "control.knn_accuracy", .higher,
        "weighted kNN top-1 of the no-learning control: the same initial weights, batch-norm statistics refitted on the pretraining images"),
      MetricInfo("control.linear_accuracy", .higher, "linear probe top-1 of the no-learning control"),
      MetricInfo("knn_gain_over_control", .higher, "knn_accuracy − control.knn_accuracy: what training added"),
      MetricInfo("linear_gain_over_control", .higher, "linear_accuracy − control.linear_accuracy"),
      // Two-sided: at a fixed recipe a loss far below its band means the pretext task got easier
      // (identical views, leaked positives), not that the replication improved. MoCo v3 with
      // identical views learns a little and ends at 0.33 of chance against the band's 0.70–0.79:
      // only the lower bound catches it (README, "MoCo v3 and SwAV at ci").
      MetricInfo("final_loss", .neither, "mean training loss over the last epoch (two-sided: too low means an easier pretext task)"),
      MetricInfo("first_loss", .lower, "mean training loss over the first epoch", banded: false),
      MetricInfo("chance_loss", .lower, "the loss with uninformative outputs (all logits equal)", banded: false),
      MetricInfo("loss_over_chance", .neither, "final_loss ÷ chance_loss (1: nothing learned; two-sided as final_loss)"),
      MetricInfo("train_seconds", .lower, "pretraining wall time", banded: false),
    ]
    for suffix in armSuffixes {
      out.append(MetricInfo("knn_accuracy.\(suffix)", .higher, "weighted kNN top-1, arm \(suffix)"))
      out.append(MetricInfo("final_loss.\(suffix)", .lower, "final-epoch loss, arm \(suffix)", banded: false))
    }
    return out + Variant.derivedMetrics
  }

  /// Arm names as the default config produces them (for the metric list).
  static var armSuffixes: [String] {
    Variant.arms(Config()).map(\.suffix)
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = try Config(context.spec.config)
    if let problem = BackboneKind.problem(name: config.backbone, imageSize: config.imageSize) {
      // The key's own check passed, so the name is known and the view size is what does not fit.
      throw InputError.badOverride(key: "imageSize", value: String(config.imageSize), expected: problem)
    }
    let threads = context.spec.threads
    Parallel.setThreadCount(threads)
    BLAS.setThreadCount(threads)
    let (train, test) = try context.loadTrainAndTest(tileSize: config.tileSize)
    let imageSize = config.imageSize
    let backbone = config.backboneKind
    // Pretraining pool: first the profile's fixed set (maxTrainImages, class-stratified, the same
    // for every seed), then the class-stratified --subset of that set, so `--subset 50%` always
    // halves what the profile pretrains on. The evaluation never changes with --subset: the kNN
    // bank and the linear probe's training set are the whole fixed set `base`, the test images
    // the fixed `evalIndices` (the data-efficiency question is what less *pretraining* data does
    // to features judged the same way).
    var base = Array(train.images.indices)
    if config.maxTrainImages > 0 && base.count > config.maxTrainImages {
      var r = RandomGenerator(seed: 0xCA9)
      base = Sampling.stratifiedSample(from: base, labels: train.labels, count: config.maxTrainImages, using: &r)
        .sorted()
    }
    let pool = context.subset(labels: base.map { train.labels[$0] }, of: "pretraining images").map { base[$0] }
    var evalIndices = Array(test.images.indices)
    if config.evalImages > 0 && evalIndices.count > config.evalImages {
      var r = RandomGenerator(seed: 0xE7A1)
      evalIndices = Sampling.stratifiedSample(
        from: evalIndices, labels: test.labels, count: config.evalImages, using: &r
      ).sorted()
    }
    let resize = { (image: RGBImage) in
      image.width == imageSize && image.height == imageSize ? image : image.resized(width: imageSize, height: imageSize)
    }
    let trainEval = base.map { resize(train.images[$0]) }
    let testEval = evalIndices.map { resize(test.images[$0]) }
    let evaluation = Evaluator(
      train: trainEval, trainLabels: base.map { train.labels[$0] }, test: testEval,
      testLabels: evalIndices.map { test.labels[$0] }, classCount: max(train.classNames.count, 1),
      k: config.knnK, temperature: Float(config.knnTemperature), linearProbe: config.linearProbe)

    var output = ExperimentOutput()
    // Checkpoints (context.checkpoints): what an interrupted run of this spec finished is taken
    // from its record, an unfinished pretraining resumes from its last checkpoint.
    var resumeNotes: [String] = []
    let store = context.checkpoints
    var record = SelfSupervisedRunRecord.load(store, notes: &resumeNotes)
    let reused = ["random_init", "control"].filter(record.finished.contains)
    if !reused.isEmpty {
      resumeNotes.append("resumed: the \(reused.joined(separator: " and ")) evaluation of an interrupted run is reused")
    }
    var metrics = record.metrics.mapValues(\.value)
    // Random initialisation: the same constructor and seed as the trained run, no steps.
    if !record.finished.contains("random_init") {
      var g = context.generator.split("model")
      let method = Variant.make(config, backbone: backbone, dataCount: pool.count, iterations: 1, using: &g)
      let r = evaluation.evaluate(method.backbone)
      metrics["random_init.knn_accuracy"] = r.knn
      if let l = r.linear { metrics["random_init.linear_accuracy"] = l }
      record.finish("random_init", metrics: metrics, losses: nil, store: store, notes: &resumeNotes)
    }
    try context.checkInterrupted()
    if !record.finished.contains("control") {
      var g = context.generator.split("model")
      let method = Variant.make(config, backbone: backbone, dataCount: pool.count, iterations: 1, using: &g)
      let poolImages = FloatImage.batch(pool.map { resize(train.images[$0]) }, normalize: .imageNet)
      method.backbone.refitBatchNormStatistics(poolImages, batchSize: config.batchSize)
      if let url = context.controlExport {
        try exportBackbone(method.backbone, to: url, context: context, imageSize: imageSize)
      }
      let r = evaluation.evaluate(method.backbone)
      metrics["control.knn_accuracy"] = r.knn
      if let l = r.linear { metrics["control.linear_accuracy"] = l }
      record.finish("control", metrics: metrics, losses: nil, store: store, notes: &resumeNotes)
    }
    try context.checkInterrupted()
    if record.finished.contains("pretrain") {
      resumeNotes.append("resumed after pretraining 'pretrain': an interrupted run finished it, its results are reused")
      if let url = context.backboneExport {
        resumeNotes.append(
          "warning: the backbone was not saved to \(url.path): an interrupted run finished the pretraining and its weights are gone; run again with --fresh")
      }
    } else {
      let main = try pretrain(
        context, config: config, backbone: backbone, pool: pool, images: train.images, labels: train.labels,
        label: "pretrain", labelIndex: 0, notes: &resumeNotes)
      let result = evaluation.evaluate(main.method.backbone)
      if let url = context.backboneExport {
        try exportBackbone(main.method.backbone, to: url, context: context, imageSize: imageSize)
        output.notes.append("backbone saved to \(url.path) (\(main.method.backbone.stateDict().count) tensors)")
      }
      metrics["knn_accuracy"] = result.knn
      if let l = result.linear { metrics["linear_accuracy"] = l }
      metrics["final_loss"] = main.losses.last
      metrics["first_loss"] = main.losses.first
      metrics["train_seconds"] = main.seconds
      metrics["knn_gain_over_random"] = result.knn - (metrics["random_init.knn_accuracy"] ?? 0)
      if let c = metrics["control.knn_accuracy"] { metrics["knn_gain_over_control"] = result.knn - c }
      if let chance = Variant.chanceLoss(config, batch: min(config.batchSize, pool.count), dataCount: pool.count),
        let last = main.losses.last
      {
        metrics["chance_loss"] = chance
        metrics["loss_over_chance"] = last / chance
      }
      if let l = result.linear, let c = metrics["control.linear_accuracy"] { metrics["linear_gain_over_control"] = l - c }
      record.finish("pretrain", metrics: metrics, losses: main.losses, store: store, notes: &resumeNotes)
      main.checkpoints.remove()
    }
    for (e, l) in (record.losses["pretrain"] ?? []).enumerated() {
      output.series.append(SeriesPoint(name: "loss", step: e + 1, x: Double(e + 1), value: l.value))
    }
    for (a, arm) in (config.comparisonArms ? Variant.arms(config) : []).enumerated() {
      try context.checkInterrupted()
      if record.finished.contains(arm.suffix) {
        resumeNotes.append("resumed after pretraining '\(arm.suffix)': an interrupted run finished it, its results are reused")
      } else {
        let run = try pretrain(
          context, config: arm.config, backbone: backbone, pool: pool, images: train.images, labels: train.labels,
          label: arm.suffix, labelIndex: a + 1, notes: &resumeNotes)
        metrics["knn_accuracy.\(arm.suffix)"] = evaluation.evaluate(run.method.backbone, linear: false).knn
        metrics["final_loss.\(arm.suffix)"] = run.losses.last
        record.finish(arm.suffix, metrics: metrics, losses: run.losses, store: store, notes: &resumeNotes)
        run.checkpoints.remove()
      }
      for (e, l) in (record.losses[arm.suffix] ?? []).enumerated() {
        output.series.append(SeriesPoint(name: "loss.\(arm.suffix)", step: e + 1, x: Double(e + 1), value: l.value))
      }
    }
    for (k, v) in Variant.derive(metrics) { metrics[k] = v }
    output.metrics = metrics.filter { $0.value.isFinite }
    output.notes.append(
      "\(Variant.name): \(pool.count) pretraining images (subset \(ConfigValue.format(context.spec.subset))%) of "
        + "\(train.datasetId), views \(imageSize)² px, \(config.epochs) epochs of batch \(config.batchSize); "
        + "evaluated on \(testEval.count) test images against \(trainEval.count) training images, whatever --subset "
        + "(kNN k=\(config.knnK), T=\(ConfigValue.format(config.knnTemperature)))")
    output.notes += resumeNotes
    for (k, v) in metrics where !v.isFinite { output.notes.append("\(k) is not finite (training diverged)") }
    return output
  }

  struct Pretrained {
    var method: SelfSupervisedMethod
    var losses: [Double]
    /// Training wall time, summed over the processes that trained it (resumed runs).
    var seconds: Double
    /// Its checkpoints (deleted by the caller once the results are recorded).
    var checkpoints: PretrainingCheckpoints
  }

  /// Pretrains one method; returns it with the mean loss of every epoch. With checkpoints, it
  /// resumes from the last one of an interrupted run and writes one at every epoch end (and every
  /// `REPLICATE_CHECKPOINT_EVERY` steps, and when interrupted), so a run killed at any instant
  /// continues bit for bit.
  static func pretrain(
    _ context: RunContext, config: Config, backbone: BackboneKind, pool fullPool: [Int], images: [RGBImage],
    labels: [Int], label: String, labelIndex: Int, notes: inout [String]
  ) throws -> Pretrained {
    let start = Date()
    var pool = fullPool
    if config.dataFraction < 1 {
      let poolLabels = fullPool.map { labels[$0] }
      pool = Sampling.stratifiedSubset(labels: poolLabels, percent: 100 * config.dataFraction, seed: 0xF2AC)
        .map { fullPool[$0] }
    }
    let batch = min(config.batchSize, pool.count)
    let perEpoch = max(1, pool.count / batch)  // drop_last, as the official loaders
    let epochs = config.epochs
    let total = perEpoch * epochs
    let lr = Float(config.learningRate * (Variant.scalesLearningRateWithBatch ? Double(config.batchSize) / 256 : 1))
    let wd = Float(config.weightDecay)
    func build() -> (SelfSupervisedMethod, [Tensor], Optimizer) {
      var g = context.generator.split("model")
      let method = Variant.make(config, backbone: backbone, dataCount: pool.count, iterations: total, using: &g)
      let parameters = method.trainableParameters
      let optimizer: Optimizer
      switch config.optimizer {
      case .lars: optimizer = LARS(parameters: parameters, learningRate: lr, weightDecay: wd)
      case .adamw: optimizer = AdamW(parameters: parameters, learningRate: lr, weightDecay: wd)
      case .sgd: optimizer = SGD(parameters: parameters, learningRate: lr, momentum: 0.9, weightDecay: wd)
      }
      return (method, parameters, optimizer)
    }
    var (method, parameters, optimizer) = build()
    // Batches: a fresh permutation of the pool each epoch; position in the pool = InstDisc index.
    var order = context.generator.split("batches \(label)")
    var batches: [[Int]] = []
    for _ in 0..<epochs {
      let perm = order.permutation(pool.count)
      for b in 0..<perEpoch { batches.append(Array(perm[(b * batch)..<((b + 1) * batch)])) }
    }
    var progress = PretrainingProgress(
      augment: context.generator.split("augment \(label)"), steps: context.generator.split("steps \(label)"))
    var checkpoints = PretrainingCheckpoints(
      store: context.checkpoints, label: label, labelIndex: labelIndex, total: total)
    switch checkpoints.resume(method: method, optimizer: optimizer, notes: &notes) {
    case .none: break
    case .resumed(let p): progress = p
    case .rejected: (method, parameters, optimizer) = build()
    }
    let poolImages = pool.map { images[$0] }
    let pipeline = MultiViewPipeline(
      recipe: Variant.recipe(config.method, size: config.imageSize), threads: context.spec.threads,
      identicalViews: config.identicalViews)
    let prefetch = pipeline.resumablePrefetcher(
      images: poolImages, batches: batches, first: progress.iteration, generator: progress.augment)
    let bar = context.progress(label, total, "steps")
    if progress.iteration > 0 { bar.advance(by: progress.iteration, note: "resumed") }
    let warmup = config.warmupEpochs * perEpoch
    let priorSeconds = progress.seconds
    let trainingSeconds = { priorSeconds + Date().timeIntervalSince(start) }
    method.setTraining(true)
    for (views, augmentAfter) in prefetch {
      if Interruption.requested {
        // Ctrl-C: keep the exact step reached (the state here is between two steps).
        checkpoints.save(
          method: method, optimizer: optimizer, progress: progress, seconds: trainingSeconds(), notes: &notes)
        throw CancellationError()
      }
      let iteration = progress.iteration
      optimizer.learningRate = Schedule.cosine(step: iteration, total: total, base: lr, warmup: warmup)
      for p in parameters { p.zeroGrad() }
      let loss = method.loss(
        views: views, indices: batches[iteration], progress: Double(iteration) / Double(max(total, 1)),
        using: &progress.steps)
      loss.backward()
      method.afterBackward(iteration: iteration)
      optimizer.step()
      method.afterStep()
      progress.epochLoss += Double(loss.item)
      if (iteration + 1) % perEpoch == 0 {
        progress.losses.append(progress.epochLoss / Double(perEpoch))
        progress.epochLoss = 0
      }
      progress.iteration = iteration + 1
      progress.augment = augmentAfter
      if checkpoints.isDue(done: progress.iteration, perEpoch: perEpoch) {
        checkpoints.save(
          method: method, optimizer: optimizer, progress: progress, seconds: trainingSeconds(), notes: &notes)
      }
      bar.advance(by: 1, note: String(format: "loss %.3f", loss.item))
    }
    bar.finish()
    method.setTraining(false)
    if context.checkpoints?.everySteps != nil && checkpoints.writes > 0 {
      notes.append(
        "pretraining '\(label)': \(checkpoints.writes) checkpoints written, "
          + String(format: "%.1f ms each on average", 1000 * checkpoints.writeSeconds / Double(checkpoints.writes)))
    }
    return Pretrained(method: method, losses: progress.losses, seconds: trainingSeconds(), checkpoints: checkpoints)
  }
}

extension SelfSupervisedExperiment {
  /// Writes the pretrained backbone as a safetensors state dict (ResNets: torchvision names, the
  /// BN running statistics included, so `TileEncoder` loads it in evaluation mode), with the run
  /// that made it in the metadata.
  static func exportBackbone(_ backbone: Backbone, to url: URL, context: RunContext, imageSize: Int) throws {
    let spec = context.spec
    let metadata = [
      "format": "replicate-backbone", "target": spec.target, "profile": spec.profile, "seed": String(spec.seed),
      "subset": String(spec.subset), "image_size": String(imageSize), "data": context.data.label,
    ]
    do {
      try SafeTensors.write(backbone.stateDict(), metadata: metadata, to: url.path)
    } catch {
      throw InputError.badArgument(option: "--save-backbone", value: url.path, expected: "a writable file (\(error))")
    }
  }
}

/// Frozen-feature evaluation: backbone features of the (resized, normalised) training and test
/// images, weighted kNN and a linear probe.
struct Evaluator {
  let trainImages: Tensor
  let trainLabels: [Int]
  let testImages: Tensor
  let testLabels: [Int]
  let classCount: Int
  let k: Int
  let temperature: Float
  let linearProbe: Bool

  init(
    train: [RGBImage], trainLabels: [Int], test: [RGBImage], testLabels: [Int], classCount: Int, k: Int,
    temperature: Float, linearProbe: Bool
  ) {
    trainImages = FloatImage.batch(train, normalize: .imageNet)
    testImages = FloatImage.batch(test, normalize: .imageNet)
    self.trainLabels = trainLabels
    self.testLabels = testLabels
    self.classCount = classCount
    self.k = k
    self.temperature = temperature
    self.linearProbe = linearProbe
  }

  func features(_ backbone: Backbone, _ images: Tensor) -> Tensor {
    backbone.isTraining = false
    let n = images.shape[0], chunk = 256
    let parts = stride(from: 0, to: n, by: chunk).map { start in
      Tensor.withoutGrad { backbone(images.narrowed(axis: 0, start: start, length: min(chunk, n - start))) }
    }
    return Tensor.concatenate(parts, axis: 0)
  }

  func evaluate(_ backbone: Backbone, linear: Bool = true) -> (knn: Double, linear: Double?) {
    let train = features(backbone, trainImages), test = features(backbone, testImages)
    let knn = KNNClassifier.accuracy(
      trainFeatures: train, trainLabels: trainLabels, testFeatures: test, testLabels: testLabels, k: k,
      temperature: temperature)
    guard linear && linearProbe else { return (knn, nil) }
    let d = train.shape[1]
    let probe = LinearProbe.fit(features: train.data, labels: trainLabels, featureCount: d, classCount: classCount)
    return (knn, LinearProbe.accuracy(probe.predict(test.data), testLabels))
  }
}

/// The optimiser of SSL pretraining (`optimizer` key).
public enum SelfSupervisedOptimizer: String, Sendable, CaseIterable {
  case sgd, lars, adamw
}

/// The keys every SSL target shares (the pretraining and evaluation protocol), then the
/// variant's own keys (`Method`, lifted from `method`): `SelfSupervisedExperiment`'s schema.
public struct SelfSupervisedConfig<Method: MethodConfig>: MethodConfig {
  public var backbone = "resnet-small"
  public var tileSize = 64
  public var imageSize = 32
  public var epochs = 10
  public var batchSize = 128
  public var maxTrainImages = 0
  public var optimizer = SelfSupervisedOptimizer.sgd
  public var learningRate = 0.06
  public var weightDecay = 5e-4
  public var warmupEpochs = 0
  public var knnK = 200
  public var knnTemperature = 0.1
  public var evalImages = 0
  public var linearProbe = true
  public var dataFraction = 1.0
  public var identicalViews = false
  public var comparisonArms = true
  /// The variant's keys.
  public var method = Method()

  public init() {}

  public static var fields: [ConfigField<Self>] {
    [
      .string("backbone", \.backbone, BackboneKind.names.joined(separator: " | ") + " (swin-micro: imageSize a multiple of 32)", check: { v in
        if case .string(let s) = v, BackboneKind.named(s, imageSize: 32) != nil { return nil }
        return BackboneKind.problem(name: "", imageSize: 32)
      }),
      .int("tileSize", \.tileSize, "edge of the dataset images (synthetic data)", check: ConfigCheck.range(16, 1024)),
      .int("imageSize", \.imageSize, "edge of the augmented views and evaluation images", check: ConfigCheck.range(8, 512)),
      .int("epochs", \.epochs, "pretraining epochs over the (subset of the) training split", check: ConfigCheck.range(1, 100_000)),
      .int("batchSize", \.batchSize, "images per batch", check: ConfigCheck.range(2, 65_536)),
      .int("maxTrainImages", \.maxTrainImages, "pretraining set size before --subset, class-stratified (0: the whole split)", check: ConfigCheck.range(0, 10_000_000)),
      .choice("optimizer", \.optimizer, "sgd | lars | adamw"),
      .double(
        "learningRate", \.learningRate,
        "base learning rate (MoCo v3 multiplies it by batchSize/256, the official rule; the others use it as is)"),
      .double("weightDecay", \.weightDecay, "weight decay"),
      .int("warmupEpochs", \.warmupEpochs, "linear warm-up epochs before the cosine", check: ConfigCheck.range(0, 10_000)),
      .int("knnK", \.knnK, "neighbours of the weighted kNN", check: ConfigCheck.range(1, 100_000)),
      .double("knnTemperature", \.knnTemperature, "temperature of the kNN weights exp(sim/T)"),
      .int("evalImages", \.evalImages, "test images evaluated (0: all)", check: ConfigCheck.range(0, 10_000_000)),
      .bool("linearProbe", \.linearProbe, "also fit a linear probe on frozen features"),
      .double("dataFraction", \.dataFraction, "fraction of the pretraining pool used (class-stratified; arms)", check: { v in
        if let x = v.doubleValue, x > 0, x <= 1 { return nil }
        return "expected a number in (0, 1]"
      }),
      .bool(
        "identicalViews", \.identicalViews,
        "audit only: every view of an image is the same augmentation draw (the contrastive signal switched off)"),
      .bool(
        "comparisonArms", \.comparisonArms,
        "also pretrain the comparison arms the relational claims need (off: only the method, its random init and control)"),
    ] + .lifted(Method.self, at: \.method)
  }

  /// The backbone `backbone` names at `imageSize` (the key's check accepts only known names).
  public var backboneKind: BackboneKind { BackboneKind.named(backbone, imageSize: imageSize)! }

  /// A copy with some values changed (an arm's config).
  public func with(_ change: (inout Self) -> Void) -> Self {
    var copy = self
    change(&copy)
    return copy
  }
}

extension SelfSupervisedConfig: Equatable where Method: Equatable {}

import Engine
import NN
import Vision

/// The instances INS trains on, and how its two views of them are made.
///
/// - `features`: tile features `[N, D]`; each view is an independent feature dropout
///   (`INSConfiguration.viewDropout`), the stand-in for image augmentation.
/// - `tiles`: RGB tile images (all the same size); the views are two draws of an augmentation
///   recipe (the project's MoCo v2 pipeline, as the official two `RandomResizedCrop` + flip views
///   of one patch), and the un-augmented input is the tile normalised as the recipe's last step.
public enum INSInstances: @unchecked Sendable {
  case features(Tensor)
  case tiles([RGBImage], views: TwoViewPipeline, normalize: Normalize)

  /// Instances N.
  public var count: Int {
    switch self {
    case .features(let x): x.shape[0]
    case .tiles(let images, _, _): images.count
    }
  }

  /// The un-augmented network input of `indices`: feature rows `[b, D]`, or normalised tiles
  /// `[b, 3, s, s]` (for scoring).
  public func input(_ indices: [Int]) -> Tensor {
    switch self {
    case .features(let x): x.indexSelect(axis: 0, indices)
    case .tiles(let images, _, let normalize): FloatImage.batch(indices.map { images[$0] }, normalize: normalize)
    }
  }

  /// The query and key views of `indices` (the official `img_w`, `img_s`).
  func views(_ indices: [Int], dropout p: Float, using generator: inout RandomGenerator) -> (Tensor, Tensor) {
    switch self {
    case .features(let x):
      let rows = x.indexSelect(axis: 0, indices)
      return (rows.dropout(p, using: &generator), rows.dropout(p, using: &generator))
    case .tiles(let images, let pipeline, _):
      return pipeline.batch(images, indices, using: &generator)
    }
  }

  /// One view of the bag `range` for the bag constraint: a dropout of its features, or the
  /// first augmented view of its tiles.
  func bagView(_ range: Range<Int>, dropout p: Float, using generator: inout RandomGenerator) -> Tensor {
    switch self {
    case .features(let x): x.narrowed(axis: 0, start: range.lowerBound, length: range.count).dropout(p, using: &generator)
    case .tiles(let images, let pipeline, _): pipeline.batch(images, Array(range), using: &generator).0
    }
  }
}

/// The training instances of INS: every instance of every training bag, with its bag.
public struct INSTrainingSet: @unchecked Sendable {
  /// All instances of all training bags, bag after bag.
  public let instances: INSInstances
  /// Rows of `instances` of each bag.
  public let bagRanges: [Range<Int>]
  /// 0/1 label of each bag.
  public let bagLabels: [Int]

  /// - Precondition: the ranges tile `0..<N` in order and there is one label per bag.
  public init(instances: INSInstances, bagRanges: [Range<Int>], bagLabels: [Int]) {
    precondition(bagRanges.count == bagLabels.count, "INSTrainingSet: \(bagRanges.count) bags, \(bagLabels.count) labels")
    precondition(
      bagRanges.last?.upperBound ?? 0 == instances.count, "INSTrainingSet: ranges do not cover \(instances.count) instances")
    self.instances = instances
    self.bagRanges = bagRanges
    self.bagLabels = bagLabels
  }

  /// Feature instances `[N, D]` (views by dropout).
  public init(features: Tensor, bagRanges: [Range<Int>], bagLabels: [Int]) {
    self.init(instances: .features(features), bagRanges: bagRanges, bagLabels: bagLabels)
  }

  /// Instances N.
  public var count: Int { instances.count }

  /// The bag label of every instance (row).
  public var instanceBagLabels: [Int] {
    zip(bagRanges, bagLabels).flatMap { range, label in Array(repeating: label, count: range.count) }
  }

  /// Instances of positive bags (the official warm-up loader, `only_pos=True`).
  public var positiveBagInstances: [Int] {
    zip(bagRanges, bagLabels).flatMap { range, label in label == 1 ? Array(range) : [] }
  }
}

/// The training schedule of INS (official `train_withbag_cam.py` defaults in brackets).
public struct INSSchedule: Sendable, Equatable {
  /// Epochs [40].
  public var epochs: Int = 40
  /// Warm-up epochs before prototype updating, `prot_start` [1].
  public var warmupEpochs: Int = 1
  /// Instances per step [64].
  public var batchSize: Int = 64
  /// SGD learning rate, momentum, weight decay [0.01, 0.9, 1e-3].
  public var learningRate: Float = 0.01
  public var momentum: Float = 0.9
  public var weightDecay: Float = 1e-3
  /// `--cosine`: per-epoch cosine from lr to lr·10⁻³ [off; the step decay at 700/800/900 never
  /// triggers within 40 epochs, so off means constant].
  public var cosine = false
  /// Weight of the mean-pooling bag constraint, `wl` [argparse 1; README quick start 0.5].
  public var bagWeight: Float = 1

  public init() {}

  /// The learning rate of `epoch` (official `adjust_learning_rate`).
  public func learningRate(epoch: Int) -> Float {
    guard cosine else { return learningRate }
    let etaMin = learningRate * 1e-3
    return etaMin + (learningRate - etaMin) * Float(1 + cos(Double.pi * Double(epoch) / Double(epochs))) / 2
  }
}

extension INS {
  /// Mean losses of one epoch.
  public struct EpochLoss: Sendable {
    public var classification = 0.0
    public var contrastive = 0.0
    /// Mean bag-constraint loss (warm-up epochs; 0 after).
    public var bag = 0.0
    public var steps = 0
  }

  /// One epoch as the official loop runs it. Warm-up (`epoch < warmupEpochs`): instance steps over
  /// the **positive-bag** instances only (the official `only_pos` loader; their confidence stays
  /// uniform), then one SGD step per training bag on `bagWeight · L_bag` (`train_bag`). After:
  /// instance steps over all training instances with confidence updates and SupCon.
  /// Batches are a fresh shuffle with the last incomplete batch dropped (`drop_last=True`), or
  /// one batch of everything when there are fewer instances than a batch. The same loop serves
  /// feature and tile instances; only the views differ (`INSInstances`).
  public func trainEpoch(
    _ epoch: Int, schedule: INSSchedule, data: INSTrainingSet, optimizer: any Optimizer,
    using generator: inout RandomGenerator
  ) -> EpochLoss {
    let warmup = epoch < schedule.warmupEpochs
    optimizer.learningRate = schedule.learningRate(epoch: epoch)
    let phi = configuration.phi(epoch: epoch, epochs: schedule.epochs)
    var pool = warmup ? data.positiveBagInstances : Array(0..<data.count)
    pool.shuffle(using: &generator)
    let b = Swift.min(schedule.batchSize, pool.count)
    var result = EpochLoss()
    guard b > 0 else { return result }
    let p = configuration.viewDropout
    for start in stride(from: 0, through: pool.count - b, by: b) {
      let indices = Array(pool[start..<(start + b)])
      let (query, key) = data.instances.views(indices, dropout: p, using: &generator)
      let step = instanceStep(indices: indices, query: query, key: key, prototypePhase: !warmup, phi: phi)
      network.zeroGrad()
      step.total.backward()
      optimizer.step()
      result.classification += Double(step.classification)
      result.contrastive += Double(step.contrastive)
      result.steps += 1
    }
    result.classification /= Double(result.steps)
    result.contrastive /= Double(result.steps)
    if warmup && schedule.bagWeight > 0 {
      for (range, label) in zip(data.bagRanges, data.bagLabels) {  // shuffle=False in the official loader
        let bag = data.instances.bagView(range, dropout: p, using: &generator)
        let loss = bagConstraintLoss(bag, label: label) * schedule.bagWeight
        network.zeroGrad()
        loss.backward()
        optimizer.step()
        result.bag += Double(loss.item) / Double(data.bagRanges.count)
      }
    }
    return result
  }
}

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

extension INSInstances {
  /// The RGB tiles of one tile-image bag: `pixels` holds `[N, side·side·3]` values 0…255, row by row.
  public static func tileImages(pixels: [Float], side: Int) -> [RGBImage] {
    let bytes = pixels.map { UInt8($0) }
    let size = 3 * side * side
    return (0..<(bytes.count / size)).map {
      RGBImage(width: side, height: side, pixels: Array(bytes[($0 * size)..<(($0 + 1) * size)]))
    }
  }
}

extension INSTrainingSet {
  /// Instances of bags of `bagSizes` instances each, bag after bag.
  public init(instances: INSInstances, bagSizes: [Int], bagLabels: [Int]) {
    var ranges: [Range<Int>] = []
    for size in bagSizes {
      let start = ranges.last?.upperBound ?? 0
      ranges.append(start..<(start + size))
    }
    self.init(instances: instances, bagRanges: ranges, bagLabels: bagLabels)
  }
}

extension INSConfiguration {
  /// The queue INS keeps: `requested` keys, capped at the training instances rounded down to whole
  /// batches (at least one batch), so the queue holds no stale keys from long-gone epochs.
  public static func queueSize(requested: Int, instances: Int, batchSize: Int) -> Int {
    min(requested, max(batchSize, instances / batchSize * batchSize))
  }
}

extension INSConfiguration.Encoder {
  /// The tile encoder `name` (`resnet18`, `resnet-small`, `resnet-small-wide`; CIFAR stem) on
  /// tiles of `side` pixels: the small ResNets with one block per stage, ResNet-18's trunk otherwise.
  public static func tiles(named name: String, side: Int) -> Self {
    switch BackboneKind.named(name, imageSize: side) {
    case .resnetSmall(let widths): .resnet(widths: widths, blocksPerStage: 1)
    default: .resnet(widths: [64, 128, 256, 512], blocksPerStage: 2)  // resnet18
    }
  }
}

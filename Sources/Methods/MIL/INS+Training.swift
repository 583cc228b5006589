import Engine
import NN

/// The training instances of INS: every instance of every training bag, with its bag.
public struct INSTrainingSet {
  /// `[N, D]` instances of all training bags, bag after bag.
  public let features: Tensor
  /// Rows of `features` of each bag.
  public let bagRanges: [Range<Int>]
  /// 0/1 label of each bag.
  public let bagLabels: [Int]

  /// - Precondition: the ranges tile `0..<N` in order and there is one label per bag.
  public init(features: Tensor, bagRanges: [Range<Int>], bagLabels: [Int]) {
    precondition(bagRanges.count == bagLabels.count, "INSTrainingSet: \(bagRanges.count) bags, \(bagLabels.count) labels")
    precondition(bagRanges.last?.upperBound ?? 0 == features.shape[0], "INSTrainingSet: ranges do not cover \(features.shape)")
    self.features = features
    self.bagRanges = bagRanges
    self.bagLabels = bagLabels
  }

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
  /// one batch of everything when there are fewer instances than a batch.
  public func trainEpoch(
    _ epoch: Int, schedule: INSSchedule, data: INSTrainingSet, optimizer: any Optimizer,
    using generator: inout RandomGenerator
  ) -> EpochLoss {
    let warmup = epoch < schedule.warmupEpochs
    optimizer.learningRate = schedule.learningRate(epoch: epoch)
    let phi = configuration.phi(epoch: epoch, epochs: schedule.epochs)
    var pool = warmup ? data.positiveBagInstances : Array(0..<data.features.shape[0])
    pool.shuffle(using: &generator)
    let b = Swift.min(schedule.batchSize, pool.count)
    var result = EpochLoss()
    guard b > 0 else { return result }
    let p = configuration.viewDropout
    for start in stride(from: 0, through: pool.count - b, by: b) {
      let indices = Array(pool[start..<(start + b)])
      let x = data.features.indexSelect(axis: 0, indices)
      let step = instanceStep(
        indices: indices, query: x.dropout(p, using: &generator), key: x.dropout(p, using: &generator),
        prototypePhase: !warmup, phi: phi)
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
        let bag = data.features.narrowed(axis: 0, start: range.lowerBound, length: range.count)
        let loss = bagConstraintLoss(bag.dropout(p, using: &generator), label: label) * schedule.bagWeight
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

import Engine
import Evaluation
import Foundation
import Methods
import NN

/// How a MIL model is optimised: the optimiser, early stopping and gradient accumulation.
public struct MILTrainingSettings: Sendable, Equatable {
  /// The optimisers the MIL targets use.
  public enum Optimizer: String, Sendable, CaseIterable {
    /// TransMIL's `lookahead_radam`: `Lookahead(RAdam)` with TransMIL's own RAdam and Lookahead
    /// (`RAdam.Variant.transMIL`, `Lookahead.Variant.transMIL`, α 0.5, k 6), weight decay only on
    /// parameters with ≥ 2 dimensions (`add_weight_decay`).
    case lookaheadRAdam = "lookahead-radam"
    /// `torch.optim.Adam(lr, betas=(0.9, 0.999), weight_decay)` on every parameter, as the ABMIL
    /// repository's `main.py` (lr 5e-4, weight_decay 10e-5 = 1e-4): L2 decay added to the
    /// gradient (`g + λp`) before the Adam update.
    case adam
  }

  /// What early stopping watches on the validation slides.
  public enum Selection: String, Sendable, CaseIterable {
    /// The mean validation loss, lower is better (TransMIL's `monitor="val_loss"`; the default).
    case loss = "val-loss"
    /// The validation slide ROC-AUC, higher is better (ties keep the earlier epoch; with one
    /// class among the validation slides the AUC is undefined and the loss decides). On a handful of validation slides the loss can favour an epoch
    /// that has hardly learned (issue 15: TransMIL kept epoch 1 of 11); the AUC asks only for
    /// the ranking the target is judged on.
    case auc = "val-auc"
  }

  public var optimizer: Optimizer
  /// What early stopping watches (`patience` > 0).
  public var selection: Selection = .loss
  public var learningRate: Float
  public var weightDecay: Float
  /// Maximum epochs over the training bags.
  public var maxEpochs: Int
  /// Early stopping on the validation loss (Lightning's `EarlyStopping(monitor="val_loss",
  /// mode="min", patience)`): stop after `patience` epochs without a strictly lower loss and
  /// restore the weights of the best epoch (TransMIL tests its best-`val_loss` checkpoint).
  /// 0: no early stopping; the last epoch's weights are kept.
  public var patience: Int
  /// Bags per optimiser step (Lightning's `accumulate_grad_batches`: each bag's loss is divided
  /// by it; a remainder at the end of an epoch still steps).
  public var gradientAccumulation: Int

  public init(
    optimizer: Optimizer, learningRate: Float, weightDecay: Float, maxEpochs: Int, patience: Int,
    gradientAccumulation: Int
  ) {
    self.optimizer = optimizer
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.maxEpochs = maxEpochs
    self.patience = patience
    self.gradientAccumulation = gradientAccumulation
  }

  /// TransMIL's official training (`Camelyon/TransMIL.yaml`): Lookahead-RAdam, lr 2e-4, weight
  /// decay 1e-5, accumulation 2, early stopping with patience 10 (max 200 epochs officially).
  public static func transMIL(maxEpochs: Int, patience: Int = 10) -> MILTrainingSettings {
    MILTrainingSettings(
      optimizer: .lookaheadRAdam, learningRate: 2e-4, weightDecay: 1e-5, maxEpochs: maxEpochs, patience: patience,
      gradientAccumulation: 2)
  }
}

/// What a training produced: per-epoch losses and the epoch whose weights were kept.
public struct MILTrainingResult: Sendable {
  /// Mean training loss of each epoch (undivided by the accumulation).
  public var trainLosses: [Double] = []
  /// Mean validation loss after each epoch.
  public var validationLosses: [Double] = []
  /// 1-based epoch whose weights the model holds at the end.
  public var bestEpoch = 0
  /// Wall time of the training.
  public var seconds = 0.0
}

/// The bag-at-a-time training and inference loop of the MIL targets (batch size 1, as TransMIL,
/// ABMIL and CLAM train).
///
/// Each epoch visits the training bags in a fresh random order (`shuffle=True`), runs the model
/// in training mode, back-propagates `loss / accumulation` and steps every `accumulation` bags;
/// then the validation loss is computed in evaluation mode (no dropout) and early stopping
/// decides. Losses: one logit → `−[y log p + (1−y) log(1−p)]` with `p = σ(z)` clamped to
/// `[1e-5, 1 − 1e-5]` (ABMIL's `calculate_objective`); several → softmax cross-entropy.
public enum MILTraining {
  /// The loss of one bag's logits `[1, C]` for `label`.
  public static func loss(logits: Tensor, label: Int) -> Tensor {
    if logits.shape[1] == 1 {
      let p = logits.sigmoid().reshaped([1])
      // Clamp as ABMIL's torch.clamp(Y_prob, 1e-5, 1 - 1e-5): outside the range the gradient is 0.
      let v = p.item
      if v < 1e-5 || v > 1 - 1e-5 {
        let c = Float(min(max(Double(v), 1e-5), 1 - 1e-5))
        let constant = Tensor(shape: [1], data: [label == 1 ? -logf(c) : -logf(1 - c)])
        return constant.reshaped([])
      }
      let y = Float(label)
      let term = label == 1 ? p.log() * y : (Tensor(shape: [1], data: [1]) - p).log() * (1 - y)
      return (term * -1).sum()
    }
    return Loss.crossEntropy(logits: logits, labels: [label])
  }

  /// Class probabilities of logits `[1, C]`: `[1 − σ(z), σ(z)]` for one logit, else softmax.
  public static func probabilities(_ logits: Tensor) -> [Double] {
    if logits.shape[1] == 1 {
      let p = 1 / (1 + exp(-Double(logits.data[0])))
      return [1 - p, p]
    }
    return logits.softmax(axis: -1).data.map(Double.init)
  }

  /// Mean loss over `bags` in evaluation mode.
  public static func meanLoss(_ model: some MILClassifier, bags: [MILBag]) -> Double {
    guard !bags.isEmpty else { return .nan }
    model.isTraining = false
    var g = RandomGenerator(seed: 0)
    let total = Tensor.withoutGrad {
      var sum = 0.0
      for bag in bags {
        let logits = model.classify(bag.features, positions: bag.gridPositions, using: &g).logits
        sum += Double(loss(logits: logits, label: bag.label).item)
      }
      return sum
    }
    return total / Double(bags.count)
  }

  /// Slide probabilities `[bag][class]` and instance scores (nil when the model gives none) in
  /// evaluation mode.
  public static func predict(_ model: some MILClassifier, bags: [MILBag]) -> (
    probabilities: [[Double]], instanceScores: [[Double]]?
  ) {
    model.isTraining = false
    var g = RandomGenerator(seed: 0)
    var probs: [[Double]] = [], scores: [[Double]] = []
    var haveScores = true
    Tensor.withoutGrad {
      for bag in bags {
        let out = model.classify(bag.features, positions: bag.gridPositions, using: &g)
        probs.append(probabilities(out.logits))
        if let s = out.instanceScores { scores.append(s.data.map(Double.init)) } else { haveScores = false }
      }
    }
    return (probs, haveScores ? scores : nil)
  }

  /// Trains `model` on `train`, early-stopping on `validation`.
  /// - Parameters:
  ///   - generator: draws the epoch orders and dropout masks (split it per model).
  ///   - checkpoints: where to checkpoint after every epoch and to resume from (nil: nowhere).
  ///   - onEpoch: called after each epoch (after its checkpoint) with (epoch, train loss,
  ///     validation loss); throw to stop (for example `CancellationError` on Ctrl-C).
  public static func train(
    _ model: some MILClassifier, train: [MILBag], validation: [MILBag], settings: MILTrainingSettings,
    using generator: inout RandomGenerator, checkpoints: MILCheckpoints? = nil,
    onEpoch: (Int, Double, Double) throws -> Void = { _, _, _ in }
  ) throws -> MILTrainingResult {
    precondition(!train.isEmpty, "MILTraining.train: no training bags")
    precondition(settings.gradientAccumulation >= 1, "MILTraining.train: accumulation must be at least 1")
    let start = Date()
    let parameters = model.parameters
    let optimizer: any NN.Optimizer
    switch settings.optimizer {
    case .lookaheadRAdam:
      let inner = RAdam(
        parameters: parameters, learningRate: settings.learningRate, weightDecay: settings.weightDecay,
        decayRule: .matricesOnly, variant: .transMIL)
      optimizer = Lookahead(inner, parameters: parameters, alpha: 0.5, k: 6, variant: .transMIL)
    case .adam:
      optimizer = AdamW(parameters: parameters, learningRate: settings.learningRate, weightDecay: 0)
    }
    let l2: Float = settings.optimizer == .adam ? settings.weightDecay : 0
    let step = {
      if l2 != 0 {
        for p in parameters {
          guard let g = p.grad else { continue }
          let values = p.data
          p.grad = Tensor(shape: g.shape, data: zip(g.data, values).map { $0 + l2 * $1 })
        }
      }
      optimizer.step()
      for p in parameters { p.zeroGrad() }
    }
    var result = MILTrainingResult()
    var best = Double.infinity
    var bestWeights: [[Float]]?
    var wait = 0
    let scale = 1 / Float(settings.gradientAccumulation)
    let maxEpochs = max(settings.maxEpochs, 1)
    var firstEpoch = 1
    var lastEpochToRun = maxEpochs
    var priorSeconds = 0.0
    if let resumed = checkpoints?.resume(model: model, optimizer: optimizer, maxEpochs: maxEpochs) {
      (result, best, bestWeights, wait, generator) = (
        resumed.result, resumed.best, resumed.bestWeights, resumed.wait, resumed.generator
      )
      priorSeconds = resumed.result.seconds
      if resumed.finished {
        model.isTraining = false
        return result
      }
      firstEpoch = resumed.epoch + 1
      // Early stopping had decided at that epoch (killed before the final checkpoint): no more epochs.
      if settings.patience > 0 && resumed.wait >= settings.patience { lastEpochToRun = resumed.epoch }
    }
    func checkpoint(epoch: Int, finished: Bool) {
      guard let checkpoints else { return }
      var r = result
      r.seconds = priorSeconds + Date().timeIntervalSince(start)
      checkpoints.save(
        MILCheckpoints.State(
          epoch: epoch, finished: finished, generator: generator, result: r, best: best, bestWeights: bestWeights,
          wait: wait),
        model: model, optimizer: optimizer)
    }
    // The AUC needs both classes among the validation slides; otherwise the loss decides.
    let selectsOnAUC = settings.selection == .auc && settings.patience > 0 && Set(validation.map(\.label)).count >= 2
    var lastEpoch = firstEpoch - 1
    for epoch in firstEpoch..<(lastEpochToRun + 1) {
      lastEpoch = epoch
      model.isTraining = true
      for p in parameters { p.zeroGrad() }
      let order = generator.permutation(train.count)
      var epochLoss = 0.0
      for (i, index) in order.enumerated() {
        let bag = train[index]
        let loss = loss(logits: model.classify(bag.features, positions: bag.gridPositions, using: &generator).logits, label: bag.label)
        epochLoss += Double(loss.item)
        if loss.requiresGrad {
          (loss * scale).backward()
        }
        if (i + 1) % settings.gradientAccumulation == 0 || i + 1 == order.count { step() }
      }
      let trainLoss = epochLoss / Double(train.count)
      let validationLoss = validation.isEmpty ? trainLoss : meanLoss(model, bags: validation)
      result.trainLosses.append(trainLoss)
      result.validationLosses.append(validationLoss)
      var stop = false
      // `best` holds the criterion, lower is better: the loss, or minus the validation AUC.
      let criterion: Double
      if selectsOnAUC, let auc = ClassificationMetrics.rocAUC(
        probabilities: predict(model, bags: validation).probabilities, labels: validation.map(\.label))
      {
        criterion = -auc
      } else {
        criterion = validationLoss
      }
      if settings.patience <= 0 {
        result.bestEpoch = epoch
      } else if criterion < best {
        best = criterion
        bestWeights = model.namedParameters.map(\.tensor.data)
        result.bestEpoch = epoch
        wait = 0
      } else {
        wait += 1
        stop = wait >= settings.patience
      }
      checkpoint(epoch: epoch, finished: false)
      try onEpoch(epoch, trainLoss, validationLoss)
      if stop { break }
    }
    if let bestWeights {
      for ((_, tensor), values) in zip(model.namedParameters, bestWeights) { tensor.assign(values) }
    }
    model.isTraining = false
    checkpoint(epoch: max(lastEpoch, 1), finished: true)
    result.seconds = priorSeconds + Date().timeIntervalSince(start)
    return result
  }
}

import Engine
import NN

/// INS (Qu et al., IEEE TCSVT; arXiv 2307.02249, "A good instance classifier is all you need"),
/// as the official code trains it (`miccaiif/INS` `model.py`, `train_withbag_cam.py`,
/// `utils/utils_loss.py`): an instance classifier learnt from bag labels as a partial-label
/// problem (PiCO-style), with instance-level weakly supervised contrastive learning and
/// prototype pseudo-labels, guided by the true negatives of negative bags.
///
/// One training step on a batch of instances (official `INS.forward` then `train`):
/// 1. `logits, q = encoder_q(view₁)`; the classifier's pseudo-label is
///    `argmax(softmax(logits) ⊙ candidates)`.
/// 2. Prototype scores `softmax(q · protoᵀ)` with the prototypes **before** this batch; then each
///    sample moves its pseudo-label's prototype (`ClassPrototypes.update`).
/// 3. The key encoder is moved by momentum m, then `k = encoder_k(view₂)`.
/// 4. Warm-up (`epoch < warmupEpochs`): MoCo InfoNCE of q against k and the queue. After it: the
///    confidence update (`PartialLabelConfidence.update`) and the supervised contrastive loss over
///    `cat(q, k, queue)` with "same classifier pseudo-label" as positives.
/// 5. The keys and their classifier scores are enqueued; `L = L_cls + w·L_cont`, where
///    `L_cls = −mean Σ_c conf_c · log softmax(logits)_c` uses the (just updated) confidence.
///
/// On bags of features the encoder is an MLP over the tile features and the official image views
/// (two `RandomResizedCrop(224, 0.2–1)` + flip) become two independent feature dropouts
/// (`INSConfiguration.viewDropout`); on tiles it is the engine's ResNet and the views are the
/// MoCo v2 augmentations (`INSConfiguration.Encoder`, `INSInstances`). Both run the same step
/// and epoch code.
public final class INS {
  public let configuration: INSConfiguration
  /// The query network: its classifier gives the instance predictions.
  public let network: INSNetwork
  let keyNetwork: INSNetwork
  let momentumCopy: MomentumCopy
  /// Keys `[K, lowDimension]` (`moco_queue`).
  public internal(set) var queue: KeyQueue
  /// The classifier's scores `softmax(logits) ⊙ candidates` `[K, 2]` of every queued key
  /// (`queue_pseudo`). The official `queue_partial` is never read by the loss and is not kept.
  public internal(set) var queueScores: KeyQueue
  /// Two class prototypes `[2, lowDimension]`, zero at the start.
  public internal(set) var prototypes: ClassPrototypes
  /// Candidates and confidences of every training instance.
  public internal(set) var confidence: PartialLabelConfidence
  /// Instances per forward pass when scoring (`positiveProbabilities`).
  public var evaluationBatchSize = 256

  /// - Parameters:
  ///   - configuration: sizes and constants.
  ///   - instanceBagLabels: the bag label (0/1) of every training instance, in the order the
  ///     training steps index them.
  public init(
    configuration: INSConfiguration, instanceBagLabels: [Int], using generator: inout RandomGenerator
  ) {
    self.configuration = configuration
    network = INSNetwork(configuration: configuration, using: &generator)
    var keyGenerator = generator.split("INS key encoder")
    keyNetwork = INSNetwork(configuration: configuration, using: &keyGenerator)
    momentumCopy = MomentumCopy(online: network.parameters, target: keyNetwork.parameters)
    // The official queue is `randn(K, d)` normalised over dim 0 (the queue axis), a transient
    // that the first K / b steps overwrite; `KeyQueue` normalises each key instead.
    queue = KeyQueue(size: configuration.queueSize, dimension: configuration.lowDimension, using: &generator)
    // `queue_pseudo` starts as randn: only its argmax (a random class) is ever read.
    queueScores = KeyQueue(size: configuration.queueSize, dimension: 2, using: &generator)
    prototypes = ClassPrototypes(classes: 2, dimension: configuration.lowDimension, momentum: configuration.prototypeMomentum)
    confidence = PartialLabelConfidence(bagLabels: instanceBagLabels)
  }

  /// Starts the tile encoder (query and key networks alike, as MoCo copies the query encoder into
  /// the key encoder) from a pretrained ResNet state dict, e.g. an SSL backbone; the classifier and
  /// head stay as initialised. Returns the report of the query network's load (nil for the MLP
  /// encoder, which has nothing to load).
  @discardableResult
  public func loadPretrainedEncoder(_ entries: [SafeTensorsEntry]) -> StateDictReport? {
    guard case .resnet(let query) = network.encoder, case .resnet(let key) = keyNetwork.encoder else { return nil }
    let report = query.loadStateDict(entries)
    key.loadStateDict(entries)
    return report
  }

  /// What the optimiser updates (the key encoder, queue and prototypes are not in it).
  public var trainableParameters: [Tensor] { network.parameters }

  /// The parts of one instance step's loss.
  public struct StepLoss {
    /// `L_cls + w·L_cont`, with its graph.
    public var total: Tensor
    public var classification: Float
    public var contrastive: Float
  }

  /// One instance step (steps 1–5 above); the caller runs backward and the optimiser.
  /// - Parameters:
  ///   - indices: training-instance indices of the batch (rows of `confidence`).
  ///   - query: view 1 `[b, inputDimension]` (tiles: `[b, 3, s, s]`); `key`: view 2, same shape.
  ///   - prototypePhase: `epoch ≥ warmupEpochs` (the official `start_upd_prot`).
  ///   - phi: the confidence moving-average weight φ of this epoch.
  public func instanceStep(indices: [Int], query xq: Tensor, key xk: Tensor, prototypePhase: Bool, phi: Float)
    -> StepLoss
  {
    let b = indices.count
    precondition(xq.shape == xk.shape && xq.shape[0] == b, "INS: views \(xq.shape), \(xk.shape) for \(b) indices")
    let (logits, q) = network(xq)  // [b, 2], [b, low]
    let candidates = confidence.candidateTensor(indices)
    let predicted = Tensor.withoutGrad { logits.detached().softmax(axis: 1) * candidates }  // [b, 2]
    let pseudoLabels = predicted.argmax(axis: 1)
    let qValues = q.detached()
    let prototypeScores = prototypes.scores(qValues)  // before the update, as the official clone
    prototypes.update(embeddings: qValues, labels: pseudoLabels)
    momentumCopy.update(momentum: configuration.keyMomentum)  // before the keys
    let k = Tensor.withoutGrad { keyNetwork(xk).embedding }
    let contrastive: Tensor
    if prototypePhase {
      if configuration.updatesConfidence {
        confidence.update(indices: indices, prototypeScores: prototypeScores, phi: phi)
      }
      let labels = pseudoLabels + pseudoLabels + queueScores.keys.argmax(axis: 1)
      contrastive = ContrastiveLoss.supervised(
        features: Tensor.concatenate([q, k, queue.keys.detached()], axis: 0), anchors: b,
        positives: INS.samePseudoLabelMask(anchors: b, labels: labels), temperature: configuration.temperature,
        baseTemperature: configuration.baseTemperature)
    } else {
      contrastive = ContrastiveLoss.infoNCE(
        query: q, key: k, queue: queue.keys, temperature: configuration.temperature)
    }
    queue.enqueue(k)
    queueScores.enqueue(predicted)
    let classification = Loss.crossEntropy(logits: logits, targets: confidence.targets(indices))
    let total = classification + contrastive * configuration.contrastiveWeight
    return StepLoss(total: total, classification: classification.item, contrastive: contrastive.item)
  }

  /// The positives of the supervised contrastive loss: `m_ij = [label_i == label_j]` for the
  /// first `anchors` entries against all (official `torch.eq(pseudo[:b], pseudo.T)`), `[b · M]`.
  public static func samePseudoLabelMask(anchors b: Int, labels: [Int]) -> [Float] {
    let m = labels.count
    var mask = [Float](repeating: 0, count: b * m)
    for i in 0..<b { for j in 0..<m where labels[i] == labels[j] { mask[i * m + j] = 1 } }
    return mask
  }

  /// The bag constraint as the official `train_bag` computes it: the mean over the bag's
  /// instances of the **encoder** features `[1, encoderOutput]`, softmaxed, then used as the
  /// logits of `CrossEntropyLoss` against the bag label (no bag classifier: feature 0 or 1 of the
  /// 512 stands for the class, and the softmax is applied twice).
  /// - Parameter bag: `[n, inputDimension]` instances of one bag.
  public func bagConstraintLoss(_ bag: Tensor, label: Int) -> Tensor {
    INS.meanPoolingBagLoss(encoderFeatures: network.features(bag), label: label)
  }

  /// `CE(softmax(mean_i h_i), y) = −log softmax(softmax(h̄))_y` for encoder features `h` `[n, D]`.
  public static func meanPoolingBagLoss(encoderFeatures h: Tensor, label: Int) -> Tensor {
    let pooled = h.mean(axes: [0], keepDims: true)  // [1, D]
    return Loss.crossEntropy(logits: pooled.softmax(axis: 1), labels: [label])
  }

  /// P(positive) of every instance, `softmax(fc(encoder(x)))[:, 1]`, without gradients, in
  /// evaluation mode (batch norm on its running statistics; restored afterwards), in chunks of
  /// `evaluationBatchSize`.
  /// - Parameter instances: `[n, inputDimension]` (tiles: normalised `[n, 3, s, s]`).
  public func positiveProbabilities(_ instances: Tensor) -> [Float] {
    let wasTraining = network.isTraining
    network.isTraining = false
    defer { network.isTraining = wasTraining }
    let n = instances.shape[0]
    return Tensor.withoutGrad {
      stride(from: 0, to: n, by: evaluationBatchSize).flatMap { start -> [Float] in
        let count = Swift.min(evaluationBatchSize, n - start)
        let chunk = count == n ? instances : instances.narrowed(axis: 0, start: start, length: count)
        let p = network.classifierLogits(chunk).softmax(axis: 1).data
        return (0..<count).map { p[$0 * 2 + 1] }
      }
    }
  }
}

/// INS's sizes and constants (official defaults in brackets).
public struct INSConfiguration: Sendable, Equatable {
  /// The instance encoder of `INSNetwork`.
  public enum Encoder: Sendable, Equatable {
    /// On bags of features: `Linear(D, encoderHidden) → ReLU → Linear(encoderHidden,
    /// encoderOutput)` over the tile features.
    case mlp
    /// On tiles: the engine's `ResNet` (BasicBlock, CIFAR stem: 3×3 conv, no max-pool, for
    /// small tiles) with these stage widths and blocks per stage, without its `fc`; the pooled
    /// feature (`widths.last`) feeds `fc` and `head`. `[64, 128, 256, 512]` with 2 blocks is
    /// the official ResNet-18 trunk (CIFAR stem).
    case resnet(widths: [Int], blocksPerStage: Int)
  }

  /// The encoder [official: ResNet-18 on tiles].
  public var encoder: Encoder = .mlp
  /// Tile feature size D of the bags (`.mlp` only).
  public var inputDimension: Int
  /// Hidden width of the feature encoder MLP [512].
  public var encoderHidden: Int = 512
  /// Encoder output, the "ResNet-18 feature" the classifier and head read [512].
  public var encoderOutput: Int = 512
  /// Embedding size of the contrastive head, `low_dim` [128].
  public var lowDimension: Int = 128
  /// Keys in the queue, `moco_queue` [8192].
  public var queueSize: Int = 8192
  /// Key encoder momentum, `moco_m` [0.999].
  public var keyMomentum: Float = 0.999
  /// Prototype momentum, `proto_m` [0.9].
  public var prototypeMomentum: Float = 0.9
  /// Contrastive temperature T and base temperature [0.07, 0.07].
  public var temperature: Float = 0.07
  public var baseTemperature: Float = 0.07
  /// Contrastive weight, `loss_weight` [0.5].
  public var contrastiveWeight: Float = 0.5
  /// φ goes linearly from `confidenceStart` to `confidenceEnd` over the epochs,
  /// `conf_ema_range` [0.95, 0.8].
  public var confidenceStart: Float = 0.95
  public var confidenceEnd: Float = 0.8
  /// Independent feature dropout for each of the two views (stand-in for the image augmentations;
  /// not in the official code, which trains on images).
  public var viewDropout: Float = 0.1
  /// Whether the prototype phase updates the partial-label confidences (the core of INS). Audit
  /// switch (`replicate audit`): `false` leaves every positive-bag instance at its start, 0.5 for
  /// each class, so the classifier never gets pseudo-labels. On in every paper setting.
  public var updatesConfidence = true

  public init(inputDimension: Int) { self.inputDimension = inputDimension }

  /// A configuration for tile instances with the ResNet encoder `widths`/`blocksPerStage`.
  public init(tileEncoderWidths widths: [Int], blocksPerStage: Int) {
    inputDimension = 0
    encoder = .resnet(widths: widths, blocksPerStage: blocksPerStage)
  }

  /// The encoder's output, read by `fc` and `head` (`encoderOutput` for the MLP, the last
  /// stage width for the ResNet).
  public var featureDimension: Int {
    switch encoder {
    case .mlp: encoderOutput
    case .resnet(let widths, _): widths.last ?? 0
    }
  }

  /// φ of `epoch` (0-based) out of `epochs`, as the official loop sets it: `set_conf_ema_m` runs
  /// at the **end** of each epoch, so epoch e ≥ 1 uses `start + (e − 1)/epochs · (end − start)`
  /// and epoch 0 the constructor's 0.8 (never used: updates start after the warm-up, ≥ 1 epoch).
  public func phi(epoch: Int, epochs: Int) -> Float {
    guard epoch >= 1 else { return 0.8 }
    return confidenceStart + Float(epoch - 1) / Float(epochs) * (confidenceEnd - confidenceStart)
  }
}

/// The instance network of INS: the official `SupConResNet` — an encoder, the instance
/// classifier `fc` and the contrastive `head` — with the encoder chosen by
/// `INSConfiguration.encoder`.
///
/// `encoder`: on feature bags `Linear(D, hidden) → ReLU → Linear(hidden, out)` (the feature
/// encoder left commented out in the official `resnet.py`, `Linear(512, 512) → ReLU →
/// Linear(512, 512)`); on tiles the engine's `ResNet` without `fc` (CIFAR stem), its pooled
/// feature being `out`. `fc`: `Linear(out, 2)`, the instance classifier; `head`: `Linear(out,
/// out) → ReLU → Linear(out, low)`, L2-normalised. Parameter names follow the official module
/// (`encoder.0.weight` or `encoder.conv1.weight`, `encoder.layer1.0.bn1.running_mean`,
/// `fc.weight`, `head.2.bias`, …).
///
/// Shape: `[n, D]` (tiles: `[n, 3, s, s]`) → logits `[n, 2]`, embedding `[n, low]`.
public final class INSNetwork: Module {
  /// The instance encoder: an MLP over features, or a ResNet over tiles.
  public enum Encoder {
    case mlp(MLPHead)
    case resnet(ResNet)

    /// The module, for parameters and the train/eval switch.
    public var module: any Module {
      switch self {
      case .mlp(let m): m
      case .resnet(let r): r
      }
    }

    /// Features `[n, out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
      switch self {
      case .mlp(let m): m(x)
      case .resnet(let r): r.features(x)  // [n, 3, s, s] → [n, widths.last]
      }
    }
  }

  public let encoder: Encoder
  public let fc: Linear
  public let head: MLPHead
  /// Training mode (batch norm on batch statistics); set on every child.
  public var isTraining = true {
    didSet {
      encoder.module.isTraining = isTraining
      fc.isTraining = isTraining
      head.isTraining = isTraining
    }
  }

  public init(configuration c: INSConfiguration, using generator: inout RandomGenerator) {
    switch c.encoder {
    case .mlp:
      encoder = .mlp(
        MLPHead(
          input: c.inputDimension, layers: [.init(output: c.encoderHidden, relu: true), .init(output: c.encoderOutput)],
          using: &generator))
    case .resnet(let widths, let blocks):
      encoder = .resnet(ResNet.small(widths: widths, blocksPerStage: blocks, numClasses: nil, stem: .cifar, using: &generator))
    }
    fc = Linear(inputSize: c.featureDimension, outputSize: 2, using: &generator)
    head = MLPHead.mocoV2(input: c.featureDimension, output: c.lowDimension, using: &generator)
  }

  /// Encoder features `[n, out]` (the official `return_feat` / `bag_flag` path).
  public func features(_ x: Tensor) -> Tensor { encoder(x) }

  /// Classifier logits only (the official `eval_only`).
  public func classifierLogits(_ x: Tensor) -> Tensor { fc(encoder(x)) }

  /// Classifier logits and the normalised embedding.
  public func callAsFunction(_ x: Tensor) -> (logits: Tensor, embedding: Tensor) {
    let h = encoder(x)
    return (fc(h), head(h).l2Normalized(axis: 1))
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("encoder", encoder.module) + prefixed("fc", fc) + prefixed("head", head)
  }
}

/// The per-instance partial-label state of INS (official `partial_loss`): the candidate set of
/// every training instance — `[1, 0]` in a negative bag, `[1, 1]` in a positive bag — and its
/// confidence, uniform over the candidates at the start.
public struct PartialLabelConfidence: Sendable {
  /// `[N · 2]` row-major candidates.
  public internal(set) var candidates: [Float]
  /// `[N · 2]` row-major confidences (rows sum to 1).
  public internal(set) var values: [Float]
  /// Whether each instance's bag is negative (the official `point == 0`).
  public let inNegativeBag: [Bool]

  public init(bagLabels: [Int]) {
    inNegativeBag = bagLabels.map { $0 == 0 }
    candidates = bagLabels.flatMap { $0 == 0 ? [Float(1), 0] : [1, 1] }
    values = bagLabels.flatMap { $0 == 0 ? [Float(1), 0] : [0.5, 0.5] }
  }

  /// Candidates of `indices` as `[b, 2]`.
  public func candidateTensor(_ indices: [Int]) -> Tensor {
    Tensor(shape: [indices.count, 2], data: indices.flatMap { [candidates[2 * $0], candidates[2 * $0 + 1]] })
  }

  /// Confidences of `indices` as `[b, 2]` (the soft targets of `L_cls`).
  public func targets(_ indices: [Int]) -> Tensor {
    Tensor(shape: [indices.count, 2], data: indices.flatMap { [values[2 * $0], values[2 * $0 + 1]] })
  }

  /// `conf = φ·conf + (1 − φ)·onehot(argmax(scores ⊙ candidates))` for each instance of the batch,
  /// then the true-negative reset: every instance of a negative bag gets `[1, 0]`
  /// (`partial_loss.confidence_update`). Ties go to class 0, as `torch.max`.
  /// - Parameter prototypeScores: `[b, 2]` `softmax(q · protoᵀ)`.
  public mutating func update(indices: [Int], prototypeScores: Tensor, phi: Float) {
    precondition(prototypeScores.shape == [indices.count, 2], "confidence update: scores \(prototypeScores.shape)")
    let s = prototypeScores.data
    for (row, i) in indices.enumerated() {
      let masked0 = s[2 * row] * candidates[2 * i], masked1 = s[2 * row + 1] * candidates[2 * i + 1]
      let label = masked1 > masked0 ? 1 : 0
      for c in 0..<2 { values[2 * i + c] = phi * values[2 * i + c] + (1 - phi) * (c == label ? 1 : 0) }
    }
    for i in indices where inNegativeBag[i] {
      values[2 * i] = 1
      values[2 * i + 1] = 0
    }
  }
}

/// INS's class prototypes (official `model.prototypes`): `[C, d]`, zero at the start; each sample
/// in turn moves its label's row, `p_y ← m·p_y + (1 − m)·q`, then every row is L2-normalised
/// (`F.normalize`, ε 1e-12: a row never moved stays zero).
public struct ClassPrototypes: Sendable {
  public internal(set) var values: [Float]
  public let classes: Int
  public let dimension: Int
  public let momentum: Float

  public init(classes: Int, dimension: Int, momentum: Float) {
    self.classes = classes
    self.dimension = dimension
    self.momentum = momentum
    values = [Float](repeating: 0, count: classes * dimension)
  }

  /// `softmax(q · protoᵀ)` `[b, C]`, no gradient.
  public func scores(_ q: Tensor) -> Tensor {
    Tensor.withoutGrad {
      q.detached().matmul(Tensor(shape: [classes, dimension], data: values), transposeOther: true).softmax(axis: 1)
    }
  }

  /// The sequential momentum update by `labels`, then the row normalisation.
  /// - Parameter embeddings: `[b, d]`.
  public mutating func update(embeddings: Tensor, labels: [Int]) {
    precondition(embeddings.shape == [labels.count, dimension], "prototypes: embeddings \(embeddings.shape)")
    let q = embeddings.data
    for (row, y) in labels.enumerated() {
      for j in 0..<dimension {
        values[y * dimension + j] = momentum * values[y * dimension + j] + (1 - momentum) * q[row * dimension + j]
      }
    }
    for c in 0..<classes {
      let norm = (0..<dimension).reduce(Float(0)) { $0 + values[c * dimension + $1] * values[c * dimension + $1] }
        .squareRoot()
      let scale = 1 / Swift.max(norm, 1e-12)
      for j in 0..<dimension { values[c * dimension + j] *= scale }
    }
  }
}

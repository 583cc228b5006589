import Engine
import NN

/// MoCo v1 and v2 (He et al. 2020; Chen et al. 2020), as `facebookresearch/moco` `builder.py`:
/// a query encoder, a key encoder updated by momentum **before** the keys are computed, a queue
/// of K keys as negatives (enqueued **after** the logits), InfoNCE with temperature T, one
/// direction. v1: a linear fc to d; v2: an MLP head (`Linear(f, f) → ReLU → Linear(f, d)`).
///
/// One process has no per-GPU BN; with `batchNormSplits > 1` the encoders use split batch norm
/// and the key batch is shuffled before the key encoder and unshuffled after, as the official
/// CIFAR demo does (`--bn-splits 8`, `_batch_shuffle_single_gpu`): a query and its positive key
/// then fall in different BN groups, the leak Shuffle-BN exists to prevent. `symmetric` adds the
/// demo's symmetric variant (both directions, averaged).
public final class MoCo: SelfSupervisedMethod {
  public let backbone: Backbone
  public let head: MLPHead
  let keyBackbone: Backbone
  let keyHead: MLPHead
  let momentumCopy: MomentumCopy
  public internal(set) var queue: KeyQueue
  public let momentum: Float
  public let temperature: Float
  public let symmetric: Bool

  public init(
    backbone kind: BackboneKind, mlpHead: Bool, dimension: Int = 128, queueSize: Int, momentum: Float,
    temperature: Float, symmetric: Bool = false, batchNormSplits: Int = 1, using generator: inout RandomGenerator
  ) {
    backbone = kind.make(using: &generator)
    let f = backbone.featureDimension
    head =
      mlpHead
      ? MLPHead.mocoV2(input: f, output: dimension, using: &generator)
      : MLPHead(input: f, layers: [.init(output: dimension)], using: &generator)
    var keyGenerator = generator.split("key encoder")
    keyBackbone = kind.make(using: &keyGenerator)
    keyHead =
      mlpHead
      ? MLPHead.mocoV2(input: f, output: dimension, using: &keyGenerator)
      : MLPHead(input: f, layers: [.init(output: dimension)], using: &keyGenerator)
    backbone.setBatchNormSplits(batchNormSplits)
    keyBackbone.setBatchNormSplits(batchNormSplits)
    momentumCopy = MomentumCopy(
      online: backbone.parameters + head.parameters, target: keyBackbone.parameters + keyHead.parameters)
    queue = KeyQueue(size: queueSize, dimension: dimension, using: &generator)
    self.momentum = momentum
    self.temperature = temperature
    self.symmetric = symmetric
  }

  public var trainableParameters: [Tensor] { backbone.parameters + head.parameters }

  public func setTraining(_ training: Bool) {
    backbone.isTraining = training
    head.isTraining = training
    keyBackbone.isTraining = training
    keyHead.isTraining = training
  }

  func query(_ x: Tensor) -> Tensor { head(backbone(x)).l2Normalized(axis: 1) }

  /// Whether keys are computed on a shuffled batch (split BN only: with one BN group the batch
  /// statistics do not depend on the order).
  var shufflesKeys: Bool { keyBackbone.batchNorms.first.map { $0.splits > 1 } ?? false }

  /// The keys of `x` (normalised, no gradient), row i for image i; with split BN computed on the
  /// batch permuted by a random permutation and put back in order (Shuffle-BN).
  func key(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor {
    guard shufflesKeys else { return Tensor.withoutGrad { keyHead(keyBackbone(x)).l2Normalized(axis: 1) } }
    let n = x.shape[0]
    let shuffle = generator.permutation(n)
    var unshuffle = [Int](repeating: 0, count: n)
    for (i, source) in shuffle.enumerated() { unshuffle[source] = i }
    return Tensor.withoutGrad {
      keyHead(keyBackbone(x.indexSelect(axis: 0, shuffle))).l2Normalized(axis: 1).indexSelect(axis: 0, unshuffle)
    }
  }

  public func loss(views: [Tensor], indices: [Int], progress: Double, using generator: inout RandomGenerator) -> Tensor {
    momentumCopy.update(momentum: momentum)  // before the keys, as the official forward
    if symmetric {
      let (q1, q2) = (query(views[0]), query(views[1]))
      let (k1, k2) = (key(views[0], using: &generator), key(views[1], using: &generator))
      let loss =
        (ContrastiveLoss.infoNCE(query: q1, key: k2, queue: queue.keys, temperature: temperature)
          + ContrastiveLoss.infoNCE(query: q2, key: k1, queue: queue.keys, temperature: temperature)) * 0.5
      queue.enqueue(Tensor.concatenate([k1, k2], axis: 0))
      return loss
    }
    let q = query(views[0])
    let k = key(views[1], using: &generator)
    let loss = ContrastiveLoss.infoNCE(query: q, key: k, queue: queue.keys, temperature: temperature)
    queue.enqueue(k)  // after the logits: the current keys are not their own negatives
    return loss
  }
}

/// MoCo v3 (Chen, Xie & He 2021), as `facebookresearch/moco-v3` `builder.py`: no queue; a
/// base encoder with projector and predictor, a momentum encoder with projector only, updated
/// with m rising from m₀ to 1 on a cosine before the keys; the symmetric loss
/// `ctr(q₁, k₂) + ctr(q₂, k₁)` with `ctr` = cross-entropy of `q kᵀ / T` × 2T.
///
/// Heads follow the official `_build_mlp`: ResNet: projector 2 layers (last BN affine-free),
/// predictor 2 layers without last BN; ViT: projector 3 layers, predictor 2 layers with last BN.
public final class MoCoV3: SelfSupervisedMethod {
  public let backbone: Backbone
  public let projector: MLPHead
  public let predictor: MLPHead
  let momentumBackbone: Backbone
  let momentumProjector: MLPHead
  let momentumCopy: MomentumCopy
  public let baseMomentum: Float
  public let temperature: Float
  /// Which keys are positives and negatives (`ContrastiveSampling`; the data-efficiency study's
  /// arms). `ops`, the default, is the published loss.
  public var sampling = ContrastiveSampling.ops
  /// The nearest keys SRCL adds as positives or N-Sam drops from the negatives.
  public var samplingTopK = 0
  /// The share of training (0–1) after which the sampling rule applies; plain MoCo v3 before it
  /// (SRCL's warm-up epochs ÷ epochs).
  public var samplingStart = 0.0

  public init(
    backbone kind: BackboneKind, dimension: Int = 256, hidden: Int = 4096, baseMomentum: Float = 0.99,
    temperature: Float = 1.0, using generator: inout RandomGenerator
  ) {
    // The official heads for ViTs; the Swin of the data-efficiency study is a transformer too.
    let isViT = kind.isTransformer
    backbone = kind.make(using: &generator)
    let f = backbone.featureDimension
    projector = MLPHead.mocoV3(
      layers: isViT ? 3 : 2, input: f, hidden: hidden, output: dimension, lastBatchNorm: true, using: &generator)
    predictor = MLPHead.mocoV3(
      layers: 2, input: dimension, hidden: hidden, output: dimension, lastBatchNorm: isViT, using: &generator)
    var momentumGenerator = generator.split("momentum encoder")
    momentumBackbone = kind.make(using: &momentumGenerator)
    momentumProjector = MLPHead.mocoV3(
      layers: isViT ? 3 : 2, input: f, hidden: hidden, output: dimension, lastBatchNorm: true,
      using: &momentumGenerator)
    momentumCopy = MomentumCopy(
      online: backbone.parameters + projector.parameters,
      target: momentumBackbone.parameters + momentumProjector.parameters)
    // The official code copies every parameter, frozen ones included: the momentum ViT shares the
    // base ViT's frozen random patch projection (moco-v3 `builder.py`, `param_m.data.copy_`).
    // Frozen tensors never change, so one copy keeps them equal for the whole run.
    let frozen = Self.frozenParameterNames(backbone)
    let target = Dictionary(uniqueKeysWithValues: momentumBackbone.namedParameters.map { ($0.name, $0.tensor) })
    MomentumUpdate.copy(
      from: backbone.namedParameters.filter { frozen.contains($0.name) }.map(\.tensor),
      to: backbone.namedParameters.filter { frozen.contains($0.name) }.compactMap { target[$0.name] })
    self.baseMomentum = baseMomentum
    self.temperature = temperature
  }

  public var trainableParameters: [Tensor] { backbone.parameters + projector.parameters + predictor.parameters }

  /// Names of the parameters that do not train (the frozen patch projection, the fixed position
  /// embedding), batch-norm buffers left out.
  static func frozenParameterNames(_ module: Module) -> Set<String> {
    let buffers = ["running_mean", "running_var", "num_batches_tracked"]
    return Set(
      module.namedParameters.filter { entry in
        !entry.tensor.requiresGrad && !buffers.contains { entry.name.hasSuffix($0) }
      }.map(\.name))
  }

  public func setTraining(_ training: Bool) {
    backbone.isTraining = training
    momentumBackbone.isTraining = training
    projector.isTraining = training
    predictor.isTraining = training
    momentumProjector.isTraining = training
  }

  public func loss(views: [Tensor], indices: [Int], progress: Double, using generator: inout RandomGenerator) -> Tensor {
    let q1 = predictor(projector(backbone(views[0])))
    let q2 = predictor(projector(backbone(views[1])))
    momentumCopy.update(momentum: MomentumCopy.cosineMomentum(base: baseMomentum, progress: progress))
    let (k1, k2) = Tensor.withoutGrad {
      (momentumProjector(momentumBackbone(views[0])), momentumProjector(momentumBackbone(views[1])))
    }
    let rule = progress >= samplingStart ? sampling : .ops
    return ContrastiveLoss.mocoV3(query: q1, key: k2, temperature: temperature, sampling: rule, topK: samplingTopK)
      + ContrastiveLoss.mocoV3(query: q2, key: k1, temperature: temperature, sampling: rule, topK: samplingTopK)
  }
}

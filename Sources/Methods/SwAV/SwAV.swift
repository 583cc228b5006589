import Engine
import NN

/// SwAV (Caron et al. 2020), as `facebookresearch/swav` `main_swav.py`: a projection head
/// `Linear(f, h) → BN → ReLU → Linear(h, d)`, L2-normalised embeddings, prototypes `[P, d]`
/// (bias-free, renormalised to unit rows before every iteration), codes from Sinkhorn–Knopp
/// (ε, 3 iterations) on the two large crops' scores, and the swapped prediction: each large
/// crop's codes are predicted from every other crop's `softmax(scores / T)`, averaged over
/// `crops − 1` and over the large crops. Prototypes are frozen (gradients dropped) for the first
/// `freezePrototypesIterations` iterations. An optional queue of past embeddings (per large
/// crop) enlarges the Sinkhorn problem once full, as `queue_length`; it exists only from
/// iteration `queueStartIteration` on (`epoch_queue_starts` × iterations per epoch).
public final class SwAV: SelfSupervisedMethod {
  public let backbone: Backbone
  public let head: MLPHead
  public let prototypes: Linear
  public let temperature: Float
  public let epsilon: Float
  public let sinkhornIterations: Int
  public let freezePrototypesIterations: Int
  public let queueLength: Int
  /// The first iteration that fills and uses the queue (`epoch_queue_starts`, in iterations).
  public let queueStartIteration: Int
  /// Iterations of the whole training (to read the iteration from `loss`'s progress).
  public let totalIterations: Int
  var queues: [[Float]] = []
  var queueFilled = 0

  public init(
    backbone kind: BackboneKind, hidden: Int? = nil, dimension: Int = 128, prototypeCount: Int, temperature: Float = 0.1,
    epsilon: Float = 0.05, sinkhornIterations: Int = 3, freezePrototypesIterations: Int, queueLength: Int = 0,
    queueStartIteration: Int = 0, totalIterations: Int = 1, using generator: inout RandomGenerator
  ) {
    backbone = kind.make(using: &generator)
    let f = backbone.featureDimension
    head = MLPHead(
      input: f, layers: [.init(output: hidden ?? f, batchNorm: true, relu: true), .init(output: dimension)],
      using: &generator)
    prototypes = Linear(inputSize: dimension, outputSize: prototypeCount, bias: false, using: &generator)
    self.temperature = temperature
    self.epsilon = epsilon
    self.sinkhornIterations = sinkhornIterations
    self.freezePrototypesIterations = freezePrototypesIterations
    self.queueLength = queueLength
    self.queueStartIteration = queueStartIteration
    self.totalIterations = totalIterations
    normalisePrototypes()
  }

  public var trainableParameters: [Tensor] { backbone.parameters + head.parameters + prototypes.parameters }

  public func setTraining(_ training: Bool) {
    backbone.isTraining = training
    head.isTraining = training
  }

  /// Unit rows for the prototype matrix (before every iteration, outside autograd).
  func normalisePrototypes() {
    let (p, d) = (prototypes.weight.shape[0], prototypes.weight.shape[1])
    prototypes.weight.update { w in
      for r in 0..<p {
        var norm: Float = 0
        for j in 0..<d { norm += w[r * d + j] * w[r * d + j] }
        let inv = 1 / Swift.max(norm.squareRoot(), 1e-12)
        for j in 0..<d { w[r * d + j] *= inv }
      }
    }
  }

  /// `views[0]`, `views[1]` are the two large crops; further views are the small crops (each view
  /// is a batch; crops of one size go through the encoder together, as the official forward).
  public func loss(views: [Tensor], indices: [Int], progress: Double, using generator: inout RandomGenerator) -> Tensor {
    let b = views[0].shape[0]
    // Group consecutive views of equal size into one forward pass.
    var embeddings: [Tensor] = []
    var start = 0
    while start < views.count {
      var end = start + 1
      while end < views.count && views[end].shape == views[start].shape { end += 1 }
      let batch = end - start == 1 ? views[start] : Tensor.concatenate(Array(views[start..<end]), axis: 0)
      let z = head(backbone(batch)).l2Normalized(axis: 1)
      for v in 0..<(end - start) { embeddings.append(z.narrowed(axis: 0, start: v * b, length: b)) }
      start = end
    }
    let scores = embeddings.map { prototypes($0) }  // [b, P] per crop
    let crops = views.count
    // `progress` is iteration / total (SelfSupervisedExperiment), so this recovers the iteration.
    let iteration = Int((progress * Double(totalIterations)).rounded())
    let queued = queueLength > 0 && iteration >= queueStartIteration
    if queued && queues.isEmpty { queues = Array(repeating: [], count: 2) }
    var total: Tensor? = nil
    for assign in 0..<2 {
      let codes: Tensor = Tensor.withoutGrad {
        var out = scores[assign].detached()
        if queued {
          let d = embeddings[assign].shape[1]
          let stored = queues[assign].count / d
          if stored >= queueLength {
            let past = Tensor(shape: [stored, d], data: queues[assign])
            out = Tensor.concatenate([prototypes(past), out], axis: 0)
          }
          // FIFO: newest first, keep queueLength rows.
          queues[assign] = Array((embeddings[assign].data + queues[assign]).prefix(queueLength * d))
        }
        let q = SinkhornKnopp.codes(out, epsilon: epsilon, iterations: sinkhornIterations)
        return q.narrowed(axis: 0, start: q.shape[0] - b, length: b)
      }
      var sub: Tensor? = nil
      for v in 0..<crops where v != assign {
        let term = -(codes * (scores[v] * (1 / temperature)).logSoftmax(axis: 1)).sum(axes: [1]).mean()
        sub = sub.map { $0 + term } ?? term
      }
      let part = sub! * (1 / Float(crops - 1))
      total = total.map { $0 + part } ?? part
    }
    return total! * 0.5
  }

  public func afterBackward(iteration: Int) {
    if iteration < freezePrototypesIterations { prototypes.weight.zeroGrad() }
  }

  public func afterStep() { normalisePrototypes() }
}

import Engine
import NN

/// Instance discrimination (Wu et al. 2018, `zhirongw/lemniscate.pytorch`): the encoder's fc gives
/// d-dimensional L2-normalised features; a memory bank `[N, d]` holds one vector per image,
/// updated after each batch as `v ← normalise(m·v + (1 − m)·f)` with m = 0.5.
///
/// Variants: `.nonParametric` (the full softmax over the bank, `LinearAverage.py`), `.nce(k)`
/// (K uniform noise samples, the normaliser Z fixed on the first batch, `NCEAverage.py`), and
/// `.parametric` (the baseline: a learnable classifier `W` `[N, d]` with one class per image).
public final class InstDisc: SelfSupervisedMethod {
  public enum Variant: Sendable, Equatable {
    case nonParametric
    case nce(noise: Int)
    case parametric
  }

  public let backbone: Backbone
  public let fc: Linear
  public let variant: Variant
  public let temperature: Float
  public let memoryMomentum: Float
  public private(set) var memory: Tensor
  let classifier: Linear?
  var normaliser: Float?

  public init(
    backbone kind: BackboneKind, dataCount: Int, dimension: Int = 128, variant: Variant, temperature: Float = 0.1,
    memoryMomentum: Float = 0.5, using generator: inout RandomGenerator
  ) {
    backbone = kind.make(using: &generator)
    fc = Linear(inputSize: backbone.featureDimension, outputSize: dimension, using: &generator)
    // Uniform in ±1/√(d/3), as the official memory initialisation.
    let bound = 1 / (Float(dimension) / 3).squareRoot()
    memory = Tensor.randomUniform([dataCount, dimension], in: -bound...bound, using: &generator)
    classifier =
      variant == .parametric
      ? Linear(inputSize: dimension, outputSize: dataCount, bias: false, using: &generator) : nil
    self.variant = variant
    self.temperature = temperature
    self.memoryMomentum = memoryMomentum
  }

  public var trainableParameters: [Tensor] { backbone.parameters + fc.parameters + (classifier?.parameters ?? []) }

  public func setTraining(_ training: Bool) { backbone.isTraining = training }

  public func loss(views: [Tensor], indices: [Int], progress: Double, using generator: inout RandomGenerator) -> Tensor {
    let f = fc(backbone(views[0])).l2Normalized(axis: 1)
    let loss: Tensor
    switch variant {
    case .parametric:
      loss = Loss.crossEntropy(logits: classifier!(f) * (1 / temperature), labels: indices)
    case .nonParametric:
      loss = ContrastiveLoss.nonParametricSoftmax(
        features: f, memory: memory, indices: indices, temperature: temperature)
    case .nce(let k):
      let count = memory.shape[0]
      var picks: [Int] = []
      for i in indices {
        picks.append(i)
        for _ in 0..<k { picks.append(generator.nextInt(below: count)) }
      }
      let d = memory.shape[1]
      let bank = memory.indexSelect(axis: 0, picks).reshaped([indices.count, k + 1, d])
      let dots = (bank * f.reshaped([indices.count, 1, d])).sum(axes: [2])  // [n, K+1]
      let expScores = (dots * (1 / temperature)).exp()
      if normaliser == nil {
        normaliser = Tensor.withoutGrad { expScores.mean().item } * Float(count)  // fixed once
      }
      loss = ContrastiveLoss.nce(scores: expScores * (1 / normaliser!), dataCount: count)
    }
    if variant != .parametric { updateMemory(f.detached(), indices) }
    return loss
  }

  /// `v_i ← normalise(m·v_i + (1 − m)·f_i)` for the batch's images.
  func updateMemory(_ f: Tensor, _ indices: [Int]) {
    let d = memory.shape[1]
    let values = f.data, m = memoryMomentum
    memory.update { bank in
      for (row, i) in indices.enumerated() {
        var norm: Float = 0
        for j in 0..<d {
          let v = m * bank[i * d + j] + (1 - m) * values[row * d + j]
          bank[i * d + j] = v
          norm += v * v
        }
        let inv = 1 / Swift.max(norm.squareRoot(), 1e-12)
        for j in 0..<d { bank[i * d + j] *= inv }
      }
    }
  }
}

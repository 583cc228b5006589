import Engine

/// An optimiser over a fixed list of parameters.
public protocol Optimizer: AnyObject {
  /// The learning rate used by the next `step()` (set it from a schedule).
  var learningRate: Float { get set }
  /// Updates every parameter that has a gradient.
  func step()
  /// What the optimiser carries from one step to the next (momentum buffers, moments, step
  /// counts), for checkpoints (`Optimizers+State.swift`).
  var state: OptimizerState { get }
  /// Continues from a `state` read from an optimiser of the same kind over parameters of the
  /// same shapes: the next steps are bit for bit those the saved optimiser would have taken.
  /// - Throws: `OptimizerStateError`, changing nothing, when the state does not fit.
  func restore(_ state: OptimizerState) throws
}

/// Which parameters get weight decay: PyTorch recipes usually exempt biases and norm weights
/// (every parameter with fewer than 2 dimensions), as TransMIL's `add_weight_decay` and MoCo v3's
/// LARS do.
public enum DecayRule: Sendable {
  case all
  case matricesOnly

  func applies(to p: Tensor) -> Bool { self == .all || p.rank >= 2 }
}

/// Stochastic gradient descent with momentum, Nesterov and L2 weight decay, exactly as
/// `torch.optim.SGD` (dampening 0): `d = g + λp; b = μb + d; d = nesterov ? d + μb : b; p −= η d`.
public final class SGD: Optimizer {
  public var learningRate: Float
  public let momentum: Float
  public let nesterov: Bool
  public let weightDecay: Float
  public let decayRule: DecayRule
  let parameters: [Tensor]
  var buffers: [[Float]?]

  public init(
    parameters: [Tensor], learningRate: Float, momentum: Float = 0, nesterov: Bool = false,
    weightDecay: Float = 0, decayRule: DecayRule = .all
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
    self.decayRule = decayRule
    buffers = Array(repeating: nil, count: parameters.count)
  }

  public func step() {
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad?.data else { continue }
      let wd = decayRule.applies(to: p) ? weightDecay : 0
      var d = g
      if wd != 0 { for j in d.indices { d[j] += wd * p.data[j] } }
      if momentum != 0 {
        var b = buffers[i] ?? d  // PyTorch initialises the buffer with the first d
        if buffers[i] != nil { for j in b.indices { b[j] = momentum * b[j] + d[j] } }
        buffers[i] = b
        if nesterov { for j in d.indices { d[j] += momentum * b[j] } } else { d = b }
      }
      let lr = learningRate
      p.update { values in for j in values.indices { values[j] -= lr * d[j] } }
    }
  }
}

/// The settings and state AdamW and RAdam share: learning rate, β₁, β₂, ε, weight decay and the
/// parameters it applies to, and per parameter the first and second moments `m`, `v` with the step
/// count `t` (saved under PyTorch's names `exp_avg`, `exp_avg_sq`, `step`: `Optimizers+State.swift`).
public class AdamFamilyOptimizer {
  /// The learning rate used by the next `step()`.
  public var learningRate: Float
  /// Decay rate β₁ of the first moment.
  public let beta1: Float
  /// Decay rate β₂ of the second moment.
  public let beta2: Float
  /// ε added to `√v`.
  public let epsilon: Float
  /// Weight decay λ (how it is applied is the subclass's rule).
  public let weightDecay: Float
  /// Which parameters get weight decay.
  public let decayRule: DecayRule
  let parameters: [Tensor]
  var m: [[Float]]
  var v: [[Float]]
  var t = 0

  init(
    parameters: [Tensor], learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
    decayRule: DecayRule
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.decayRule = decayRule
    m = parameters.map { [Float](repeating: 0, count: $0.count) }
    v = m
  }

  /// `m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²` for parameter `i`; returns the new moments.
  @inline(__always)
  func updateMoments(_ i: Int, gradient g: [Float]) -> (m: [Float], v: [Float]) {
    let (b1, b2) = (beta1, beta2)
    var mi = m[i], vi = v[i]
    for j in g.indices {
      mi[j] = b1 * mi[j] + (1 - b1) * g[j]
      vi[j] = b2 * vi[j] + (1 - b2) * g[j] * g[j]
    }
    m[i] = mi
    v[i] = vi
    return (mi, vi)
  }
}

/// Adam with decoupled weight decay, exactly as `torch.optim.AdamW`:
/// `p ← p(1 − ηλ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − η m̂ / (√v̂ + ε)`.
public final class AdamW: AdamFamilyOptimizer, Optimizer {
  /// AdamW with torch's defaults (`lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2`).
  public override init(
    parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
    epsilon: Float = 1e-8, weightDecay: Float = 1e-2, decayRule: DecayRule = .all
  ) {
    super.init(
      parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
      weightDecay: weightDecay, decayRule: decayRule)
  }

  public func step() {
    t += 1
    let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad?.data else { continue }
      let decay = decayRule.applies(to: p) ? 1 - learningRate * weightDecay : 1
      let lr = learningRate
      let eps = epsilon
      let (mi, vi) = updateMoments(i, gradient: g)
      p.update { values in
        for j in values.indices {
          values[j] = values[j] * decay - lr * (mi[j] / c1) / ((vi[j] / c2).squareRoot() + eps)
        }
      }
    }
  }
}

/// Learning-rate schedules as pure functions of the step.
public enum Schedule {
  /// Half-cosine from `base` to `final` over `total` steps (`CosineAnnealingLR`), after
  /// `warmup` steps of linear increase from 0.
  public static func cosine(step: Int, total: Int, base: Float, final: Float = 0, warmup: Int = 0) -> Float {
    if step < warmup { return base * Float(step + 1) / Float(warmup) }
    let progress = Float(step - warmup) / Float(Swift.max(total - warmup, 1))
    return final + (base - final) * 0.5 * (1 + cosf(Float.pi * Swift.min(progress, 1)))
  }

  /// `base · γ^(number of milestones passed)` (`MultiStepLR`).
  public static func stepDecay(step: Int, base: Float, milestones: [Int], gamma: Float = 0.1) -> Float {
    base * powf(gamma, Float(milestones.filter { step >= $0 }.count))
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

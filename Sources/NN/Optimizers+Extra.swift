import Engine

// Optimisers beyond SGD and AdamW: LARS (MoCo v3, BYOL), RAdam and Lookahead (TransMIL), the
// momentum (EMA) update of a key/target encoder, and gradient-norm clipping.

/// LARS as MoCo v3 uses it (`moco/optimizer.py`, facebookresearch/moco-v3; BYOL's recipe is the
/// same): for a parameter with more than one dimension,
/// `d = g + λp; d ← d·q` with trust ratio `q = η‖p‖/‖d‖` when both norms are positive, else 1;
/// then for every parameter `μ ← mμ + d; p ← p − lr·μ`.
/// Parameters with one dimension or fewer (biases, norm weights) get neither weight decay nor
/// the trust ratio, but still momentum.
public final class LARS: Optimizer {
  /// The learning rate used by the next `step()` (MoCo v3 sets it every iteration).
  public var learningRate: Float
  /// L2 weight decay λ added to the gradient of parameters with `rank > 1`.
  public let weightDecay: Float
  /// Momentum m of the buffer `μ ← mμ + d` (MoCo v3: 0.9).
  public let momentum: Float
  /// Trust coefficient η of the ratio `η‖p‖/‖d‖` (MoCo v3: 0.001).
  public let trustCoefficient: Float
  let parameters: [Tensor]
  var buffers: [[Float]]

  /// LARS over `parameters`, with MoCo v3's defaults (`lr=0, weight_decay=0, momentum=0.9,
  /// trust_coefficient=0.001`; the learning rate is set from a schedule before each step).
  public init(
    parameters: [Tensor], learningRate: Float = 0, weightDecay: Float = 0, momentum: Float = 0.9,
    trustCoefficient: Float = 0.001
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.momentum = momentum
    self.trustCoefficient = trustCoefficient
    buffers = parameters.map { [Float](repeating: 0, count: $0.count) }  // `zeros_like(p)`
  }

  /// One LARS step over every parameter that has a gradient (moco-v3 `LARS.step`).
  public func step() {
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad?.data else { continue }
      var d = g
      if p.rank > 1 {
        let values = p.data
        for j in d.indices { d[j] += weightDecay * values[j] }
        let parameterNorm = l2Norm(values), updateNorm = l2Norm(d)
        let q = parameterNorm > 0 && updateNorm > 0
          ? trustCoefficient * parameterNorm / updateNorm : 1
        for j in d.indices { d[j] *= q }
      }
      var mu = buffers[i]
      for j in mu.indices { mu[j] = momentum * mu[j] + d[j] }
      buffers[i] = mu
      let lr = learningRate
      p.update { values in for j in values.indices { values[j] -= lr * mu[j] } }
    }
  }
}

/// RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond").
///
/// `.torch` (the default) is exactly `torch.optim.RAdam` with `decoupled_weight_decay=False`:
/// `g ← g + λp; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ)`;
/// `ρ∞ = 2/(1−β₂) − 1; ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ)`; if `ρₜ > 5`:
/// `r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ))`, `p ← p − lr·m̂·r·√(1−β₂ᵗ)/(√v + ε)`;
/// otherwise `p ← p − lr·m̂` (SGD with bias-corrected momentum).
///
/// `.transMIL` is TransMIL's `MyOptimizer/radam.py` (lifted from LiyuanLucasLiu/RAdam), which
/// TransMIL trains with as `Lookahead(RAdam)`. It differs from torch in two ways only:
/// the rectified branch is taken when `ρₜ ≥ 5` (not `> 5`), and weight decay is decoupled,
/// `p ← p(1 − lr·λ)` before the update, with the gradient (and so m, v) left undecayed.
/// Both always fall back to SGD when the variance is intractable (`degenerated_to_sgd=True`).
public final class RAdam: AdamFamilyOptimizer, Optimizer {
  /// Which reference implementation to follow (see the type's documentation).
  public enum Variant: Sendable {
    /// `torch.optim.RAdam` (PyTorch ≥ 1.10; default `decoupled_weight_decay=False`).
    case torch
    /// TransMIL's `MyOptimizer/radam.py`: threshold `ρₜ ≥ 5`, decoupled weight decay.
    case transMIL
  }

  /// The reference implementation followed (weight decay: L2 in the gradient for `.torch`,
  /// decoupled for `.transMIL`; TransMIL's `add_weight_decay` is `decayRule: .matricesOnly`).
  public let variant: Variant

  /// RAdam over `parameters` with torch's defaults (`lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
  /// weight_decay=0`).
  public init(
    parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
    epsilon: Float = 1e-8, weightDecay: Float = 0, decayRule: DecayRule = .all,
    variant: Variant = .torch
  ) {
    self.variant = variant
    super.init(
      parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
      weightDecay: weightDecay, decayRule: decayRule)
  }

  /// The step count t after the last `step()`.
  public var stepCount: Int { t }

  /// The rectification length ρₜ at step `t` (≥ 1) for decay rate `beta2`:
  /// `ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ)`, computed in double precision as torch does (Python floats).
  public static func rho(step t: Int, beta2: Float) -> Double {
    let b2 = Double(beta2), b2t = pow(b2, Double(t))
    return 2 / (1 - b2) - 1 - 2 * Double(t) * b2t / (1 - b2t)
  }

  /// One RAdam step over every parameter that has a gradient.
  public func step() {
    t += 1
    // Scalars in double precision, as the Python references compute them.
    let b1 = Double(beta1), b2 = Double(beta2)
    let c1 = 1 - pow(b1, Double(t)), c2 = 1 - pow(b2, Double(t))
    let rhoInf = 2 / (1 - b2) - 1
    let rhoT = RAdam.rho(step: t, beta2: beta2)
    let rectified = variant == .torch ? rhoT > 5 : rhoT >= 5
    let rect = rectified
      ? ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot() : 0
    // lr·m̂·r·√c₂/(√v + ε) = (lr·r·√c₂/c₁)·m/(√v + ε), or lr·m/c₁ on the SGD branch.
    let stepSize = rectified
      ? Float(Double(learningRate) * rect * c2.squareRoot() / c1)
      : Float(Double(learningRate) / c1)
    let eps = epsilon
    for (i, p) in parameters.enumerated() {
      guard let grad = p.grad?.data else { continue }
      let wd = decayRule.applies(to: p) ? weightDecay : 0
      var g = grad
      if variant == .torch && wd != 0 {
        let values = p.data
        for j in g.indices { g[j] += wd * values[j] }
      }
      let decay: Float = variant == .transMIL ? 1 - wd * learningRate : 1
      let (mi, vi) = updateMoments(i, gradient: g)
      p.update { values in
        for j in values.indices {
          let direction = rectified ? mi[j] / (vi[j].squareRoot() + eps) : mi[j]
          values[j] = values[j] * decay - stepSize * direction
        }
      }
    }
  }
}

/// Lookahead (Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back") around any
/// optimiser, as TransMIL's `MyOptimizer/lookahead.py` (timm): the inner optimiser takes the
/// fast steps; after every k of them, `slow ← slow + α(fast − slow); fast ← slow`.
/// Parameters without a gradient at a sync are left alone, as in the reference.
///
/// `.paper` (the default) initialises the slow weights to the parameters at construction
/// (Algorithm 1 of the paper). `.transMIL` copies them lazily at the first sync, as TransMIL's
/// (and timm's, and alphadl/lookahead.pytorch's) code does, so its first sync leaves the
/// parameters unchanged and interpolation starts at step 2k.
public final class Lookahead: Optimizer {
  /// When the slow weights are first set (see the type's documentation).
  public enum Variant: Sendable {
    /// Slow weights = parameters at construction (the paper's Algorithm 1).
    case paper
    /// Slow weights = parameters at the first sync (TransMIL's `lookahead.py`).
    case transMIL
  }

  /// The optimiser that takes the fast steps.
  public let inner: any Optimizer
  /// Slow-weight step size α ∈ [0, 1] (default 0.5).
  public let alpha: Float
  /// Number of fast steps between syncs (default 6).
  public let k: Int
  /// How the slow weights are initialised.
  public let variant: Variant
  let parameters: [Tensor]
  var slow: [[Float]?]
  var fastSteps = 0

  /// The inner optimiser's learning rate (reading and setting it forwards).
  public var learningRate: Float {
    get { inner.learningRate }
    set { inner.learningRate = newValue }
  }

  /// Lookahead around `inner`, which must optimise exactly `parameters` (the protocol does not
  /// expose them), with TransMIL's defaults α = 0.5, k = 6.
  /// - Precondition: `0 ≤ alpha ≤ 1`, `k ≥ 1`.
  public init(
    _ inner: any Optimizer, parameters: [Tensor], alpha: Float = 0.5, k: Int = 6,
    variant: Variant = .paper
  ) {
    precondition((0...1).contains(alpha), "Lookahead: invalid slow update rate α = \(alpha)")
    precondition(k >= 1, "Lookahead: invalid lookahead steps k = \(k)")
    self.inner = inner
    self.parameters = parameters
    self.alpha = alpha
    self.k = k
    self.variant = variant
    slow = variant == .paper
      ? parameters.map(\.data) : Array(repeating: nil, count: parameters.count)
  }

  /// One inner step; after every k-th, the slow/fast sync.
  public func step() {
    inner.step()
    fastSteps += 1
    if fastSteps % k == 0 { sync() }
  }

  /// `slow ← slow + α(fast − slow); fast ← slow` for every parameter with a gradient
  /// (`sync_lookahead`: call it before evaluating to evaluate the slow weights).
  public func sync() {
    for (i, p) in parameters.enumerated() where p.grad != nil {
      var s = slow[i] ?? p.data
      let fast = p.data
      for j in s.indices { s[j] += alpha * (fast[j] - s[j]) }
      slow[i] = s
      p.assign(s)
    }
  }
}

/// The momentum (exponential moving average) update of a key or target encoder, as MoCo's
/// `_momentum_update_key_encoder` and BYOL: `t ← m·t + (1 − m)·s`, outside autograd.
public enum MomentumUpdate {
  /// `target[i] ← m·target[i] + (1 − m)·source[i]` in place, without recording history.
  /// - Precondition: as many targets as sources with matching shapes (checked even in
  ///   `-Ounchecked` builds), `0 ≤ m ≤ 1`.
  public static func update(target: [Tensor], source: [Tensor], momentum m: Float) {
    precondition((0...1).contains(m), "MomentumUpdate.update: momentum \(m) outside [0, 1]")
    checkPairs(target, source, in: "update")
    Tensor.withoutGrad {
      for (t, s) in zip(target, source) {
        let sv = s.data
        t.update { values in
          for j in values.indices { values[j] = m * values[j] + (1 - m) * sv[j] }
        }
      }
    }
  }

  /// `target[i] ← source[i]` in place (MoCo's initial `param_k.data.copy_(param_q.data)`).
  /// - Precondition: as many targets as sources with matching shapes (always checked).
  public static func copy(from source: [Tensor], to target: [Tensor]) {
    checkPairs(target, source, in: "copy")
    Tensor.withoutGrad {
      for (t, s) in zip(target, source) { t.assign(s.data) }
    }
  }

  // `fatalError`, not `precondition`: the package's release builds use `-Ounchecked`, which
  // drops preconditions, and a shape mismatch here would read out of bounds.
  private static func checkPairs(_ target: [Tensor], _ source: [Tensor], in name: String) {
    guard target.count == source.count else {
      fatalError(
        "MomentumUpdate.\(name): \(target.count) target tensors but \(source.count) source tensors")
    }
    for (i, (t, s)) in zip(target, source).enumerated() where t.shape != s.shape {
      fatalError(
        "MomentumUpdate.\(name): tensor \(i) has target shape \(t.shape), source shape \(s.shape)")
    }
  }
}

/// Gradient clipping as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
  /// Scales all gradients together so that their total L2 norm is at most `maxNorm`:
  /// `N = ‖(‖g₁‖, …, ‖gₙ‖)‖`; if `c = maxNorm/(N + 1e-6) < 1`, every `g ← c·g`.
  /// Parameters without a gradient are skipped. Returns N (the norm before clipping).
  @discardableResult
  public static func clipNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let grads = parameters.compactMap(\.grad)
    let total = l2Norm(grads.map { l2Norm($0.data) })
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 {  // torch multiplies by clamp(c, max: 1): a no-op when c ≥ 1
      for p in parameters {
        guard let g = p.grad else { continue }
        // A fresh tensor, so a gradient shared with another tensor is not scaled twice.
        p.grad = Tensor(shape: g.shape, data: g.data.map { $0 * coefficient })
      }
    }
    return total
  }
}

/// `‖x‖₂`, accumulated in double precision.
private func l2Norm(_ x: [Float]) -> Float {
  var sum: Double = 0
  for value in x { sum += Double(value) * Double(value) }
  return Float(sum.squareRoot())
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

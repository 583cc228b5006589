import Engine

/// Batch normalisation over `[n, c]` or `[n, c, h, w]` (PyTorch `nn.BatchNorm1d/2d`).
///
/// Training: `y = γ (x − μ_B) / √(σ²_B + ε) + β` with batch statistics (biased variance), and the
/// running statistics updated as `r ← (1 − m) r + m · stat` (unbiased variance for `running_var`).
/// Evaluation: the running statistics. `affine: false` drops γ and β (MoCo v3's last BN).
/// State-dict names: `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
public final class BatchNorm: Module {
  public let weight: Tensor?
  public let bias: Tensor?
  public let runningMean: Tensor
  public let runningVar: Tensor
  public let numBatchesTracked: Tensor
  /// Weight of a new batch in the running statistics (PyTorch's `momentum`; `refitStatistics`
  /// sets 1/(i+1) for batch i to make them a cumulative average, PyTorch's `momentum=None`).
  public var momentum: Float
  public let epsilon: Float
  public var isTraining = true
  /// Split batch norm (the MoCo CIFAR demo's `SplitBatchNorm`, a single-process stand-in for
  /// per-GPU BN): in training, a batch of n is normalised as `splits` groups (images `i` with
  /// `i mod splits = s` form group s, as the demo's `view(-1, C·splits, H, W)`), each with its own
  /// statistics; the running statistics move towards the mean over groups. 1 = ordinary BN.
  public var splits = 1

  /// - Parameters:
  ///   - affine: learnable scale γ and shift β (PyTorch's `affine`).
  ///   - center: with `affine`, whether there is a shift β (TensorFlow's `center`; SimCLR's last
  ///     head BN has a scale only).
  public init(features: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, affine: Bool = true, center: Bool = true) {
    weight = affine ? Tensor.ones([features], requiresGrad: true) : nil
    bias = affine && center ? Tensor.zeros([features], requiresGrad: true) : nil
    runningMean = Tensor.zeros([features])
    runningVar = Tensor.ones([features])
    numBatchesTracked = Tensor.zeros([])
    self.momentum = momentum
    self.epsilon = epsilon
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.rank == 2 || x.rank == 4, "BatchNorm: input \(x.shape); expected [n, c] or [n, c, h, w]")
    let c = x.shape[1]
    if !isTraining {
      return x.batchNormalized(
        weight: weight, bias: bias, statistics: (runningMean.data, runningVar.data), epsilon: epsilon
      ).output
    }
    if splits > 1 && x.shape[0] % splits == 0 && x.shape[0] > splits {
      return splitForward(x)
    }
    let (output, mean, variance) = x.batchNormalized(weight: weight, bias: bias, epsilon: epsilon)
    let n = Float(x.count / c)
    let unbiased = n > 1 ? n / (n - 1) : 1
    let m = momentum
    runningMean.update { r in for i in 0..<c { r[i] = (1 - m) * r[i] + m * mean[i] } }
    runningVar.update { r in for i in 0..<c { r[i] = (1 - m) * r[i] + m * variance[i] * unbiased } }
    numBatchesTracked.update { $0[0] += 1 }
    return output
  }

  /// Training-mode split BN: fold the groups into channels, normalise, unfold.
  func splitForward(_ x: Tensor) -> Tensor {
    let (n, c, s) = (x.shape[0], x.shape[1], splits)
    var folded = x.shape
    folded[0] = n / s
    folded[1] = c * s
    // [n, c, …] → [n/s, s·c, …]: image i = (i / s)·s + g lands in channel block g.
    func tile(_ t: Tensor?) -> Tensor? {
      t.map { Tensor.concatenate(Array(repeating: $0, count: s), axis: 0) }
    }
    let (output, mean, variance) = x.reshaped(folded).batchNormalized(
      weight: tile(weight), bias: tile(bias), epsilon: epsilon)
    let per = Float(x.count / (c * s))
    let unbiased = per > 1 ? per / (per - 1) : 1
    let m = momentum
    runningMean.update { r in
      for i in 0..<c {
        var avg: Float = 0
        for g in 0..<s { avg += mean[g * c + i] }
        r[i] = (1 - m) * r[i] + m * avg / Float(s)
      }
    }
    runningVar.update { r in
      for i in 0..<c {
        var avg: Float = 0
        for g in 0..<s { avg += variance[g * c + i] * unbiased }
        r[i] = (1 - m) * r[i] + m * avg / Float(s)
      }
    }
    numBatchesTracked.update { $0[0] += 1 }
    return output.reshaped(x.shape)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out: [(name: String, tensor: Tensor)] = []
    if let weight { out.append(("weight", weight)) }
    if let bias { out.append(("bias", bias)) }
    return out + [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
  }
}

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm(d)`):
/// `y = γ (x − μ) / √(σ² + ε) + β`, biased variance, ε = 1e-5.
public final class LayerNorm: Module {
  public let weight: Tensor
  public let bias: Tensor
  public let epsilon: Float
  public var isTraining = true

  public init(features: Int, epsilon: Float = 1e-5) {
    weight = Tensor.ones([features], requiresGrad: true)
    bias = Tensor.zeros([features], requiresGrad: true)
    self.epsilon = epsilon
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.layerNormalized(weight: weight, bias: bias, epsilon: epsilon)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }
}

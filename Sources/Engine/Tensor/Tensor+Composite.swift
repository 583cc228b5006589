// Composite operations: built from primitives, so they need no gradient code of their own.

extension Tensor {
  /// Rows scaled to unit L2 norm along `axis`: `x / max(‖x‖, ε)` (PyTorch's `F.normalize`).
  public func l2Normalized(axis: Int = -1, epsilon: Float = 1e-12) -> Tensor {
    let norm = squared().sum(axes: [axis], keepDims: true).sqrt()
    // max(‖x‖, ε) without a max primitive: add ε where the norm is below it (constant, no gradient).
    let floor = Tensor(shape: norm.shape, data: norm.data.map { $0 < epsilon ? epsilon - $0 : 0 })
    return self / (norm + floor)
  }
}

/// Losses as pure functions of tensors.
public enum Loss {
  /// Mean cross-entropy of `logits` `[n, c]` against class indices, with optional label smoothing
  /// ε (PyTorch: the target is `(1 − ε)·onehot + ε/c`).
  public static func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Float = 0) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count, "crossEntropy: logits \(logits.shape), \(labels.count) labels")
    let c = logits.shape[1]
    var target = [Float](repeating: labelSmoothing / Float(c), count: logits.count)
    for (i, y) in labels.enumerated() {
      precondition(y >= 0 && y < c, "crossEntropy: label \(y) outside 0..<\(c)")
      target[i * c + y] += 1 - labelSmoothing
    }
    return crossEntropy(logits: logits, targets: Tensor(shape: logits.shape, data: target))
  }

  /// Mean cross-entropy against soft targets (rows of probabilities): `−mean_i Σ_c q_ic log p_ic`.
  public static func crossEntropy(logits: Tensor, targets: Tensor) -> Tensor {
    precondition(logits.shape == targets.shape, "crossEntropy: logits \(logits.shape), targets \(targets.shape)")
    return -(targets * logits.logSoftmax(axis: -1)).sum(axes: [-1]).mean()
  }
}

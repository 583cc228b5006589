import Engine

extension BatchNorm {
  /// Re-estimates the running statistics of `norms` from `batches` training-mode forward passes
  /// (`forward(i)` runs batch i through the network, without gradients), as precise-BN does
  /// (fvcore `update_bn_stats`): the statistics restart at mean 0, variance 1, then become the
  /// cumulative average of the batches' statistics (momentum 1/(i+1) for batch i, PyTorch's
  /// `momentum=None`). Weights never change. Training mode, momentum and splits are restored.
  ///
  /// This is what makes a no-learning control fair: a network evaluated with its initial running
  /// statistics (0 and 1) is compared against one whose statistics every training step refitted,
  /// and that refit alone moved cosine kNN by 12–15 points in the SSL targets (issue 14).
  public static func refitStatistics(_ norms: [BatchNorm], batches: Int, forward: (Int) -> Void) {
    let saved = norms.map { ($0.momentum, $0.isTraining, $0.splits) }
    for bn in norms {
      bn.runningMean.update { r in for i in r.indices { r[i] = 0 } }
      bn.runningVar.update { r in for i in r.indices { r[i] = 1 } }
      bn.isTraining = true
      bn.splits = 1
    }
    for i in 0..<batches {
      for bn in norms { bn.momentum = 1 / Float(i + 1) }
      Tensor.withoutGrad { forward(i) }
    }
    for (bn, (momentum, training, splits)) in zip(norms, saved) {
      bn.momentum = momentum
      bn.isTraining = training
      bn.splits = splits
    }
  }
}

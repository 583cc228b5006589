import Engine
import NN
import Testing

/// Optimiser checkpoints: an optimiser restored from another's `state` takes the same steps.
@Suite struct OptimizerStateTests {
  static let names = ["sgd", "adamw", "lars", "radam", "lookahead"]

  static func make(_ name: String, _ p: [Tensor]) -> Optimizer {
    switch name {
    case "sgd": return SGD(parameters: p, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3)
    case "adamw": return AdamW(parameters: p, learningRate: 0.01)
    case "lars": return LARS(parameters: p, learningRate: 0.1, weightDecay: 1e-3)
    case "radam": return RAdam(parameters: p, learningRate: 0.01)
    default: return Lookahead(RAdam(parameters: p, learningRate: 0.01), parameters: p, k: 2, variant: .transMIL)
    }
  }

  static func parameters(_ seed: UInt64) -> [Tensor] {
    var g = RandomGenerator(seed: seed)
    return [Tensor.randomNormal([3, 4], using: &g, requiresGrad: true), Tensor.randomNormal([4], using: &g, requiresGrad: true)]
  }

  /// One step on a fixed quadratic loss Σ (p − 0.5)².
  static func step(_ parameters: [Tensor], _ optimizer: Optimizer) {
    for p in parameters { p.zeroGrad() }
    let loss = parameters.map { (($0 - 0.5) * ($0 - 0.5)).sum() }.reduce(Tensor(0)) { $0 + $1 }
    loss.backward()
    optimizer.step()
  }

  @Test(arguments: names) func restoredOptimizerTakesTheSameSteps(name: String) throws {
    let make = { Self.make(name, $0) }
    let original = Self.parameters(1)
    let optimizer = make(original)
    for _ in 0..<3 { Self.step(original, optimizer) }
    // A copy of the parameters with a fresh optimiser restored from the saved state.
    let copy = original.map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
    let restored = make(copy)
    try restored.restore(optimizer.state)
    #expect(restored.state == optimizer.state)
    for _ in 0..<4 {
      Self.step(original, optimizer)
      Self.step(copy, restored)
    }
    for (a, b) in zip(original, copy) { #expect(a.data == b.data) }
  }

  @Test func stateOfAnotherOptimizerIsRejected() {
    let adam = AdamW(parameters: Self.parameters(1))
    Self.step(Self.parameters(1), adam)
    let sgd = SGD(parameters: Self.parameters(2), learningRate: 0.1, momentum: 0.9)
    #expect(throws: OptimizerStateError.self) { try sgd.restore(adam.state) }
    let small = AdamW(parameters: [Tensor.zeros([2], requiresGrad: true), Tensor.zeros([4], requiresGrad: true)])
    #expect(throws: OptimizerStateError.self) { try small.restore(adam.state) }
  }
}

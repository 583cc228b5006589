import Engine
import NN
import Testing
import _TestSupport

@Suite struct OptimizerTests {
  @Test func sgdMomentumNesterovAndDecayByHand() {
    // p = 1, g = 0.5, lr 0.1, μ 0.9, λ 0.01. Step 1: d = 0.5 + 0.01 = 0.51, b = d;
    // Nesterov: d + μb = 0.51·1.9 = 0.969 → p = 1 − 0.0969 = 0.9031.
    let p = Tensor(shape: [1], data: [1], requiresGrad: true)
    let sgd = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
    p.grad = Tensor(shape: [1], data: [0.5])
    sgd.step()
    expectClose(Double(p.data[0]), 0.9031, rtol: 0, atol: 1e-6)
    // Step 2 with g = 0.5 again: d = 0.5 + 0.01·0.9031 = 0.509031; b = 0.9·0.51 + d = 0.968031;
    // d + μb = 0.509031 + 0.8712279 = 1.3802589 → p = 0.9031 − 0.13802589 = 0.76507411.
    sgd.step()
    expectClose(Double(p.data[0]), 0.76507411, rtol: 0, atol: 1e-6)
  }

  @Test func adamWFirstStepByHand() {
    // First Adam step moves by lr·g/(|g| + ε) ≈ lr·sign(g); decoupled decay multiplies by 1 − lr·λ.
    let p = Tensor(shape: [2], data: [1, -2], requiresGrad: true)
    let adam = AdamW(parameters: [p], learningRate: 0.01, weightDecay: 0.1)
    p.grad = Tensor(shape: [2], data: [3, -0.5])
    adam.step()
    expectClose(Double(p.data[0]), Double(1 * 0.999 - 0.01), rtol: 0, atol: 1e-6)
    expectClose(Double(p.data[1]), Double(-2 * 0.999 + 0.01), rtol: 0, atol: 1e-6)
  }

  @Test func decayRuleSkipsVectors() {
    let w = Tensor(shape: [1, 1], data: [1], requiresGrad: true)
    let b = Tensor(shape: [1], data: [1], requiresGrad: true)
    let sgd = SGD(parameters: [w, b], learningRate: 1, weightDecay: 0.5, decayRule: .matricesOnly)
    w.grad = Tensor.zeros([1, 1])
    b.grad = Tensor.zeros([1])
    sgd.step()
    #expect(w.data == [0.5] && b.data == [1])
  }

  @Test func schedules() {
    #expect(Schedule.cosine(step: 0, total: 10, base: 1) == 1)
    #expect(abs(Schedule.cosine(step: 5, total: 10, base: 1)) - 0.5 < 1e-6)
    expectClose(Double(Schedule.cosine(step: 10, total: 10, base: 1, final: 0.1)), 0.1, rtol: 0, atol: 1e-6)
    #expect(Schedule.cosine(step: 0, total: 10, base: 1, warmup: 4) == 0.25)
    expectClose(Double(Schedule.stepDecay(step: 25, base: 1, milestones: [10, 20])), 0.01, rtol: 0, atol: 1e-7)
  }

  /// A two-layer MLP on a non-linear toy problem (XOR of signs): the loss must fall.
  @Test func mlpLossFalls() {
    var g = RandomGenerator(seed: 0)
    let l1 = Linear(inputSize: 2, outputSize: 16, using: &g)
    let l2 = Linear(inputSize: 16, outputSize: 2, using: &g)
    let x = Tensor.randomUniform([128, 2], in: -1...1, using: &g)
    let y = (0..<128).map { (x.data[2 * $0] > 0) != (x.data[2 * $0 + 1] > 0) ? 1 : 0 }
    let optimizer = AdamW(parameters: l1.parameters + l2.parameters, learningRate: 0.05, weightDecay: 0)
    var losses: [Float] = []
    for _ in 0..<200 {
      l1.zeroGrad(); l2.zeroGrad()
      let loss = Loss.crossEntropy(logits: l2(l1(x).relu()), labels: y)
      loss.backward()
      optimizer.step()
      losses.append(loss.item)
    }
    #expect(losses.last ?? 1 < 0.3 * (losses.first ?? 0), "loss \(losses.first ?? 0) → \(losses.last ?? 0)")
  }

  @Test func linearStateDictNamesAndInit() {
    var g = RandomGenerator(seed: 0)
    let layer = Linear(inputSize: 16, outputSize: 4, using: &g)
    #expect(layer.namedParameters.map(\.name) == ["weight", "bias"])
    #expect(layer.weight.shape == [4, 16])
    // PyTorch default: U(−1/√16, 1/√16) = U(−0.25, 0.25).
    #expect(layer.weight.data.allSatisfy { abs($0) <= 0.25 })
    #expect(layer.parameterCount == 68)
    #expect("\(layer)" == "Linear(inputSize: 16, outputSize: 4, bias: true)")
  }
}

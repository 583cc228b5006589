import Engine
import NN
import Testing
import _TestSupport

@Suite struct OptimizerExtraTests {
  private static func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * Swift.max(1, abs($1)) }
  }

  // MARK: LARS

  @Test func larsTrustRatioOnlyOnMatrices() {
    // W = [[3, 4]] (‖W‖ = 5), g_W = [0.3, 0.4]; b = [1, −1], g_b = [0.5, 0.5]; lr 0.5, λ 0.1,
    // m 0.9, η 0.001.
    let w = Tensor(shape: [1, 2], data: [3, 4], requiresGrad: true)
    let b = Tensor(shape: [2], data: [1, -1], requiresGrad: true)
    let lars = LARS(parameters: [w, b], learningRate: 0.5, weightDecay: 0.1)
    #expect(lars.momentum == 0.9 && lars.trustCoefficient == 0.001)
    w.grad = Tensor(shape: [1, 2], data: [0.3, 0.4])
    b.grad = Tensor(shape: [2], data: [0.5, 0.5])
    // Step 1, W: d = g + 0.1·W = [0.6, 0.8], ‖d‖ = 1; q = 0.001·5/1 = 0.005; d·q = [0.003, 0.004];
    // μ = d·q; W = [3 − 0.5·0.003, 4 − 0.5·0.004] = [2.9985, 3.998].
    // b (1-D): no decay, no trust ratio: μ = [0.5, 0.5]; b = [1 − 0.25, −1 − 0.25].
    lars.step()
    #expect(Self.close(w.data, [2.9985, 3.998]))
    #expect(Self.close(b.data, [0.75, -1.25]))
    // Step 2, W = 0.9995·[3, 4]: ‖W‖ = 4.9975; d = [0.3, 0.4] + 0.1·W = 0.19995·[3, 4], so
    // d·q has norm η‖W‖ = 0.0049975 along [0.6, 0.8]: [0.0029985, 0.003998].
    // μ = 0.9·[0.003, 0.004] + [0.0029985, 0.003998] = [0.0056985, 0.007598];
    // W = [2.9985 − 0.00284925, 3.998 − 0.003799] = [2.99565075, 3.994201].
    // b: μ = 0.9·0.5 + 0.5 = 0.95; b = [0.75 − 0.475, −1.25 − 0.475] = [0.275, −1.725].
    lars.step()
    #expect(Self.close(w.data, [2.99565075, 3.994201]))
    #expect(Self.close(b.data, [0.275, -1.725]))
  }

  @Test func larsZeroNormFallsBackToRatioOne() {
    // ‖W‖ = 0 → q = 1: d = g + 0.5·0 = [1, 0]; μ = d; W = −0.5·[1, 0] = [−0.5, 0].
    let w = Tensor.zeros([2, 1], requiresGrad: true)
    let lars = LARS(parameters: [w], learningRate: 0.5, weightDecay: 0.5)
    w.grad = Tensor(shape: [2, 1], data: [1, 0])
    lars.step()
    #expect(Self.close(w.data, [-0.5, 0]))
    // Step 2, g = [0.25, 0]: d = g + 0.5·W = [0, 0] exactly, so ‖d‖ = 0 → q = 1;
    // μ = 0.9·[1, 0] + 0 = [0.9, 0]; W = [−0.5 − 0.5·0.9, 0] = [−0.95, 0].
    w.grad = Tensor(shape: [2, 1], data: [0.25, 0])
    lars.step()
    #expect(Self.close(w.data, [-0.95, 0]))
  }

  // MARK: RAdam

  @Test func radamBranchesByHand() {
    // β₂ = 0.999: ρ∞ = 2/0.001 − 1 = 1999; ρₜ = 1999 − 2t·0.999ᵗ/(1 − 0.999ᵗ):
    // ρ₁ = 1, ρ₂ ≈ 1.9995, ρ₃ ≈ 2.9987, ρ₄ ≈ 3.9975, ρ₅ ≈ 4.9960 (≤ 5: SGD branch),
    // ρ₆ ≈ 5.99416 (> 5: rectified).
    let rhos = (1...6).map { RAdam.rho(step: $0, beta2: 0.999) }
    expectClose(Double(rhos[0]), 1, rtol: 0, atol: 1e-9)
    #expect(abs(rhos[4] - 4.995998) < 1e-5 && abs(rhos[5] - 5.994164) < 1e-5)
    #expect(rhos[..<5].allSatisfy { $0 <= 5 } && rhos[5] > 5)
    // p = 1, constant g = 0.5, lr 0.1: m_t = (1 − 0.9ᵗ)·0.5, so m̂ = 0.5 at every step.
    // Steps 1–5 (SGD branch): p −= 0.1·0.5 → 0.95, 0.90, 0.85, 0.80, 0.75.
    let p = Tensor(shape: [1], data: [1], requiresGrad: true)
    let radam = RAdam(parameters: [p], learningRate: 0.1)
    for expected: Float in [0.95, 0.90, 0.85, 0.80, 0.75] {
      p.grad = Tensor(shape: [1], data: [0.5])
      radam.step()
      expectClose(Double(p.data[0]), Double(expected), rtol: 0, atol: 1e-6)
    }
    // Step 6 (rectified): c₂ = 1 − 0.999⁶ = 0.0059850200; v = c₂·0.25, √v = 0.0386814555;
    // r = √((ρ₆−4)(ρ₆−2)·1999 / (1995·1997·ρ₆)) = 0.0258211128;
    // adaptive = √c₂/(√v + 1e-8) = 0.0773629109/0.0386814655 = 1.9999994830;
    // p = 0.75 − 0.1·0.5·r·adaptive = 0.75 − 0.0025821106 = 0.7474178894.
    p.grad = Tensor(shape: [1], data: [0.5])
    radam.step()
    #expect(radam.stepCount == 6)
    expectClose(Double(p.data[0]), 0.7474178894, rtol: 0, atol: 1e-6)
  }

  /// Reference: torch 2.13.0+cpu, `torch.optim.RAdam` (float32), printed by
  /// ```
  /// p = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
  /// opt = torch.optim.RAdam([p], lr=0.1, weight_decay=0.01)
  /// for t in range(1, 9):
  ///     p.grad = torch.tensor([0.5, -0.25 * t, 2.0 ** -t]); opt.step()
  ///     print(t, [f"{x:.9g}" for x in p.tolist()])
  /// ```
  @Test func radamMatchesTorch() {
    let reference: [[Float]] = [
      [0.949000001, -1.97300005, 0.449499995],
      [0.898026824, -1.93285632, 0.412184477],
      [0.847081363, -1.87913728, 0.38387388],
      [0.796164513, -1.81141412, 0.361866474],
      [0.745277166, -1.72926199, 0.34438169],
      [0.742695868, -1.72673428, 0.342849582],
      [0.739423215, -1.72349608, 0.341121495],
      [0.735551, -1.71962154, 0.33929497],
    ]
    let p = Tensor(shape: [3], data: [1, -2, 0.5], requiresGrad: true)
    let radam = RAdam(parameters: [p], learningRate: 0.1, weightDecay: 0.01)
    for (i, expected) in reference.enumerated() {
      let t = Float(i + 1)
      p.grad = Tensor(shape: [3], data: [0.5, -0.25 * t, 1 / Float(1 << (i + 1))])
      radam.step()
      #expect(Self.close(p.data, expected, 2e-6), "step \(i + 1): \(p.data) vs \(expected)")
    }
  }

  /// Reference: TransMIL's `MyOptimizer/radam.py` (szc19990412/TransMIL) run under torch
  /// 2.13.0+cpu with the same script as `radamMatchesTorch` (`from radam import RAdam`).
  /// Step 1 agrees with torch (L2 and decoupled decay coincide when m̂ = g); from step 2 the
  /// decoupled decay makes the two differ.
  @Test func radamTransMILVariantMatchesReference() {
    let reference: [[Float]] = [
      [0.949000001, -1.97300005, 0.449499995],
      [0.898050964, -1.93286908, 0.412208378],
      [0.847152889, -1.87918341, 0.383936405],
      [0.796305716, -1.81152201, 0.361976415],
      [0.745509386, -1.72946763, 0.344544023],
      [0.742181718, -1.72521687, 0.34269017],
      [0.738165617, -1.72026026, 0.340653926],
      [0.733553648, -1.71467209, 0.338533729],
    ]
    let p = Tensor(shape: [3], data: [1, -2, 0.5], requiresGrad: true)
    let radam = RAdam(parameters: [p], learningRate: 0.1, weightDecay: 0.01, variant: .transMIL)
    for (i, expected) in reference.enumerated() {
      let t = Float(i + 1)
      p.grad = Tensor(shape: [3], data: [0.5, -0.25 * t, 1 / Float(1 << (i + 1))])
      radam.step()
      #expect(Self.close(p.data, expected, 2e-6), "step \(i + 1): \(p.data) vs \(expected)")
    }
  }

  @Test func radamDecayRuleSkipsVectors() {
    // g = 0: m = v = 0, step 1 is on the SGD branch with m̂ = 0, so only decay can move p.
    // Matrix with .transMIL: p = 1·(1 − 0.1·0.5) = 0.95; the vector is exempt.
    let w = Tensor(shape: [1, 1], data: [1], requiresGrad: true)
    let b = Tensor(shape: [1], data: [1], requiresGrad: true)
    let radam = RAdam(
      parameters: [w, b], learningRate: 0.1, weightDecay: 0.5, decayRule: .matricesOnly,
      variant: .transMIL)
    w.grad = Tensor.zeros([1, 1])
    b.grad = Tensor.zeros([1])
    radam.step()
    #expect(abs(w.data[0] - 0.95) < 1e-7 && b.data == [1])
  }

  // MARK: Lookahead

  @Test func lookaheadSyncsEveryKSteps() {
    // Inner SGD lr 0.1, constant g = [1, −1], p₀ = [1, −2], k = 2, α = 0.5; slow₀ = p₀.
    // Step 1: fast [0.9, −1.9]. Step 2: fast [0.8, −1.8]; sync: slow = [1, −2] + 0.5·(−0.2, 0.2)
    // = [0.9, −1.9] = fast. Step 3: [0.8, −1.8]. Step 4: [0.7, −1.7]; sync: slow = 0.9 +
    // 0.5·(0.7 − 0.9) = 0.8 → [0.8, −1.8]. Step 5: [0.7, −1.7]. Step 6: [0.6, −1.6] → [0.7, −1.7].
    let p = Tensor(shape: [2], data: [1, -2], requiresGrad: true)
    let lookahead = Lookahead(SGD(parameters: [p], learningRate: 0.1), parameters: [p], k: 2)
    let expected: [[Float]] = [[0.9, -1.9], [0.9, -1.9], [0.8, -1.8], [0.8, -1.8], [0.7, -1.7],
                               [0.7, -1.7]]
    for (i, e) in expected.enumerated() {
      p.grad = Tensor(shape: [2], data: [1, -1])
      lookahead.step()
      #expect(Self.close(p.data, e), "step \(i + 1): \(p.data) vs \(e)")
    }
  }

  /// Reference: TransMIL's `MyOptimizer/lookahead.py` under torch 2.13.0+cpu:
  /// `Lookahead(torch.optim.SGD([q], lr=0.1), alpha=0.5, k=2)`, `q.grad = [1, -1]` each step
  /// printed 0.9, 0.8, 0.7, 0.7, 0.6, 0.6 for q[0]: the slow copy is taken at the first sync
  /// (step 2, a no-op), so interpolation starts at step 4.
  @Test func lookaheadTransMILVariantInitialisesLazily() {
    let p = Tensor(shape: [2], data: [1, -2], requiresGrad: true)
    let lookahead = Lookahead(
      SGD(parameters: [p], learningRate: 0.1), parameters: [p], k: 2, variant: .transMIL)
    for (i, e) in [Float](arrayLiteral: 0.9, 0.8, 0.7, 0.7, 0.6, 0.6).enumerated() {
      p.grad = Tensor(shape: [2], data: [1, -1])
      lookahead.step()
      #expect(Self.close(p.data, [e, -e - 1]), "step \(i + 1): \(p.data)")
    }
  }

  @Test func lookaheadDefaultsAndForwardsLearningRate() {
    // Defaults α = 0.5, k = 6: nothing syncs for 5 steps; at step 6 fast = 1 − 6·0.1 = 0.4 and
    // p = 1 + 0.5·(0.4 − 1) = 0.7. Setting the rate on the wrapper sets it on the inner SGD.
    let p = Tensor(shape: [1], data: [1], requiresGrad: true)
    let sgd = SGD(parameters: [p], learningRate: 1)
    let lookahead = Lookahead(sgd, parameters: [p])
    #expect(lookahead.alpha == 0.5 && lookahead.k == 6)
    lookahead.learningRate = 0.1
    #expect(sgd.learningRate == 0.1)
    for step in 1...6 {
      p.grad = Tensor(shape: [1], data: [1])
      lookahead.step()
      if step == 5 { expectClose(Double(p.data[0]), 0.5, rtol: 0, atol: 1e-6) }
    }
    expectClose(Double(p.data[0]), 0.7, rtol: 0, atol: 1e-6)
  }

  /// Lookahead(RAdam), TransMIL's optimiser, on least squares `min_w mean((Xw − y)²)`.
  @Test func lookaheadRAdamLossFalls() {
    var g = RandomGenerator(seed: 0)
    let x = Tensor.randomNormal([64, 3], using: &g)
    let trueW = Tensor(shape: [3, 1], data: [1.5, -2, 0.5])
    let y = x.matmul(trueW)
    let w = Tensor.zeros([3, 1], requiresGrad: true)
    let optimizer = Lookahead(
      RAdam(parameters: [w], learningRate: 0.1, variant: .transMIL), parameters: [w])
    var losses: [Float] = []
    for _ in 0..<400 {
      w.zeroGrad()
      let loss = (x.matmul(w) - y).squared().mean()
      loss.backward()
      optimizer.step()
      losses.append(loss.item)
    }
    let first = losses.first ?? 0, last = losses.last ?? .infinity
    #expect(last < 0.01 * first, "loss \(first) → \(last)")
  }

  // MARK: Momentum update and clipping

  @Test func momentumUpdateAndCopy() {
    // t = 0.99·[1, 2] + 0.01·[3, −2] = [1.02, 1.96]; s is untouched.
    let target = Tensor(shape: [2], data: [1, 2])
    let source = Tensor(shape: [2], data: [3, -2], requiresGrad: true)
    MomentumUpdate.update(target: [target], source: [source], momentum: 0.99)
    #expect(Self.close(target.data, [1.02, 1.96]) && source.data == [3, -2])
    #expect(target.grad == nil && !target.requiresGrad)
    // m = 0 copies, m = 1 keeps.
    MomentumUpdate.update(target: [target], source: [source], momentum: 1)
    #expect(Self.close(target.data, [1.02, 1.96]))
    MomentumUpdate.copy(from: [source], to: [target])
    #expect(target.data == [3, -2])
  }

  @Test func momentumUpdateRejectsMismatchedShapes() async {
    await #expect(processExitsWith: .failure) {
      MomentumUpdate.update(
        target: [Tensor.zeros([2, 3])], source: [Tensor.zeros([3, 2])], momentum: 0.9)
    }
    await #expect(processExitsWith: .failure) {
      MomentumUpdate.copy(from: [Tensor.zeros([2])], to: [])
    }
  }

  @Test func clipNormAsTorch() {
    // Gradients [3, 4] and [12]: total = √(9 + 16 + 144) = 13. maxNorm 6.5: c = 6.5/(13 + 1e-6)
    // ≈ 0.5 → [1.5, 2] and [6]. A parameter without a gradient is skipped.
    let a = Tensor(shape: [2], data: [0, 0], requiresGrad: true)
    let b = Tensor(shape: [1, 1], data: [0], requiresGrad: true)
    let c = Tensor(shape: [1], data: [0], requiresGrad: true)
    a.grad = Tensor(shape: [2], data: [3, 4])
    b.grad = Tensor(shape: [1, 1], data: [12])
    let total = GradientClipping.clipNorm([a, b, c], maxNorm: 6.5)
    expectClose(Double(total), 13, rtol: 0, atol: 1e-6)
    #expect(Self.close(a.grad?.data ?? [], [1.5, 2]) && Self.close(b.grad?.data ?? [], [6]))
    #expect(c.grad == nil)
    // Now the total is 6.5 ≤ 20: nothing changes, the norm is still returned.
    let again = GradientClipping.clipNorm([a, b, c], maxNorm: 20)
    expectClose(Double(again), 6.5, rtol: 0, atol: 1e-5)
    #expect(Self.close(a.grad?.data ?? [], [1.5, 2]))
  }
}

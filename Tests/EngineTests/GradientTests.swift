import Engine
import Glibc
import Testing
import _TestSupport

/// Random inputs of `shape` requiring gradients, fixed by `seed`.
func input(_ shape: [Int], seed: UInt64, range: ClosedRange<Float> = -1.5...1.5) -> Tensor {
  var g = RandomGenerator(seed: seed)
  return Tensor.randomUniform(shape, in: range, using: &g, requiresGrad: true)
}

/// Every primitive against central finite differences.
@Suite struct GradientCheckTests {
  let tolerance: Float = 2e-2

  func check(_ name: String, _ inputs: [Tensor], _ f: ([Tensor]) -> Tensor) {
    let error = GradientCheck.maxRelativeError(of: f, at: inputs)
    #expect(error < tolerance, "\(name): max relative error \(error)")
  }

  @Test func arithmeticWithBroadcasting() {
    check("add", [input([2, 3], seed: 1), input([3], seed: 2)]) { $0[0] + $0[1] }
    check("sub", [input([2, 1, 3], seed: 3), input([4, 1], seed: 4)]) { $0[0] - $0[1] }
    check("mul", [input([2, 3], seed: 5), input([2, 1], seed: 6)]) { $0[0] * $0[1] }
    check("div", [input([3, 2], seed: 7), input([2], seed: 8, range: 0.5...2)]) { $0[0] / $0[1] }
    check("scalar", [input([4], seed: 9)]) { 2 * $0[0] - 1 }
    check("neg", [input([4], seed: 10)]) { -$0[0] }
  }

  @Test func unaryFunctions() {
    check("exp", [input([5], seed: 11)]) { $0[0].exp() }
    check("log", [input([5], seed: 12, range: 0.3...3)]) { $0[0].log() }
    check("sqrt", [input([5], seed: 13, range: 0.3...3)]) { $0[0].sqrt() }
    check("squared", [input([5], seed: 14)]) { $0[0].squared() }
    check("tanh", [input([5], seed: 15)]) { $0[0].tanh() }
    check("sigmoid", [input([5], seed: 16, range: -4...4)]) { $0[0].sigmoid() }
    check("gelu", [input([6], seed: 17, range: -3...3)]) { $0[0].gelu() }
    // ReLU away from its kink at 0.
    let x = Tensor(shape: [4], data: [-1.2, -0.4, 0.5, 1.7], requiresGrad: true)
    check("relu", [x]) { $0[0].relu() }
  }

  @Test func shapeOperations() {
    check("reshape", [input([2, 6], seed: 21)]) { $0[0].reshaped([3, -1]) * $0[0].reshaped([3, 4]) }
    check("permute", [input([2, 3, 4], seed: 22)]) { $0[0].permuted([2, 0, 1]) }
    check("transpose", [input([3, 5], seed: 23)]) { $0[0].transposed() }
  }

  @Test func reductions() {
    let x = input([3, 4, 2], seed: 31)
    check("sum all", [x]) { $0[0].sum() }
    check("sum axis", [x]) { $0[0].sum(axes: [1]) }
    check("sum keep", [x]) { $0[0].sum(axes: [0, 2], keepDims: true) }
    check("mean", [x]) { $0[0].mean(axes: [-1]) }
    check("variance", [x]) { $0[0].variance(axes: [1]) }
    check("max", [x]) { $0[0].max(axis: 1) }
    check("logsumexp", [x]) { $0[0].logSumExp(axis: 1) }
  }

  @Test func matrixProducts() {
    check("matmul", [input([3, 4], seed: 41), input([4, 2], seed: 42)]) { $0[0].matmul($0[1]) }
    check("batched", [input([2, 3, 4], seed: 43), input([2, 4, 5], seed: 44)]) { $0[0].matmul($0[1]) }
    check("shared rhs", [input([2, 3, 4], seed: 45), input([4, 2], seed: 46)]) { $0[0].matmul($0[1]) }
    // Transposed operands (passed to the GEMM as flags), batched, shared and plain.
    for (ta, tb) in [(false, true), (true, false), (true, true)] {
      let a = input(ta ? [2, 4, 3] : [2, 3, 4], seed: 47), b = input(tb ? [2, 5, 4] : [2, 4, 5], seed: 48)
      check("batched \(ta) \(tb)", [a, b]) { $0[0].matmul($0[1], transposeSelf: ta, transposeOther: tb) }
      let shared = input(tb ? [5, 4] : [4, 5], seed: 49)
      check("shared \(ta) \(tb)", [a, shared]) { $0[0].matmul($0[1], transposeSelf: ta, transposeOther: tb) }
    }
  }

  @Test func linearAndNormalisation() {
    let x = input([2, 3, 4], seed: 141), w = input([5, 4], seed: 142), b = input([5], seed: 143)
    check("linear", [x, w, b]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
    check("linear, no bias", [x, w]) { $0[0].linear(weight: $0[1], bias: nil) }
    let gamma = input([4], seed: 144, range: 0.5...1.5), beta = input([4], seed: 145)
    check("layer norm", [x, gamma, beta]) { $0[0].layerNormalized(weight: $0[1], bias: $0[2], epsilon: 1e-5) }
    // Batch norm in training mode (batch statistics) over [n, c, h, w] and [n, c].
    let image = input([3, 4, 2, 3], seed: 146)
    check("batch norm 2d", [image, gamma, beta]) {
      $0[0].batchNormalized(weight: $0[1], bias: $0[2], epsilon: 1e-5).output
    }
    check("batch norm 1d, affine false", [input([5, 4], seed: 147)]) {
      $0[0].batchNormalized(weight: nil, bias: nil, epsilon: 1e-5).output
    }
    let running = (mean: [Float](repeating: 0.2, count: 4), variance: [Float](repeating: 1.5, count: 4))
    check("batch norm, given statistics", [image, gamma, beta]) {
      $0[0].batchNormalized(weight: $0[1], bias: $0[2], statistics: running, epsilon: 1e-5).output
    }
  }

  @Test func normalisationByHand() {
    // Channel 0 holds 1, 3 (mean 2, variance 1); channel 1 holds 2, 2 (variance 0).
    let x = Tensor(shape: [2, 2], data: [1, 2, 3, 2])
    let (y, mean, variance) = x.batchNormalized(weight: nil, bias: nil, epsilon: 0)
    #expect(mean == [2, 2] && variance == [1, 0])
    #expect(y.data[0] == -1 && y.data[2] == 1)
    let row = Tensor(shape: [1, 4], data: [1, 2, 3, 4])  // mean 2.5, variance 1.25
    let ln = row.layerNormalized(weight: Tensor.ones([4]), bias: Tensor.zeros([4]), epsilon: 0)
    let expected = [-1.5, -0.5, 0.5, 1.5].map { Float($0 / 1.25.squareRoot()) }
    for (a, b) in zip(ln.data, expected) { expectClose(Double(a), Double(b), rtol: 0, atol: 1e-6) }
  }

  @Test func composites() {
    let x = input([3, 5], seed: 51, range: -3...3)
    check("logSoftmax", [x]) { $0[0].logSoftmax() }
    check("softmax", [x]) { $0[0].softmax(axis: 0) }
    check("l2Normalized", [x]) { $0[0].l2Normalized() }
    check("crossEntropy", [x]) { Loss.crossEntropy(logits: $0[0], labels: [0, 4, 2], labelSmoothing: 0.1) }
  }
}

@Suite struct TensorValueTests {
  @Test func broadcastingValues() {
    let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [3], data: [10, 20, 30])
    #expect((a + b).data == [11, 22, 33, 14, 25, 36])
    let c = Tensor(shape: [2, 1], data: [2, 3])
    #expect((a * c).data == [2, 4, 6, 12, 15, 18])
    #expect((a - 1).data == [0, 1, 2, 3, 4, 5])
  }

  @Test func matmulByHand() {
    // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
    let a = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
    let b = Tensor(shape: [2, 2], data: [5, 6, 7, 8])
    #expect(a.matmul(b).data == [19, 22, 43, 50])
    #expect(a.transposed().data == [1, 3, 2, 4])
  }

  @Test func reductionsByHand() {
    let x = Tensor(shape: [2, 3], data: [1, 5, 3, 4, 2, 6])
    #expect(x.sum(axes: [0]).data == [5, 7, 9])
    #expect(x.sum(axes: [1], keepDims: true).shape == [2, 1])
    #expect(x.mean().item == 3.5)
    #expect(x.max(axis: 1).data == [5, 6])
    #expect(x.argmax(axis: 1) == [1, 2])
    // Sample variance of (1, 5, 3): mean 3, Σ(x−3)² = 8, / 2 = 4.
    #expect(x.variance(axes: [1]).data[0] == 4)
  }

  @Test func numericallyStableSoftmax() {
    let big = Tensor(shape: [1, 2], data: [1000, 1000])
    #expect(big.softmax().data == [0.5, 0.5])
    expectClose(Double(big.logSumExp(axis: 1).item), Double(1000 + Float(0.6931472)), rtol: 0, atol: 1e-3)
    let tiny = Tensor(shape: [1, 3], data: [-1000, 0, -1000])
    let p = tiny.softmax().data
    #expect(p[1] == 1 && p[0] == 0)
    // Normalising a zero vector gives zeros, not NaN.
    #expect(Tensor.zeros([1, 3]).l2Normalized().data == [0, 0, 0])
  }

  @Test func crossEntropyByHand() {
    // logits (0, ln 3): p = (1/4, 3/4); −log p₁ = log(4/3).
    let logits = Tensor(shape: [1, 2], data: [0, logf(3)])
    expectClose(Double(Loss.crossEntropy(logits: logits, labels: [1]).item), Double(logf(4.0 / 3)), rtol: 0, atol: 1e-6)
    // Smoothing 0.2 over 2 classes: target (0.1, 0.9) → −(0.1 log ¼ + 0.9 log ¾).
    let smoothed = Loss.crossEntropy(logits: logits, labels: [1], labelSmoothing: 0.2).item
    expectClose(Double(smoothed), Double(-(0.1 * logf(0.25) + 0.9 * logf(0.75))), rtol: 0, atol: 1e-6)
  }

  @Test func gradientsAccumulateAndWithoutGradRecordsNothing() {
    let w = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
    (w * 3).sum().backward()
    (w * w).sum().backward()
    // d/dw (3w) = 3; d/dw w² = 2w → (3 + 2, 3 + 4).
    #expect(w.grad?.data == [5, 7])
    w.zeroGrad()
    #expect(w.grad == nil)
    let y = Tensor.withoutGrad { w * 2 }
    #expect(!y.requiresGrad)
    // A tensor used twice in one graph gets both contributions: d/dw (w·w) with w used twice.
    let z = (w * w).sum()
    z.backward()
    #expect(w.grad?.data == [2, 4])
  }

  @Test func sameSeedSameBits() {
    func step(seed: UInt64) -> [Float] {
      var g = RandomGenerator(seed: seed)
      let x = Tensor.randomNormal([8, 16], using: &g)
      let w = Tensor.randomNormal([16, 4], using: &g, requiresGrad: true)
      Loss.crossEntropy(logits: x.matmul(w), labels: [0, 1, 2, 3, 0, 1, 2, 3]).backward()
      return w.grad?.data ?? []
    }
    #expect(step(seed: 3) == step(seed: 3))
    #expect(step(seed: 3) != step(seed: 4))
  }
}

@Suite struct IndexingTests {
  @Test func gradients() {
    let tol: Float = 2e-2
    let a = input([2, 3], seed: 61), b = input([2, 2], seed: 62)
    #expect(GradientCheck.maxRelativeError(of: { Tensor.concatenate([$0[0], $0[1]], axis: 1) }, at: [a, b]) < tol)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].narrowed(axis: 1, start: 1, length: 2) }, at: [a]) < tol)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].indexSelect(axis: 0, [1, 0, 1]) }, at: [a]) < tol)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].padded([(1, 0), (2, 1)]) }, at: [a]) < tol)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].topK(2).values }, at: [a]) < tol)
    #expect(
      GradientCheck.maxRelativeError(
        of: { Tensor.scatterAdd($0[0], axis: 0, indices: [2, 0], into: [3, 2]) }, at: [b]) < tol)
    #expect(
      GradientCheck.maxRelativeError(
        of: { Tensor.select([true, false, true, false, true, false], $0[0], $0[0] * 3) }, at: [a]) < tol)
  }

  @Test func valuesByHand() {
    let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
    #expect(Tensor.concatenate([x, x], axis: 0).shape == [4, 3])
    #expect(Tensor.concatenate([x, Tensor(shape: [2, 1], data: [7, 8])], axis: 1).data == [1, 2, 3, 7, 4, 5, 6, 8])
    #expect(x.narrowed(axis: 1, start: 1, length: 2).data == [2, 3, 5, 6])
    #expect(x.split([1, 2], axis: 1).map(\.data) == [[1, 4], [2, 3, 5, 6]])
    #expect(x.indexSelect(axis: 1, [2, 2, 0]).data == [3, 3, 1, 6, 6, 4])
    #expect(x.padded([(0, 0), (1, 1)]).data == [0, 1, 2, 3, 0, 0, 4, 5, 6, 0])
    let top = Tensor(shape: [1, 4], data: [3, 9, 1, 9]).topK(3)
    #expect(top.values.data == [9, 9, 3] && top.indices == [[1, 3, 0]])
    #expect(Tensor.scatterAdd(Tensor(shape: [3], data: [1, 2, 3]), axis: 0, indices: [0, 0, 2], into: [3]).data == [3, 0, 3])
  }

  @Test func dropoutScalesAndIsSeeded() {
    var g1 = RandomGenerator(seed: 1), g2 = RandomGenerator(seed: 1)
    let x = Tensor.ones([10_000])
    let a = x.dropout(0.25, using: &g1), b = x.dropout(0.25, using: &g2)
    #expect(a.data == b.data)
    let kept = a.data.filter { $0 != 0 }
    #expect(kept.allSatisfy { abs($0 - 4.0 / 3) < 1e-6 })
    expectClose(Double(Float(kept.count) / 10_000), 0.75, rtol: 0, atol: 0.02)
  }
}

@Suite struct ConvolutionTests {
  let tol: Float = 2e-2

  @Test func convolutionGradients() {
    let x = input([2, 4, 6, 5], seed: 71), w = input([6, 2, 3, 3], seed: 72), b = input([6], seed: 73)
    let e = GradientCheck.maxRelativeError(
      of: { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 2), dilation: (1, 2), groups: 2) },
      at: [x, w, b])
    #expect(e < tol, "conv2d: \(e)")
    let dw = input([4, 1, 3, 3], seed: 74)
    let depthwise = GradientCheck.maxRelativeError(
      of: { $0[0].conv2d(weight: $0[1], padding: (1, 1), groups: 4) }, at: [x, dw])
    #expect(depthwise < tol, "depthwise: \(depthwise)")
    let strided = GradientCheck.maxRelativeError(
      of: { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: (2, 2), padding: (2, 1), dilation: (2, 1), groups: 4) },
      at: [x, dw, input([4], seed: 77)])
    #expect(strided < tol, "depthwise, strided and dilated: \(strided)")
    // Many images: the dense path folds several images into one GEMM.
    let batch = input([5, 3, 4, 4], seed: 78), w3 = input([2, 3, 3, 3], seed: 79)
    let dense = GradientCheck.maxRelativeError(of: { $0[0].conv2d(weight: $0[1], padding: (1, 1)) }, at: [batch, w3])
    #expect(dense < tol, "dense, 5 images: \(dense)")
    let pointwise = GradientCheck.maxRelativeError(
      of: { $0[0].conv2d(weight: $0[1], bias: $0[2]) }, at: [input([1, 3, 4, 4], seed: 80), input([2, 3, 1, 1], seed: 81), input([2], seed: 82)])
    #expect(pointwise < tol, "1×1: \(pointwise)")
    let seq = input([1, 3, 9], seed: 75), k = input([3, 1, 5], seed: 76)
    let c1 = GradientCheck.maxRelativeError(of: { $0[0].conv1d(weight: $0[1], padding: 2, groups: 3) }, at: [seq, k])
    #expect(c1 < tol, "conv1d: \(c1)")
  }

  @Test func poolingGradients() {
    let x = input([1, 2, 5, 5], seed: 81)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].maxPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }, at: [x]) < tol)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].avgPool2d(kernel: (2, 2)) }, at: [x]) < tol)
    #expect(GradientCheck.maxRelativeError(of: { $0[0].globalAveragePool2d() }, at: [x]) < tol)
  }

  @Test func convolutionByHand() {
    // 1×1×3×3 input 1…9, 2×2 kernel of ones, no padding: window sums 12 16 24 28.
    let x = Tensor(shape: [1, 1, 3, 3], data: (1...9).map(Float.init))
    let w = Tensor.ones([1, 1, 2, 2])
    #expect(x.conv2d(weight: w).data == [12, 16, 24, 28])
    // Padding 1, stride 2: windows at (−1,−1), (−1,1), (1,−1), (1,1) → 1, 2+3, 4+7, 5+6+8+9.
    #expect(x.conv2d(weight: w, stride: (2, 2), padding: (1, 1)).data == [1, 5, 11, 28])
    #expect(x.maxPool2d(kernel: (2, 2), stride: (1, 1)).data == [5, 6, 8, 9])
    #expect(x.avgPool2d(kernel: (3, 3)).data == [5])
  }
}

/// The autograd graph must not keep itself alive: after the last reference to a result goes, every
/// intermediate is freed (a closure capturing its own output would be a reference cycle).
@Suite struct GraphLifetimeTests {
  @Test func intermediatesAreFreedAfterBackward() {
    weak var weakExp: Tensor?
    weak var weakQuotient: Tensor?
    weak var weakRelu: Tensor?
    do {
      let x = Tensor(shape: [3], data: [0.5, -1, 2], requiresGrad: true)
      let e = x.exp(), q = e / (x * x + 1), r = q.relu()
      weakExp = e
      weakQuotient = q
      weakRelu = r
      r.sum().backward()
      #expect(x.grad != nil)
    }
    #expect(weakExp == nil && weakQuotient == nil && weakRelu == nil)
  }
}

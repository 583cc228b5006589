import Engine
import NN
import Testing
import _TestSupport

@Suite struct NormalizationTests {
  @Test func batchNormTrainingGradientsAndStatistics() {
    var g = RandomGenerator(seed: 5)
    let bn = BatchNorm(features: 3)
    bn.weight?.update { $0 = [1.5, 0.5, -1] }
    bn.bias?.update { $0 = [0.1, -0.2, 0.3] }
    let x = Tensor.randomNormal([4, 3, 2, 2], mean: 1, standardDeviation: 2, using: &g, requiresGrad: true)
    let params = [x] + [bn.weight, bn.bias].compactMap { $0 }
    let e = GradientCheck.maxRelativeError(of: { _ in bn(x) }, at: params, epsilon: 1e-2)
    #expect(e < 3e-2, "batch norm: \(e)")
    // Output per channel has mean β and (biased) standard deviation |γ| (to ε).
    let fresh = BatchNorm(features: 3, affine: false)
    let y = fresh(x)
    for c in 0..<3 {
      var vals: [Float] = []
      for n in 0..<4 { for i in 0..<4 { vals.append(y.data[(n * 3 + c) * 4 + i]) } }
      let mean: Float = vals.reduce(0, +) / 16
      var ss: Float = 0
      for v in vals { ss += (v - mean) * (v - mean) }
      #expect(abs(mean) < 1e-5)
      expectClose(Double(ss / 16), 1, rtol: 0, atol: 1e-3)
    }
    #expect(fresh.numBatchesTracked.item == 1)
    #expect(fresh.namedParameters.map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
    // Eval mode uses the running statistics: after one batch, 0.9·0 + 0.1·μ.
    fresh.isTraining = false
    var sum0: Float = 0
    for n in 0..<4 { for i in 0..<4 { sum0 += x.data[(n * 3) * 4 + i] } }
    let mean0 = sum0 / 16
    expectClose(Double(fresh.runningMean.data[0]), Double(0.1 * mean0), rtol: 0, atol: 1e-5)
  }

  /// Precise-BN refit: the running statistics become the plain average of the batches' means and
  /// unbiased variances (worked out here in Double from the data), whatever they were before;
  /// momentum, mode and splits come back; no weight moves.
  @Test func refitStatisticsAveragesTheBatches() {
    var g = RandomGenerator(seed: 9)
    let bn = BatchNorm(features: 2)
    bn.splits = 2
    bn.isTraining = false
    bn.runningMean.update { $0 = [5, -5] }
    let batches = (0..<3).map { b in Tensor.randomNormal([4, 2, 3, 3], mean: Float(b), standardDeviation: Float(b + 1), using: &g) }
    BatchNorm.refitStatistics([bn], batches: 3) { i in _ = bn(batches[i]) }
    for c in 0..<2 {
      var means: [Double] = [], variances: [Double] = []
      for x in batches {
        var v: [Double] = []
        for n in 0..<4 { for i in 0..<9 { v.append(Double(x.data[(n * 2 + c) * 9 + i])) } }
        let m = v.reduce(0, +) / Double(v.count)
        means.append(m)
        variances.append(v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1))
      }
      expectClose(Double(bn.runningMean.data[c]), means.reduce(0, +) / 3, rtol: 1e-5, atol: 1e-6)
      expectClose(Double(bn.runningVar.data[c]), variances.reduce(0, +) / 3, rtol: 1e-5)
    }
    #expect(bn.momentum == 0.1 && !bn.isTraining && bn.splits == 2)
    #expect(bn.weight?.data == [1, 1] && bn.bias?.data == [0, 0])
  }

  @Test func layerNormGradientAndValues() {
    var g = RandomGenerator(seed: 6)
    let ln = LayerNorm(features: 5)
    ln.weight.update { $0 = [1, 2, 0.5, -1, 1.5] }
    let x = Tensor.randomNormal([3, 5], using: &g, requiresGrad: true)
    let e = GradientCheck.maxRelativeError(of: { _ in ln(x) }, at: [x, ln.weight, ln.bias])
    #expect(e < 3e-2, "layer norm: \(e)")
    let y = LayerNorm(features: 4)(Tensor(shape: [1, 4], data: [1, 2, 3, 4]))
    // mean 2.5, biased variance 1.25 → (x − 2.5)/√1.25.
    expectClose(Double(y.data[0]), Double(-1.5 / Float(1.25).squareRoot()), rtol: 0, atol: 1e-4)
  }

  @Test func conv2dLayerNamesAndShapes() {
    var g = RandomGenerator(seed: 7)
    let conv = Conv2d(inputChannels: 4, outputChannels: 8, kernelSize: (3, 3), padding: (1, 1), groups: 2, bias: false, using: &g)
    #expect(conv.namedParameters.map(\.name) == ["weight"])
    #expect(conv.weight.shape == [8, 2, 3, 3])
    #expect(conv(Tensor.zeros([2, 4, 6, 6])).shape == [2, 8, 6, 6])
    // fan_in = 2·3·3 = 18 → bound 1/√18.
    #expect(conv.weight.data.allSatisfy { abs($0) <= 1 / Float(18).squareRoot() })
  }
}

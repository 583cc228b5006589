import Engine
import Foundation
import NN
import Testing
import _TestSupport

@Suite struct NystromAttentionTests {
  /// Forward and backward against the official nystrom-attention 0.0.14 on the same weights and
  /// input (fixture made by Fixtures/make_nystrom_fixture.py; versions in nystrom_fixture.json).
  @Test func matchesTheOfficialImplementation() throws {
    var g = RandomGenerator(seed: 0)
    let layer = NystromAttention(dimension: 64, headSize: 8, heads: 8, landmarks: 16, using: &g)
    try SelfAttentionGolden.check(layer, resource: "nystrom_small", forwardTolerance: 1e-4, gradientTolerance: 1e-3)
  }

  @Test func gradientCheckOnASmallConfiguration() {
    var g = RandomGenerator(seed: 1)
    let layer = NystromAttention(dimension: 8, headSize: 4, heads: 2, landmarks: 4, residualKernel: 3, using: &g)
    let x = Tensor.randomNormal([1, 10, 8], using: &g, requiresGrad: true)
    var dropoutRNG = RandomGenerator(seed: 2)
    let e = GradientCheck.maxRelativeError(of: { _ in layer(x, using: &dropoutRNG) }, at: [x] + layer.parameters)
    #expect(e < 5e-2, "nystrom attention: \(e)")
  }

  /// The iterative pseudo-inverse of a well-conditioned row-stochastic matrix approaches the inverse.
  @Test func pseudoInverseConverges() {
    let a = Tensor(shape: [1, 2, 2], data: [0.7, 0.3, 0.2, 0.8])
    let z = NystromAttention.moorePenroseInverse(a, iterations: 12)
    let product = a.matmul(z).data
    for (v, e) in zip(product, [Float(1), 0, 0, 1]) { expectClose(Double(v), Double(e), rtol: 0, atol: 1e-4) }
  }

  /// v0.0.9 kept the first n rows of the front-padded output (a known bug); v0.0.10 the last n.
  @Test func legacyOutputSliceKeepsTheFrontRows() {
    var g = RandomGenerator(seed: 3)
    let layer = NystromAttention(dimension: 8, headSize: 4, heads: 2, landmarks: 4, residualKernel: 3, using: &g)
    let x = Tensor.randomNormal([1, 6, 8], using: &g)
    var r = RandomGenerator(seed: 4)
    let current = layer(x, using: &r)
    layer.legacyOutputSlice = true
    let legacy = layer(x, using: &r)
    // 6 tokens pad to 8: current rows are padded rows 2…7, legacy rows 0…5; rows 2…5 coincide.
    for i in 0..<(4 * 8) { expectClose(Double(legacy.data[2 * 8 + i]), Double(current.data[i]), rtol: 0, atol: 1e-6) }
  }

  /// `exact: true` is full softmax attention with the layer's own weights: for one head, computed
  /// here by hand from `to_qkv` and `to_out`; no padding, so the output depends on no landmark
  /// count; and autograd agrees with central differences.
  @Test func exactAttentionIsSoftmaxAttentionWithTheSameWeights() {
    var g = RandomGenerator(seed: 4)
    let layer = NystromAttention(dimension: 4, headSize: 4, heads: 1, landmarks: 2, residual: false, exact: true, using: &g)
    layer.isTraining = false
    let (n, d) = (5, 4)
    let x = Tensor.randomNormal([1, n, d], using: &g)
    let out = layer(x, using: &g).data
    let expected = SelfAttentionGolden.oneHeadByHand(
      x.data, n: n, d: d, inWeight: layer.toQKV.weight.data, inBias: nil, outWeight: layer.toOut.weight.data,
      outBias: layer.toOut.bias!.data)
    #expect(expected.count == out.count)
    for (a, b) in zip(out, expected) { expectClose(Double(a), Double(b), rtol: 0, atol: 1e-5) }
    // The landmark count plays no part.
    var g2 = RandomGenerator(seed: 4)
    let other = NystromAttention(dimension: 4, headSize: 4, heads: 1, landmarks: 3, residual: false, exact: true, using: &g2)
    other.isTraining = false
    #expect(other(x, using: &g).data == out)
    // Gradients, with two heads and the value convolution on.
    var g3 = RandomGenerator(seed: 5)
    let full = NystromAttention(dimension: 8, headSize: 4, heads: 2, landmarks: 4, residualKernel: 3, exact: true, using: &g3)
    let xs = Tensor.randomNormal([1, 7, 8], using: &g3, requiresGrad: true)
    var dropoutRNG = RandomGenerator(seed: 6)
    let e = GradientCheck.maxRelativeError(of: { _ in full(xs, using: &dropoutRNG) }, at: [xs] + full.parameters)
    #expect(e < 5e-2, "exact attention: \(e)")
  }
}

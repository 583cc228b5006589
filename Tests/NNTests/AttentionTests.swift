import Engine
import NN
import Testing
import _TestSupport

@Suite struct AttentionTests {
  @Test func gradientsThroughAttention() {
    var g = RandomGenerator(seed: 8)
    let attention = Attention(dimension: 8, heads: 2, using: &g)
    let x = Tensor.randomNormal([2, 5, 8], using: &g, requiresGrad: true)
    let e = GradientCheck.maxRelativeError(of: { _ in attention(x) }, at: [x] + attention.parameters)
    #expect(e < 3e-2, "attention: \(e)")
    #expect(attention.namedParameters.map(\.name) == ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"])
  }

  /// With identical tokens, attention is uniform, so every output token is proj(v(token)).
  @Test func identicalTokensGiveIdenticalOutputs() {
    var g = RandomGenerator(seed: 9)
    let attention = Attention(dimension: 4, heads: 1, using: &g)
    let token = Tensor.randomNormal([1, 1, 4], using: &g)
    let x = Tensor.concatenate([token, token, token], axis: 1)
    let y = attention(x).data
    for i in 0..<4 { #expect(abs(y[i] - y[4 + i]) < 1e-6 && abs(y[i] - y[8 + i]) < 1e-6) }
  }

  /// Permuting the tokens permutes the outputs (no position information inside attention).
  @Test func permutationEquivariance() {
    var g = RandomGenerator(seed: 10)
    let attention = Attention(dimension: 6, heads: 3, using: &g)
    let x = Tensor.randomNormal([1, 4, 6], using: &g)
    let order = [2, 0, 3, 1]
    let a = attention(x).indexSelect(axis: 1, order).data
    let b = attention(x.indexSelect(axis: 1, order)).data
    for (u, v) in zip(a, b) { expectClose(Double(u), Double(v), rtol: 0, atol: 1e-5) }
  }
}

import Engine
import Foundation
import NN
import Testing
import _TestSupport

@Suite struct MultiheadSelfAttentionTests {
  /// max |a − b| / max |b|.
  func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    let scale = b.map { Swift.abs($0) }.max() ?? 1
    return zip(a, b).map { Swift.abs($0 - $1) }.max().map { $0 / Swift.max(scale, 1e-12) } ?? 0
  }

  /// Forward and backward against PyTorch's nn.MultiheadAttention on the same weights and input,
  /// random biases included (fixture made by Fixtures/make_mha_fixture.py; versions in
  /// mha_fixture.json).
  @Test func matchesPyTorchMultiheadAttention() throws {
    let url = try #require(Bundle.module.url(forResource: "mha_small", withExtension: "safetensors", subdirectory: "Fixtures"))
    let entries = try SafeTensors.read(url.path).entries
    let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
    var g = RandomGenerator(seed: 0)
    let layer = MultiheadSelfAttention(dimension: 16, heads: 4, using: &g)
    let report = layer.loadStateDict(entries.filter { !$0.name.hasPrefix("grad.") && !["x", "out", "w"].contains($0.name) })
    #expect(report.isExact, "\(report)")
    let xEntry = try #require(byName["x"]), outEntry = try #require(byName["out"]), wEntry = try #require(byName["w"])
    let x = Tensor(shape: xEntry.shape, data: xEntry.values, requiresGrad: true)
    let out = layer(x, using: &g)
    #expect(out.shape == outEntry.shape)
    let forwardError = relativeError(out.data, outEntry.values)
    #expect(forwardError < 1e-5, "forward relative error \(forwardError)")
    (out * Tensor(shape: wEntry.shape, data: wEntry.values)).sum().backward()
    let pairs: [(String, Tensor)] = [("grad.x", x)] + layer.namedParameters.map { ("grad." + $0.name, $0.tensor) }
    for (name, tensor) in pairs {
      let expected = try #require(byName[name])
      let error = relativeError(tensor.grad?.data ?? [], expected.values)
      #expect(error < 1e-4, "\(name): relative error \(error)")
    }
  }

  /// One head by hand: `softmax(q kᵀ/√d) v` with q, k, v from `in_proj` and its bias, then
  /// `out_proj`; and autograd against central differences with two heads.
  @Test func oneHeadIsSoftmaxAttentionByHand() {
    var g = RandomGenerator(seed: 7)
    let (n, d) = (4, 3)
    let layer = MultiheadSelfAttention(dimension: d, heads: 1, using: &g)
    layer.isTraining = false
    layer.inProjBias.assign((0..<(3 * d)).map { Float($0) * 0.1 - 0.4 })
    let x = Tensor.randomNormal([1, n, d], using: &g)
    let out = layer(x, using: &g).data
    let (w, bias, rows) = (layer.inProjWeight.data, layer.inProjBias.data, x.data)
    func project(_ block: Int, _ i: Int) -> [Float] {
      (0..<d).map { o in (0..<d).reduce(bias[block * d + o]) { $0 + w[(block * d + o) * d + $1] * rows[i * d + $1] } }
    }
    let q = (0..<n).map { project(0, $0) }, k = (0..<n).map { project(1, $0) }, v = (0..<n).map { project(2, $0) }
    let (wo, bo) = (layer.outProjWeight.data, layer.outProjBias.data)
    for i in 0..<n {
      let logits = (0..<n).map { j in zip(q[i], k[j]).reduce(Float(0)) { $0 + $1.0 * $1.1 } / Float(d).squareRoot() }
      let top = logits.max()!
      let weights = logits.map { expf($0 - top) }
      let total = weights.reduce(0, +)
      let mixed = (0..<d).map { c in (0..<n).reduce(Float(0)) { $0 + weights[$1] / total * v[$1][c] } }
      for o in 0..<d {
        let expected = (0..<d).reduce(bo[o]) { $0 + wo[o * d + $1] * mixed[$1] }
        expectClose(Double(out[i * d + o]), Double(expected), rtol: 0, atol: 1e-5)
      }
    }
    var g2 = RandomGenerator(seed: 8)
    let two = MultiheadSelfAttention(dimension: 8, heads: 2, using: &g2)
    two.isTraining = false
    let xs = Tensor.randomNormal([2, 5, 8], using: &g2, requiresGrad: true)
    var unused = RandomGenerator(seed: 9)
    let e = GradientCheck.maxRelativeError(of: { _ in two(xs, using: &unused) }, at: [xs] + two.parameters)
    #expect(e < 5e-2, "multi-head attention: \(e)")
  }

  /// torch's `_reset_parameters`: Xavier-uniform `in_proj_weight` (bound √(6/4d)), zero biases,
  /// `out_proj.weight` within nn.Linear's `1/√d`; dropout falls on the attention weights, so in
  /// training mode each output row is still a mix of the values, and eval mode ignores it.
  @Test func initialisationAndDropoutAreTorchs() {
    var g = RandomGenerator(seed: 10)
    let d = 64
    let layer = MultiheadSelfAttention(dimension: d, heads: 8, dropout: 0.5, using: &g)
    let xavier = (6 / Float(4 * d)).squareRoot()
    #expect(layer.inProjWeight.data.allSatisfy { abs($0) <= xavier })
    #expect(layer.inProjWeight.data.map { abs($0) }.max()! > 0.9 * xavier)
    #expect(layer.inProjBias.data.allSatisfy { $0 == 0 } && layer.outProjBias.data.allSatisfy { $0 == 0 })
    #expect(layer.outProjWeight.data.allSatisfy { abs($0) <= 1 / Float(d).squareRoot() })
    #expect(layer.namedParameters.map(\.name) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
    let x = Tensor.randomNormal([1, 6, d], using: &g)
    layer.isTraining = false
    var r1 = RandomGenerator(seed: 1), r2 = RandomGenerator(seed: 2)
    #expect(layer(x, using: &r1).data == layer(x, using: &r2).data)
    layer.isTraining = true
    #expect(layer(x, using: &r1).data != layer(x, using: &r2).data)
  }
}

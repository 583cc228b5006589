import Engine
import Foundation
import NN
import Testing

/// A self-attention layer against a PyTorch fixture (`Fixtures/<resource>.safetensors`): the
/// layer's state dict under its own names, the input `x`, the output `out`, the probe weights `w`
/// of L = sum(w · out), and the gradients of L (`grad.x`, `grad.<parameter>`). Loads the weights,
/// then checks the forward pass and every gradient to the given relative tolerances
/// (max |a − b| / max |b|).
enum SelfAttentionGolden {
  static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    let scale = b.map { Swift.abs($0) }.max() ?? 1
    return zip(a, b).map { Swift.abs($0 - $1) }.max().map { $0 / Swift.max(scale, 1e-12) } ?? 0
  }

  static func check(
    _ layer: any SelfAttentionLayer, resource: String, forwardTolerance: Float, gradientTolerance: Float
  ) throws {
    let url = try #require(Bundle.module.url(forResource: resource, withExtension: "safetensors", subdirectory: "Fixtures"))
    let entries = try SafeTensors.read(url.path).entries
    let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
    let report = layer.loadStateDict(entries.filter { !$0.name.hasPrefix("grad.") && !["x", "out", "w"].contains($0.name) })
    #expect(report.isExact, "\(report)")
    let xEntry = try #require(byName["x"]), outEntry = try #require(byName["out"]), wEntry = try #require(byName["w"])
    let x = Tensor(shape: xEntry.shape, data: xEntry.values, requiresGrad: true)
    var g = RandomGenerator(seed: 0)  // no dropout in the fixtures
    let out = layer(x, using: &g)
    #expect(out.shape == outEntry.shape)
    let forwardError = relativeError(out.data, outEntry.values)
    #expect(forwardError < forwardTolerance, "forward relative error \(forwardError)")
    (out * Tensor(shape: wEntry.shape, data: wEntry.values)).sum().backward()
    let pairs: [(String, Tensor)] = [("grad.x", x)] + layer.namedParameters.map { ("grad." + $0.name, $0.tensor) }
    for (name, tensor) in pairs {
      let expected = try #require(byName[name])
      let error = relativeError(tensor.grad?.data ?? [], expected.values)
      #expect(error < gradientTolerance, "\(name): relative error \(error)")
    }
  }

  /// One head of softmax attention computed by hand, row by row: `q, k, v = x·W_inᵀ (+ b_in)`
  /// (W_in `[3d, d]`, rows q then k then v), `softmax(q kᵀ/√d) v`, then `·W_outᵀ + b_out`.
  /// `x` is `[n, d]` row-major; the result likewise.
  static func oneHeadByHand(
    _ x: [Float], n: Int, d: Int, inWeight w: [Float], inBias: [Float]?, outWeight wo: [Float], outBias bo: [Float]
  ) -> [Float] {
    func project(_ block: Int, _ i: Int) -> [Float] {
      (0..<d).map { o in (0..<d).reduce(inBias?[block * d + o] ?? 0) { $0 + w[(block * d + o) * d + $1] * x[i * d + $1] } }
    }
    let q = (0..<n).map { project(0, $0) }, k = (0..<n).map { project(1, $0) }, v = (0..<n).map { project(2, $0) }
    var out: [Float] = []
    for i in 0..<n {
      let logits = (0..<n).map { j in zip(q[i], k[j]).reduce(Float(0)) { $0 + $1.0 * $1.1 } / Float(d).squareRoot() }
      let top = logits.max()!
      let weights = logits.map { expf($0 - top) }
      let total = weights.reduce(0, +)
      let mixed = (0..<d).map { c in (0..<n).reduce(Float(0)) { $0 + weights[$1] / total * v[$1][c] } }
      out += (0..<d).map { o in (0..<d).reduce(bo[o]) { $0 + wo[o * d + $1] * mixed[$1] } }
    }
    return out
  }
}

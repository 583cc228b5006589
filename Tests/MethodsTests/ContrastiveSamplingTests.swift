import Engine
import Foundation
import Methods
import Testing
import _TestSupport

/// The sampling rules of MoCo v3's loss (OPS, SRCL, N-Sam) against hand-computed values, the
/// plain loss, and finite differences.
@Suite struct ContrastiveSamplingTests {
  /// Three unit rows e₁, e₂, [.6, .8] as queries and keys, T = 1: logits q kᵀ =
  /// [[1, 0, .6], [0, 1, .8], [.6, .8, 1]]; nearest other key: 0 → 2 (.6), 1 → 2 (.8), 2 → 1 (.8).
  let rows = Tensor(shape: [3, 2], data: [1, 0, 0, 1, 0.6, 0.8])
  let logits: [[Double]] = [[1, 0, 0.6], [0, 1, 0.8], [0.6, 0.8, 1]]

  func logSumExp(_ xs: [Double]) -> Double { log(xs.map(exp).reduce(0, +)) }

  @Test func nearestKeysByCosineWithTiesToTheLowerIndex() {
    #expect(ContrastiveLoss.nearestKeys(rows, topK: 1) == [[2], [2], [1]])
    #expect(ContrastiveLoss.nearestKeys(rows, topK: 2) == [[2, 1], [2, 0], [1, 0]])
    // Key 0 is equally far from keys 1 and 2 (cosine 0): the lower index first.
    let tie = Tensor(shape: [3, 2], data: [1, 0, 0, 1, 0, -1])
    #expect(ContrastiveLoss.nearestKeys(tie, topK: 1)[0] == [1])
    #expect(ContrastiveLoss.nearestKeys(rows, topK: 0) == [[], [], []])
  }

  @Test func srclAveragesOverTheKeyAndItsNearestKeysByHand() {
    let loss = ContrastiveLoss.mocoV3(query: rows, key: rows, temperature: 1, sampling: .srcl, topK: 1)
    let positives = [[0, 2], [1, 2], [2, 1]]
    var total = 0.0
    for i in 0..<3 {
      let lse = logSumExp(logits[i])
      total += positives[i].map { logits[i][$0] - lse }.reduce(0, +) / 2
    }
    let expected = -2 * total / 3  // × 2T
    #expect(Swift.abs(Double(loss.item) - expected) < 1e-5, "\(loss.item) vs \(expected)")
  }

  @Test func nSamDropsTheNearestKeysFromTheNegativesByHand() {
    let loss = ContrastiveLoss.mocoV3(query: rows, key: rows, temperature: 1, sampling: .nsam, topK: 1)
    let kept = [[0, 1], [0, 1], [0, 2]]  // column i stays; the nearest other key leaves
    var total = 0.0
    for i in 0..<3 { total += logits[i][i] - logSumExp(kept[i].map { logits[i][$0] }) }
    let expected = -2 * total / 3
    #expect(Swift.abs(Double(loss.item) - expected) < 1e-5, "\(loss.item) vs \(expected)")
  }

  @Test func everyRuleIsPlainMoCoV3WithoutNeighboursAndTemperatureScales() {
    var g = RandomGenerator(seed: 5)
    let q = Tensor.randomNormal([6, 4], using: &g), k = Tensor.randomNormal([6, 4], using: &g)
    let plain = ContrastiveLoss.mocoV3(query: q, key: k, temperature: 0.2).item
    for rule in ContrastiveSampling.allCases {
      #expect(ContrastiveLoss.mocoV3(query: q, key: k, temperature: 0.2, sampling: rule, topK: 0).item == plain)
    }
    #expect(ContrastiveLoss.mocoV3(query: q, key: k, temperature: 0.2, sampling: .ops, topK: 3).item == plain)
    // More positives that the query does not match make SRCL's loss differ from OPS; N-Sam's
    // softmax over fewer negatives can only lower the loss.
    let nsam = ContrastiveLoss.mocoV3(query: q, key: k, temperature: 0.2, sampling: .nsam, topK: 2).item
    #expect(nsam <= plain + 1e-6)
    // A batch of two with topK 5 moves its one other key (a short last batch must not trap).
    let two = (q.narrowed(axis: 0, start: 0, length: 2), k.narrowed(axis: 0, start: 0, length: 2))
    #expect(
      ContrastiveLoss.mocoV3(query: two.0, key: two.1, temperature: 0.2, sampling: .srcl, topK: 5).item
        == ContrastiveLoss.mocoV3(query: two.0, key: two.1, temperature: 0.2, sampling: .srcl, topK: 1).item)
  }

  @Test func gradientsMatchFiniteDifferences() {
    var g = RandomGenerator(seed: 11)
    let q = Tensor.randomUniform([5, 3], in: -1...1, using: &g, requiresGrad: true)
    let k = Tensor.randomUniform([5, 3], in: -1...1, using: &g)
    for rule in [ContrastiveSampling.srcl, .nsam] {
      let error = GradientCheck.maxRelativeError(
        of: { ContrastiveLoss.mocoV3(query: $0[0], key: k, temperature: 0.5, sampling: rule, topK: 2) }, at: [q])
      #expect(error < 2e-2, "\(rule): max relative error \(error)")
    }
  }
}

import Engine
import Foundation
import Methods
import NN
import Testing
import _TestSupport

/// PANTHER's EM against hand values and a NumPy transcription of the official formulas, K-means,
/// the 'allcat' layout, the Cox loss (hand value and finite differences) and the head.
@Suite struct PANTHERTests {
  private func close(_ a: [Float], _ b: [Double], _ tolerance: Double = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { Swift.abs(Double($0) - $1) <= tolerance }
  }

  @Test func emOneStepByHand() {
    // d = 1, prototypes m = (0, 2), V = 1, τ = 1, x = (0, 2).
    // E step from π = ½, μ = m, Σ = 1: q(x=0) = softmax(0, −2) = (σ(2), σ(−2)), q(x=2) mirrored.
    // M step: w = (1, 1), w̃ = (2, 2), π = (½, ½);
    // μ₀ = (2σ(−2) + 1·0)/2 = σ(−2); μ₁ = (2σ(2) + 1·2)/2 = σ(2) + 1;
    // Σ₀ = (4σ(−2) + (1 + 0))/2 − μ₀²; Σ₁ = (4σ(2) + (1 + 4))/2 − μ₁².
    let s2 = 1 / (1 + exp(-2.0)), sm2 = 1 - s2
    let prior = PANTHER.Prior(prototypes: [0, 2], componentCount: 2, priorVariance: 1)
    let mix = PANTHER.mapEM(features: [0, 2], prior: prior, steps: 1, tau: 1)
    #expect(close(mix.responsibilities, [s2, sm2, sm2, s2]))
    #expect(close(mix.weights, [0.5, 0.5]))
    #expect(close(mix.means, [sm2, s2 + 1]))
    let sigma0 = (4 * sm2 + 1) / 2 - sm2 * sm2
    let sigma1 = (4 * s2 + 5) / 2 - (s2 + 1) * (s2 + 1)
    #expect(close(mix.variances, [sigma0, sigma1]))
    // Symmetric data give symmetric spreads: 0.724197 both.
    #expect(Swift.abs(sigma0 - 0.724197) < 1e-6 && Swift.abs(sigma1 - sigma0) < 1e-12)
  }

  @Test func priorWeightPullsTowardsPrototypes() {
    // With a huge τ the M step returns the prior: π uniform, μ = m, Σ = V.
    let prior = PANTHER.Prior(prototypes: [0, 0, 3, 3], componentCount: 2, priorVariance: 0.5)
    let mix = PANTHER.mapEM(features: [1, 2, 5, -1, 0, 0], prior: prior, steps: 1, tau: 1e7)
    #expect(close(mix.weights, [0.5, 0.5], 1e-6))
    #expect(close(mix.means, [0, 0, 3, 3], 1e-5))
    #expect(close(mix.variances, [0.5, 0.5, 0.5, 0.5], 1e-3))
  }

  private struct EMFixture: Decodable {
    var features: [Float]
    var prototypes: [Float]
    var eps: Float
    var tau: Float
    var steps: Int
    var responsibilities: [Double]
    var weights: [Double]
    var means: [Double]
    var variances: [Double]
  }

  /// The feature scale by hand: prototypes (0, 0) and (10, 0); instances (1, 0) and (0, 2) go
  /// to the first (squared distances 1 and 4), (10, 3) to the second (9): (1 + 4 + 9) / (3 · 2).
  /// The median top responsibility is about 1/C under a variance that dwarfs the features and
  /// 1 under one at their scale.
  @Test func featureScaleAndResponsibilitySharpness() throws {
    let prototypes: [Float] = [0, 0, 10, 0]
    let slides: [[Float]] = [[1, 0, 0, 2], [10, 3]]
    expectClose(Double(PANTHER.residualVariance(slides: slides, prototypes: prototypes, dimension: 2)), 14.0 / 6, rtol: 1e-6)
    #expect(PANTHER.residualVariance(slides: [], prototypes: prototypes, dimension: 2) == 1)
    var settings = PANTHER.Settings()
    settings.emSteps = 1
    settings.tau = 1
    let wide = PANTHER.Prior(prototypes: prototypes, componentCount: 2, priorVariance: 1e6)
    let narrow = PANTHER.Prior(prototypes: prototypes, componentCount: 2, priorVariance: 1)
    let spread = try #require(PANTHER.medianTopResponsibility(slides: slides, prior: wide, settings: settings))
    let sharp = try #require(PANTHER.medianTopResponsibility(slides: slides, prior: narrow, settings: settings))
    #expect(abs(spread - 0.5) < 1e-3, "\(spread)")
    #expect(sharp > 0.999, "\(sharp)")
    #expect(PANTHER.medianTopResponsibility(slides: [], prior: narrow, settings: settings) == nil)
  }

  @Test func emMatchesNumpyReference() throws {
    // Fixtures/make_panther_em_reference.py: N = 5, d = 2, C = 2, two EM steps (so the second
    // E step uses non-uniform π and the fitted Σ).
    let url = try #require(
      Bundle.module.url(forResource: "panther_em_reference", withExtension: "json", subdirectory: "Fixtures"))
    let f = try JSONDecoder().decode(EMFixture.self, from: Data(contentsOf: url))
    let prior = PANTHER.Prior(prototypes: f.prototypes, componentCount: 2, priorVariance: f.eps)
    let mix = PANTHER.mapEM(features: f.features, prior: prior, steps: f.steps, tau: f.tau)
    #expect(close(mix.responsibilities, f.responsibilities, 1e-6))
    #expect(close(mix.weights, f.weights, 1e-6))
    #expect(close(mix.means, f.means, 1e-6))
    #expect(close(mix.variances, f.variances, 1e-6))
  }

  @Test func allcatLayoutAndDimension() {
    // C = 2, d = 3: [π₀, π₁, μ₀ (3), μ₁ (3), Σ₀ (3), Σ₁ (3)], length C + 2Cd = 14.
    let mix = PANTHER.Mixture(
      weights: [0.25, 0.75], means: [1, 2, 3, 4, 5, 6], variances: [7, 8, 9, 10, 11, 12], responsibilities: [])
    #expect(mix.allcat == [0.25, 0.75, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    var g = RandomGenerator(seed: 1)
    let x = (0..<(9 * 5)).map { _ in Float(g.nextGaussian()) }
    let prior = PANTHER.Prior(
      prototypes: (0..<(4 * 5)).map { _ in Float(g.nextGaussian()) }, componentCount: 4, priorVariance: 1)
    let embedding = PANTHER.embedding(features: x, prior: prior, settings: PANTHER.Settings())
    #expect(embedding.count == 4 + 2 * 4 * 5)
    expectClose(Double(embedding.prefix(4).reduce(0, +)), 1, rtol: 0, atol: 1e-6)
  }

  @Test func kmeansFindsSeparatedClusters() {
    // Three tight clusters around (0, 0), (10, 0), (0, 10), 20 points each.
    var g = RandomGenerator(seed: 7)
    let centres: [(Float, Float)] = [(0, 0), (10, 0), (0, 10)]
    var points: [Float] = []
    for (cx, cy) in centres {
      for _ in 0..<20 { points += [cx + Float(g.nextGaussian()) * 0.1, cy + Float(g.nextGaussian()) * 0.1] }
    }
    let fit = KMeans(clusterCount: 3).fit(points: points, dimension: 2, using: &g)
    for (cx, cy) in centres {
      let found = (0..<3).contains { c in
        Swift.abs(fit.centroids[2 * c] - cx) < 0.1 && Swift.abs(fit.centroids[2 * c + 1] - cy) < 0.1
      }
      #expect(found)
    }
    for block in 0..<3 { #expect(Set(fit.assignments[(20 * block)..<(20 * block + 20)]).count == 1) }
    #expect(Set(fit.assignments).count == 3)
    #expect(fit.objective < 60 * 2 * 0.1 * 0.1 * 3)
  }

  @Test func prototypeSampleTakesFirstPatches() {
    // Three slides (d = 1) of 4, 1 and 3 patches; total 5 → ⌈5/3⌉ = 2 per slide, stop at 5.
    let slides: [[Float]] = [[1, 2, 3, 4], [5], [6, 7, 8]]
    #expect(PANTHER.prototypeSample(slides: slides, dimension: 1, total: 5) == [1, 2, 5, 6, 7])
    #expect(PANTHER.prototypeSample(slides: slides, dimension: 1, total: 100) == [1, 2, 3, 4, 5, 6, 7, 8])
  }

  @Test func coxLossByHand() {
    // r = (0.5, −1, 2), t = (3, 1, 2), δ = (1, 1, 0). Sorted by time, longest first: r = (0.5, 2, −1),
    // δ = (1, 0, 1); loss = −[(0.5 − 0.5) + (−1 − log(e^0.5 + e^2 + e^−1))] / 2.
    let loss = Loss.coxPartialLikelihood(
      logRisks: Tensor(shape: [3], data: [0.5, -1, 2]), times: [3, 1, 2], events: [true, true, false])
    let expected = (1 + log(exp(0.5) + exp(2.0) + exp(-1.0))) / 2
    expectClose(Double(loss.item), Double(expected), rtol: 0, atol: 1e-5)
    expectClose(Double(expected), 1.6206556, rtol: 0, atol: 1e-6)
    // No events: zero.
    let none = Loss.coxPartialLikelihood(logRisks: Tensor(shape: [2], data: [1, 2]), times: [1, 2], events: [false, false])
    #expect(none.item == 0)
  }

  @Test func coxLossMatchesTorchTranscription() {
    // torch 2.13: r = [0.3, -1.2, 0.8, 2.0, -0.4, 0.1], t = [4, 9, 1, 3, 7, 5], δ = [1, 0, 1, 1, 1, 0];
    // s = argsort(-t); ll = r[s] - logcumsumexp(r[s]); -(ll·δ[s]).sum()/δ.sum() = 0.862937867641449
    let loss = Loss.coxPartialLikelihood(
      logRisks: Tensor(shape: [6], data: [0.3, -1.2, 0.8, 2.0, -0.4, 0.1]), times: [4, 9, 1, 3, 7, 5],
      events: [true, false, true, true, true, false])
    expectClose(Double(loss.item), 0.862937867641449, rtol: 0, atol: 1e-5)
  }

  @Test func coxLossGradientMatchesFiniteDifferences() {
    var g = RandomGenerator(seed: 11)
    let b = 6
    let values = (0..<b).map { _ in Float(g.nextGaussian()) }
    let times: [Double] = [5, 2, 2, 7, 1, 3]  // one tie
    let events = [true, false, true, true, false, true]
    let r = Tensor(shape: [b], data: values, requiresGrad: true)
    Loss.coxPartialLikelihood(logRisks: r, times: times, events: events).backward()
    let analytic = r.grad?.data ?? []
    let h: Float = 1e-2
    for i in 0..<b {
      var up = values, down = values
      up[i] += h
      down[i] -= h
      let lu = Loss.coxPartialLikelihood(logRisks: Tensor(shape: [b], data: up), times: times, events: events).item
      let ld = Loss.coxPartialLikelihood(logRisks: Tensor(shape: [b], data: down), times: times, events: events).item
      let numeric = (lu - ld) / (2 * h)
      expectClose(Double(numeric), Double(analytic[i]), rtol: 0, atol: 2e-3, "component \(i): \(numeric) vs \(analytic[i])")
    }
  }

  @Test func learningRateFollowsTransformersWarmupCosine() {
    // Warm-up of 2 steps out of 10: 0, ½, then ½(1 + cos(π (s − 2)/8)).
    let lr = (0..<10).map { PANTHER.learningRate(step: $0, total: 10, warmup: 2, base: 1) }
    #expect(lr[0] == 0 && Swift.abs(lr[1] - 0.5) < 1e-7 && Swift.abs(lr[2] - 1) < 1e-7)
    expectClose(Double(lr[6]), 0.5, rtol: 0, atol: 1e-6)
  }

  @Test func headLearnsSeparableClassesAndRisk() {
    // Embeddings x = (±1 + noise, 1): class = sign; risk ∝ −time on a 1-D embedding.
    var g = RandomGenerator(seed: 5)
    var settings = PANTHER.Settings()
    settings.learningRate = 0.1
    settings.batchSize = 8
    settings.epochs = 30
    let labels = (0..<20).map { $0 % 2 }
    let embeddings = labels.map { [Float($0 == 1 ? 1 : -1) + Float(g.nextGaussian()) * 0.2, 1] }
    let head = PANTHER.trainHead(
      embeddings: embeddings, objective: .classification(labels: labels, classes: 2), settings: settings, using: &g)
    #expect(head.bias == nil && head.weight.shape == [2, 2])
    let logits = PANTHER.predict(head: head, embeddings: embeddings)
    #expect(zip(logits, labels).allSatisfy { ($0[1] > $0[0] ? 1 : 0) == $1 })

    let times = (0..<20).map { Double($0) + 1 }
    let survivalEmbeddings = times.map { [Float(-$0 / 10)] }
    let events = times.map { Int($0) % 3 != 0 }
    let coxHead = PANTHER.trainHead(
      embeddings: survivalEmbeddings, objective: .survival(times: times, events: events), settings: settings,
      using: &g)
    #expect(coxHead.weight.data[0] > 0)  // higher risk for shorter survival
  }
}

import Engine
import Evaluation
import Testing
import _TestSupport

@Suite struct LinearProbeTests {
  /// Three Gaussian clusters in 5-D: linearly separable, so the probe must be (nearly) perfect.
  @Test func separatesSeparableClusters() {
    var g = RandomGenerator(seed: 1)
    let d = 5, c = 3, n = 300
    var x: [Float] = [], y: [Int] = []
    for i in 0..<n {
      let label = i % c
      y.append(label)
      for j in 0..<d { x.append(Float(g.nextGaussian() * 0.3) + (j == label ? 3 : 0)) }
    }
    var options = LinearProbe.Options()
    options.iterations = 200
    let probe = LinearProbe.fit(features: x, labels: y, featureCount: d, classCount: c, options: options)
    #expect(LinearProbe.accuracy(probe.predict(x), y) > 0.98)
  }

  /// Labels independent of the features: held-out accuracy stays near chance.
  @Test func noSignalMeansChance() {
    var g = RandomGenerator(seed: 2)
    let d = 20, c = 4
    let train = (0..<400 * d).map { _ in Float(g.nextGaussian()) }
    let trainY = (0..<400).map { _ in g.nextInt(below: c) }
    let test = (0..<400 * d).map { _ in Float(g.nextGaussian()) }
    let testY = (0..<400).map { _ in g.nextInt(below: c) }
    let probe = LinearProbe.fit(features: train, labels: trainY, featureCount: d, classCount: c)
    expectClose(Double(LinearProbe.accuracy(probe.predict(test), testY)), 0.25, rtol: 0, atol: 0.08)
  }

  @Test func deterministic() {
    let x: [Float] = (0..<60).map { Float($0 % 7) - Float($0 % 3) }
    let y = (0..<20).map { $0 % 2 }
    let a = LinearProbe.fit(features: x, labels: y, featureCount: 3, classCount: 2)
    let b = LinearProbe.fit(features: x, labels: y, featureCount: 3, classCount: 2)
    #expect(a.weights == b.weights && a.lambda == b.lambda)
  }
}

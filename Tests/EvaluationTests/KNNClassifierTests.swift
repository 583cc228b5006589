import Engine
import Evaluation
import Foundation
import Testing
import _TestSupport

@Suite struct KNNClassifierTests {
  private func features(_ rows: [[Float]]) -> Tensor {
    Tensor(shape: [rows.count, rows.first?.count ?? 0], data: rows.flatMap { $0 })
  }

  @Test func handComputedVoteAndTemperature() {
    // Train (1,0)→0, (0,1)→1, (1,1)→1; test q = (1, 0.1).
    // Cosines: 0.99504, 0.09950, 0.77399.
    // T = 0.1, k = 3: class 0 e^9.9504 ≈ 20952; class 1 e^0.9950 + e^7.7399 ≈ 2.70 + 2298 → 0.
    // T = 10:        class 0 e^0.0995 ≈ 1.105; class 1 e^0.00995 + e^0.0774 ≈ 2.09 → 1.
    let train = features([[1, 0], [0, 1], [1, 1]])
    let labels = [0, 1, 1]
    let test = features([[1, 0.1]])
    let sharp = KNNClassifier(trainFeatures: train, trainLabels: labels, k: 3, temperature: 0.1)
    let s = sharp.scores(test)[0]
    let norm = 1.01.squareRoot()
    let (s0, s1, s2) = (1 / norm, 0.1 / norm, 1.1 / (norm * 2.0.squareRoot()))
    #expect(abs(s[0] - exp(s0 / 0.1)) / s[0] < 1e-5)
    #expect(abs(s[1] - (exp(s1 / 0.1) + exp(s2 / 0.1))) / s[1] < 1e-5)
    #expect(sharp.predict(test) == [0])
    let flat = KNNClassifier(trainFeatures: train, trainLabels: labels, k: 3, temperature: 10)
    #expect(flat.predict(test) == [1])
    // k = 1 looks at the nearest only.
    #expect(KNNClassifier(trainFeatures: train, trainLabels: labels, k: 1, temperature: 10).predict(test) == [0])
  }

  @Test func tiesGoToTheLowerIndexAndTheLowerClass() {
    // Two identical training features, labels 1 then 0: with k = 1 the lower index (label 1) votes.
    let train = features([[1, 0], [1, 0], [0, 1]])
    let test = features([[1, 0]])
    #expect(KNNClassifier(trainFeatures: train, trainLabels: [1, 0, 2], k: 1).predict(test) == [1])
    // With k = 2 both vote with equal weight: classes 0 and 1 tie, the lower class wins.
    #expect(KNNClassifier(trainFeatures: train, trainLabels: [1, 0, 2], k: 2).predict(test) == [0])
  }

  @Test func kLargerThanTheTrainingSetUsesAllOfIt() {
    let train = features([[1, 0], [0.9, 0.1], [0, 1]])
    let test = features([[0, 1]])
    // k = 200 > 3: every point votes; the two class-0 points outweigh class 1 only at high T.
    let all = KNNClassifier(trainFeatures: train, trainLabels: [0, 0, 1], k: 200, temperature: 100)
    #expect(all.predict(test) == [0])
    #expect(KNNClassifier(trainFeatures: train, trainLabels: [0, 0, 1], k: 200, temperature: 0.1).predict(test) == [1])
  }

  @Test func oneHotFeaturesOfTheLabelsGiveFullAccuracy() {
    let classes = 10
    let trainLabels = (0..<1000).map { ($0 * 7) % classes }
    let testLabels = (0..<300).map { ($0 * 3) % classes }
    func oneHot(_ labels: [Int]) -> Tensor {
      var d = [Float](repeating: 0, count: labels.count * classes)
      for (i, l) in labels.enumerated() { d[i * classes + l] = 1 }
      return Tensor(shape: [labels.count, classes], data: d)
    }
    let accuracy = KNNClassifier.accuracy(
      trainFeatures: oneHot(trainLabels), trainLabels: trainLabels, testFeatures: oneHot(testLabels),
      testLabels: testLabels, k: 200, temperature: 0.1)
    #expect(accuracy == 1)
  }

  @Test func matchesABruteForceReferenceWhateverTheChunking() {
    var g = RandomGenerator(seed: 3)
    let (n, m, d, classes, k) = (400, 90, 12, 5, 25)
    let train = Tensor.randomNormal([n, d], using: &g)
    let test = Tensor.randomNormal([m, d], using: &g)
    let labels = (0..<n).map { _ in g.nextInt(below: classes) }
    // Reference: Double cosines, full sort by (−similarity, index), first k vote.
    func unit(_ t: Tensor, _ r: Int) -> [Double] {
      let row = (0..<d).map { Double(t.data[r * d + $0]) }
      let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
      return row.map { $0 / norm }
    }
    let trainUnit = (0..<n).map { unit(train, $0) }
    var expected: [Int] = []
    for q in 0..<m {
      let u = unit(test, q)
      let sims = trainUnit.map { zip($0, u).reduce(0) { $0 + $1.0 * $1.1 } }
      let order = (0..<n).sorted { sims[$0] > sims[$1] || (sims[$0] == sims[$1] && $0 < $1) }
      var scores = [Double](repeating: 0, count: classes)
      for i in order.prefix(k) { scores[labels[i]] += exp(sims[i] / 0.1) }
      expected.append(scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0)
    }
    var knn = KNNClassifier(trainFeatures: train, trainLabels: labels, k: k, temperature: 0.1)
    let whole = knn.predict(test)
    knn.chunkSize = 7
    #expect(knn.predict(test) == whole)
    #expect(whole == expected)
    // Scaling features changes nothing (rows are normalised).
    let scaled = Tensor(shape: train.shape, data: train.data.map { $0 * 5 })
    #expect(KNNClassifier(trainFeatures: scaled, trainLabels: labels, k: k).predict(test) == whole)
  }

  @Test func accuracyCountsCorrectPredictions() {
    let train = features([[1, 0], [0, 1]])
    let test = features([[1, 0.2], [0.1, 1], [1, 0]])
    let acc = KNNClassifier.accuracy(
      trainFeatures: train, trainLabels: [0, 1], testFeatures: test, testLabels: [0, 1, 1], k: 1, temperature: 0.1)
    expectClose(Double(acc), Double(2.0 / 3), rtol: 0, atol: 1e-12)
  }
}

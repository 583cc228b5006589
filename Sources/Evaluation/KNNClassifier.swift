import Dispatch
import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Weighted k-nearest-neighbour classification on L2-normalised features, the monitor of
/// InstDisc (Wu et al. 2018, lemniscate `test.py` `kNN`, lines 67–125), the MoCo CIFAR-10 demo and
/// lightly's benchmarks.
///
/// Maths: with `f̂ = f / ‖f‖`, each test feature's cosine similarities `sᵢ = ⟨q̂, t̂ᵢ⟩` to every
/// training feature; its `k` most similar neighbours `N` vote with weights `exp(sᵢ / T)`, the score
/// of class `c` is `Σ_{i ∈ N, yᵢ = c} exp(sᵢ / T)`, and the prediction is the class with the
/// highest score (top-1). The papers use `k = 200`, `T = 0.1` (CIFAR; 0.07 on ImageNet).
///
/// Ties (which torch's `topk` and `argsort` leave unspecified): among equally similar neighbours
/// the lower training index is taken; among equal class scores the lower class index wins.
/// `k` larger than the training set uses all of it. A zero feature stays zero (its similarities
/// are all 0).
///
/// Cost: similarities go through `cblas_sgemm` in chunks of test rows (`[chunk, d] × [d, n]`,
/// at most `chunkSize · n` floats held), then each test row keeps its top k with a bounded heap
/// (`O(n log k)`), rows spread over `Parallel.threadCount` threads; each row's result does not
/// depend on the thread count.
public struct KNNClassifier: Sendable {
  /// L2-normalised training features, `[count, dimension]` row-major.
  public let trainFeatures: [Float]
  public let trainLabels: [Int]
  public let dimension: Int
  public let classCount: Int
  /// Neighbours that vote.
  public var k: Int
  /// Temperature of the vote weights.
  public var temperature: Float
  /// Test rows per similarity GEMM.
  public var chunkSize = 512

  /// Stores normalised copies of the training features.
  /// - Parameters:
  ///   - trainFeatures: `[n, d]`.
  ///   - trainLabels: `n` labels in `0..<classCount`.
  ///   - classCount: defaults to the largest label + 1.
  public init(trainFeatures: Tensor, trainLabels: [Int], classCount: Int? = nil, k: Int = 200, temperature: Float = 0.1) {
    precondition(trainFeatures.rank == 2, "KNNClassifier: train features of shape \(trainFeatures.shape); expected [n, d]")
    precondition(
      trainFeatures.shape[0] == trainLabels.count,
      "KNNClassifier: \(trainFeatures.shape[0]) features, \(trainLabels.count) labels")
    precondition(k >= 1 && temperature > 0, "KNNClassifier: k \(k), temperature \(temperature)")
    precondition(trainLabels.allSatisfy { $0 >= 0 }, "KNNClassifier: negative label")
    dimension = trainFeatures.shape[1]
    self.trainFeatures = Self.normalizedRows(trainFeatures.data, dimension: dimension)
    self.trainLabels = trainLabels
    let classes = classCount ?? ((trainLabels.max() ?? -1) + 1)
    precondition(trainLabels.allSatisfy { $0 < classes }, "KNNClassifier: a label ≥ classCount \(classes)")
    self.classCount = classes
    self.k = k
    self.temperature = temperature
  }

  /// Predicted class of every row of `testFeatures` (`[m, d]`).
  public func predict(_ testFeatures: Tensor) -> [Int] {
    scores(testFeatures).map { row in
      var best = 0
      for c in row.indices where row[c] > row[best] { best = c }
      return best
    }
  }

  /// Class scores `Σ exp(sᵢ/T)` over each test row's k neighbours, `[m][classCount]`.
  public func scores(_ testFeatures: Tensor) -> [[Double]] {
    precondition(
      testFeatures.rank == 2 && testFeatures.shape[1] == dimension,
      "KNNClassifier: test features of shape \(testFeatures.shape); expected [m, \(dimension)]")
    let m = testFeatures.shape[0]
    let n = trainLabels.count
    var result = [[Double]](repeating: [Double](repeating: 0, count: classCount), count: m)
    guard m > 0, n > 0 else { return result }
    let test = Self.normalizedRows(testFeatures.data, dimension: dimension)
    let kk = Swift.min(k, n)
    let chunk = Swift.max(1, chunkSize)
    var sims = [Float](repeating: 0, count: Swift.min(chunk, m) * n)
    var start = 0
    while start < m {
      let rows = Swift.min(chunk, m - start)
      test.withUnsafeBufferPointer { a in
        trainFeatures.withUnsafeBufferPointer { b in
          sims.withUnsafeMutableBufferPointer { c in
            guard let ap = a.baseAddress, let bp = b.baseAddress, let cp = c.baseAddress else { return }
            if dimension == 0 {
              cp.update(repeating: 0, count: rows * n)
            } else {
              BLAS.gemm(
                transB: true, m: rows, n: n, k: dimension, a: ap + start * dimension, lda: dimension, b: bp,
                ldb: dimension, c: cp, ldc: n)
            }
          }
        }
      }
      let chunkScores = sims.withUnsafeBufferPointer { s in
        let box = UnsafeSendableBuffer(s)
        return Parallel.map(rows, chunk: 16) { r in
          self.vote(similarities: UnsafeBufferPointer(rebasing: box.buffer[(r * n)..<((r + 1) * n)]), k: kk)
        }
      }
      for r in 0..<rows { result[start + r] = chunkScores[r] }
      start += rows
    }
    return result
  }

  /// Top-1 accuracy of the weighted kNN vote (the InstDisc/MoCo monitor).
  /// - Parameters:
  ///   - trainFeatures: `[n, d]`, any scale (rows are L2-normalised here).
  ///   - testFeatures: `[m, d]`.
  /// - Returns: the fraction of test rows whose predicted class equals the label (0 for none).
  public static func accuracy(
    trainFeatures: Tensor, trainLabels: [Int], testFeatures: Tensor, testLabels: [Int], k: Int = 200,
    temperature: Float = 0.1
  ) -> Double {
    precondition(testFeatures.shape.first == testLabels.count, "KNNClassifier.accuracy: \(testFeatures.shape) features, \(testLabels.count) labels")
    let classes = Swift.max((trainLabels.max() ?? -1), (testLabels.max() ?? -1)) + 1
    let knn = KNNClassifier(
      trainFeatures: trainFeatures, trainLabels: trainLabels, classCount: classes, k: k, temperature: temperature)
    let predicted = knn.predict(testFeatures)
    guard !testLabels.isEmpty else { return 0 }
    return Double(zip(predicted, testLabels).filter { $0 == $1 }.count) / Double(testLabels.count)
  }

  /// The weighted vote of one test row's top-k similarities.
  private func vote(similarities s: UnsafeBufferPointer<Float>, k: Int) -> [Double] {
    // Min-heap of the k best (similarity, index), ordered so that the root is the worst kept:
    // lower similarity is worse; at equal similarity the higher index is worse.
    var heap = [(Float, Int)]()
    heap.reserveCapacity(k)
    @inline(__always) func worse(_ a: (Float, Int), _ b: (Float, Int)) -> Bool {
      a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
    }
    func siftDown(_ start: Int) {
      var i = start
      while true {
        let l = 2 * i + 1, r = l + 1
        var m = i
        if l < heap.count && worse(heap[l], heap[m]) { m = l }
        if r < heap.count && worse(heap[r], heap[m]) { m = r }
        if m == i { return }
        heap.swapAt(i, m)
        i = m
      }
    }
    for i in 0..<s.count {
      let item = (s[i], i)
      if heap.count < k {
        heap.append(item)
        var j = heap.count - 1
        while j > 0 {
          let p = (j - 1) / 2
          if worse(heap[j], heap[p]) { heap.swapAt(j, p); j = p } else { break }
        }
      } else if worse(heap[0], item) {
        heap[0] = item
        siftDown(0)
      }
    }
    var scores = [Double](repeating: 0, count: classCount)
    let invT = 1 / Double(temperature)
    for (sim, i) in heap { scores[trainLabels[i]] += exp(Double(sim) * invT) }
    return scores
  }

  /// Rows divided by their L2 norm (zero rows stay zero), as `F.normalize(x, dim=1)`.
  static func normalizedRows(_ x: [Float], dimension d: Int) -> [Float] {
    guard d > 0 else { return x }
    var out = x
    let n = x.count / d
    for r in 0..<n {
      var ss: Float = 0
      for j in 0..<d { ss += x[r * d + j] * x[r * d + j] }
      let inv = 1 / Swift.max(ss.squareRoot(), 1e-12)
      for j in 0..<d { out[r * d + j] = x[r * d + j] * inv }
    }
    return out
  }
}

private struct UnsafeSendableBuffer: @unchecked Sendable {
  let buffer: UnsafeBufferPointer<Float>
  init(_ buffer: UnsafeBufferPointer<Float>) { self.buffer = buffer }
}


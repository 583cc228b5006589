import Engine

/// A linear probe: multinomial logistic regression on fixed features, the standard way to judge
/// a representation (SimCLR §B.5, MoCo §4.1) and here also to show that a dataset's classes are not
/// linearly separable from raw pixels.
///
/// Features are standardised with the training set's mean and standard deviation; weights are
/// fitted by full-batch Adam on the L2-regularised cross-entropy
/// `L = −(1/n) Σᵢ log softmax(W xᵢ + b)_{yᵢ} + (λ/2)‖W‖²`, whose gradient is
/// `∂L/∂W = (1/n) Xᵀ(P − Y) + λW`, `∂L/∂b = (1/n) Σᵢ (pᵢ − yᵢ)`.
/// λ is picked from a grid on a held-out fifth of the training set, then the probe is refitted on
/// all of it. Everything is deterministic (no sampling; BLAS sums in a fixed order per thread count).
public struct LinearProbe: Sendable {
  /// Row-major `features × classes` weights.
  public var weights: [Float]
  public var bias: [Float]
  public var mean: [Float]
  public var scale: [Float]
  public let featureCount: Int
  public let classCount: Int
  /// The regularisation chosen.
  public var lambda: Float

  /// Settings of the fit.
  public struct Options: Sendable {
    public var lambdas: [Float] = [1e-4, 1e-3, 1e-2, 1e-1]
    public var iterations = 300
    public var learningRate: Float = 0.01
    public init() {}
  }

  /// Fits a probe.
  /// - Parameters:
  ///   - features: `n × d` row-major.
  ///   - labels: `n` class indices in `0..<classCount`.
  public static func fit(
    features: [Float], labels: [Int], featureCount d: Int, classCount c: Int, options: Options = .init()
  ) -> LinearProbe {
    let n = labels.count
    precondition(features.count == n * d, "LinearProbe.fit: \(features.count) values for \(n)×\(d)")
    var (mean, scale) = ([Float](repeating: 0, count: d), [Float](repeating: 1, count: d))
    for i in 0..<n { for j in 0..<d { mean[j] += features[i * d + j] } }
    for j in 0..<d { mean[j] /= Float(max(n, 1)) }
    var variance = [Float](repeating: 0, count: d)
    for i in 0..<n {
      for j in 0..<d {
        let v = features[i * d + j] - mean[j]
        variance[j] += v * v
      }
    }
    for j in 0..<d { scale[j] = 1 / max(variance[j] / Float(max(n, 1)), 1e-12).squareRoot() }
    let x = standardise(features, n: n, d: d, mean: mean, scale: scale)
    var lambda = options.lambdas.first ?? 1e-3
    if options.lambdas.count > 1 && n >= 10 {
      // Hold out every fifth sample (deterministic) to choose λ.
      let held = (0..<n).filter { $0 % 5 == 4 }, kept = (0..<n).filter { $0 % 5 != 4 }
      let xKept = kept.flatMap { i in x[(i * d)..<((i + 1) * d)] }
      let xHeld = held.flatMap { i in x[(i * d)..<((i + 1) * d)] }
      var best = -1.0
      for l in options.lambdas {
        let (w, b) = train(x: xKept, labels: kept.map { labels[$0] }, d: d, c: c, lambda: l, options: options)
        let acc = accuracy(predict(x: xHeld, n: held.count, d: d, c: c, weights: w, bias: b), held.map { labels[$0] })
        if acc > best { best = acc; lambda = l }
      }
    }
    let (w, b) = train(x: x, labels: labels, d: d, c: c, lambda: lambda, options: options)
    return LinearProbe(
      weights: w, bias: b, mean: mean, scale: scale, featureCount: d, classCount: c, lambda: lambda)
  }

  /// Logits `W x + b` of `n × d` features, row-major `n × classCount`.
  public func logits(_ features: [Float]) -> [Float] {
    let n = features.count / featureCount
    let x = Self.standardise(features, n: n, d: featureCount, mean: mean, scale: scale)
    return Self.logits(x: x, n: n, d: featureCount, c: classCount, weights: weights, bias: bias)
  }

  /// Predicted classes of `n × d` features.
  public func predict(_ features: [Float]) -> [Int] {
    let n = features.count / featureCount
    let x = Self.standardise(features, n: n, d: featureCount, mean: mean, scale: scale)
    return Self.predict(x: x, n: n, d: featureCount, c: classCount, weights: weights, bias: bias)
  }

  /// Fraction of `predicted` equal to `labels`.
  public static func accuracy(_ predicted: [Int], _ labels: [Int]) -> Double {
    guard !labels.isEmpty else { return 0 }
    return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
  }

  static func standardise(_ f: [Float], n: Int, d: Int, mean: [Float], scale: [Float]) -> [Float] {
    var x = f
    for i in 0..<n { for j in 0..<d { x[i * d + j] = (x[i * d + j] - mean[j]) * scale[j] } }
    return x
  }

  static func logits(x: [Float], n: Int, d: Int, c: Int, weights: [Float], bias: [Float]) -> [Float] {
    var z = [Float](repeating: 0, count: n * c)
    for i in 0..<n { for k in 0..<c { z[i * c + k] = bias[k] } }
    x.withUnsafeBufferPointer { xp in
      weights.withUnsafeBufferPointer { wp in
        z.withUnsafeMutableBufferPointer { zp in
          guard let xa = xp.baseAddress, let wa = wp.baseAddress, let za = zp.baseAddress, n > 0 else { return }
          BLAS.gemm(m: n, n: c, k: d, a: xa, lda: d, b: wa, ldb: c, beta: 1, c: za, ldc: c)
        }
      }
    }
    return z
  }

  static func predict(x: [Float], n: Int, d: Int, c: Int, weights: [Float], bias: [Float]) -> [Int] {
    let z = logits(x: x, n: n, d: d, c: c, weights: weights, bias: bias)
    return (0..<n).map { i in
      var best = 0
      for k in 1..<c where z[i * c + k] > z[i * c + best] { best = k }
      return best
    }
  }

  /// Full-batch Adam (β = 0.9, 0.999) on the regularised cross-entropy.
  static func train(x: [Float], labels: [Int], d: Int, c: Int, lambda: Float, options: Options) -> ([Float], [Float]) {
    let n = labels.count
    var w = [Float](repeating: 0, count: d * c), b = [Float](repeating: 0, count: c)
    var mw = w, vw = w, mb = b, vb = b
    var gw = w
    let (beta1, beta2, eps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
    for t in 1...max(options.iterations, 1) {
      var p = logits(x: x, n: n, d: d, c: c, weights: w, bias: b)
      var gb = [Float](repeating: 0, count: c)
      for i in 0..<n {
        var mx = -Float.infinity
        for k in 0..<c { mx = max(mx, p[i * c + k]) }
        var sum: Float = 0
        for k in 0..<c {
          p[i * c + k] = (p[i * c + k] - mx).exponential
          sum += p[i * c + k]
        }
        for k in 0..<c {
          p[i * c + k] = (p[i * c + k] / sum - (labels[i] == k ? 1 : 0)) / Float(n)
          gb[k] += p[i * c + k]
        }
      }
      // gw = Xᵀ (P − Y)/n + λ W
      for j in 0..<(d * c) { gw[j] = lambda * w[j] }
      x.withUnsafeBufferPointer { xp in
        p.withUnsafeBufferPointer { pp in
          gw.withUnsafeMutableBufferPointer { gp in
            guard let xa = xp.baseAddress, let pa = pp.baseAddress, let ga = gp.baseAddress, n > 0 else { return }
            BLAS.gemm(transA: true, m: d, n: c, k: n, a: xa, lda: d, b: pa, ldb: c, beta: 1, c: ga, ldc: c)
          }
        }
      }
      let lr = options.learningRate * (1 - pow(beta2, Float(t))).squareRoot() / (1 - pow(beta1, Float(t)))
      for j in 0..<(d * c) {
        mw[j] = beta1 * mw[j] + (1 - beta1) * gw[j]
        vw[j] = beta2 * vw[j] + (1 - beta2) * gw[j] * gw[j]
        w[j] -= lr * mw[j] / (vw[j].squareRoot() + eps)
      }
      for k in 0..<c {
        mb[k] = beta1 * mb[k] + (1 - beta1) * gb[k]
        vb[k] = beta2 * vb[k] + (1 - beta2) * gb[k] * gb[k]
        b[k] -= lr * mb[k] / (vb[k].squareRoot() + eps)
      }
    }
    return (w, b)
  }
}

extension Float {
  /// e^self.
  fileprivate var exponential: Float { Float(_exp(Double(self))) }
}

#if canImport(Glibc)
  import Glibc
  private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
  private func pow(_ a: Float, _ b: Float) -> Float { Glibc.powf(a, b) }
#elseif canImport(Darwin)
  import Darwin
  private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
  private func pow(_ a: Float, _ b: Float) -> Float { Darwin.powf(a, b) }
#endif

import Engine

/// Lloyd's K-means with several restarts, written after what PANTHER's prototype script runs
/// (`faiss.Kmeans(d, k, niter: 50, nredo: 5)` in `src/utils/proto_utils.py`, `mode='faiss'`).
///
/// As in faiss: each restart starts from `k` distinct points drawn at random (no k-means++),
/// runs `iterations` rounds of assign → recompute centroids, refills an empty cluster by
/// splitting a non-empty one (faiss `split_clusters`: copy a centroid chosen with probability
/// proportional to its cluster size, then push the two copies apart by a relative 1/1024), and
/// the restart with the lowest final objective (sum of squared distances) is kept. faiss's own
/// random stream is not reproduced; ours comes from `generator`.
///
/// Shape: `points` row-major `[n, dimension]` → centroids row-major `[k, dimension]`.
public struct KMeans: Sendable {
  /// Number of clusters `k`.
  public var clusterCount: Int
  /// Lloyd rounds per restart (`niter`, 50 in PANTHER).
  public var iterations: Int = 50
  /// Restarts (`nredo`, PANTHER's `n_init` = 5).
  public var restarts: Int = 5

  /// The result of one fit.
  public struct Fit: Sendable {
    /// Row-major `[k, dimension]`.
    public var centroids: [Float]
    /// Cluster of every point under the final centroids.
    public var assignments: [Int]
    /// Sum of squared distances of the points to their assigned centroids.
    public var objective: Double
  }

  /// A K-means configuration.
  public init(clusterCount: Int, iterations: Int = 50, restarts: Int = 5) {
    self.clusterCount = clusterCount
    self.iterations = iterations
    self.restarts = restarts
  }

  /// Fits the centroids.
  /// - Precondition: `points.count == n · dimension` with `n ≥ clusterCount`.
  public func fit(points: [Float], dimension d: Int, using generator: inout RandomGenerator) -> Fit {
    precondition(d > 0 && points.count % d == 0, "KMeans: \(points.count) values are not rows of \(d)")
    let n = points.count / d
    precondition(n >= clusterCount && clusterCount > 0, "KMeans: \(n) points for \(clusterCount) clusters")
    var best: Fit?
    for _ in 0..<max(restarts, 1) {
      let fit = lloyd(points, n: n, d: d, using: &generator)
      if best == nil || fit.objective < best?.objective ?? .infinity { best = fit }
    }
    return best ?? lloyd(points, n: n, d: d, using: &generator)
  }

  /// One restart.
  private func lloyd(_ x: [Float], n: Int, d: Int, using generator: inout RandomGenerator) -> Fit {
    let k = clusterCount
    var centroids = [Double](repeating: 0, count: k * d)
    for (c, i) in generator.permutation(n).prefix(k).enumerated() {
      for j in 0..<d { centroids[c * d + j] = Double(x[i * d + j]) }
    }
    var assignments = [Int](repeating: 0, count: n)
    for _ in 0..<max(iterations, 1) {
      _ = Self.assign(x, n: n, d: d, centroids: centroids, k: k, into: &assignments)
      var sums = [Double](repeating: 0, count: k * d)
      var sizes = [Int](repeating: 0, count: k)
      for i in 0..<n {
        let c = assignments[i]
        sizes[c] += 1
        for j in 0..<d { sums[c * d + j] += Double(x[i * d + j]) }
      }
      for c in 0..<k where sizes[c] > 0 {
        for j in 0..<d { centroids[c * d + j] = sums[c * d + j] / Double(sizes[c]) }
      }
      splitEmptyClusters(&centroids, sizes: &sizes, n: n, d: d, using: &generator)
    }
    let objective = Self.assign(x, n: n, d: d, centroids: centroids, k: k, into: &assignments)
    return Fit(centroids: centroids.map { Float($0) }, assignments: assignments, objective: objective)
  }

  /// Nearest centroid of every point (first index on ties); returns the objective.
  private static func assign(
    _ x: [Float], n: Int, d: Int, centroids: [Double], k: Int, into assignments: inout [Int]
  ) -> Double {
    var objective = 0.0
    for i in 0..<n {
      var bestC = 0
      var bestD = Double.infinity
      for c in 0..<k {
        var dist = 0.0
        for j in 0..<d {
          let diff = Double(x[i * d + j]) - centroids[c * d + j]
          dist += diff * diff
        }
        if dist < bestD { (bestD, bestC) = (dist, c) }
      }
      assignments[i] = bestC
      objective += bestD
    }
    return objective
  }

  /// faiss `split_clusters`: an empty cluster takes a perturbed copy of a large cluster's centroid.
  private func splitEmptyClusters(
    _ centroids: inout [Double], sizes: inout [Int], n: Int, d: Int, using generator: inout RandomGenerator
  ) {
    let epsilon = 1.0 / 1024
    for empty in 0..<clusterCount where sizes[empty] == 0 {
      // Choose a cluster with probability (size − 1) / (n − k), as faiss does.
      var donor = 0
      while true {
        let r = generator.nextDouble()
        if r * Double(n - clusterCount) < Double(sizes[donor] - 1) { break }
        donor = (donor + 1) % clusterCount
      }
      for j in 0..<d {
        let value = centroids[donor * d + j]
        let up = j % 2 == 0
        centroids[empty * d + j] = value * (up ? 1 + epsilon : 1 - epsilon)
        centroids[donor * d + j] = value * (up ? 1 - epsilon : 1 + epsilon)
      }
      sizes[empty] = sizes[donor] / 2
      sizes[donor] -= sizes[empty]
    }
  }
}

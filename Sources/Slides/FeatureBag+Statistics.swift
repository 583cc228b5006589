import Foundation

extension FeatureBag {
  /// Summary statistics of every feature value of a bag, over all instances and dimensions.
  public struct FeatureStatistics: Sendable, Equatable {
    /// Mean and population standard deviation, accumulated in Double.
    public var mean: Double
    public var standardDeviation: Double
    /// The smallest and largest value (0 for an empty bag).
    public var minimum: Double
    public var maximum: Double
  }

  /// The statistics of `features` (`replicate slides show`); nil for a bag without instances.
  public var featureStatistics: FeatureStatistics? {
    let f = features
    guard !f.isEmpty else { return nil }
    let mean = f.reduce(0.0) { $0 + Double($1) } / Double(f.count)
    let sd = (f.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(f.count)).squareRoot()
    return FeatureStatistics(
      mean: mean, standardDeviation: sd, minimum: Double(f.min() ?? 0), maximum: Double(f.max() ?? 0))
  }
}

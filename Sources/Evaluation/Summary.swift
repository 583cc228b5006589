/// Mean and sample standard deviation of repeated measurements (the basis of every band).
public struct Summary: Sendable, Equatable, Codable {
  /// Number of values.
  public var count: Int
  /// Arithmetic mean.
  public var mean: Double
  /// Sample standard deviation (divisor n − 1; 0 for a single value).
  public var standardDeviation: Double
  /// Smallest value.
  public var minimum: Double
  /// Largest value.
  public var maximum: Double

  /// Summarises `values`. - Precondition: `values` is not empty.
  public init(_ values: [Double]) {
    precondition(!values.isEmpty, "Summary of no values")
    count = values.count
    let m = values.reduce(0, +) / Double(values.count)
    mean = m
    let ss = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
    standardDeviation = values.count > 1 ? (ss / Double(values.count - 1)).squareRoot() : 0
    minimum = values.min() ?? m
    maximum = values.max() ?? m
  }
}

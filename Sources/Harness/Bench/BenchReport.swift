import Basics
import Foundation

/// What a benchmark writes with `--json PATH`: the host, the build configuration and one row
/// per measured cell.
public struct BenchReport<Row: Encodable & Sendable>: Encodable, Sendable {
  /// The CPU model.
  public var host: String
  /// `debug` or `release`.
  public var build: String
  /// The measurements.
  public var rows: [Row]

  /// A report of `rows` on this host.
  public init(rows: [Row]) {
    host = HostFacts.cpuModel
    build = HostFacts.buildConfiguration
    self.rows = rows
  }
}

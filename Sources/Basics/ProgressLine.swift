#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation

/// A one-line progress display for long work: `label  step/total  rate/s  ETA`.
///
/// It writes to standard error and only when standard error is a terminal, so piped output and
/// CI logs get nothing extra. Updates are throttled to ten per second.
public final class ProgressLine: @unchecked Sendable {
  private let label: String
  private let total: Int
  private let unit: String
  private let enabled: Bool
  private let start = Date()
  private var lastDraw = Date.distantPast
  private let lock = NSLock()
  private var done = 0

  /// Whether standard error is an interactive terminal.
  public static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }

  /// Starts a progress line for `total` steps of `unit` (for example "tiles").
  public init(_ label: String, total: Int, unit: String = "steps", enabled: Bool? = nil) {
    self.label = label
    self.total = max(total, 1)
    self.unit = unit
    self.enabled = enabled ?? ProgressLine.isTerminal
  }

  /// Marks `count` more steps done; `note` (for example a loss) is shown at the end of the line.
  public func advance(by count: Int = 1, note: String = "") {
    lock.lock()
    defer { lock.unlock() }
    done += count
    guard enabled else { return }
    let now = Date()
    if now.timeIntervalSince(lastDraw) < 0.1 && done < total { return }
    lastDraw = now
    let elapsed = now.timeIntervalSince(start)
    let rate = elapsed > 0 ? Double(done) / elapsed : 0
    let left = rate > 0 ? Double(total - done) / rate : 0
    let line = "\r\u{1B}[2K\(label)  \(done)/\(total) \(unit)  \(Self.format(rate))/s  "
      + "ETA \(Self.clock(left))  \(note)"
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Clears the line (call when the work ends).
  public func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
  }

  private static func format(_ rate: Double) -> String {
    rate >= 100 ? String(Int(rate.rounded())) : String(format: "%.1f", rate)
  }

  private static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600
      ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
      : String(format: "%d:%02d", s / 60, s % 60)
  }
}

import ArgumentParser
import Basics
import Foundation
import Harness
import Results

/// `replicate`: re-run published results, check them against calibrated bands, report and gate.
struct Replicate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replicate",
    abstract: "Re-run paper results as replication targets, check them against calibrated bands, report and gate CI.",
    discussion: """
      Run a target with `replicate <target> [options]` (the same as `replicate run <target>`), for example
      `replicate blur-detection --profile ci` or `replicate moco-v3 --subset 50%`.

      Exit codes: 0 success; 1 a gated check failed or nothing was judged (gate), or a run failed; 2 bad \
      input or usage (nothing is written to the store); 130 interrupted (Ctrl-C; the run is marked interrupted).
      """,
    subcommands: [
      RunCommand.self, ListCommand.self, ShowCommand.self, CalibrateCommand.self, ReportCommand.self,
      GateCommand.self, AuditCommand.self, FocusCommand.self, BenchCommand.self, DatasetCommand.self, SlidesCommand.self,
      PredictCommand.self, SweepCommand.self, MergeCommand.self, IngestCommand.self,
    ],
    defaultSubcommand: RunCommand.self)
}

/// Writes to standard error.
func warn(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Left-aligned text table.
func table(_ header: [String], _ rows: [[String]]) -> String {
  let all = [header] + rows
  let widths = header.indices.map { i in all.map { $0.indices.contains(i) ? $0[i].count : 0 }.max() ?? 0 }
  func line(_ r: [String]) -> String {
    r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
      .joined(separator: "  ")
  }
  return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
}

func fmt(_ v: Double) -> String { String(format: "%.4g", v) }

/// `value` as JSON: sorted keys, indented, ending in a newline.
func jsonText<Value: Encodable>(_ value: Value) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
  return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}

import ArgumentParser
import Basics
import Foundation
import Harness
import Results

/// `replicate ingest`: results computed elsewhere, stored as external runs.
struct IngestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ingest",
    abstract: "Store results the harness did not compute (a lab's runs of the official code) as external runs.",
    discussion: """
      Formats: json (schema replicate-external/1: {"schema": "replicate-external/1", "provenance": {"who", "code", \
      "commit", "hardware", "command", "dataset"}, "runs": [{"seed": 0, "subset": "100%", "metrics": {"linear_accuracy": \
      0.606}, "wallSeconds": 3600}]}), csv (a header metric,value,seed and optionally subset), and moco-lincls (the log \
      of facebookresearch/moco's main_lincls.py: its last " * Acc@1 …" line is linear_accuracy, /100). Metric names \
      and units are the target's (`replicate show`). The provenance options fill or override the file's. External \
      runs are never canonical: the plain gate never judges them. The reports show them as their own group and \
      beside the paper's numbers. With --on-default-data (they ran on the target's embedded data, exported with \
      `replicate dataset export`), `replicate gate --run <ids>` judges them against the bands, when asked.
      """)

  @Argument(help: "Target id.")
  var target: String

  @Argument(help: "The results file.")
  var file: String

  @Option(help: "Profile the results correspond to (for example paper).")
  var profile: String = "paper"

  @Option(help: "json, csv or moco-lincls (default: from the file's extension: .json, .csv, .log/.txt/.out).")
  var format: String?

  @Option(help: "The seed of a log's single run.")
  var seed: UInt64 = 0

  @Option(help: "Who ran it (a person or lab).")
  var who: String?

  @Option(help: "The code's URL.")
  var code: String?

  @Option(help: "The code's commit.")
  var commit: String?

  @Option(help: "The hardware (for example '8x V100').")
  var hardware: String?

  @Option(name: .customLong("command"), help: "The command line that produced the results.")
  var commandLine: String?

  @Option(help: "The data it ran on (for example ImageNet-1k).")
  var dataset: String?

  @Flag(help: "The runs used this target's embedded data (exported with `replicate dataset export`), so `gate --run` may judge them.")
  var onDefaultData = false

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let spec = try registry.target(target)
    _ = try spec.profile(profile)
    let formatValue: ExternalResults.Format
    if let format {
      guard let f = ExternalResults.Format(rawValue: format) else {
        throw InputError.badArgument(
          option: "--format", value: format, expected: ExternalResults.Format.allCases.map(\.rawValue).joined(separator: ", "))
      }
      formatValue = f
    } else {
      guard let f = ExternalResults.Format.guess(file) else {
        throw InputError.badArgument(
          option: "--format", value: "", expected: "json, csv or moco-lincls (the file's extension does not tell)")
      }
      formatValue = f
    }
    if formatValue == .mocoLincls && !spec.method.metricNames.contains("linear_accuracy") {
      throw InputError.badArgument(
        option: "--format", value: formatValue.rawValue, expected: "a target with a linear probe (\(target) has no linear_accuracy)")
    }
    var results = try ExternalResults.read(path: file, format: formatValue, method: spec.method, seed: seed)
    results.provenance = results.provenance.overriding(
      with: .init(who: who, code: code, commit: commit, hardware: hardware, command: commandLine, dataset: dataset))
    let stored = try store.open(registry)
    let ids = try stored.ingest(
      results, target: spec, profile: profile, source: URL(fileURLWithPath: file).lastPathComponent,
      onDefaultData: onDefaultData, invocation: CommandLine.arguments.joined(separator: " "))
    print("ingested \(ids.count) external runs of \(target) (\(profile)) into \(stored.path): ids \(ids.map(String.init).joined(separator: ", "))")
    for (id, run) in zip(ids, results.runs) {
      print("  run \(id): seed \(run.seed) · \(BandTable.subsetKey(run.subset)) · "
        + run.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt($0.value))" }.joined(separator: ", "))
    }
  }
}

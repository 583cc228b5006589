import Basics
import Foundation
import GRDB
import Harness

extension ResultsStore {
  /// Stores results the harness did not compute as completed runs marked `external`, one per
  /// (seed, subset), all in one transaction, and returns their ids.
  ///
  /// They are never canonical, so the plain gate never judges them; the reports show them as their
  /// own group (with their provenance) and beside the paper's numbers. `onDefaultData` states that
  /// they ran on the target's embedded data (exported with `replicate dataset export`): only then
  /// can `gate --run` judge them against the calibrated bands, and only when asked.
  public func ingest(
    _ results: ExternalResults, target: TargetSpec, profile: String, source: String, onDefaultData: Bool,
    invocation: String
  ) throws -> [Int64] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let provenance = String(decoding: try encoder.encode(results.provenance), as: UTF8.self)
    let now = Date()
    let dataSource = onDefaultData ? "external:\(target.dataset.id)" : "external:\(results.provenance.dataset ?? "unknown data")"
    return try pool.write { db in
      try results.runs.map { r in
        var run = StoredRun(
          id: nil, target: target.id, method: target.method.rawValue, profile: profile, subset: r.subset,
          seed: Int64(bitPattern: r.seed), canonical: false, config: "{}", configHash: "external", overrides: "{}",
          dataSource: dataSource, defaultData: onDefaultData, datasetID: results.provenance.dataset, datasetHash: nil,
          codeVersion: results.provenance.commit.map { String($0.prefix(12)) } ?? "external", codeDirty: false,
          cpu: results.provenance.hardware ?? "unknown", cores: 0, threads: 0, blas: "", build: "external",
          operatingSystem: "", hostName: results.provenance.who ?? "external", invocation: invocation, pid: 0,
          status: RunStatus.completed.rawValue, message: "ingested from \(source)", startedAt: now, endedAt: now,
          wallSeconds: r.wallSeconds, peakMemoryBytes: nil, sweep: nil, taskIndex: nil, jobID: nil, mergedFrom: nil,
          origin: "external", provenance: provenance)
        try run.insert(db)
        guard let id = run.id else { throw InputError.store(path: self.path, message: "insert returned no row id") }
        for (name, value) in r.metrics.sorted(by: { $0.key < $1.key }) {
          try StoredMetric(runID: id, name: name, value: value).insert(db)
        }
        return id
      }
    }
  }
}

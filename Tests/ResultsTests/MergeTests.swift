import Foundation
import GRDB
import Harness
import Results
import Testing

/// `ResultsStore.merge(shard:)`: sweep shards folded into a main store.
@Suite struct MergeTests {
  /// One begun run in `store` with the given provenance, completed with `metrics` unless `complete` is false.
  @discardableResult
  func shardRun(
    _ store: ResultsStore, seed: UInt64, provenance: RunProvenance, metrics: [String: Double], complete: Bool = true
  ) throws -> Int64 {
    let target = try blurTarget()
    let spec = RunSpec(
      target: target.id, method: target.method, profile: "smoke", subset: 100, seed: seed,
      config: RunArguments.resolve(target: target, profile: try target.profile("smoke"), overrides: [:]), overrides: [:],
      threads: 2)
    var env = RunEnvironment(
      codeVersion: "abc123", codeDirty: false, cpu: "node cpu", cores: 2, threads: 2, blas: "OpenBLAS",
      build: "release", operatingSystem: "linux", hostName: "node\(seed)")
    env.provenance = provenance
    let id = try store.begin(spec: spec, environment: env, dataSource: "synthetic-tissue@1:test", defaultData: true, invocation: "t")
    guard complete else { return id }
    var output = ExperimentOutput()
    output.metrics = metrics
    output.series = [SeriesPoint(name: "curve", step: 0, x: 0, value: 1), SeriesPoint(name: "curve", step: 1, x: 1, value: 2)]
    try store.complete(
      runID: id, output: output,
      checks: [BandCheck(metric: "m", lower: 0, upper: 1, better: .higher, value: metrics["m"])],
      claims: [ClaimOutcome(claimID: "c", holds: true, detail: "held")], wallSeconds: 2, peakMemoryBytes: 1 << 20)
    return id
  }

  @Test func mergeCopiesRunsWithProvenanceAndIsIdempotent() throws {
    let main = try ResultsStore(path: temporaryStorePath())
    try recordRun(main, target: try blurTarget(), seed: 7, metrics: ["m": 0.1])  // a local run already there
    let shardA = temporaryStorePath(), shardB = temporaryStorePath()
    let a = try ResultsStore(path: shardA)
    try shardRun(a, seed: 0, provenance: RunProvenance(sweep: "s", taskIndex: 0, jobID: "41_0"), metrics: ["m": 0.5])
    let b = try ResultsStore(path: shardB)
    try shardRun(b, seed: 1, provenance: RunProvenance(sweep: "s", taskIndex: 1, jobID: "41_1"), metrics: ["m": 0.7])
    // A task still running in shard B: skipped now, merged once it completes.
    let running = try shardRun(b, seed: 2, provenance: RunProvenance(sweep: "s", taskIndex: 2, jobID: "41_2"), metrics: [:], complete: false)

    let first = [try main.merge(shard: shardA), try main.merge(shard: shardB)]
    #expect(first.map(\.added) == [1, 1] && first.map(\.unfinished) == [0, 1])
    let runs = try main.runs()
    #expect(runs.count == 3)
    let merged = try #require(runs.first { $0.seed == 1 })
    #expect(merged.jobID == "41_1" && merged.taskIndex == 1 && merged.sweep == "s" && merged.hostName == "node1")
    #expect(merged.mergedFrom == shardB && merged.threads == 2 && merged.status == "completed")
    let id = try #require(merged.id)
    #expect(try main.metrics(runID: id) == ["m": 0.7])
    #expect(try main.series(runID: id).map(\.value) == [1, 2])
    #expect(try main.claimResults(runID: id).map(\.claimID) == ["c"])
    // The gate's view: newest canonical completed run per seed, merged or local.
    #expect(try main.latestCanonicalRuns(target: "blur-detection", profile: "smoke").map(\.seed).sorted() == [0, 1, 7])

    // Merging again adds nothing.
    let again = [try main.merge(shard: shardA), try main.merge(shard: shardB)]
    #expect(again.map(\.added) == [0, 0] && again.map(\.alreadyPresent) == [1, 1])
    #expect(try main.runCount() == 3)

    // The running task completes; the next merge brings exactly it.
    var output = ExperimentOutput()
    output.metrics = ["m": 0.9]
    try b.complete(runID: running, output: output, checks: [], claims: [], wallSeconds: 1, peakMemoryBytes: 1)
    let late = try main.merge(shard: shardB)
    #expect(late.added == 1 && late.alreadyPresent == 1 && late.unfinished == 0)
    #expect(try main.runCount() == 4)
  }

  /// A shard from a newer replicate (a migration this version does not know), a foreign SQLite
  /// file, a missing file and the store itself are refused before anything is written.
  @Test func mergeRefusesShardsItCannotRead() throws {
    let mainPath = temporaryStorePath()
    let main = try ResultsStore(path: mainPath)
    let newer = temporaryStorePath()
    let shard = try ResultsStore(path: newer)
    try shardRun(shard, seed: 0, provenance: RunProvenance(), metrics: ["m": 1])
    try DatabaseQueue(path: newer).write { db in
      try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-fromTheFuture')")
    }
    func message(_ body: () throws -> Void) -> String {
      do { try body() } catch { return String(describing: error) }
      return "no error"
    }
    #expect(message { _ = try main.merge(shard: newer) }.contains("newer replicate"))
    #expect(message { try ResultsStore.checkShard(newer) }.contains("v9-fromTheFuture"))
    let foreign = temporaryStorePath()
    try DatabaseQueue(path: foreign).write { db in try db.execute(sql: "CREATE TABLE photos (id INTEGER)") }
    #expect(message { _ = try main.merge(shard: foreign) }.contains("another application"))
    #expect(message { _ = try main.merge(shard: "/nonexistent/task-0000.sqlite") }.contains("no such shard"))
    #expect(message { _ = try main.merge(shard: mainPath) }.contains("the store being merged into"))
    #expect(try main.runCount() == 0)
  }

  /// A shard written before the provenance columns existed merges (migrated in memory; the shard
  /// file is not written).
  @Test func olderShardsMergeWithoutBeingWritten() throws {
    let old = temporaryStorePath()
    let store = try ResultsStore(path: old)
    try shardRun(store, seed: 3, provenance: RunProvenance(), metrics: ["m": 0.25])
    try DatabaseQueue(path: old).write { db in
      try db.execute(sql: "ALTER TABLE run DROP COLUMN sweep")
      try db.execute(sql: "ALTER TABLE run DROP COLUMN taskIndex")
      try db.execute(sql: "ALTER TABLE run DROP COLUMN jobID")
      try db.execute(sql: "ALTER TABLE run DROP COLUMN mergedFrom")
      try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v2-runProvenance'")
    }
    let before = try Data(contentsOf: URL(fileURLWithPath: old))
    let main = try ResultsStore(path: temporaryStorePath())
    #expect(try main.merge(shard: old).added == 1)
    let run = try #require(try main.runs().first)
    #expect(run.seed == 3 && run.jobID == nil && run.mergedFrom == old)
    #expect(try Data(contentsOf: URL(fileURLWithPath: old)) == before)
  }
}

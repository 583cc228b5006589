import Basics
import Foundation
import GRDB
import Harness

/// What `merge(shard:)` did with one shard.
public struct MergeOutcome: Sendable, Equatable {
  /// The shard's path.
  public var shard: String
  /// Runs copied into the store now.
  public var added: Int
  /// Runs the store already held (an earlier merge of the same shard).
  public var alreadyPresent: Int
  /// Runs still `running` in the shard (left for a later merge).
  public var unfinished: Int

  public init(shard: String, added: Int, alreadyPresent: Int, unfinished: Int) {
    self.shard = shard
    self.added = added
    self.alreadyPresent = alreadyPresent
    self.unfinished = unfinished
  }
}

extension ResultsStore {
  /// Copies every finished run of the shard at `path` (a store one sweep task wrote) into this
  /// store, with its metrics, curves, band checks and claim results, in one transaction.
  ///
  /// Idempotent: a run is identified by its spec (target, profile, subset, seed, config hash,
  /// overrides, data source) and by where and when it started (host, pid, start time), so merging
  /// a shard twice adds nothing the second time. A run keeps its provenance (host, sweep, task
  /// index, Slurm job id) and records the shard it came from. Runs still `running` are skipped and
  /// counted, for a later merge. The shard is read, never written: a shard from an older replicate
  /// is migrated in memory; one from a newer replicate is refused.
  /// - Throws: `InputError.store` (exit 2) naming the shard: missing, not a replicate store, newer
  ///   schema, or this store itself.
  public func merge(shard path: String) throws -> MergeOutcome {
    let fm = FileManager.default
    guard fm.fileExists(atPath: path) else { throw InputError.store(path: path, message: "no such shard") }
    let here = URL(fileURLWithPath: self.path).resolvingSymlinksInPath().path
    guard URL(fileURLWithPath: path).resolvingSymlinksInPath().path != here else {
      throw InputError.store(path: path, message: "is the store being merged into; give a shard")
    }
    try Self.checkIsOurs(path)
    let copy: DatabaseQueue
    do {
      let source = try Self.readOnlyQueue(path)
      copy = try DatabaseQueue()
      try source.backup(to: copy)
      try source.close()
      try Self.migrator.migrate(copy)
    } catch let e as DatabaseError {
      throw InputError.store(path: path, message: "cannot read the shard (\(e.message ?? "\(e.resultCode)"))")
    }
    let shardRuns = try copy.read { db in try StoredRun.order(Column("id")).fetchAll(db) }
    var outcome = MergeOutcome(shard: path, added: 0, alreadyPresent: 0, unfinished: 0)
    try pool.write { db in
      for source in shardRuns {
        guard source.runStatus != .running, let sourceID = source.id else {
          outcome.unfinished += 1
          continue
        }
        let present = try StoredRun.filter(
          Column("target") == source.target && Column("profile") == source.profile
            && Column("subset") == source.subset && Column("seed") == source.seed
            && Column("configHash") == source.configHash && Column("overrides") == source.overrides
            && Column("dataSource") == source.dataSource && Column("hostName") == source.hostName
            && Column("pid") == source.pid && Column("startedAt") == source.startedAt
        ).fetchCount(db)
        if present > 0 {
          outcome.alreadyPresent += 1
          continue
        }
        var run = source
        run.id = nil
        run.mergedFrom = source.mergedFrom ?? path
        try run.insert(db)
        guard let id = run.id else { throw InputError.store(path: self.path, message: "insert returned no row id") }
        let (metrics, points, checks, claims) = try copy.read { sdb in
          (
            try StoredMetric.filter(Column("runID") == sourceID).fetchAll(sdb),
            try StoredSeriesPoint.filter(Column("runID") == sourceID).fetchAll(sdb),
            try StoredBandCheck.filter(Column("runID") == sourceID).fetchAll(sdb),
            try StoredClaimResult.filter(Column("runID") == sourceID).fetchAll(sdb)
          )
        }
        for var m in metrics {
          m.runID = id
          try m.insert(db)
        }
        for var p in points {
          p.runID = id
          try p.insert(db)
        }
        for var c in checks {
          c.runID = id
          try c.insert(db)
        }
        for var c in claims {
          c.runID = id
          try c.insert(db)
        }
        outcome.added += 1
      }
    }
    return outcome
  }

  /// The id of the newest completed run of `spec` on `dataSource` recorded by code
  /// `codeVersion` in the store at `path`, read without writing it (its task may be running);
  /// nil when there is none or the file is not readable. A re-submitted sweep task whose shard
  /// holds such a run skips it.
  public static func completedRunID(
    in path: String, spec: RunSpec, dataSource: String, codeVersion: String, codeDirty: Bool
  ) -> Int64? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let queue = try? readOnlyQueue(path) else { return nil }
    defer { try? queue.close() }
    return try? queue.read { db in
      guard try db.tableExists("run") else { return nil }
      return try Int64.fetchOne(
        db,
        sql: """
          SELECT id FROM run WHERE target = ? AND profile = ? AND subset = ? AND seed = ? AND configHash = ?
            AND overrides = ? AND dataSource = ? AND codeVersion = ? AND codeDirty = ? AND status = ?
          ORDER BY id DESC LIMIT 1
          """,
        arguments: [
          spec.target, spec.profile, spec.subset, Int64(bitPattern: spec.seed), spec.config.hash, spec.overridesJSON,
          dataSource, codeVersion, codeDirty, RunStatus.completed.rawValue,
        ])
    }
  }

  /// Checks, without writing it, that `path` is a replicate store this version can read (what
  /// `merge` requires of every shard before it touches the main store).
  /// - Throws: `InputError.store` (exit 2): missing, a folder, not ours, or from a newer replicate.
  public static func checkShard(_ path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InputError.store(path: path, message: "no such shard")
    }
    guard !isDirectory.boolValue else { throw InputError.store(path: path, message: "is a folder; expected a shard file") }
    try checkIsOurs(path)
  }
}

import Basics
import Foundation
import GRDB
import Harness

/// A run as stored: the frozen spec, the environment and the outcome.
public struct StoredRun: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
  public static let databaseTableName = "run"
  public var id: Int64?
  public var target: String
  public var method: String
  public var profile: String
  public var subset: Double
  public var seed: Int64
  public var canonical: Bool
  public var config: String
  public var configHash: String
  public var overrides: String
  public var dataSource: String
  /// Whether the run read the target's embedded dataset (bands apply only then).
  public var defaultData: Bool
  public var datasetID: String?
  public var datasetHash: String?
  public var codeVersion: String
  public var codeDirty: Bool
  public var cpu: String
  public var cores: Int
  public var threads: Int
  public var blas: String
  public var build: String
  public var operatingSystem: String
  public var hostName: String
  public var invocation: String
  public var pid: Int64
  public var status: String
  public var message: String?
  public var startedAt: Date
  public var endedAt: Date?
  public var wallSeconds: Double?
  public var peakMemoryBytes: Int64?
  /// The sweep that ran it (`replicate sweep`), nil for a run started by hand.
  public var sweep: String?
  /// Its task index in that sweep (the Slurm array index).
  public var taskIndex: Int?
  /// The Slurm job (`<array job>_<index>`, or the job id), nil outside Slurm.
  public var jobID: String?
  /// The shard it was merged from (`replicate merge`), nil for a run recorded here.
  public var mergedFrom: String?
  /// `external` for results ingested from outside (`replicate ingest`); nil for runs of this harness.
  public var origin: String?
  /// An external run's who/what/where (JSON: who, code, commit, hardware, command, dataset).
  public var provenance: String?

  /// Whether the harness did not compute this run (`replicate ingest`).
  public var isExternal: Bool { origin == "external" }

  public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

  /// The status as an enum.
  public var runStatus: RunStatus { RunStatus(rawValue: status) ?? .failed }
}

/// One metric value of a run (a flat row, never a wide table).
public struct StoredMetric: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "metric"
  public var runID: Int64
  public var name: String
  public var value: Double
}

/// One point of a curve.
public struct StoredSeriesPoint: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "series"
  public var runID: Int64
  public var name: String
  public var step: Int
  public var x: Double
  public var value: Double
}

/// A band check as made when the run completed (with the band in force then).
public struct StoredBandCheck: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "bandCheck"
  public var runID: Int64
  public var metric: String
  public var lower: Double
  public var upper: Double
  public var value: Double?
  public var passed: Bool
}

/// Whether a claim held in a run.
public struct StoredClaimResult: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "claimResult"
  public var runID: Int64
  public var claimID: String
  public var holds: Bool?
  public var detail: String
}

/// The results store: SQLite through GRDB, with append-only named migrations; in WAL mode, or
/// in rollback-journal mode for a sweep's shard (see `Journal`).
public final class ResultsStore: RunRecorder, @unchecked Sendable {
  /// How the store's file journals its writes.
  public enum Journal: Sendable {
    /// WAL (a `DatabasePool`): readers never wait for the writer. Readers and writer must share
    /// one host's memory (the `-shm` file), which holds for the main store.
    case wal
    /// The rollback journal (`journal_mode = DELETE`, a `DatabaseQueue`): a sweep task's shard,
    /// which `sweep status` and `merge` may read from another node of a cluster while the task
    /// writes; that needs only the file locks a network filesystem provides, not shared memory.
    case rollback
  }

  /// The database file.
  public let path: String
  let pool: any DatabaseWriter

  /// Opens the store at `path` and migrates it, creating it when `create` is true. Runs left
  /// `running` by a process that no longer exists are marked `interrupted`.
  ///
  /// Safe when several processes open one new store at once: creation and migration run under an
  /// exclusive `flock` of the store's folder (not of the database file: closing a descriptor of
  /// that file would drop SQLite's own POSIX locks), so exactly one process migrates and the
  /// others find the schema complete. A file that is not a replicate store (not SQLite, or SQLite with other
  /// tables, or migrations this version does not know) is refused before anything is written.
  /// - Throws: `InputError.store` naming the path and what is wrong.
  public init(path: String, create: Bool = true, journal: Journal = .wal) throws {
    try Self.checkLocation(path, create: create)
    self.path = path
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let lock: FileLock
    do { lock = try FileLock(path: folder, create: false) } catch let e as FileLockError {
      throw InputError.store(path: path, message: "cannot lock its folder (\(e.reason))")
    }
    defer { lock.unlock() }
    try Self.checkIsOurs(path)
    do {
      var config = Configuration()
      config.busyMode = .timeout(30)
      switch journal {
      case .wal:
        pool = try DatabasePool(path: path, configuration: config)
      case .rollback:
        let queue = try DatabaseQueue(path: path, configuration: config)
        // A file once written in WAL mode keeps that mode until told otherwise.
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        pool = queue
      }
      try Self.migrator.migrate(pool)
    } catch let e as DatabaseError {
      throw InputError.store(path: path, message: "not a usable SQLite results store (\(e.message ?? "\(e.resultCode)"))")
    }
    try markOrphans()
  }

  /// Checks that the store can be opened (and created) without touching anything: its folder
  /// exists and is writable; with `create` false the file must exist.
  public static func checkLocation(_ path: String, create: Bool = true) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let fm = FileManager.default
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDir) {
      guard !isDir.boolValue else { throw InputError.store(path: path, message: "is a folder; expected a SQLite file") }
      guard fm.isWritableFile(atPath: path) else { throw InputError.store(path: path, message: "the file is not writable") }
      return
    }
    guard create else {
      throw InputError.store(path: path, message: "no such file; run a target first (or check --db)")
    }
    guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
      throw InputError.store(path: path, message: "the folder \(dir) does not exist")
    }
    guard fm.isWritableFile(atPath: dir) else {
      throw InputError.store(path: path, message: "the folder \(dir) is not writable")
    }
  }

  /// Refuses, without writing to it, a file that is not an empty file, an empty database or a
  /// replicate store whose migrations this version knows.
  static func checkIsOurs(_ path: String) throws {
    let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    if size == 0 { return }
    let tables: [String]
    let applied: [String]
    do {
      let queue = try readOnlyQueue(path)
      defer { try? queue.close() }
      (tables, applied) = try queue.read { db in
        let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        let ids = names.contains("grdb_migrations")
          ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
        return (names, ids)
      }
    } catch let e as DatabaseError {
      throw InputError.store(path: path, message: "not a SQLite database (\(e.message ?? "\(e.resultCode)")); refusing to write to it")
    }
    if tables.isEmpty { return }
    guard tables.contains("grdb_migrations"), tables.contains("run") else {
      throw InputError.store(
        path: path,
        message: "a SQLite database of another application (tables: \(tables.sorted().prefix(6).joined(separator: ", "))); "
          + "refusing to write to it; give --db a new or existing replicate store")
    }
    let known = Set(knownMigrations)
    let unknown = applied.filter { !known.contains($0) }
    guard unknown.isEmpty else {
      throw InputError.store(
        path: path,
        message: "written by a newer replicate (unknown migrations: \(unknown.sorted().joined(separator: ", "))); "
          + "update replicate to use this store")
    }
  }

  /// The SQLite file at `path` opened read-only (never migrated or written; waits up to 30 s for a
  /// writer's lock): how a foreign file is inspected, and how shards are read while their task may
  /// still write them.
  static func readOnlyQueue(_ path: String) throws -> DatabaseQueue {
    var config = Configuration()
    config.readonly = true
    config.busyMode = .timeout(30)
    return try DatabaseQueue(path: path, configuration: config)
  }

  /// Identifiers of every migration this version knows, in order.
  public static var knownMigrations: [String] { migrator.migrations }

  /// Schema history. Never edit a shipped migration: add a new one.
  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1-createRun") { db in
      try db.create(table: "run") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("target", .text).notNull().indexed()
        t.column("method", .text).notNull()
        t.column("profile", .text).notNull()
        t.column("subset", .double).notNull()
        t.column("seed", .integer).notNull()
        t.column("canonical", .boolean).notNull()
        t.column("config", .text).notNull()
        t.column("configHash", .text).notNull()
        t.column("overrides", .text).notNull()
        t.column("dataSource", .text).notNull()
        t.column("defaultData", .boolean).notNull()
        t.column("datasetID", .text)
        t.column("datasetHash", .text)
        t.column("codeVersion", .text).notNull()
        t.column("codeDirty", .boolean).notNull()
        t.column("cpu", .text).notNull()
        t.column("cores", .integer).notNull()
        t.column("threads", .integer).notNull()
        t.column("blas", .text).notNull()
        t.column("build", .text).notNull()
        t.column("operatingSystem", .text).notNull()
        t.column("hostName", .text).notNull()
        t.column("invocation", .text).notNull()
        t.column("pid", .integer).notNull()
        t.column("status", .text).notNull()
        t.column("message", .text)
        t.column("startedAt", .datetime).notNull()
        t.column("endedAt", .datetime)
        t.column("wallSeconds", .double)
        t.column("peakMemoryBytes", .integer)
      }
    }
    m.registerMigration("v1-createMetric") { db in
      try db.create(table: "metric") { t in
        t.column("runID", .integer).notNull().references("run", onDelete: .cascade)
        t.column("name", .text).notNull()
        t.column("value", .double).notNull()
        t.primaryKey(["runID", "name"])
      }
      try db.create(table: "series") { t in
        t.column("runID", .integer).notNull().references("run", onDelete: .cascade)
        t.column("name", .text).notNull()
        t.column("step", .integer).notNull()
        t.column("x", .double).notNull()
        t.column("value", .double).notNull()
        t.primaryKey(["runID", "name", "step"])
      }
    }
    m.registerMigration("v1-createChecks") { db in
      try db.create(table: "bandCheck") { t in
        t.column("runID", .integer).notNull().references("run", onDelete: .cascade)
        t.column("metric", .text).notNull()
        t.column("lower", .double).notNull()
        t.column("upper", .double).notNull()
        t.column("value", .double)
        t.column("passed", .boolean).notNull()
      }
      try db.create(table: "claimResult") { t in
        t.column("runID", .integer).notNull().references("run", onDelete: .cascade)
        t.column("claimID", .text).notNull()
        t.column("holds", .boolean)
        t.column("detail", .text).notNull()
      }
    }
    m.registerMigration("v2-runProvenance") { db in
      try db.alter(table: "run") { t in
        t.add(column: "sweep", .text)
        t.add(column: "taskIndex", .integer)
        t.add(column: "jobID", .text)
        t.add(column: "mergedFrom", .text)
      }
    }
    m.registerMigration("v3-externalRuns") { db in
      try db.alter(table: "run") { t in
        t.add(column: "origin", .text)
        t.add(column: "provenance", .text)
      }
    }
    return m
  }

  /// Marks runs whose process died while `running` as interrupted (a process killed by a second
  /// Ctrl-C or `kill -9` cannot mark its own row). A zombie process, or a live one that reused the
  /// pid after the run started, does not keep a run alive. (A store is written by one host: on a
  /// cluster every task writes its own store.)
  private func markOrphans() throws {
    try pool.write { db in
      let running = try StoredRun.filter(Column("status") == RunStatus.running.rawValue).fetchAll(db)
      for var run in running
      where !HostFacts.isAlive(pid: Int32(truncatingIfNeeded: run.pid), startedBefore: run.startedAt) {
        run.status = RunStatus.interrupted.rawValue
        run.message = "the process (pid \(run.pid)) ended without finishing the run"
        run.endedAt = run.endedAt ?? Date()
        try run.update(db)
      }
    }
  }

  // MARK: RunRecorder

  public func begin(spec: RunSpec, environment: RunEnvironment, dataSource: String, defaultData: Bool, invocation: String)
    throws -> Int64
  {
    var run = StoredRun(
      id: nil, target: spec.target, method: spec.method.rawValue, profile: spec.profile, subset: spec.subset,
      seed: Int64(bitPattern: spec.seed), canonical: spec.canonical, config: spec.config.json,
      configHash: spec.config.hash, overrides: spec.overridesJSON, dataSource: dataSource, defaultData: defaultData, datasetID: nil, datasetHash: nil,
      codeVersion: environment.codeVersion, codeDirty: environment.codeDirty, cpu: environment.cpu,
      cores: environment.cores, threads: environment.threads, blas: environment.blas, build: environment.build,
      operatingSystem: environment.operatingSystem, hostName: environment.hostName, invocation: invocation,
      pid: Int64(HostFacts.pid), status: RunStatus.running.rawValue, message: nil, startedAt: Date(),
      endedAt: nil, wallSeconds: nil, peakMemoryBytes: nil, sweep: environment.provenance.sweep,
      taskIndex: environment.provenance.taskIndex, jobID: environment.provenance.jobID, mergedFrom: nil, origin: nil,
      provenance: nil)
    try pool.write { db in try run.insert(db) }
    guard let id = run.id else { throw InputError.store(path: path, message: "insert returned no row id") }
    return id
  }

  public func recordDataset(runID: Int64, datasetID: String, contentHash: String) throws {
    try pool.write { db in
      try db.execute(
        sql: "UPDATE run SET datasetID = ?, datasetHash = ? WHERE id = ?", arguments: [datasetID, contentHash, runID])
    }
  }

  public func complete(
    runID: Int64, output: ExperimentOutput, checks: [BandCheck], claims: [ClaimOutcome], wallSeconds: Double,
    peakMemoryBytes: Int64
  ) throws {
    try pool.write { db in
      for (name, value) in output.metrics.sorted(by: { $0.key < $1.key }) where value.isFinite {
        try StoredMetric(runID: runID, name: name, value: value).insert(db)
      }
      for p in output.series where p.value.isFinite {
        try StoredSeriesPoint(runID: runID, name: p.name, step: p.step, x: p.x, value: p.value).insert(db)
      }
      for c in checks {
        try StoredBandCheck(runID: runID, metric: c.metric, lower: c.lower, upper: c.upper, value: c.value, passed: c.passed)
          .insert(db)
      }
      for c in claims {
        try StoredClaimResult(runID: runID, claimID: c.claimID, holds: c.holds, detail: c.detail).insert(db)
      }
      let notes = output.notes.joined(separator: "\n")
      try db.execute(
        sql: """
          UPDATE run SET status = ?, endedAt = ?, wallSeconds = ?, peakMemoryBytes = ?, message = ? WHERE id = ?
          """,
        arguments: [RunStatus.completed.rawValue, Date(), wallSeconds, peakMemoryBytes, notes.isEmpty ? nil : notes, runID])
    }
  }

  public func end(runID: Int64, status: RunStatus, message: String, wallSeconds: Double, peakMemoryBytes: Int64)
    throws
  {
    try pool.write { db in
      try db.execute(
        sql: "UPDATE run SET status = ?, message = ?, endedAt = ?, wallSeconds = ?, peakMemoryBytes = ? WHERE id = ?",
        arguments: [status.rawValue, message, Date(), wallSeconds, peakMemoryBytes, runID])
    }
  }

  // MARK: Queries

  /// Every run, oldest first.
  public func runs() throws -> [StoredRun] {
    try pool.read { db in try StoredRun.order(Column("id")).fetchAll(db) }
  }

  /// Completed runs of a target (optionally of one profile), oldest first.
  public func completedRuns(target: String, profile: String? = nil) throws -> [StoredRun] {
    try pool.read { db in
      var request = StoredRun.filter(Column("target") == target && Column("status") == RunStatus.completed.rawValue)
      if let profile { request = request.filter(Column("profile") == profile) }
      return try request.order(Column("id")).fetchAll(db)
    }
  }

  /// The runs gating looks at: for each (profile, subset, seed), the newest canonical completed run
  /// of the target on its default dataset.
  public func latestCanonicalRuns(target: String, profile: String) throws -> [StoredRun] {
    let all = try completedRuns(target: target, profile: profile).filter { $0.canonical && $0.defaultData }
    var latest: [String: StoredRun] = [:]
    for run in all { latest["\(run.subset)|\(run.seed)"] = run }
    return latest.values.sorted { ($1.subset, $0.seed) < ($0.subset, $1.seed) }
  }

  /// The run with this id, or nil.
  public func run(id: Int64) throws -> StoredRun? {
    try pool.read { db in try StoredRun.fetchOne(db, key: id) }
  }

  /// Metric values of a run.
  public func metrics(runID: Int64) throws -> [String: Double] {
    try pool.read { db in
      let rows = try StoredMetric.filter(Column("runID") == runID).fetchAll(db)
      return Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0.value) })
    }
  }

  /// Curves of a run.
  public func series(runID: Int64) throws -> [StoredSeriesPoint] {
    try pool.read { db in
      try StoredSeriesPoint.filter(Column("runID") == runID).order(Column("name"), Column("step")).fetchAll(db)
    }
  }

  /// Claim results of a run.
  public func claimResults(runID: Int64) throws -> [StoredClaimResult] {
    try pool.read { db in try StoredClaimResult.filter(Column("runID") == runID).fetchAll(db) }
  }

  /// Number of runs (tests use it to prove a failed command wrote nothing).
  public func runCount() throws -> Int {
    try pool.read { db in try StoredRun.fetchCount(db) }
  }
}

/// A results store opened on the first write: a run records itself only once its input is known
/// to be good, so a command that fails on bad input leaves a missing store missing and an
/// existing one byte for byte as it was. The location is checked up front (folder, permissions,
/// a foreign file), before any work starts.
public final class DeferredStore: RunRecorder, @unchecked Sendable {
  /// The database file.
  public let path: String
  /// The journal the store is opened with.
  public let journal: ResultsStore.Journal
  private var opened: ResultsStore?

  /// Checks `path` as `ResultsStore` would, without creating or writing anything.
  public init(path: String, journal: ResultsStore.Journal = .wal) throws {
    try ResultsStore.checkLocation(path, create: true)
    if FileManager.default.fileExists(atPath: path) { try ResultsStore.checkIsOurs(path) }
    self.path = path
    self.journal = journal
  }

  /// The store, opened (created and migrated) now if it was not yet.
  public func store() throws -> ResultsStore {
    if let opened { return opened }
    let s = try ResultsStore(path: path, journal: journal)
    opened = s
    return s
  }

  public func begin(spec: RunSpec, environment: RunEnvironment, dataSource: String, defaultData: Bool, invocation: String)
    throws -> Int64
  {
    try store().begin(
      spec: spec, environment: environment, dataSource: dataSource, defaultData: defaultData, invocation: invocation)
  }

  public func recordDataset(runID: Int64, datasetID: String, contentHash: String) throws {
    try store().recordDataset(runID: runID, datasetID: datasetID, contentHash: contentHash)
  }

  public func complete(
    runID: Int64, output: ExperimentOutput, checks: [BandCheck], claims: [ClaimOutcome], wallSeconds: Double,
    peakMemoryBytes: Int64
  ) throws {
    try store().complete(
      runID: runID, output: output, checks: checks, claims: claims, wallSeconds: wallSeconds,
      peakMemoryBytes: peakMemoryBytes)
  }

  public func end(runID: Int64, status: RunStatus, message: String, wallSeconds: Double, peakMemoryBytes: Int64)
    throws
  {
    try store().end(runID: runID, status: status, message: message, wallSeconds: wallSeconds, peakMemoryBytes: peakMemoryBytes)
  }
}

import Basics
import Engine
import Foundation

/// The status of a run in the store.
public enum RunStatus: String, Sendable, Codable {
  case running, completed, failed, interrupted
  /// The run's data turned out to be bad after the run was recorded (exit 2); gate and reports
  /// ignore it. Input errors found before the data is loaded leave no row at all.
  case rejectedInput = "rejected-input"
}

/// Where a run is recorded (the results store implements it; the harness knows no SQLite).
public protocol RunRecorder: AnyObject {
  /// Records the start of a run (status running) and returns its id.
  func begin(
    spec: RunSpec, environment: RunEnvironment, dataSource: String, defaultData: Bool, invocation: String
  ) throws -> Int64
  /// Records which data the run read.
  func recordDataset(runID: Int64, datasetID: String, contentHash: String) throws
  /// Records the outcome of a completed run in one transaction.
  func complete(
    runID: Int64, output: ExperimentOutput, checks: [BandCheck], claims: [ClaimOutcome],
    wallSeconds: Double, peakMemoryBytes: Int64
  ) throws
  /// Marks a run failed or interrupted.
  func end(runID: Int64, status: RunStatus, message: String, wallSeconds: Double, peakMemoryBytes: Int64) throws
}

/// The result of one run, as the command line reports it.
public struct RunResult: Sendable {
  public var runID: Int64
  public var spec: RunSpec
  public var output: ExperimentOutput
  public var checks: [BandCheck]
  public var claims: [ClaimOutcome]
  public var wallSeconds: Double
  public var datasetID: String
  /// True when the run's data is the target's default dataset (so bands apply).
  public var onDefaultData: Bool
}

/// Runs a target's frozen spec: records it, runs the experiment, checks bands and claims.
public struct Runner {
  public let registry: Registry
  public let recorder: RunRecorder
  public var makeProgress: (String, Int, String) -> ProgressSink
  public var invocation: String
  /// Whether a run continues from the checkpoints an interrupted run of the same key left
  /// (false: `--fresh` deletes them first).
  public var resume = true
  /// Where an SSL run writes its pretrained backbone (`RunContext.backboneExport`).
  public var backboneExport: URL?
  /// The sweep task this run belongs to (its `sweep` and `taskIndex`, recorded with the run; the
  /// job id always comes from Slurm's environment).
  public var sweepTask: RunProvenance?

  public init(
    registry: Registry, recorder: RunRecorder, invocation: String,
    makeProgress: @escaping (String, Int, String) -> ProgressSink
  ) {
    self.registry = registry
    self.recorder = recorder
    self.invocation = invocation
    self.makeProgress = makeProgress
  }

  /// Runs once and records everything; rethrows the experiment's error after marking the run.
  ///
  /// The run's row is written only once its data has been read and validated (the experiment's
  /// `onDataset`), so an input error found while loading (an empty folder, a corrupt image, a
  /// split with no test image) exits 2 and leaves the store as it was, not even created. An input
  /// error found later marks the row `rejected-input`; gate and reports ignore such rows.
  public func run(target: TargetSpec, spec: RunSpec, data: DataSource) throws -> RunResult {
    var environment = RunEnvironment.current(registry: registry, threads: spec.threads)
    if let sweepTask {
      environment.provenance.sweep = sweepTask.sweep
      environment.provenance.taskIndex = sweepTask.taskIndex
    }
    BLAS.setThreadCount(spec.threads)
    let onDefault: Bool
    if case .synthetic = data { onDefault = true } else { onDefault = false }
    let start = Date()
    let record = RunRecord()
    let begin = { () throws -> Int64 in
      if let id = record.id { return id }
      let id = try self.recorder.begin(
        spec: spec, environment: environment, dataSource: data.label, defaultData: onDefault,
        invocation: self.invocation)
      record.id = id
      return id
    }
    let checkpoints = CheckpointStore(
      spec: spec, dataSource: data.label, code: environment, cacheRoot: CheckpointStore.cacheRoot(registry))
    if !resume { checkpoints.removeAll() }
    var context = RunContext(
      spec: spec, data: data, generator: RandomGenerator(seed: spec.seed), progress: makeProgress,
      loader: TileLoader(cacheDirectory: registry.cacheDirectory()),
      onDataset: { tiles in
        record.datasetID = tiles.datasetId
        let id = try begin()
        try self.recorder.recordDataset(runID: id, datasetID: tiles.datasetId, contentHash: tiles.contentHash)
      }, checkpoints: checkpoints)
    context.backboneExport = backboneExport
    context.registry = registry
    var output: ExperimentOutput
    do {
      output = try spec.method.experiment.run(context)
    } catch {
      let inputError = (error as? UserFacingError).map { $0.exitCode == 2 } ?? false
      let interrupted = error is CancellationError
      // Bad input or an interruption before any data was read: nothing worth a row.
      if record.id == nil && (inputError || interrupted) { throw error }
      if let id = try? begin() {
        let status: RunStatus = interrupted ? .interrupted : inputError ? .rejectedInput : .failed
        try? recorder.end(
          runID: id, status: status,
          message: interrupted ? "interrupted by the user" : String(describing: error),
          wallSeconds: Date().timeIntervalSince(start), peakMemoryBytes: HostFacts.peakMemoryBytes)
      }
      throw error
    }
    if let note = context.subsetLog.note(percent: spec.subset) {
      output.notes.insert(note, at: 0)
    } else if spec.subset < 100 {
      // A target that never applied --subset would record a full run under a subset's name.
      let id = try begin()
      let message = "\(target.id) did not apply --subset \(ConfigValue.format(spec.subset))% (its experiment never called RunContext.subset)"
      try? recorder.end(
        runID: id, status: .failed, message: message, wallSeconds: Date().timeIntervalSince(start),
        peakMemoryBytes: HostFacts.peakMemoryBytes)
      throw HarnessError.subsetIgnored(message)
    }
    let runID = try begin()
    let bandSet = onDefault ? target.bands.set(profile: spec.profile, subset: spec.subset) : nil
    let checks = Checks.bandChecks(bandSet, metrics: output.metrics)
    let claims = target.claims.filter { $0.profiles.contains(spec.profile) }.map {
      Checks.claim($0, metrics: output.metrics)
    }
    let wall = Date().timeIntervalSince(start)
    try recorder.complete(
      runID: runID, output: output, checks: checks, claims: claims, wallSeconds: wall,
      peakMemoryBytes: HostFacts.peakMemoryBytes)
    checkpoints.removeAll()  // recorded: nothing left to resume
    return RunResult(
      runID: runID, spec: spec, output: output, checks: checks, claims: claims, wallSeconds: wall,
      datasetID: record.datasetID ?? data.label, onDefaultData: onDefault)
  }
}

/// The run's row id once written, and the dataset it read.
private final class RunRecord: @unchecked Sendable {
  var id: Int64?
  var datasetID: String?
}

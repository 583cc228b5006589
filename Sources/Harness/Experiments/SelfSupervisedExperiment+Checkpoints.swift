import Engine
import Foundation
import Methods
import NN

/// Where one pretraining stands, beside its method and optimiser: what a checkpoint holds so that
/// the resumed loop continues bit for bit.
struct PretrainingProgress {
  /// Steps done (the next step's index).
  var iteration = 0
  /// The augmentation generator as it stands before batch `iteration`.
  var augment: RandomGenerator
  /// The generator the method's loss draws from (InstDisc's NCE noise), before step `iteration`.
  var steps: RandomGenerator
  /// Mean loss of every finished epoch.
  var losses: [Double] = []
  /// Summed loss of the current epoch's steps so far.
  var epochLoss = 0.0
  /// Training wall time spent before this process (earlier, interrupted processes).
  var seconds = 0.0
}

/// The JSON record of a pretraining checkpoint (tensors: `method.*`, `optimizer.*`).
struct PretrainingRecord: Codable {
  var label: String
  /// 0 for the main pretraining, then the arms in order (tests read it to know how far a run got).
  var labelIndex: Int
  var iteration: Int
  var total: Int
  var augmentGenerator: String
  var stepGenerator: String
  var losses: [ExactDouble]
  var epochLoss: ExactDouble
  var seconds: ExactDouble
  var optimizerCounters: [String: Int]
}

/// What an SSL run has finished: the random-initialisation evaluation and each pretraining
/// (`"pretrain"`, then the arms' labels), with their metrics and loss curves. Saved as the
/// checkpoint entry `run` after each of them, so a resumed run skips them.
struct SelfSupervisedRunRecord: Codable {
  var finished: [String] = []
  var metrics: [String: ExactDouble] = [:]
  var losses: [String: [ExactDouble]] = [:]

  static let entry = "run"

  /// The record of an interrupted run, or an empty one (with a warning note when it was
  /// unreadable; the run's checkpoints are then dropped).
  static func load(_ store: CheckpointStore?, notes: inout [String]) -> SelfSupervisedRunRecord {
    guard let store else { return SelfSupervisedRunRecord() }
    do {
      return try store.load(entry, as: SelfSupervisedRunRecord.self)?.record ?? SelfSupervisedRunRecord()
    } catch {
      notes.append("warning: \(error); ignored, the run starts afresh")
      store.removeAll()
      return SelfSupervisedRunRecord()
    }
  }

  /// Marks `label` finished with the metrics measured so far; a failed write only costs the
  /// ability to skip it on resume (warning note).
  mutating func finish(
    _ label: String, metrics: [String: Double], losses: [Double]?, store: CheckpointStore?, notes: inout [String]
  ) {
    finished.append(label)
    self.metrics = metrics.mapValues(ExactDouble.init)
    if let losses { self.losses[label] = losses.map(ExactDouble.init) }
    guard let store else { return }
    do {
      try store.save(Self.entry, tensors: [:], record: self)
    } catch {
      notes.append("warning: \(error); a resumed run would redo '\(label)'")
    }
  }
}

/// Checkpoints of one pretraining: resume at the start, save at epoch ends (and every
/// `REPLICATE_CHECKPOINT_EVERY` steps), delete once the pretraining's metrics are recorded.
struct PretrainingCheckpoints {
  let store: CheckpointStore?
  let label: String
  let labelIndex: Int
  let total: Int
  /// Set after a failed write (the warning is given once).
  private(set) var failed = false
  private(set) var writes = 0
  private(set) var writeSeconds = 0.0

  init(store: CheckpointStore?, label: String, labelIndex: Int, total: Int) {
    self.store = store
    self.label = label
    self.labelIndex = labelIndex
    self.total = total
  }

  var entry: String { "pretraining-\(label)" }

  /// What `resume` found.
  enum Resumption {
    /// No checkpoint: start at step 0.
    case none
    /// Method and optimiser restored; continue from this progress.
    case resumed(PretrainingProgress)
    /// A checkpoint that does not fit (already noted and deleted); the method and optimiser may
    /// be partly overwritten, so the caller rebuilds them.
    case rejected
  }

  /// Restores the method and optimiser from this pretraining's checkpoint, if one exists.
  func resume(method: SelfSupervisedMethod, optimizer: Optimizer, notes: inout [String]) -> Resumption {
    guard let store else { return .none }
    do {
      guard let (tensors, record) = try store.load(entry, as: PretrainingRecord.self) else { return .none }
      guard record.label == label, record.total == total, (0...total).contains(record.iteration) else {
        throw CheckpointError.unreadable(
          path: store.url(entry).path,
          reason: "it is for '\(record.label)' at step \(record.iteration) of \(record.total), expected '\(label)' with \(total) steps")
      }
      guard let augment = RandomGenerator.State(hex: record.augmentGenerator),
        let steps = RandomGenerator.State(hex: record.stepGenerator)
      else {
        throw CheckpointError.unreadable(path: store.url(entry).path, reason: "bad generator state")
      }
      var methodState: [String: Tensor] = [:], optimizerBuffers: [String: [Float]] = [:]
      for (name, tensor) in tensors {
        if name.hasPrefix("method.") {
          methodState[String(name.dropFirst(7))] = tensor
        } else if name.hasPrefix("optimizer.") {
          optimizerBuffers[String(name.dropFirst(10))] = tensor.data
        } else {
          throw CheckpointError.unreadable(path: store.url(entry).path, reason: "unexpected tensor '\(name)'")
        }
      }
      try method.restoreTrainingState(methodState)
      try optimizer.restore(OptimizerState(buffers: optimizerBuffers, counters: record.optimizerCounters))
      notes.append("resumed pretraining '\(label)' at step \(record.iteration) of \(total) from a checkpoint")
      return .resumed(
        PretrainingProgress(
          iteration: record.iteration, augment: RandomGenerator(state: augment), steps: RandomGenerator(state: steps),
          losses: record.losses.map(\.value), epochLoss: record.epochLoss.value, seconds: record.seconds.value))
    } catch {
      notes.append("warning: checkpoint of pretraining '\(label)' ignored (\(error)); it starts afresh")
      store.remove(entry)
      return .rejected
    }
  }

  /// Writes the state after `progress.iteration` steps; a failure is noted once and ends
  /// checkpointing of this pretraining (the run itself goes on).
  mutating func save(
    method: SelfSupervisedMethod, optimizer: Optimizer, progress: PretrainingProgress, seconds: Double,
    notes: inout [String]
  ) {
    guard let store, !failed else { return }
    let clock = Date()
    var tensors: [String: Tensor] = [:]
    for (name, tensor) in method.trainingState { tensors["method.\(name)"] = tensor }
    let optimizerState = optimizer.state
    for (name, values) in optimizerState.buffers {
      tensors["optimizer.\(name)"] = Tensor(shape: [values.count], data: values)
    }
    let record = PretrainingRecord(
      label: label, labelIndex: labelIndex, iteration: progress.iteration, total: total,
      augmentGenerator: progress.augment.state.hex, stepGenerator: progress.steps.state.hex,
      losses: progress.losses.map(ExactDouble.init), epochLoss: ExactDouble(progress.epochLoss),
      seconds: ExactDouble(seconds), optimizerCounters: optimizerState.counters)
    do {
      try store.save(entry, tensors: tensors, record: record)
      writes += 1
      writeSeconds += Date().timeIntervalSince(clock)
    } catch {
      failed = true
      notes.append("warning: \(error); pretraining '\(label)' goes on without checkpoints")
    }
  }

  /// Whether a checkpoint is due after `done` steps: every epoch end, and every
  /// `store.everySteps` steps.
  func isDue(done: Int, perEpoch: Int) -> Bool {
    guard let store else { return false }
    if done % perEpoch == 0 { return true }
    if let every = store.everySteps, done % every == 0 { return true }
    return false
  }

  /// Deletes the checkpoint (the pretraining's results are recorded in the run record).
  func remove() { store?.remove(entry) }
}

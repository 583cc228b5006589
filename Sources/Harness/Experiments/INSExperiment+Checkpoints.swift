import Engine
import Foundation
import Methods
import NN

/// Epoch checkpoints of INS's own training loop (`INSVariant.train`): after every epoch the model's
/// training state (`INS.trainingState`), the SGD momentum buffers, the generator and the loss
/// curves, so a killed run continues at the next epoch bit for bit.
struct INSCheckpoints {
  /// The checkpoint entry of a training: `ins-main` for the main model, `ins-<label>` for an arm.
  static func entry(label: String) -> String { label.isEmpty ? "ins-main" : "ins-\(label)" }

  let store: CheckpointStore?
  let epochs: Int
  /// This training's entry (`entry(label:)`).
  let entry: String
  /// The training's name in notes ("ins", or "ins permuted_labels").
  let name: String

  init(store: CheckpointStore?, epochs: Int, label: String = "") {
    self.store = store
    self.epochs = epochs
    self.entry = Self.entry(label: label)
    self.name = label.isEmpty ? "ins" : "ins \(label)"
  }
  private(set) var failed = false

  /// The JSON record (tensors: `model.*`, `optimizer.*`).
  struct Record: Codable {
    var epoch: Int
    var epochs: Int
    var generator: String
    var losses: [ExactDouble]
    var classificationLosses: [ExactDouble]
    var seconds: ExactDouble
    var optimizerCounters: [String: Int]
  }

  /// Where the loop stands after `epoch` epochs.
  struct Progress {
    var epoch: Int
    var generator: RandomGenerator
    var losses: [Double]
    var classificationLosses: [Double]
    var seconds: Double
  }

  /// Restores `model` and `optimizer` from an interrupted run's checkpoint. Nil when there is none;
  /// when it does not fit, nil too after a warning note, with `rebuild` set (the model or the
  /// optimiser may be partly overwritten).
  func resume(model: INS, optimizer: any Optimizer, notes: inout [String], rebuild: inout Bool) -> Progress? {
    guard let store else { return nil }
    do {
      guard let (tensors, record) = try store.load(entry, as: Record.self) else { return nil }
      guard record.epochs == epochs, (1...epochs).contains(record.epoch),
        record.losses.count == record.epoch, record.classificationLosses.count == record.epoch,
        let generator = RandomGenerator.State(hex: record.generator)
      else {
        throw CheckpointError.unreadable(
          path: store.url(entry).path, reason: "epoch \(record.epoch) of \(record.epochs), expected \(epochs) epochs")
      }
      var state: [String: Tensor] = [:], buffers: [String: [Float]] = [:]
      for (name, tensor) in tensors {
        if name.hasPrefix("model.") { state[String(name.dropFirst(6))] = tensor }
        if name.hasPrefix("optimizer.") { buffers[String(name.dropFirst(10))] = tensor.data }
      }
      try model.restoreTrainingState(state)
      rebuild = true  // from here on a failure leaves the model restored and the optimiser not
      try optimizer.restore(OptimizerState(buffers: buffers, counters: record.optimizerCounters))
      rebuild = false
      notes.append("resumed training '\(name)' at epoch \(record.epoch) of \(epochs) from a checkpoint")
      return Progress(
        epoch: record.epoch, generator: RandomGenerator(state: generator), losses: record.losses.map(\.value),
        classificationLosses: record.classificationLosses.map(\.value), seconds: record.seconds.value)
    } catch {
      notes.append("warning: checkpoint of training '\(name)' ignored (\(error)); it trains afresh")
      store.remove(entry)
      return nil
    }
  }

  mutating func save(model: INS, optimizer: any Optimizer, progress: Progress, notes: inout [String]) {
    guard let store, !failed else { return }
    var tensors: [String: Tensor] = [:]
    for (name, tensor) in model.trainingState { tensors["model.\(name)"] = tensor }
    let optimizerState = optimizer.state
    for (name, values) in optimizerState.buffers {
      tensors["optimizer.\(name)"] = Tensor(shape: [values.count], data: values)
    }
    let record = Record(
      epoch: progress.epoch, epochs: epochs, generator: progress.generator.state.hex,
      losses: progress.losses.map(ExactDouble.init),
      classificationLosses: progress.classificationLosses.map(ExactDouble.init), seconds: ExactDouble(progress.seconds),
      optimizerCounters: optimizerState.counters)
    do {
      try store.save(entry, tensors: tensors, record: record)
    } catch {
      failed = true
      notes.append("warning: \(error); training '\(name)' goes on without checkpoints")
    }
  }
}

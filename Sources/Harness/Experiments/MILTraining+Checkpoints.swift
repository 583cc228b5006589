import Engine
import Foundation
import Methods
import NN

/// Epoch-level checkpoints of one MIL training (`MILTraining.train`): after every epoch the
/// model's tensors, the optimiser's state, the generator, the losses and the early-stopping state
/// (best loss, best weights, patience count); once training ends, the final state marked finished,
/// so a resumed run skips a finished model and only evaluates it again. The run's checkpoints are
/// deleted when it completes (`Runner`).
public final class MILCheckpoints {
  let store: CheckpointStore
  let entry: String
  /// Resume notes and warnings, for the run's notes.
  public private(set) var notes: [String] = []
  private var failed = false

  /// The checkpoints of model `kind` trained under `label` in the run of `store`; nil without a store.
  public init?(store: CheckpointStore?, kind: String, label: String) {
    guard let store else { return nil }
    self.store = store
    entry = "mil-\(kind)-\(label.isEmpty ? "main" : label)"
  }

  /// The JSON record (tensors: `model.*`, `best.*`, `optimizer.*`).
  struct Record: Codable {
    var epoch: Int
    var finished: Bool
    var generator: String
    var trainLosses: [ExactDouble]
    var validationLosses: [ExactDouble]
    var bestEpoch: Int
    var best: ExactDouble
    var hasBestWeights: Bool
    var wait: Int
    var seconds: ExactDouble
    var optimizerCounters: [String: Int]
  }

  /// Where a training stands after an epoch.
  struct State {
    var epoch: Int
    var finished: Bool
    var generator: RandomGenerator
    var result: MILTrainingResult
    var best: Double
    var bestWeights: [[Float]]?
    var wait: Int
  }

  func save(_ state: State, model: some MILClassifier, optimizer: any NN.Optimizer) {
    guard !failed else { return }
    var tensors: [String: Tensor] = [:]
    for (name, tensor) in model.namedParameters { tensors["model.\(name)"] = tensor }
    if let weights = state.bestWeights {
      for ((name, tensor), values) in zip(model.namedParameters, weights) {
        tensors["best.\(name)"] = Tensor(shape: tensor.shape, data: values)
      }
    }
    let optimizerState = optimizer.state
    for (name, values) in optimizerState.buffers {
      tensors["optimizer.\(name)"] = Tensor(shape: [values.count], data: values)
    }
    let record = Record(
      epoch: state.epoch, finished: state.finished, generator: state.generator.state.hex,
      trainLosses: state.result.trainLosses.map(ExactDouble.init),
      validationLosses: state.result.validationLosses.map(ExactDouble.init), bestEpoch: state.result.bestEpoch,
      best: ExactDouble(state.best), hasBestWeights: state.bestWeights != nil, wait: state.wait,
      seconds: ExactDouble(state.result.seconds), optimizerCounters: optimizerState.counters)
    do {
      try store.save(entry, tensors: tensors, record: record)
    } catch {
      failed = true
      notes.append("warning: \(error); training goes on without checkpoints")
    }
  }

  /// The state of an interrupted run's training, restored into `model` and `optimizer`; nil when
  /// there is none or it does not fit (then noted, deleted, and `model`/`optimizer` untouched).
  func resume(model: some MILClassifier, optimizer: any NN.Optimizer, maxEpochs: Int) -> State? {
    let path = store.url(entry).path
    do {
      guard let (tensors, record) = try store.load(entry, as: Record.self) else { return nil }
      guard (1...maxEpochs).contains(record.epoch), let generator = RandomGenerator.State(hex: record.generator)
      else {
        throw CheckpointError.unreadable(path: path, reason: "epoch \(record.epoch) of \(maxEpochs) or its generator")
      }
      let live = model.namedParameters
      let prefixes = record.hasBestWeights ? ["model.", "best."] : ["model."]
      func unreadable(_ reason: String) -> CheckpointError { .unreadable(path: path, reason: reason) }
      for (name, tensor) in live {
        for key in prefixes.map({ $0 + name }) {
          guard let saved = tensors[key] else { throw unreadable("'\(key)' is missing") }
          guard saved.shape == tensor.shape else {
            throw unreadable("'\(key)' has shape \(saved.shape), expected \(tensor.shape)")
          }
        }
      }
      let known = Set(live.flatMap { entry in prefixes.map { $0 + entry.name } })
      let unknown = tensors.keys.filter { !$0.hasPrefix("optimizer.") && !known.contains($0) }
      guard unknown.isEmpty else { throw unreadable("unexpected tensors \(unknown.sorted().prefix(3))") }
      var optimizerBuffers: [String: [Float]] = [:]
      for (name, tensor) in tensors where name.hasPrefix("optimizer.") {
        optimizerBuffers[String(name.dropFirst(10))] = tensor.data
      }
      // Everything fits: the optimiser first (it checks itself before changing anything), then the model.
      try optimizer.restore(OptimizerState(buffers: optimizerBuffers, counters: record.optimizerCounters))
      Tensor.withoutGrad {
        for (name, tensor) in live { if let saved = tensors["model.\(name)"] { tensor.assign(saved.data) } }
      }
      var result = MILTrainingResult()
      result.trainLosses = record.trainLosses.map(\.value)
      result.validationLosses = record.validationLosses.map(\.value)
      result.bestEpoch = record.bestEpoch
      result.seconds = record.seconds.value
      notes.append(
        record.finished
          ? "resumed after training '\(entry)': an interrupted run finished it, its weights are reused"
          : "resumed training '\(entry)' at epoch \(record.epoch) of \(maxEpochs) from a checkpoint")
      return State(
        epoch: record.epoch, finished: record.finished, generator: RandomGenerator(state: generator), result: result,
        best: record.best.value,
        bestWeights: record.hasBestWeights ? live.map { tensors["best.\($0.name)"]?.data ?? [] } : nil,
        wait: record.wait)
    } catch {
      notes.append("warning: checkpoint '\(entry)' ignored (\(error)); it trains afresh")
      store.remove(entry)
      return nil
    }
  }
}

import Engine
import Foundation
import Methods
import NN
import Testing

@testable import Harness

/// Checkpoints of SSL pretraining: a saved state restores bit for bit into a freshly built
/// method and optimiser; a truncated or mismatched checkpoint is ignored with a warning.
@Suite struct CheckpointTests {
  let store: CheckpointStore

  init() {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replicate-ckpt-\(UUID().uuidString)")
    store = CheckpointStore(directory: folder, key: String(repeating: "0", count: 64))
  }

  /// A small MoCo v2 (queue, key encoder, split BN) with an SGD optimiser.
  func build(queueSize: Int = 16) -> (MoCo, SGD) {
    var g = RandomGenerator(seed: 7)
    let moco = MoCo(
      backbone: .resnetSmall(widths: [4, 8, 8, 8]), mlpHead: true, dimension: 8, queueSize: queueSize, momentum: 0.9,
      temperature: 0.2, batchNormSplits: 2, using: &g)
    return (moco, SGD(parameters: moco.trainableParameters, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4))
  }

  /// One training step on random views; returns the loss.
  @discardableResult
  func step(_ moco: MoCo, _ sgd: SGD, _ g: inout RandomGenerator) -> Float {
    moco.setTraining(true)
    let views = (0..<2).map { _ in Tensor.randomNormal([4, 3, 16, 16], using: &g) }
    for p in moco.trainableParameters { p.zeroGrad() }
    let loss = moco.loss(views: views, indices: [0, 1, 2, 3], progress: 0, using: &g)
    loss.backward()
    sgd.step()
    return loss.item
  }

  func checkpoints(total: Int = 10) -> PretrainingCheckpoints {
    PretrainingCheckpoints(store: store, label: "pretrain", labelIndex: 0, total: total)
  }

  func progress(after steps: Int) -> PretrainingProgress {
    var p = PretrainingProgress(augment: RandomGenerator(seed: 1), steps: RandomGenerator(seed: 2))
    p.iteration = steps
    p.losses = [1.25, 0.1 + 0.2]
    p.epochLoss = 3.0 / 7.0
    return p
  }

  @Test func restoredStateContinuesBitForBit() throws {
    defer { store.removeAll() }
    let (moco, sgd) = build()
    var g = RandomGenerator(seed: 3)
    for _ in 0..<3 { step(moco, sgd, &g) }
    var writer = checkpoints()
    var notes: [String] = []
    writer.save(method: moco, optimizer: sgd, progress: progress(after: 3), seconds: 1.5, notes: &notes)
    #expect(notes.isEmpty && writer.writes == 1)

    let (again, sgdAgain) = build()
    guard case .resumed(let p) = checkpoints().resume(method: again, optimizer: sgdAgain, notes: &notes) else {
      Issue.record("not resumed: \(notes)")
      return
    }
    #expect(p.iteration == 3 && p.losses == [1.25, 0.1 + 0.2] && p.epochLoss == 3.0 / 7.0 && p.seconds == 1.5)
    #expect(p.augment.state == RandomGenerator(seed: 1).state && p.steps.state == RandomGenerator(seed: 2).state)
    #expect(notes == ["resumed pretraining 'pretrain' at step 3 of 10 from a checkpoint"])
    #expect(again.queue.pointer == moco.queue.pointer)
    // Both continue identically: same losses, same final state.
    var g2 = g
    for _ in 0..<2 { #expect(step(moco, sgd, &g).bitPattern == step(again, sgdAgain, &g2).bitPattern) }
    let (a, b) = (moco.trainingState, again.trainingState)
    #expect(a.keys.sorted() == b.keys.sorted())
    for (name, t) in a { #expect(t.data == b[name]?.data, "\(name)") }
    #expect(sgd.state == sgdAgain.state)
  }

  @Test func truncatedCheckpointIsIgnored() throws {
    defer { store.removeAll() }
    let (moco, sgd) = build()
    var g = RandomGenerator(seed: 3)
    step(moco, sgd, &g)
    var writer = checkpoints()
    var notes: [String] = []
    writer.save(method: moco, optimizer: sgd, progress: progress(after: 1), seconds: 0, notes: &notes)
    let path = checkpoints().store!.url("pretraining-pretrain").path
    let bytes = try #require(FileManager.default.contents(atPath: path))
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))

    let (fresh, freshSGD) = build()
    let before = fresh.trainingState.mapValues(\.data)
    let outcome = checkpoints().resume(method: fresh, optimizer: freshSGD, notes: &notes)
    guard case .rejected = outcome else {
      Issue.record("a truncated checkpoint was not rejected: \(outcome)")
      return
    }
    #expect(notes.count == 1 && notes[0].hasPrefix("warning: checkpoint of pretraining 'pretrain' ignored"))
    #expect(!FileManager.default.fileExists(atPath: path), "the unreadable checkpoint is deleted")
    #expect(fresh.trainingState.mapValues(\.data) == before, "nothing was restored")
  }

  @Test func checkpointOfAnotherShapeIsIgnored() throws {
    defer { store.removeAll() }
    let (moco, sgd) = build(queueSize: 32)
    var notes: [String] = []
    var writer = checkpoints()
    writer.save(method: moco, optimizer: sgd, progress: progress(after: 2), seconds: 0, notes: &notes)
    let (other, otherSGD) = build(queueSize: 16)
    guard case .rejected = checkpoints().resume(method: other, optimizer: otherSGD, notes: &notes) else {
      Issue.record("a checkpoint with another queue size was not rejected")
      return
    }
    #expect(notes.last?.contains("queue.keys") == true, "\(notes)")
    // Another step count (another config) is rejected too.
    writer.save(method: moco, optimizer: sgd, progress: progress(after: 2), seconds: 0, notes: &notes)
    let (same, sameSGD) = build(queueSize: 32)
    guard case .rejected = checkpoints(total: 12).resume(method: same, optimizer: sameSGD, notes: &notes) else {
      Issue.record("a checkpoint with another step count was not rejected")
      return
    }
  }

  @Test func unreadableRunRecordStartsAfresh() throws {
    defer { store.removeAll() }
    try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true)
    try Data("not a safetensors file".utf8).write(to: store.url(SelfSupervisedRunRecord.entry))
    var notes: [String] = []
    let record = SelfSupervisedRunRecord.load(store, notes: &notes)
    #expect(record.finished.isEmpty && notes.count == 1 && notes[0].hasPrefix("warning: unreadable checkpoint"))
    #expect(!FileManager.default.fileExists(atPath: store.directory.path))
  }

  @Test func runKeyCoversTheSpecButNotTheCheckpointFrequencyOrThreads() {
    let spec = RunSpec(
      target: "moco-v2", method: .mocoV2, profile: "smoke", subset: 100, seed: 0,
      config: ResolvedConfig(values: ["epochs": .int(1)]), overrides: [:], threads: 2)
    let key = { (s: RunSpec, data: String, dirty: Bool) in
      CheckpointStore.runKey(spec: s, dataSource: data, codeVersion: "abc", codeDirty: dirty, executable: "x 1 2")
    }
    let base = key(spec, "synthetic-tissue@1:train", false)
    var other = spec
    other.seed = 1
    #expect(key(other, "synthetic-tissue@1:train", false) != base)
    other = spec
    other.threads = 1
    #expect(key(other, "synthetic-tissue@1:train", false) == base, "results do not depend on the thread count")
    other = spec
    other.config = ResolvedConfig(values: ["epochs": .int(2)])
    #expect(key(other, "synthetic-tissue@1:train", false) != base)
    #expect(key(spec, "/data/x", false) != base)
    #expect(key(spec, "synthetic-tissue@1:train", true) != base)
    #expect(
      CheckpointStore.runKey(
        spec: spec, dataSource: "synthetic-tissue@1:train", codeVersion: "abc", codeDirty: false, executable: "x 1 3")
        != base)
    #expect(CheckpointStore.executableIdentity.contains(" "))
    let env = RunEnvironment(
      codeVersion: "abc", codeDirty: false, cpu: "", cores: 2, threads: 2, blas: "", build: "", operatingSystem: "",
      hostName: "")
    let root = URL(fileURLWithPath: "/tmp/cache")
    let a = CheckpointStore(spec: spec, dataSource: "d", code: env, cacheRoot: root, environment: [:])
    let b = CheckpointStore(
      spec: spec, dataSource: "d", code: env, cacheRoot: root, environment: ["REPLICATE_CHECKPOINT_EVERY": "5"])
    #expect(a.directory == b.directory && a.everySteps == nil && b.everySteps == 5)
    #expect(a.directory.path == "/tmp/cache/checkpoints/\(a.key.prefix(24))")
  }
}

/// MIL trainings checkpoint after every epoch: stopped at any epoch (here by an `onEpoch` that
/// throws, as Ctrl-C does) and trained again, they end with the uninterrupted training's weights,
/// losses, kept epoch and generator, bit for bit, early stopping included.
@Suite struct MILCheckpointTests {
  struct Stop: Error {}

  @Test func interruptedTrainingResumesBitForBit() throws {
    let dir = try toyBagFolder(train: 16, test: 6)
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = try MILData.splits(of: try BagDatasetLoader.open(directory: dir), task: .tumour, subset: 100)
    let settings = MILTrainingSettings(
      optimizer: .lookaheadRAdam, learningRate: 5e-3, weightDecay: 1e-5, maxEpochs: 9, patience: 3,
      gradientAccumulation: 2)
    func train(_ checkpoints: MILCheckpoints?, stopAfter: Int? = nil) throws -> (TransMIL, MILTrainingResult, RandomGenerator) {
      var g = RandomGenerator(seed: 1)
      let model = TransMIL(inputDimension: 4, dimension: 16, classes: 2, dropout: 0.25, using: &g)
      let result = try MILTraining.train(
        model, train: data.train, validation: data.val, settings: settings, using: &g, checkpoints: checkpoints
      ) { epoch, _, _ in if epoch == stopAfter { throw Stop() } }
      return (model, result, g)
    }
    let (reference, expected, generator) = try train(nil)
    let epochs = expected.trainLosses.count
    for stop in [1, 2, epochs - 1, epochs] {
      let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replicate-mil-\(UUID().uuidString)")
      let store = CheckpointStore(directory: folder, key: "")
      defer { store.removeAll() }
      #expect(throws: Stop.self) { _ = try train(MILCheckpoints(store: store, kind: "TransMIL", label: ""), stopAfter: stop) }
      let checkpoints = MILCheckpoints(store: store, kind: "TransMIL", label: "")
      let (model, result, g) = try train(checkpoints)
      #expect(checkpoints?.notes == ["resumed training 'mil-TransMIL-main' at epoch \(stop) of 9 from a checkpoint"])
      #expect(result.trainLosses == expected.trainLosses && result.validationLosses == expected.validationLosses)
      #expect(result.bestEpoch == expected.bestEpoch && g.state == generator.state)
      for ((name, a), (_, b)) in zip(model.namedParameters, reference.namedParameters) {
        #expect(a.data == b.data, "stopped after epoch \(stop): \(name)")
      }
      // Once finished, a further run reuses the final weights without training.
      let again = MILCheckpoints(store: store, kind: "TransMIL", label: "")
      let (model2, result2, _) = try train(again)
      #expect(again?.notes.first?.hasPrefix("resumed after training") == true)
      #expect(result2.trainLosses == expected.trainLosses)
      for ((_, a), (_, b)) in zip(model2.namedParameters, reference.namedParameters) { #expect(a.data == b.data) }
    }
  }
}

import Engine
import Evaluation
import Foundation
import Methods
import Slides
import Testing
import _TestSupport

@testable import Harness

/// A folder of toy bags: positive slides (label 1) carry instances whose first feature is 3
/// (instance label 1); every other feature is small noise.
func toyBagFolder(train: Int, test: Int, withTable: Bool = true) throws -> URL {
  let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("mil-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  let d = 4
  var g = RandomGenerator(seed: 3)
  var entries: [BagStore.Entry] = []
  var records: [SlideRecord] = []
  for (split, count) in [("train", train), ("test", test)] {
    for i in 0..<count {
      let id = "\(split)_\(i)"
      let label = i % 2
      let n = 5 + i % 3
      let instanceLabels = (0..<n).map { label == 1 && $0 < 2 ? 1 : 0 }
      var features: [Float] = []
      for j in 0..<n {
        features.append(instanceLabels[j] == 1 ? 3 : 0)
        for _ in 1..<d { features.append(Float(g.nextInt(below: 100)) / 1000) }
      }
      let encoder = BagInfo.Encoder(
        kind: "small", description: "toy", inputSize: 64, featureDimension: d, weights: nil,
        weightsSHA256: String(repeating: "0", count: 64), seed: 0, normalisation: "none")
      let info = BagInfo(
        slideID: id, slidePath: "/toy/\(id).tiff", preset: "camelyon16", level: 0, patchSize: 256, readSize: 256,
        stepSize: 256, downsample: 1, micronsPerPixel: 0.5, focusDetector: "laplacian_var", focusThreshold: 15,
        annotations: nil, instanceThreshold: 0.5, encoder: encoder,
        counts: BagInfo.Counts(grid: n, kept: n, rejectedTissue: 0, rejectedFocus: 0))
      let bag = FeatureBag(
        info: info, features: features, coordinates: (0..<n).map { ($0 * 256, 0) },
        tissueCoverage: Array(repeating: 1, count: n), focusScores: Array(repeating: 20, count: n),
        tumourFractions: instanceLabels.map(Double.init), instanceLabels: instanceLabels)
      let path = dir.appendingPathComponent("\(id).safetensors").path
      try bag.write(to: path)
      entries.append(
        BagStore.Entry(
          slideID: id, path: path, instanceCount: n, featureDimension: d, counts: info.counts,
          tumourInstances: instanceLabels.reduce(0, +)))
      records.append(SlideRecord(slideID: id, label: label, split: split, relationalLabel: i < 2 ? nil : label))
    }
  }
  try BagStore.tableText(entries, directory: dir.path).write(
    to: dir.appendingPathComponent("bags.csv"), atomically: true, encoding: .utf8)
  if withTable { try SlideTable(records: records).write(to: dir.appendingPathComponent("slides.csv").path) }
  return dir
}

@Suite struct MILDataTests {
  @Test func splitsCarveValidationAndSubsetTrainingSlides() throws {
    let dir = try toyBagFolder(train: 12, test: 4)
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(BagDatasetLoader.isBagFolder(dir))
    let dataset = try BagDatasetLoader.open(directory: dir)
    // No val split: ⌈20% · 6⌉ = 2 slides per class go to validation, 8 stay for training.
    let all = try MILData.splits(of: dataset, task: .tumour, subset: 100)
    #expect(all.val.count == 4 && all.train.count == 8 && all.test.count == 4)
    #expect(all.fullTrainCount == 8 && all.featureDimension == 4 && all.classCount == 2)
    #expect(Set(all.val.map(\.slideID)).isDisjoint(with: all.train.map(\.slideID)))
    // --subset 50%: half of each class of the 8 training slides; validation and test unchanged.
    let half = try MILData.splits(of: dataset, task: .tumour, subset: 50)
    #expect(half.train.count == 4 && half.train.filter { $0.label == 1 }.count == 2)
    #expect(half.val.map(\.slideID) == all.val.map(\.slideID) && half.test.map(\.slideID) == all.test.map(\.slideID))
    #expect(Set(half.train.map(\.slideID)).isSubset(of: all.train.map(\.slideID)))
    #expect(half.train.first?.instanceLabels != nil && half.train.first?.features.shape[1] == 4)
    // The same content hashes the same; the relational task needs relational_label on every slide.
    #expect(try BagDatasetLoader.contentHash(of: dir) == dataset.contentHash)
    #expect(throws: InputError.self) { try MILData.splits(of: dataset, task: .relational, subset: 100) }
  }

  /// The label-permutation control moves the training labels (with survival times and events)
  /// by one fixed permutation: the same multiset of labels, features and instance labels left with
  /// their slides, validation permuted among itself, test untouched, the same shuffle on every call.
  @Test func permutedLabelsShuffleOnlyTheTrainingSlides() throws {
    let dir = try toyBagFolder(train: 40, test: 4)
    defer { try? FileManager.default.removeItem(at: dir) }
    let dataset = try BagDatasetLoader.open(directory: dir)
    let truth = try MILData.splits(of: dataset, task: .tumour, subset: 100)
    let shuffled = try MILData.splits(of: dataset, task: .tumour, subset: 100, permuteLabels: true)
    #expect(shuffled.train.map(\.slideID) == truth.train.map(\.slideID))
    #expect(shuffled.train.map(\.label).sorted() == truth.train.map(\.label).sorted())
    // Balanced: each true class gets each label in the overall proportion (40 slides, two classes
    // of 20: exactly 10 of each class keep their label).
    for c in 0..<2 {
      let ofClass = zip(shuffled.train, truth.train).filter { $1.label == c }
      #expect(ofClass.filter { $0.0.label == c }.count == ofClass.count / 2, "class \(c)")
    }
    for (a, b) in zip(shuffled.train, truth.train) {
      #expect(a.features.data == b.features.data && a.instanceLabels == b.instanceLabels)
    }
    #expect(shuffled.val.map(\.label) == MILData.permutingLabels(truth.val).map(\.label))
    #expect(shuffled.test.map(\.label) == truth.test.map(\.label))
    let again = try MILData.splits(of: dataset, task: .tumour, subset: 100, permuteLabels: true)
    #expect(again.train.map(\.label) == shuffled.train.map(\.label))
    // Survival times and events travel with the label they belong to.
    let bags = truth.train.enumerated().map { i, bag in
      var b = bag
      (b.survivalMonths, b.event) = (Double(i), i % 3 == 0 ? 1 : 0)
      return b
    }
    let permuted = MILData.permutingLabels(bags)
    // Unbalanced labels (3 classes of 12, 6 and 3 slides) are spread in proportion to within one.
    let uneven = (0..<21).map { i in
      var b = truth.train[i]
      b.label = i < 12 ? 0 : (i < 18 ? 1 : 2)
      return b
    }
    let spread = MILData.permutingLabels(uneven)
    #expect(spread.map(\.label).sorted() == uneven.map(\.label).sorted())
    for c in 0..<3 {
      let rows = uneven.indices.filter { uneven[$0].label == c }
      for d in 0..<3 {
        let got = Double(rows.filter { spread[$0].label == d }.count)
        let expected = Double(rows.count) * Double(uneven.filter { $0.label == d }.count) / 21
        #expect(abs(got - expected) <= 1, "true \(c) given \(d): \(got) vs \(expected)")
      }
    }
    let source = Dictionary(uniqueKeysWithValues: bags.map { (Int($0.survivalMonths!), $0) })
    for bag in permuted {
      let from = try #require(source[Int(bag.survivalMonths!)])
      #expect(bag.label == from.label && bag.event == from.event)
    }
  }

  @Test func provenanceRecordsDoNotChangeTheContentHash() throws {
    // The per-slide .json records name absolute slide paths; the same bags extracted under
    // another cache folder must hash the same (found: every run's bag hash changed with the cache).
    let dir = try toyBagFolder(train: 4, test: 2)
    defer { try? FileManager.default.removeItem(at: dir) }
    let before = try BagDatasetLoader.contentHash(of: dir)
    try #"{"slide_path": "/somewhere/else/train_000.tiff"}"#.write(
      to: dir.appendingPathComponent("train_000.json"), atomically: true, encoding: .utf8)
    #expect(try BagDatasetLoader.contentHash(of: dir) == before)
    // A feature file does count.
    try Data([0]).write(to: dir.appendingPathComponent("extra.safetensors"))
    #expect(try BagDatasetLoader.contentHash(of: dir) != before)
  }

  @Test func aFolderWithoutSlideTableIsAnInputError() throws {
    let dir = try toyBagFolder(train: 4, test: 2, withTable: false)
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(throws: InputError.self) { try BagDatasetLoader.open(directory: dir) }
  }

  @Test func splitSizeOverridesNameTheSplit() throws {
    let manifest = DatasetManifest(
      id: "synthetic-slides", version: 1, kind: "synthetic", generator: "synthetic-slides", description: "",
      classes: ["normal", "tumour"], parameters: [:],
      splits: ["train": .init(seed: 11, perClass: 20), "test": .init(seed: 13, perClass: 8)], file: "/x.yaml")
    let resized = try BagDatasetLoader.manifest(manifest, perClass: ["test": 3])
    #expect(resized.splits["test"]?.perClass == 3 && resized.splits["train"]?.perClass == 20)
    #expect(throws: InputError.self) { try BagDatasetLoader.manifest(manifest, perClass: ["val": 3]) }
  }

  @Test func lossesAndProbabilitiesByHand() {
    // One logit z = 0: p = 0.5, BCE = log 2 for either label; two logits (0, 0): CE = log 2.
    let one = Tensor(shape: [1, 1], data: [0])
    expectClose(Double(MILTraining.loss(logits: one, label: 1).item), Double(logf(2)), rtol: 0, atol: 1e-6)
    expectClose(Double(MILTraining.loss(logits: one, label: 0).item), Double(logf(2)), rtol: 0, atol: 1e-6)
    expectClose(Double(MILTraining.loss(logits: Tensor(shape: [1, 2], data: [0, 0]), label: 1).item), Double(logf(2)), rtol: 0, atol: 1e-6)
    // z = ln 3: p = 0.75 → −log 0.75 for label 1, −log 0.25 for label 0.
    let z = Tensor(shape: [1, 1], data: [logf(3)])
    #expect(abs(MILTraining.loss(logits: z, label: 1).item + logf(0.75)) < 1e-5)
    #expect(abs(MILTraining.loss(logits: z, label: 0).item + logf(0.25)) < 1e-5)
    let p = MILTraining.probabilities(z)
    #expect(abs(p[1] - 0.75) < 1e-6 && abs(p[0] - 0.25) < 1e-6)
    // Beyond the clamp (p > 1 − 1e-5) the loss is the clamped constant −log(1 − c), without a
    // gradient; c = 1 − 1e-5 rounded to Float32 makes it −log(1.0014e-5) ≈ 11.5115.
    let far = MILTraining.loss(logits: Tensor(shape: [1, 1], data: [20], requiresGrad: true), label: 0)
    #expect(abs(far.item + logf(1e-5)) < 3e-3 && !far.requiresGrad)
  }

  @Test func evaluationPoolsInstancesAndRenamesMetrics() {
    let bags = [
      MILBag(slideID: "a", features: Tensor.zeros([2, 1]), label: 1, instanceLabels: [1, 0]),
      MILBag(slideID: "b", features: Tensor.zeros([2, 1]), label: 0, instanceLabels: [0, 0]),
      MILBag(slideID: "c", features: Tensor.zeros([1, 1]), label: 0, instanceLabels: nil),
    ]
    // Positive 0.9 beats negatives 0.1, 0.3, 0.95 in 2 of 3 pairs; bag c has no labels and is skipped.
    let auc = MILEvaluation.instanceAUC(scores: [[0.9, 0.1], [0.3, 0.95], [0.5]], bags: bags) ?? -1
    expectClose(Double(auc), Double(2.0 / 3), rtol: 0, atol: 1e-12)
    #expect(MILEvaluation.named(["auc": 1], prefix: "control.", suffix: ".abmil") == ["control.auc.abmil": 1])
    var g = RandomGenerator(seed: 0)
    let m = MILEvaluation.slideMetrics(
      probabilities: [[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], labels: [1, 1, 0, 0], bootstrap: 50, using: &g)
    // Scores of positives 0.8, 0.4 vs negatives 0.7, 0.1: 3 of 4 pairs → 0.75; argmax right on 2 of 4.
    #expect(m["auc"] == 0.75 && m["accuracy"] == 0.5 && m["balanced_accuracy"] == 0.5)
    #expect(m["auc_ci_low"] != nil && m["kappa_quadratic"] != nil && m["f1_weighted"] != nil)
  }

  @Test func trainingLearnsSeparableBagsAndRestoresTheBestEpoch() throws {
    let dir = try toyBagFolder(train: 16, test: 6)
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = try MILData.splits(of: try BagDatasetLoader.open(directory: dir), task: .tumour, subset: 100)
    var g = RandomGenerator(seed: 1)
    let model = TransMIL(inputDimension: 4, dimension: 16, classes: 2, dropout: 0, using: &g)
    let settings = MILTrainingSettings(
      optimizer: .lookaheadRAdam, learningRate: 5e-3, weightDecay: 1e-5, maxEpochs: 12, patience: 3,
      gradientAccumulation: 2)
    let result = try MILTraining.train(model, train: data.train, validation: data.val, settings: settings, using: &g)
    #expect(result.trainLosses.count <= 12 && result.trainLosses.count == result.validationLosses.count)
    #expect((result.trainLosses.last ?? 9) < (result.trainLosses.first ?? 0))
    // The kept weights are the best epoch's: the validation loss now equals that epoch's minimum.
    let best = result.validationLosses[result.bestEpoch - 1]
    #expect(best == result.validationLosses.min())
    expectClose(Double(MILTraining.meanLoss(model, bags: data.val)), Double(best), rtol: 0, atol: 1e-5)
    let predicted = MILTraining.predict(model, bags: data.test)
    #expect(predicted.instanceScores == nil)
    #expect((ClassificationMetrics.rocAUC(probabilities: predicted.probabilities, labels: data.test.map(\.label)) ?? 0) > 0.5)
  }

  /// `selection: .auc` keeps the first epoch with the highest validation slide AUC (recorded
  /// here after every epoch), and the model ends with that epoch's weights.
  @Test func selectionOnValidationAUCKeepsTheFirstBestEpoch() throws {
    let dir = try toyBagFolder(train: 16, test: 6)
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = try MILData.splits(of: try BagDatasetLoader.open(directory: dir), task: .tumour, subset: 100)
    func validationAUC(_ model: some MILClassifier) -> Double {
      ClassificationMetrics.rocAUC(
        probabilities: MILTraining.predict(model, bags: data.val).probabilities, labels: data.val.map(\.label)) ?? .nan
    }
    var g = RandomGenerator(seed: 5)
    let model = ABMIL(inputDimension: 4, hidden: 8, attentionDimension: 4, using: &g)
    var settings = MILTrainingSettings(
      optimizer: .adam, learningRate: 2e-2, weightDecay: 0, maxEpochs: 8, patience: 100, gradientAccumulation: 1)
    settings.selection = .auc
    var aucs: [Double] = []
    let result = try MILTraining.train(model, train: data.train, validation: data.val, settings: settings, using: &g) {
      _, _, _ in aucs.append(validationAUC(model))
    }
    #expect(aucs.count == 8 && aucs.allSatisfy(\.isFinite))
    let best = try #require(aucs.max())
    #expect(result.bestEpoch == (aucs.firstIndex(of: best) ?? -1) + 1, "\(aucs)")
    #expect(validationAUC(model) == best)
    #expect(MILTrainingSettings.Selection.allCases.map(\.rawValue) == ["val-loss", "val-auc"])
  }
}

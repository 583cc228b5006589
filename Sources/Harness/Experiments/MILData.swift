import Engine
import Foundation
import Methods
import Slides

/// The slide-level task a MIL target learns, read from the slide table (`SlideRecord`).
public enum MILTask: String, CaseIterable, Sendable {
  /// Tumour present (`label`): one tumour instance suffices (the classic MIL assumption).
  case tumour
  /// `relational_label`: lymphoid aggregates AND necrosis both present, which no attention-
  /// weighted pooling of independent instance scores can decide (see `SyntheticSlides`).
  case relational
  /// Survival (`survival_months`, `event`); the class label is the event indicator.
  case survival
  /// `proximity_label`: a lymphoid aggregate within 800 px of a necrotic focus, on slides that all
  /// hold one of each (`SyntheticSlides.Parameters.proximityDesign`): only where instances lie
  /// decides it.
  case proximity

  /// The tasks that classify slides (every one but survival).
  public static let classification: [MILTask] = [.tumour, .relational, .proximity]

  /// The slide table column the task reads (for messages).
  public var column: String {
    switch self {
    case .tumour: "label"
    case .relational: "relational_label"
    case .survival: "survival_months, event"
    case .proximity: "proximity_label"
    }
  }

  /// Where the column comes from, for the message when it is missing.
  var columnSource: String {
    self == .proximity ? "; the synthetic slides have it with proximityDesign: true" : ""
  }

  /// The slide's class label for this task, or nil when the table lacks it.
  public func label(of record: SlideRecord) -> Int? {
    switch self {
    case .tumour: record.label
    case .relational: record.relationalLabel
    case .survival: record.survivalMonths == nil ? nil : record.event
    case .proximity: record.extra["proximity_label"].flatMap { Int($0) }.flatMap { [0, 1].contains($0) ? $0 : nil }
    }
  }
}

/// One slide as a MIL bag: its features, its task label and, when annotated, its instance labels.
public struct MILBag: @unchecked Sendable {
  /// Slide id.
  public var slideID: String
  /// Instance features `[N, D]` (no gradient).
  public var features: Tensor
  /// The task's slide label (class index; for `survival` the event indicator).
  public var label: Int
  /// Per-instance labels (tumour fraction ≥ 0.5), when the bag was extracted with annotations.
  public var instanceLabels: [Int]?
  /// What covers each instance's tile (tumour, lymphoid aggregate, necrosis …, as fractions of
  /// its area), from the slide's ground-truth layout: embedded synthetic slides only, nil otherwise.
  /// Used only to measure the features (`MILEvaluation.tileProbes`), never to train.
  public var instanceTruth: [TileTruth]?
  /// Survival time and event indicator, when the slide table has them.
  public var survivalMonths: Double?
  public var event: Int?
  /// Each instance's cell on the slide's tile grid (from the bag's tile coordinates and grid
  /// stride), nil when unknown. Only models that place tokens on the slide read it.
  public var gridPositions: [GridPosition]?

  /// Instances N.
  public var instanceCount: Int { features.shape[0] }

  public init(
    slideID: String, features: Tensor, label: Int, instanceLabels: [Int]? = nil, survivalMonths: Double? = nil,
    event: Int? = nil, instanceTruth: [TileTruth]? = nil, gridPositions: [GridPosition]? = nil
  ) {
    self.gridPositions = gridPositions
    self.slideID = slideID
    self.features = features
    self.label = label
    self.instanceLabels = instanceLabels
    self.instanceTruth = instanceTruth
    self.survivalMonths = survivalMonths
    self.event = event
  }
}

/// The bags of a MIL run, split into training (after `--subset`), validation and test slides.
public struct MILSplits: @unchecked Sendable {
  public var train: [MILBag]
  public var val: [MILBag]
  public var test: [MILBag]
  /// Feature dimension D.
  public var featureDimension: Int
  /// Number of classes: the largest label in any split plus one, at least 2.
  public var classCount: Int
  /// The bag folder and its identity.
  public var dataset: BagDataset
  /// Training slides before `--subset`.
  public var fullTrainCount: Int
  /// Slides left out because no tile survived tissue and focus QC (no instances).
  public var emptySlides: [String]
}

/// Shared data handling of the MIL targets (ABMIL, TransMIL, PANTHER, INS): loading the splits
/// and `--subset` over the training slides (the extraction keys are `MILDataConfig`).
///
/// ```swift
/// let data = try context.loadBags(task: .tumour, settings: config.data.extraction)
/// for bag in data.train { … bag.features [N, D], bag.label, bag.instanceLabels … }
/// ```
public enum MILData {
  /// The note listing the slides left out for having no tiles (none when every slide has some).
  public static func emptySlidesNote(_ data: MILSplits) -> [String] {
    data.emptySlides.isEmpty ? [] : ["left out (no tiles kept): \(data.emptySlides.joined(separator: ", "))"]
  }

  /// Seed of the validation carve-out for a bag folder without a `val` split.
  public static let validationSeed: UInt64 = 0x7A1

  /// The splits of `dataset` for `task`: slide-table splits `train`, `val` and `test`. A folder
  /// without `val` gives a class-stratified 20% of `train` to validation. Then `subset` (percent)
  /// keeps the `--subset` of the training slides by the one rule (`Subset.indices`) (slides whose bag is empty are
  /// left out first and listed in `emptySlides`) (`Sampling.stratifiedSubset`:
  /// rounding up, at least one slide per class); validation and test never change.
  /// - Throws: `InputError.badData` for a missing split, a slide without the task's label, or a
  ///   bag that does not load.
  ///
  /// `permuteLabels` (the label-permutation negative control, `replicate audit`) then shuffles
  /// the training slides' labels, with their survival times and events, among the training slides
  /// by a fixed balanced permutation (`permutingLabels`), and the validation slides' among
  /// themselves: early stopping on true validation labels would otherwise pick, among the epochs
  /// of a label-free model, the one that happens to fit them (measured: ABMIL's slide AUC 0.65
  /// with only the training labels permuted). Test slides keep their labels.
  public static func splits(
    of dataset: BagDataset, task: MILTask, subset: Double, permuteLabels: Bool = false
  ) throws -> MILSplits {
    let store = dataset.store
    var empty: [String] = []
    func bags(_ entries: [BagStore.Entry]) throws -> [MILBag] {
      // A slide without kept tiles has no bag to learn from (CLAM skips such slides too).
      empty += entries.filter { $0.instanceCount == 0 }.map(\.slideID)
      return try entries.filter { $0.instanceCount > 0 }.map { entry in
        guard let record = entry.record, let label = task.label(of: record) else {
          throw InputError.badData(
            path: store.directory,
            message: "slide '\(entry.slideID)' has no \(task.column) in slides.csv (needed by the \(task.rawValue) task"
              + task.columnSource + ")")
        }
        let bag: FeatureBag
        do { bag = try store.load(entry.slideID) } catch { throw InputError.badData(path: entry.path, message: "\(error)") }
        return MILBag(
          slideID: entry.slideID, features: bag.featureTensor, label: label, instanceLabels: bag.instanceLabels,
          survivalMonths: record.survivalMonths, event: record.event,
          instanceTruth: try dataset.layoutDirectory.map { try instanceTruth(of: bag, slideID: entry.slideID, layouts: $0) },
          gridPositions: GridPosition.cells(of: bag.coordinates, step: Double(bag.info.stepSize) * bag.info.downsample))
      }
    }
    var train = try bags(store.entries(inSplit: "train"))
    var val = try bags(store.entries(inSplit: "val"))
    let test = try bags(store.entries(inSplit: "test"))
    guard !train.isEmpty, !test.isEmpty else {
      throw InputError.badData(
        path: store.directory, message: "slides.csv needs slides in the splits train and test (found \(store.splits))")
    }
    if val.isEmpty {
      let held = Set(Sampling.stratifiedSubset(labels: train.map(\.label), percent: 20, seed: validationSeed))
      val = train.indices.filter { held.contains($0) }.map { train[$0] }
      train = train.indices.filter { !held.contains($0) }.map { train[$0] }
    }
    let fullCount = train.count
    let keep = Subset.indices(labels: train.map(\.label), percent: subset)
    train = keep.map { train[$0] }
    if permuteLabels { (train, val) = (permutingLabels(train), permutingLabels(val)) }
    let dims = Set((train + val + test).map { $0.features.shape[1] })
    guard dims.count == 1, let d = dims.first else {
      throw InputError.badData(path: store.directory, message: "bags have different feature dimensions \(dims.sorted())")
    }
    let classes = max(2, ((train + val + test).map(\.label).max() ?? 1) + 1)
    return MILSplits(
      train: train, val: val, test: test, featureDimension: d, classCount: classes, dataset: dataset,
      fullTrainCount: fullCount, emptySlides: empty)
  }
}

extension MILData {
  /// What covers each instance's tile of `bag`: its level-0 square (origin `coordinates[i]`, side
  /// `patchSize × downsample`, as `TilingGrid.rect(of:)` draws it) against the slide's layout
  /// `layouts/<slideID>.json` (`SyntheticSlideLayout.truth(of:)`).
  /// - Throws: `InputError.badData` naming the layout file when it is missing or does not decode.
  static func instanceTruth(of bag: FeatureBag, slideID: String, layouts: URL) throws -> [TileTruth] {
    let path = layouts.appendingPathComponent("\(slideID).json").path
    let layout: SyntheticSlideLayout
    do {
      layout = try JSONDecoder().decode(SyntheticSlideLayout.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw InputError.badData(path: path, message: "the slide's ground-truth layout does not load: \(error)")
    }
    let side = Double(bag.info.patchSize) * bag.info.downsample
    return bag.coordinates.map {
      layout.truth(of: SlideRect(x: Double($0.x), y: Double($0.y), width: side, height: side))
    }
  }

  /// `splits` with every feature dimension z-scored by the mean and the (population) standard
  /// deviation of the training instances, the same map applied to every split (a dimension that
  /// does not vary in training is only centred). The statistics never see validation or test.
  public static func standardized(_ splits: MILSplits) -> MILSplits {
    let d = splits.featureDimension
    var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
    var count = 0
    for bag in splits.train {
      let x = bag.features.data
      for i in 0..<bag.instanceCount {
        for j in 0..<d {
          let v = Double(x[i * d + j])
          sum[j] += v
          squares[j] += v * v
        }
      }
      count += bag.instanceCount
    }
    guard count > 0 else { return splits }
    let mean = sum.map { $0 / Double(count) }
    let scale = (0..<d).map { j -> Double in
      let variance = max(0, squares[j] / Double(count) - mean[j] * mean[j])
      return variance > 0 ? 1 / variance.squareRoot() : 1
    }
    func map(_ bags: [MILBag]) -> [MILBag] {
      bags.map { bag in
        var b = bag
        let x = bag.features.data
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<bag.instanceCount {
          for j in 0..<d { out[i * d + j] = Float((Double(x[i * d + j]) - mean[j]) * scale[j]) }
        }
        b.features = Tensor(shape: bag.features.shape, data: out)
        return b
      }
    }
    var s = splits
    (s.train, s.val, s.test) = (map(splits.train), map(splits.val), map(splits.test))
    return s
  }

  /// Seed of the label-permutation control's permutation (fixed: the control is the same
  /// shuffle at every run seed, so its seeds vary only the model).
  public static let labelPermutationSeed: UInt64 = 0x5A1F_F1E0

  /// `bags` with their labels (and survival times and events) moved by one fixed, **balanced**
  /// permutation; features and instance labels stay with their slides.
  ///
  /// A uniform random permutation keeps some agreement with the true labels by chance (with 80
  /// slides of two balanced classes its agreement has a spread of ±5.6 points around 50 %), and a
  /// one-seed control must not inherit that. So the permutation spreads the label multiset evenly
  /// over every true class: the sources are ordered by their rank within their own label
  /// ((r + ½)/n_label, random ranks), which interleaves the labels in proportion, and handed out to
  /// the destinations ordered by true label (random order within). Each true class then receives
  /// each label in the overall proportion, to within one slide: with two balanced classes, exactly
  /// half of each class keeps its label.
  public static func permutingLabels(_ bags: [MILBag]) -> [MILBag] {
    var g = RandomGenerator(seed: labelPermutationSeed)
    let sourceOrder = g.permutation(bags.count), destinationOrder = g.permutation(bags.count)
    var rank = [Int: Int](), count = [Int: Int]()
    for bag in bags { count[bag.label, default: 0] += 1 }
    var key = [Double](repeating: 0, count: bags.count)
    for i in sourceOrder {
      let label = bags[i].label
      key[i] = (Double(rank[label, default: 0]) + 0.5) / Double(count[label]!)
      rank[label, default: 0] += 1
    }
    let position = Dictionary(uniqueKeysWithValues: destinationOrder.enumerated().map { ($1, $0) })
    let sources = bags.indices.sorted { (key[$0], bags[$0].label) < (key[$1], bags[$1].label) }
    let destinations = bags.indices.sorted { (bags[$0].label, position[$0]!) < (bags[$1].label, position[$1]!) }
    var out = bags
    for (destination, source) in zip(destinations, sources) {
      (out[destination].label, out[destination].survivalMonths, out[destination].event) =
        (bags[source].label, bags[source].survivalMonths, bags[source].event)
    }
    return out
  }
}

extension RunContext {
  /// The pretrained encoder of `settings` (pretrained into the cache on first use), or nil.
  /// - Throws: `InputError` when `encoderWeights` is given too, or the reference is bad.
  public func pretrainedEncoder(_ settings: BagExtractionSettings) throws -> PretrainedEncoders.Entry? {
    guard let reference = settings.pretrainedEncoder else { return nil }
    if let weights = settings.encoderWeights {
      throw InputError.badOverride(
        key: "sslEncoder", value: reference.description,
        expected: "expected encoderWeights empty (one source of encoder weights; it is \(weights))")
    }
    return try pretrainedEncoder(reference)
  }

  /// The SSL backbone `reference` names, pretrained into the cache on first use.
  public func pretrainedEncoder(_ reference: PretrainedEncoderReference) throws -> PretrainedEncoders.Entry {
    guard let registry else { preconditionFailure("RunContext.registry is set by the runner") }
    return try PretrainedEncoders.entry(reference, registry: registry, threads: spec.threads, progress: progress)
  }

  /// `settings` with a pretrained encoder resolved into weights and input size.
  func resolvingPretrainedEncoder(_ settings: BagExtractionSettings) throws -> BagExtractionSettings {
    guard let entry = try pretrainedEncoder(settings) else { return settings }
    var s = settings
    s.encoderWeights = entry.weights.path
    s.encoder = entry.encoder
    s.inputSize = s.inputSize ?? entry.imageSize
    s.pretrainedEncoder = nil
    return s
  }

  /// Opens the run's bags: the target's synthetic slides extracted with `settings` (cached), or
  /// the user's `--data` folder of bags; reports the dataset to the runner and returns the
  /// splits for `task` with `--subset` applied to the training slides.
  /// `permuteLabels` shuffles the training labels (`MILData.splits`).
  public func loadBags(task: MILTask, settings: BagExtractionSettings, permuteLabels: Bool = false) throws -> MILSplits {
    let dataset: BagDataset
    switch data {
    case .synthetic(let manifest, let ref):
      var settings = try resolvingPretrainedEncoder(settings)
      for (k, v) in ref.parameters { settings.slideParameters[k] = v }
      let slideBar = LazyProgress(label: "generating slides", unit: "slides", make: progress)
      let bagBar = LazyProgress(label: "extracting bags", unit: "slides", make: progress)
      dataset = try BagDatasetLoader(cacheDirectory: loader.cacheDirectory).load(
        manifest, settings: settings, threads: spec.threads,
        progress: { stage, done, total in (stage == "slides" ? slideBar : bagBar).update(done: done, total: total) })
      slideBar.finish()
      bagBar.finish()
    case .imageFolder(let url) where BagDatasetLoader.isBagFolder(url):
      dataset = try BagDatasetLoader.open(directory: url)
    default:
      throw InputError.badData(
        path: data.label,
        message: "expected a folder of feature bags (bags.csv and slides.csv, as `replicate slides extract` writes)")
    }
    let splits = try MILData.splits(of: dataset, task: task, subset: spec.subset, permuteLabels: permuteLabels)
    recordSubset(kept: splits.train.count, of: splits.fullTrainCount, what: "training slides")

    try onDataset(
      TileSet(images: [], labels: [], classNames: [], names: [], datasetId: dataset.datasetId, contentHash: dataset.contentHash))
    return splits
  }
}

/// The config keys every MIL target shares: how the synthetic bags are made and the bootstrap of
/// the test AUC interval. Each MIL method's config embeds one (`var data = MILDataConfig()`)
/// and lists `.lifted(MILDataConfig.self, at: \.data)` first among its fields.
public struct MILDataConfig: MethodConfig, Equatable {
  public var encoder = TileEncoderKind.small
  public var preset = "camelyon16"
  public var trainPerClass = 0
  public var valPerClass = 0
  public var testPerClass = 0
  public var slideSide = 0
  public var matchedBlocks = false
  public var proximityDesign = false
  public var bootstrap = 1000
  public var permuteLabels = false
  public var encoderWeights = ""
  public var encoderInputSize = 0
  public var encoderStage = TileEncoderStage.last
  public var sslEncoder = ""

  public init() {}

  public static let fields: [ConfigField<Self>] = [
    .choice(
      "encoder", \.encoder, "tile encoder of the synthetic bags: small | resnet18 | swin-micro | ctranspath (an sslEncoder sets it to its backbone)",
      among: TileEncoderKind.featureEncoders),
    .string(
      "encoderWeights", \.encoderWeights,
      "weights of the tile encoder (safetensors state dict, e.g. from an SSL run's --save-backbone; empty: random init)"),
    .string(
      "sslEncoder", \.sslEncoder,
      "an SSL target's pretrained backbone as the tile encoder, target/profile/seed such as moco-v2/ci/0 (pretrained into the cache on first use; empty or none: no pretrained encoder)",
      check: PretrainedEncoderReference.check),
    .int(
      "encoderInputSize", \.encoderInputSize, "tiles are resized to this side for the encoder (0: its default, 64 for small)",
      check: { v in
        guard case .int(let n) = v else { return "expected an integer" }
        return n == 0 || (16...1024).contains(n) ? nil : "expected 0 (the default) or an integer in 16...1024"
      }),
    .choice(
      "encoderStage", \.encoderStage,
      "the Swin stage the features come from: last | penultimate | first | fusion (the last two concatenated) | all (every stage concatenated)",
      among: TileEncoderStage.allCases),
    .string("preset", \.preset, "tiling preset of the synthetic bags (Datasets/presets/tiling.yaml)"),
    .int("trainPerClass", \.trainPerClass, "synthetic slides per slide label in train (0: the manifest's 20)", check: ConfigCheck.nonNegative),
    .int("valPerClass", \.valPerClass, "synthetic slides per slide label in val (0: the manifest's 4)", check: ConfigCheck.nonNegative),
    .int("testPerClass", \.testPerClass, "synthetic slides per slide label in test (0: the manifest's 8)", check: ConfigCheck.nonNegative),
    .int("slideSide", \.slideSide, "side of the synthetic slides in pixels (0: the manifest's 4096; smoke profiles use less)", check: ConfigCheck.nonNegative),
    .bool(
      "matchedBlocks", \.matchedBlocks,
      "synthetic slides in matched design blocks: the four slides of a block (lymphoid-only, necrosis-only, both, both) share size and tissue sections, so bag size says nothing about the relational label (false: independent slides)"),
    .bool(
      "proximityDesign", \.proximityDesign,
      "synthetic slides of the proximity design: each holds one lymphoid aggregate and one necrotic focus, 380–600 px (proximity_label 1) or ≥ 1,100 px apart (0), for the proximity task (false: the relational design)"),
    .int("bootstrap", \.bootstrap, "bootstrap resamples of the test AUC interval", check: ConfigCheck.nonNegative),
    .bool(
      "permuteLabels", \.permuteLabels,
      "audit only: shuffle the training slides' labels (a fixed permutation), the negative control that must score at chance"),
  ]

  /// Extraction settings (split sizes of 0 keep the manifest's).
  public var extraction: BagExtractionSettings {
    var s = BagExtractionSettings()
    s.encoder = encoder
    s.encoderWeights = encoderWeights.isEmpty ? nil : encoderWeights
    s.pretrainedEncoder = PretrainedEncoderReference(sslEncoder)
    s.inputSize = encoderInputSize > 0 ? encoderInputSize : nil
    s.stage = encoderStage
    s.preset = preset
    for (split, n) in [("train", trainPerClass), ("val", valPerClass), ("test", testPerClass)] where n > 0 {
      s.perClass[split] = n
    }
    if slideSide > 0 {
      s.slideParameters["minSide"] = String(slideSide)
      s.slideParameters["maxSide"] = String(slideSide)
    }
    if matchedBlocks { s.slideParameters["matchedBlocks"] = "true" }
    if proximityDesign { s.slideParameters["proximityDesign"] = "true" }
    return s
  }
}

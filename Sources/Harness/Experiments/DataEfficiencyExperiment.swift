import Engine
import Foundation
import Methods
import NN

/// The `ssl-data-efficiency` target: Lenz, El Nahhas, Ligero & Kather 2024, "Reducing
/// self-supervised learning complexity improves weakly-supervised classification performance in
/// computational pathology" (arXiv 2403.04558), end to end from slides to slide AUROC.
///
/// Per run seed s:
/// 1. MoCo v3 pretrains the micro Swin with CTransPath's convolutional stem, once per data
///    fraction: the SSL run `<encoderRun>/s@P%` (`PretrainedEncoders`, cached by spec, so a
///    repeated run skips pretraining). `--subset` picks the main arm's fraction; the other
///    fractions of `fractions` are arms. Each pretraining also saves its no-learning control
///    (the same initial weights, batch-norm statistics refitted on its pool).
/// 2. Each encoder extracts the synthetic slides' tiles into bags once, every stage's features
///    concatenated (`TileEncoderStage.all`); an arm reads its stage's columns.
/// 3. ABMIL (the official gated attention, as the `abmil` target trains it) learns the slide task
///    from each arm's bags, with the same initial weights in every arm (generator `abmil`), so a
///    gap between two arms at one seed is paired.
/// 4. Slide AUROC on the test slides, which never change.
///
/// Arms: the data fractions at the last stage; at the main fraction, the second-to-last and first
/// stages and the fusion of the last two (concatenation); the no-learning control at the last
/// stage; and a second endpoint (the relational label) with its own control. Gaps (derived in
/// `finish`): `gap_f50_vs_f100`, `gap_f4_vs_f100`, `gap_penultimate_vs_last`,
/// `gap_first_vs_last`, `gap_fusion_vs_last`, `gain_over_control`,
/// `relational_gain_over_control`, and the pretraining time of 50 % relative to 100 %.
///
/// Sampling arms (`samplingArms: srcl,nsam`): the main fraction's encoder pretrained again with
/// MoCo v3's loss under SRCL or N-Sam (`ContrastiveSampling`, the project's reading of the
/// paper's terms), last stage; gaps `gap_nsam_vs_srcl`, `gap_srcl_vs_ops`, `gap_nsam_vs_ops`.
///
/// Not yet here: DS (dynamic sampling: its definition was not reachable) and pretraining on tiles
/// of the training slides (the encoders pretrain on synthetic-tissue images, the same
/// generator's tissue kinds).
public enum DataEfficiencyVariant: MILVariant {
  public typealias Config = DataEfficiencyConfig
  public typealias Bags = DataEfficiencyBags
  public static let name = "SSL data efficiency (MoCo v3 micro Swin, ABMIL)"

  /// The data fractions the target knows (percent), smallest first.
  public static let knownFractions = [4, 25, 50, 100]
  /// The stage arms, beside the main model's last stage.
  static let stageArms: [TileEncoderStage] = [.penultimate, .first, .fusion]
  /// The sampling rules an arm can pretrain with (OPS is the main encoder).
  public static let samplingRules: [ContrastiveSampling] = [.srcl, .nsam]

  public static var metrics: [MetricInfo] {
    var out = MILEvaluation.metricInfos(what: "ABMIL on the main fraction's last-stage features")
    out.append(MetricInfo("instance_auc", .higher, "ROC-AUC of the main model's attention against tumour instance labels (test)"))
    for f in knownFractions {
      out.append(MetricInfo("auc.f\(f)", .higher, "test slide ROC-AUC, encoder pretrained on \(f)% of the images, last stage"))
      out.append(
        MetricInfo(
          "pretrain_seconds.f\(f)", .lower, "pretraining wall time of the \(f)% encoder (when it was cached)", banded: false))
    }
    for stage in stageArms {
      out.append(MetricInfo("auc.\(stage.rawValue)", .higher, "test slide ROC-AUC, main fraction, \(stage.rawValue) stage"))
    }
    for rule in samplingRules {
      out.append(
        MetricInfo("auc.\(rule.rawValue)", .higher, "test slide ROC-AUC, main fraction, encoder pretrained with \(rule.rawValue) sampling"))
      out.append(
        MetricInfo(
          "encoder.\(rule.rawValue).knn_gain_over_control", .higher, "the \(rule.rawValue) encoder's kNN gain over its no-learning control"))
      out.append(
        MetricInfo(
          "encoder.\(rule.rawValue).linear_gain_over_control", .higher,
          "the \(rule.rawValue) encoder's linear-probe gain over its no-learning control"))
    }
    out += [
      MetricInfo("auc.control", .higher, "test slide ROC-AUC on the no-learning control's features (last stage)"),
      MetricInfo("auc.relational", .higher, "test slide ROC-AUC on the relational label (second endpoint), main encoder"),
      MetricInfo("auc.relational_control", .higher, "the same on the no-learning control's features"),
      MetricInfo("gap_f50_vs_f100", .higher, "auc.f50 − auc.f100"),
      MetricInfo("gap_f4_vs_f100", .higher, "auc.f4 − auc.f100"),
      MetricInfo("gap_penultimate_vs_last", .higher, "auc.penultimate − auc (the main fraction's last stage)"),
      MetricInfo("gap_first_vs_last", .higher, "auc.first − auc"),
      MetricInfo("gap_fusion_vs_last", .higher, "auc.fusion − auc"),
      MetricInfo("gain_over_control", .higher, "auc − auc.control"),
      MetricInfo("gap_nsam_vs_srcl", .higher, "auc.nsam − auc.srcl (the paper: N-Sam beats SRCL)"),
      MetricInfo("gap_srcl_vs_ops", .higher, "auc.srcl − auc (the main encoder's plain MoCo v3 sampling)"),
      MetricInfo("gap_nsam_vs_ops", .higher, "auc.nsam − auc"),
      MetricInfo("relational_gain_over_control", .higher, "auc.relational − auc.relational_control"),
      MetricInfo("pretrain_time_ratio_f50", .lower, "pretrain_seconds.f50 ÷ pretrain_seconds.f100"),
      MetricInfo("auc.ctranspath", .higher, "test slide ROC-AUC on CTransPath's features (ctranspathWeights; last stage)"),
      MetricInfo("gap_f100_vs_ctranspath", .higher, "auc.f100 − auc.ctranspath"),
      MetricInfo("gap_f4_vs_ctranspath", .higher, "auc.f4 − auc.ctranspath (the paper: 4 % comes close to CTransPath on some tasks)"),
      MetricInfo("encoder.knn_gain_over_control", .higher, "the main encoder's kNN gain over its no-learning control"),
      MetricInfo("encoder.linear_gain_over_control", .higher, "the main encoder's linear-probe gain over its control"),
      MetricInfo("encoder.loss_over_chance", .neither, "the main encoder's final MoCo v3 loss ÷ its chance value"),
    ]
    return out + MILEvaluation.trainingMetricInfos
  }

  public static func task(_ config: Config) -> MILTask { .tumour }

  /// `x` as it names an arm: `4`, `25`, `12.5`.
  static func percentName(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : ConfigValue.format(x) }

  public static func load(_ config: Config, context: RunContext) throws -> DataEfficiencyBags {
    guard case .synthetic(let manifest, let ref) = context.data else {
      throw InputError.badData(
        path: context.data.label,
        message: "the data-efficiency study pretrains and extracts its own bags from the synthetic slides; --data is not supported yet")
    }
    let (target, profile) = try config.encoderTargetAndProfile()
    // The CTransPath weights are checked before any pretraining: a bad file costs nothing.
    let ctransPathWeights = config.ctranspathWeights.isEmpty ? nil : config.ctranspathWeights
    if let path = ctransPathWeights {
      do { _ = try TileEncoder(kind: .ctransPath, weights: path) } catch let e as InputError {
        throw InputError.badOverride(key: "ctranspathWeights", value: path, expected: "CTransPath's weights: \(e.description)")
      }
    }
    let main = context.spec.subset
    var fractions = config.fractionList.map(Double.init)
    if !fractions.contains(main) { fractions.append(main) }
    var entries: [Double: PretrainedEncoders.Entry] = [:]
    for f in fractions.sorted() {
      let reference = PretrainedEncoderReference(target: target, profile: profile, seed: context.spec.seed, percent: f)
      let entry = try context.pretrainedEncoder(reference)
      guard entry.encoder == .swinMicro else {
        throw InputError.badOverride(
          key: "encoderRun", value: config.encoderRun,
          expected: "an SSL profile with backbone swin-micro (its backbone is \(entry.encoder.rawValue))")
      }
      entries[f] = entry
    }
    var samplingEntries: [ContrastiveSampling: PretrainedEncoders.Entry] = [:]
    for rule in config.samplingRuleList {
      let reference = PretrainedEncoderReference(
        target: target, profile: profile, seed: context.spec.seed, percent: main,
        overrides: ["sampling": .string(rule.rawValue), "samplingWarmupEpochs": .int(config.samplingWarmupEpochs)])
      samplingEntries[rule] = try context.pretrainedEncoder(reference)
    }
    let loader = BagDatasetLoader(cacheDirectory: context.loader.cacheDirectory)
    func extract(
      _ weights: URL, imageSize: Int, what: String, encoder: TileEncoderKind = .swinMicro
    ) throws -> (BagDataset, [Int]) {
      var settings = config.data.extraction
      settings.pretrainedEncoder = nil
      settings.encoder = encoder
      settings.encoderWeights = weights.path
      settings.inputSize = encoder == .ctransPath ? imageSize : settings.inputSize ?? imageSize
      settings.stage = .all
      for (k, v) in ref.parameters { settings.slideParameters[k] = v }
      let slideBar = LazyProgress(label: "generating slides", unit: "slides", make: context.progress)
      let bagBar = LazyProgress(label: "extracting bags (\(what))", unit: "slides", make: context.progress)
      let dataset = try loader.load(
        manifest, settings: settings, threads: context.spec.threads,
        progress: { stage, done, total in (stage == "slides" ? slideBar : bagBar).update(done: done, total: total) })
      slideBar.finish()
      bagBar.finish()
      return (dataset, encoder.swinConfiguration(inputSize: settings.inputSize ?? imageSize)!.stageWidths)
    }
    var byFraction: [Double: MILSplits] = [:]
    var widths: [Int] = []
    var mainDataset: BagDataset?
    for f in fractions.sorted() {
      let entry = entries[f]!
      let (dataset, w) = try extract(entry.weights, imageSize: entry.imageSize, what: "\(percentName(f))%")
      widths = w
      byFraction[f] = try MILData.splits(of: dataset, task: .tumour, subset: 100, permuteLabels: config.data.permuteLabels)
      if f == main { mainDataset = dataset }
    }
    let mainEntry = entries[main]!
    context.recordSubset(kept: mainEntry.poolKept, of: mainEntry.poolTotal, what: "pretraining images of the main encoder")
    var control: MILSplits?
    if config.controlArm {
      let (dataset, _) = try extract(mainEntry.controlWeights, imageSize: mainEntry.imageSize, what: "control")
      control = try MILData.splits(of: dataset, task: .tumour, subset: 100, permuteLabels: config.data.permuteLabels)
    }
    var relational: MILSplits?, relationalControl: MILSplits?
    if config.relationalArm, let mainDataset {
      relational = try MILData.splits(
        of: mainDataset, task: .relational, subset: 100, permuteLabels: config.data.permuteLabels)
      if let c = control {
        relationalControl = try MILData.splits(
          of: c.dataset, task: .relational, subset: 100, permuteLabels: config.data.permuteLabels)
      }
    }
    var bySampling: [ContrastiveSampling: MILSplits] = [:]
    for (rule, entry) in samplingEntries.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
      let (dataset, _) = try extract(entry.weights, imageSize: entry.imageSize, what: rule.rawValue)
      bySampling[rule] = try MILData.splits(of: dataset, task: .tumour, subset: 100, permuteLabels: config.data.permuteLabels)
    }
    var ctransPath: (splits: MILSplits, widths: [Int])?
    if let path = ctransPathWeights {
      let (dataset, w) = try extract(
        URL(fileURLWithPath: path), imageSize: TileEncoderKind.ctransPath.defaultInputSize, what: "CTransPath",
        encoder: .ctransPath)
      ctransPath = (try MILData.splits(of: dataset, task: .tumour, subset: 100, permuteLabels: config.data.permuteLabels), w)
    }
    guard let mainDataset else { preconditionFailure("the main fraction is always extracted") }
    try context.onDataset(
      TileSet(images: [], labels: [], classNames: [], names: [], datasetId: mainDataset.datasetId, contentHash: mainDataset.contentHash))
    return DataEfficiencyBags(
      main: main, byFraction: byFraction, control: control, relational: relational, relationalControl: relationalControl,
      bySampling: bySampling, encoders: entries, samplingEncoders: samplingEntries, widths: widths,
      ctransPath: ctransPath, standardize: config.standardizeFeatures)
  }

  /// ABMIL's settings (the `abmil` target's: Adam, accumulation 1).
  static func settings(_ config: Config) -> MILTrainingSettings {
    MILTrainingSettings(
      optimizer: .adam, learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay),
      maxEpochs: config.maxEpochs, patience: config.patience, gradientAccumulation: 1)
  }

  static func abmil(_ config: Config, data: MILSplits) -> (inout RandomGenerator) -> any MILClassifier {
    { g in
      ABMIL(
        inputDimension: data.featureDimension, hidden: config.hidden, attentionDimension: config.attentionDimension,
        classes: 1, dropout: Float(config.dropout), using: &g)
    }
  }

  public static func main(_ config: Config, bags: DataEfficiencyBags, context: RunContext) -> MILArmPlan {
    let data = bags.stage(.last, of: bags.byFraction[bags.main]!)
    return .trained("", generator: "abmil", data: data, settings: settings(config), bootstrap: config.data.bootstrap,
      notes: [bags.encoders[bags.main]!.summary], model: abmil(config, data: data))
  }

  public static func arms(_ config: Config, bags: DataEfficiencyBags, context: RunContext) -> [MILArmPlan] {
    var arms: [MILArmPlan] = []
    // Every arm: ABMIL from the main model's initial weights (generator `abmil`), its AUC kept.
    func arm(_ label: String, _ data: MILSplits) -> MILArmPlan {
      .trained(label, generator: "abmil", data: data, settings: settings(config), copies: ["auc"], model: abmil(config, data: data))
    }
    for (f, splits) in bags.byFraction.sorted(by: { $0.key < $1.key }) where f != bags.main {
      arms.append(arm("f\(percentName(f))", bags.stage(.last, of: splits)))
    }
    if config.stageArms {
      for stage in stageArms { arms.append(arm(stage.rawValue, bags.stage(stage, of: bags.byFraction[bags.main]!))) }
    }
    for (label, splits) in [("control", bags.control), ("relational", bags.relational), ("relational_control", bags.relationalControl)] {
      if let splits { arms.append(arm(label, bags.stage(.last, of: splits))) }
    }
    for (rule, splits) in bags.bySampling.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
      arms.append(arm(rule.rawValue, bags.stage(.last, of: splits)))
    }
    if let ct = bags.ctransPath { arms.append(arm("ctranspath", bags.stage(.last, of: ct.splits, widths: ct.widths))) }
    return arms
  }

  public static func finish(
    _ config: Config, bags: DataEfficiencyBags, context: RunContext, metrics: inout [String: Double],
    notes: inout [String]
  ) {
    // The main arm is its own fraction's arm.
    if let auc = metrics["auc"] { metrics["auc.f\(percentName(bags.main))"] = auc }
    for (f, entry) in bags.encoders {
      if let s = entry.metrics["train_seconds"] { metrics["pretrain_seconds.f\(percentName(f))"] = s }
    }
    MILGap.derive(
      [
        MILGap("gap_f50_vs_f100", "auc.f50", minus: "auc.f100"),
        MILGap("gap_f4_vs_f100", "auc.f4", minus: "auc.f100"),
        MILGap("gap_penultimate_vs_last", "auc.penultimate", minus: "auc"),
        MILGap("gap_first_vs_last", "auc.first", minus: "auc"),
        MILGap("gap_fusion_vs_last", "auc.fusion", minus: "auc"),
        MILGap("gain_over_control", "auc", minus: "auc.control"),
        MILGap("relational_gain_over_control", "auc.relational", minus: "auc.relational_control"),
        MILGap("gap_nsam_vs_srcl", "auc.nsam", minus: "auc.srcl"),
        MILGap("gap_srcl_vs_ops", "auc.srcl", minus: "auc"),
        MILGap("gap_nsam_vs_ops", "auc.nsam", minus: "auc"),
        MILGap("gap_f100_vs_ctranspath", "auc.f100", minus: "auc.ctranspath"),
        MILGap("gap_f4_vs_ctranspath", "auc.f4", minus: "auc.ctranspath"),
      ], into: &metrics)
    if bags.ctransPath != nil {
      notes.append("CTransPath arm: weights \(config.ctranspathWeights), last stage (768-d) of 224² tiles, the same ABMIL")
    }
    for (rule, entry) in bags.samplingEncoders {
      for name in ["knn_gain_over_control", "linear_gain_over_control"] {
        if let v = entry.metrics[name] { metrics["encoder.\(rule.rawValue).\(name)"] = v }
      }
      notes.append("sampling arm \(rule.rawValue): \(entry.description)")
    }
    if let a = metrics["pretrain_seconds.f50"], let b = metrics["pretrain_seconds.f100"], b > 0 {
      metrics["pretrain_time_ratio_f50"] = a / b
    }
    let encoder = bags.encoders[bags.main]!.metrics
    for name in ["knn_gain_over_control", "linear_gain_over_control", "loss_over_chance"] {
      if let v = encoder[name] { metrics["encoder.\(name)"] = v }
    }
    let main = bags.byFraction[bags.main]!
    notes += MILData.emptySlidesNote(main)
    notes.append(
      "\(name): encoders \(config.encoderRun)/\(context.spec.seed)@P% for P in "
        + bags.encoders.keys.sorted().map { percentName($0) + "%" }.joined(separator: ", ")
        + " (main \(percentName(bags.main))%); stage widths \(bags.widths.map(String.init).joined(separator: "-")); "
        + "\(main.train.count) training, \(main.val.count) validation, \(main.test.count) test slides; "
        + "kept epoch \(Int(metrics["best_epoch"] ?? 0)) of \(Int(metrics["epochs"] ?? 0))")
  }

  public static func featureBags(_ bags: DataEfficiencyBags) -> MILSplits? {
    bags.stage(.last, of: bags.byFraction[bags.main]!)
  }
}

/// The bags of one data-efficiency run: every stage's features per encoder.
public struct DataEfficiencyBags {
  /// The main arm's data fraction (percent, `--subset`).
  public var main: Double
  /// Tumour-task splits per pretraining fraction, `TileEncoderStage.all` features.
  public var byFraction: [Double: MILSplits]
  /// The main fraction's no-learning control, when that arm runs.
  public var control: MILSplits?
  /// The relational-label splits of the main encoder and of its control, when that arm runs.
  public var relational: MILSplits?
  public var relationalControl: MILSplits?
  /// Tumour-task splits of the main fraction's encoders pretrained under another sampling rule.
  public var bySampling: [ContrastiveSampling: MILSplits] = [:]
  /// The pretrained encoders by fraction.
  public var encoders: [Double: PretrainedEncoders.Entry]
  /// The sampling arms' encoders.
  public var samplingEncoders: [ContrastiveSampling: PretrainedEncoders.Entry] = [:]
  /// The width of each stage, first to last.
  public var widths: [Int]
  /// The CTransPath arm's splits (every stage, `TileEncoderStage.all`) and its stage widths.
  public var ctransPath: (splits: MILSplits, widths: [Int])?
  /// Whether an arm's features are z-scored by its training instances (`MILData.standardized`).
  public var standardize = false

  /// `splits` with only `stage`'s feature columns (z-scored by the training instances when
  /// `standardize`); `widths` are the stage widths of the encoder that wrote them (default: the
  /// study's micro Swin).
  public func stage(_ stage: TileEncoderStage, of splits: MILSplits, widths: [Int]? = nil) -> MILSplits {
    let columns = stage.columns(widths: widths ?? self.widths)
    let width = columns.map(\.count).reduce(0, +)
    func slice(_ bags: [MILBag]) -> [MILBag] {
      bags.map { bag in
        let n = bag.instanceCount, d = bag.features.shape[1]
        var out = [Float](repeating: 0, count: n * width)
        bag.features.data.withUnsafeBufferPointer { src in
          var o = 0
          for i in 0..<n {
            for range in columns {
              for j in range {
                out[o] = src[i * d + j]
                o += 1
              }
            }
          }
        }
        var b = bag
        b.features = Tensor(shape: [n, width], data: out)
        return b
      }
    }
    var s = splits
    (s.train, s.val, s.test) = (slice(splits.train), slice(splits.val), slice(splits.test))
    s.featureDimension = width
    return standardize ? MILData.standardized(s) : s
  }
}

/// The `ssl-data-efficiency` target's config: the shared MIL data keys (the slide set, tiling,
/// focus QC; the encoder keys are set by the target), the pretraining run, the arms, and ABMIL's
/// keys (the `abmil` target's defaults).
public struct DataEfficiencyConfig: MILMethodConfig, Equatable {
  public var data = MILDataConfig()
  public var encoderRun = "moco-v3/swin"
  public var fractions = "4,25,50,100"
  public var stageArms = true
  public var controlArm = true
  public var relationalArm = true
  public var samplingArms = ""
  public var samplingWarmupEpochs = 5
  public var ctranspathWeights = ""
  public var standardizeFeatures = false
  public var hidden = 500
  public var attentionDimension = 128
  public var dropout = 0.0
  public var learningRate = 5e-4
  public var weightDecay = 1e-4
  public var maxEpochs = 100
  public var patience = 10

  public init() {}

  /// `fractions` as integers (checked by the key's check).
  public var fractionList: [Int] { fractions.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

  /// `samplingArms` as rules (checked by the key's check).
  public var samplingRuleList: [ContrastiveSampling] {
    samplingArms == "none"
      ? [] : samplingArms.split(separator: ",").compactMap { ContrastiveSampling(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
  }

  /// `encoderRun` as (target, profile).
  func encoderTargetAndProfile() throws -> (String, String) {
    let parts = encoderRun.split(separator: "/").map(String.init)
    guard parts.count == 2 else {
      throw InputError.badOverride(key: "encoderRun", value: encoderRun, expected: "target/profile, such as moco-v3/swin")
    }
    return (parts[0], parts[1])
  }

  public static let fields: [ConfigField<Self>] =
    .lifted(MILDataConfig.self, at: \.data) + [
      .string(
        "encoderRun", \.encoderRun,
        "the SSL run that pretrains the encoders, target/profile (its backbone swin-micro); the seed is the run's, the fraction each arm's",
        check: { v in
          guard case .string(let s) = v else { return "expected a string" }
          return s.split(separator: "/").count == 2 ? nil : "expected target/profile, such as moco-v3/swin"
        }),
      .string(
        "fractions", \.fractions, "the data-fraction arms, percent of the pretraining images: a comma list among 4, 25, 50, 100",
        check: { v in
          guard case .string(let s) = v else { return "expected a string" }
          let items = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
          return !items.isEmpty && items.allSatisfy({ Int($0).map(DataEfficiencyVariant.knownFractions.contains) ?? false })
            ? nil : "expected a comma list among 4, 25, 50, 100"
        }),
      .bool("stageArms", \.stageArms, "also train on the second-to-last stage, the first stage and the fusion of the last two"),
      .bool("controlArm", \.controlArm, "also train on the no-learning control's features"),
      .bool("relationalArm", \.relationalArm, "also train on the relational label (the second endpoint)"),
      .string(
        "samplingArms", \.samplingArms,
        "sampling arms: a comma list among srcl, nsam (empty or none: no arm); each pretrains the main fraction's encoder again with that rule (moco-v3's `sampling` key)",
        check: { v in
          guard case .string(let s) = v else { return "expected a string" }
          if s == "none" { return nil }
          let items = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
          let known = DataEfficiencyVariant.samplingRules.map(\.rawValue)
          return items.allSatisfy(known.contains) ? nil : "expected a comma list among \(known.joined(separator: ", ")), or none"
        }),
      .int(
        "samplingWarmupEpochs", \.samplingWarmupEpochs,
        "epochs of plain MoCo v3 before a sampling arm's rule applies (SRCL: 5; moco-v3's samplingWarmupEpochs)",
        check: ConfigCheck.nonNegative),
      .string(
        "ctranspathWeights", \.ctranspathWeights,
        "CTransPath's weights (a safetensors state dict with timm names, converted from the published checkpoint): adds an arm on its 768-d features at 224² (empty: none)"),
      .bool(
        "standardizeFeatures", \.standardizeFeatures,
        "z-score each feature dimension by the training instances' mean and standard deviation before ABMIL (every arm)"),
      .int("hidden", \.hidden, "ABMIL instance embedding size (official M = 500)", check: ConfigCheck.positive),
      .int("attentionDimension", \.attentionDimension, "ABMIL attention size (official L = 128)", check: ConfigCheck.positive),
      .double("dropout", \.dropout, "dropout on the instance embeddings", check: ConfigCheck.probability),
      .double("learningRate", \.learningRate, "Adam learning rate (ABMIL's main.py: 5e-4)"),
      .double("weightDecay", \.weightDecay, "Adam L2 weight decay (ABMIL's main.py: 1e-4)"),
      .int("maxEpochs", \.maxEpochs, "maximum MIL epochs", check: ConfigCheck.positive),
      .int("patience", \.patience, "early-stopping patience on the validation loss (0: off)", check: ConfigCheck.nonNegative),
    ]
}

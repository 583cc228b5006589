import Engine
import Evaluation
import Foundation
import Methods
import NN

/// PANTHER as a target: K-means prototypes on the training slides' patch features, the per-slide
/// MAP-EM 'allcat' embedding, and a bias-free linear head (AdamW, cosine with warm-up) for the
/// slide task (cross-entropy, `MILEvaluation` slide metrics) and for survival (Cox partial
/// likelihood, Harrell's C on the test slides). The same run repeats everything with
/// `armPrototypes` components (arm `c32`) for the README's "C=16 outperforms C=32" claim.
///
/// No model of the shared loop: the main model and the arm are `.custom` plans running the
/// pipeline below with their own C; `load` adds the survival splits (`PantherBags`).
public enum PantherVariant: MILVariant {
  public typealias Config = PantherConfig
  public static let name = "PANTHER"

  /// The classification splits, the survival splits (nil when `survival` is off) and when the
  /// run started (`train_seconds` counts from before the bags load, as it always did).
  public struct PantherBags {
    public var data: MILSplits
    public var survival: MILSplits?
    public var start: Date
  }

  public static func featureBags(_ bags: PantherBags) -> MILSplits? { bags.data }

  static func slideMetricInfos(_ suffix: String, _ what: String) -> [MetricInfo] {
    MILEvaluation.metricInfos(suffix: suffix, what: what)
      + [MetricInfo("c_index\(suffix)", .higher, "Harrell's C of the Cox head on the test slides, \(what)")]
  }

  public static var metrics: [MetricInfo] {
    slideMetricInfos("", "PANTHER C=16")
      + slideMetricInfos(".c32", "PANTHER arm C=32")
      + [
        MetricInfo("auc_gap_c16_c32", .higher, "auc − auc.c32 (the README claims C=16 outperforms C=32)"),
        MetricInfo("c_index_gap_c16_c32", .higher, "c_index − c_index.c32"),
        MetricInfo("embedding_dimension", .higher, "length of the allcat embedding, C + 2·C·d", banded: false),
        MetricInfo(
          "prior_variance", .higher, "the prior variance eps the mixture used (priorVariance, or the feature scale for 0)",
          banded: false),
        MetricInfo(
          "responsibility_top_median", .higher,
          "median over the test instances of their largest responsibility (1/C: no instance assigned, 1: hard assignments)",
          banded: false),
        MetricInfo("train_seconds", .lower, "prototypes, embeddings and heads, wall time", banded: false),
      ]
  }

  /// The metrics the arm's run copies with its suffix: the slide metrics and `c_index`.
  static let armMetrics = MILEvaluation.metricInfos(what: "").map(\.name) + ["c_index"]

  /// The arm's suffix, `.c<armPrototypes>`.
  static func armSuffix(_ config: PantherConfig) -> String { ".c\(config.armPrototypes)" }

  public static func task(_ config: PantherConfig) -> MILTask { config.task }

  public static func load(_ config: PantherConfig, context: RunContext) throws -> PantherBags {
    let start = Date()
    let data = try context.loadBags(
      task: config.task, settings: config.data.extraction, permuteLabels: config.data.permuteLabels)
    let survival = config.survival
      ? try MILData.splits(
        of: data.dataset, task: .survival, subset: context.spec.subset, permuteLabels: config.data.permuteLabels)
      : nil
    return PantherBags(data: data, survival: survival, start: start)
  }

  public static func main(_ config: PantherConfig, bags: PantherBags, context: RunContext) -> MILArmPlan {
    .custom("") { try run(prototypes: config.prototypes, suffix: "", config: config, bags: bags, context: context) }
  }

  public static func arms(_ config: PantherConfig, bags: PantherBags, context: RunContext) -> [MILArmPlan] {
    guard config.armPrototypes > 0 else { return [] }
    let suffix = armSuffix(config)
    return [
      .custom(String(suffix.dropFirst()), copies: armMetrics, suffix: suffix) {
        try run(prototypes: config.armPrototypes, suffix: suffix, config: config, bags: bags, context: context)
      }
    ]
  }

  public static func gaps(_ config: PantherConfig) -> [MILGap] {
    [
      MILGap("auc_gap_c16_c32", "auc", minus: "auc\(armSuffix(config))"),
      MILGap("c_index_gap_c16_c32", "c_index", minus: "c_index\(armSuffix(config))"),
    ]
  }

  public static func finish(
    _ config: PantherConfig, bags: PantherBags, context: RunContext, metrics: inout [String: Double],
    notes: inout [String]
  ) {
    let data = bags.data
    metrics["train_seconds"] = Date().timeIntervalSince(bags.start)
    notes.append(
      "\(name): C=\(config.prototypes) (arm C=\(config.armPrototypes)), L=\(config.emSteps), "
        + "τ=\(ConfigValue.format(config.tau)), eps=\(ConfigValue.format(config.priorVariance)); "
        + "\(data.train.count) of \(data.fullTrainCount) training slides (subset \(ConfigValue.format(context.spec.subset))%), "
        + "\(data.test.count) test slides, task \(config.task.rawValue); head \(config.epochs) epochs, batch \(config.batchSize)")
  }

  /// PANTHER's settings with `prototypes` components.
  static func settings(_ config: PantherConfig, prototypes c: Int) -> PANTHER.Settings {
    var settings = PANTHER.Settings()
    settings.prototypeCount = c
    settings.emSteps = config.emSteps
    settings.tau = Float(config.tau)
    settings.priorVariance = Float(config.priorVariance)
    settings.patchesPerPrototype = config.patchesPerPrototype
    settings.kmeansIterations = config.kmeansIterations
    settings.kmeansRestarts = config.kmeansRestarts
    settings.learningRate = Float(config.learningRate)
    settings.weightDecay = Float(config.weightDecay)
    settings.epochs = config.epochs
    settings.batchSize = config.batchSize
    settings.warmupEpochs = config.warmupEpochs
    return settings
  }

  /// Prototypes, embeddings, the classification head and the Cox head with `prototypes`
  /// components; metric names without the suffix (`suffix` only names the notes).
  static func run(
    prototypes c: Int, suffix: String, config: PantherConfig, bags: PantherBags, context: RunContext
  ) throws -> MILArm.Outcome {
    try context.checkInterrupted()
    let (data, survival) = (bags.data, bags.survival)
    let settings = settings(config, prototypes: c)
    var metrics: [String: Double] = [:]
    var notes: [String] = []
    var g = context.generator.split("panther C=\(c)")
    // One set of prototypes per training set: the survival task reuses the classification
    // embeddings when its training slides are the same (always, without --subset).
    let sameTrain = survival.map { $0.train.map(\.slideID) == data.train.map(\.slideID) } ?? false
    let e = embed(
      train: data.train, others: [data.test] + (sameTrain ? [survival?.test ?? []] : []),
      dimension: data.featureDimension, settings: settings, using: &g)
    metrics["embedding_dimension"] = Double(e.train.first?.count ?? 0)
    metrics["prior_variance"] = Double(e.prototypes.variances.first ?? .nan)
    if let top = PANTHER.medianTopResponsibility(slides: data.test.map(rows), prior: e.prototypes, settings: settings) {
      metrics["responsibility_top_median"] = top
      notes.append(
        String(
          format: "C=%d: prior variance %.4g; median top responsibility of the test instances %.3f (uniform 1/C = %.3f)", c,
          Double(e.prototypes.variances.first ?? .nan), top, 1 / Double(c)))
    }
    var headGenerator = g.split("classification head")
    let head = PANTHER.trainHead(
      embeddings: e.train, objective: .classification(labels: data.train.map(\.label), classes: data.classCount),
      settings: settings, using: &headGenerator)
    var bootstrapGenerator = g.split("bootstrap")
    let slide = MILEvaluation.slideMetrics(
      probabilities: PANTHER.predict(head: head, embeddings: e.others[0]).map(softmax),
      labels: data.test.map(\.label), bootstrap: config.data.bootstrap, using: &bootstrapGenerator)
    metrics.merge(slide) { $1 }
    if let survival {
      var train = e.train, test = sameTrain ? e.others[1] : []
      if !sameTrain {
        var s = g.split("survival prototypes")
        let own = embed(
          train: survival.train, others: [survival.test], dimension: data.featureDimension, settings: settings,
          using: &s)
        (train, test) = (own.train, own.others[0])
      }
      var coxGenerator = g.split("cox head")
      if let c = coxIndex(survival, train: train, test: test, settings: settings, config: config, using: &coxGenerator) {
        metrics["c_index"] = c
      } else {
        notes.append("c_index\(suffix) undefined: no comparable pair among the test slides")
      }
    }
    return MILArm.Outcome(metrics: metrics, notes: notes)
  }

  /// Row-major features of a bag.
  static func rows(_ bag: MILBag) -> [Float] { bag.features.data }

  /// Prototypes from the training slides, then one allcat embedding per slide of each list.
  static func embed(
    train: [MILBag], others: [[MILBag]], dimension d: Int, settings: PANTHER.Settings, using g: inout RandomGenerator
  ) -> (prototypes: PANTHER.Prior, train: [[Float]], others: [[[Float]]]) {
    var kmeansGenerator = g.split("kmeans")
    let prototypes = PANTHER.prototypes(
      slides: train.map(rows), dimension: d, settings: settings, using: &kmeansGenerator)
    // priorVariance ≤ 0: the feature scale the prototypes leave (`residualVariance`).
    let variance =
      settings.priorVariance > 0
      ? settings.priorVariance : PANTHER.residualVariance(slides: train.map(rows), prototypes: prototypes, dimension: d)
    let prior = PANTHER.Prior(prototypes: prototypes, componentCount: settings.prototypeCount, priorVariance: variance)
    let f = { (bag: MILBag) in PANTHER.embedding(features: rows(bag), prior: prior, settings: settings) }
    return (prior, train.map(f), others.map { $0.map(f) })
  }

  /// Class probabilities from logits.
  static func softmax(_ row: [Float]) -> [Double] {
    let m = Double(row.max() ?? 0)
    let ex = row.map { Foundation.exp(Double($0) - m) }
    let s = ex.reduce(0, +)
    return ex.map { $0 / s }
  }

  /// Cox head on the survival task; Harrell's C of its log-risks on the test slides.
  static func coxIndex(
    _ data: MILSplits, train: [[Float]], test: [[Float]], settings: PANTHER.Settings, config: PantherConfig,
    using g: inout RandomGenerator
  ) -> Double? {
    let months = data.train.map { $0.survivalMonths ?? 0 }
    let events = data.train.map { ($0.event ?? 0) == 1 }
    var times = months
    if config.coxTimes == .bins {
      // The official survival datasets order the Cox risk sets by the quantile time bin.
      if let edges = Survival.quantileBinEdges(times: months, events: events, count: config.timeBins) {
        times = months.map { Double(Survival.bin(of: $0, edges: edges)) }
      }
    }
    let head = PANTHER.trainHead(
      embeddings: train, objective: .survival(times: times, events: events), settings: settings, using: &g)
    let risks = PANTHER.predict(head: head, embeddings: test).map { Double($0[0]) }
    return Survival.concordanceIndex(
      events: data.test.map { ($0.event ?? 0) == 1 }, times: data.test.map { $0.survivalMonths ?? 0 }, risks: risks)?
      .cIndex
  }
}

/// The `panther` target's config: the shared MIL data keys, then PANTHER's own (official
/// argument names in parentheses).
public struct PantherConfig: MILMethodConfig, Equatable {
  /// What orders the Cox risk sets.
  public enum CoxTimes: String, CaseIterable, Sendable {
    /// The official code: quantile time bins of the uncensored training times.
    case bins
    case months
  }

  public var data = MILDataConfig()
  public var task = MILTask.tumour
  public var survival = true
  public var prototypes = 16
  public var armPrototypes = 32
  public var emSteps = 1
  public var tau = 1.0
  public var priorVariance = 1.0
  public var patchesPerPrototype = 100_000
  public var kmeansIterations = 50
  public var kmeansRestarts = 5
  public var epochs = 50
  public var batchSize = 64
  public var learningRate = 1e-4
  public var weightDecay = 1e-5
  public var warmupEpochs = 1
  public var coxTimes = CoxTimes.bins
  public var timeBins = 4

  public init() {}

  public static let fields: [ConfigField<Self>] =
    .lifted(MILDataConfig.self, at: \.data) + [
      .choice("task", \.task, "slide task of the classification head: tumour | relational", among: MILTask.classification),
      .bool("survival", \.survival, "also train a Cox head on the survival task and report c_index"),
      .int("prototypes", \.prototypes, "mixture components C (out_size)", check: ConfigCheck.range(1, 4096)),
      .int("armPrototypes", \.armPrototypes, "C of the comparison arm c<C> (0: no arm)", check: ConfigCheck.range(0, 4096)),
      .int("emSteps", \.emSteps, "EM steps L (em_step)", check: ConfigCheck.range(1, 100)),
      .double("tau", \.tau, "prior weight τ of the MAP M step"),
      .double(
        "priorVariance", \.priorVariance,
        "prior variance eps (V = eps · 1); 0: the feature scale, the training instances' mean squared distance to their nearest prototype per dimension",
        check: ConfigCheck.between(0, 1e6)),
      .int("patchesPerPrototype", \.patchesPerPrototype, "K-means sample: C · this many patches, the first ⌈n/slides⌉ of each slide", check: ConfigCheck.range(1, 100_000_000)),
      .int("kmeansIterations", \.kmeansIterations, "Lloyd rounds per K-means restart", check: ConfigCheck.range(1, 10_000)),
      .int("kmeansRestarts", \.kmeansRestarts, "K-means restarts (n_init)", check: ConfigCheck.range(1, 1000)),
      .int("epochs", \.epochs, "head training epochs (max_epoch)", check: ConfigCheck.range(1, 100_000)),
      .int("batchSize", \.batchSize, "slides per head batch", check: ConfigCheck.range(1, 65_536)),
      .double("learningRate", \.learningRate, "AdamW learning rate"),
      .double("weightDecay", \.weightDecay, "AdamW weight decay"),
      .int("warmupEpochs", \.warmupEpochs, "warm-up epochs before the cosine", check: ConfigCheck.range(0, 10_000)),
      .choice("coxTimes", \.coxTimes, "what orders the Cox risk sets: bins (the official code: quantile time bins) | months"),
      .int("timeBins", \.timeBins, "quantile bins of the uncensored training times (n_label_bins)", check: ConfigCheck.range(1, 100)),
    ]
}

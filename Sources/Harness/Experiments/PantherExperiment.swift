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
public enum PantherExperiment: Experiment {
  public static var schema: [ConfigKey] {
    MILData.schema + [
      ConfigKey("task", .string, default: .string("tumour"), "slide task of the classification head: tumour | relational", check: ConfigCheck.oneOf(["tumour", "relational"])),
      ConfigKey("survival", .bool, default: .bool(true), "also train a Cox head on the survival task and report c_index"),
      ConfigKey("prototypes", .int, default: .int(16), "mixture components C (out_size)", check: ConfigCheck.range(1, 4096)),
      ConfigKey("armPrototypes", .int, default: .int(32), "C of the comparison arm c<C> (0: no arm)", check: ConfigCheck.range(0, 4096)),
      ConfigKey("emSteps", .int, default: .int(1), "EM steps L (em_step)", check: ConfigCheck.range(1, 100)),
      ConfigKey("tau", .double, default: .double(1), "prior weight τ of the MAP M step"),
      ConfigKey("priorVariance", .double, default: .double(1), "prior variance eps (V = eps · 1)"),
      ConfigKey("patchesPerPrototype", .int, default: .int(100_000), "K-means sample: C · this many patches, the first ⌈n/slides⌉ of each slide", check: ConfigCheck.range(1, 100_000_000)),
      ConfigKey("kmeansIterations", .int, default: .int(50), "Lloyd rounds per K-means restart", check: ConfigCheck.range(1, 10_000)),
      ConfigKey("kmeansRestarts", .int, default: .int(5), "K-means restarts (n_init)", check: ConfigCheck.range(1, 1000)),
      ConfigKey("epochs", .int, default: .int(50), "head training epochs (max_epoch)", check: ConfigCheck.range(1, 100_000)),
      ConfigKey("batchSize", .int, default: .int(64), "slides per head batch", check: ConfigCheck.range(1, 65_536)),
      ConfigKey("learningRate", .double, default: .double(1e-4), "AdamW learning rate"),
      ConfigKey("weightDecay", .double, default: .double(1e-5), "AdamW weight decay"),
      ConfigKey("warmupEpochs", .int, default: .int(1), "warm-up epochs before the cosine", check: ConfigCheck.range(0, 10_000)),
      ConfigKey("coxTimes", .string, default: .string("bins"), "what orders the Cox risk sets: bins (the official code: quantile time bins) | months", check: ConfigCheck.oneOf(["bins", "months"])),
      ConfigKey("timeBins", .int, default: .int(4), "quantile bins of the uncensored training times (n_label_bins)", check: ConfigCheck.range(1, 100)),
    ]
  }

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
        MetricInfo("train_seconds", .lower, "prototypes, embeddings and heads, wall time", banded: false),
      ]
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = context.spec.config
    Parallel.setThreadCount(context.spec.threads)
    BLAS.setThreadCount(context.spec.threads)
    let start = Date()
    let task = MILTask(rawValue: config.string("task")) ?? .tumour
    let data = try context.loadBags(task: task, settings: MILData.extraction(config))
    let survival = config.bool("survival")
      ? try MILData.splits(of: data.dataset, task: .survival, subset: context.spec.subset) : nil
    var output = ExperimentOutput()
    var metrics: [String: Double] = [:]
    var arms = [("", config.int("prototypes"))]
    if config.int("armPrototypes") > 0 { arms.append((".c\(config.int("armPrototypes"))", config.int("armPrototypes"))) }
    for (suffix, c) in arms {
      try context.checkInterrupted()
      var settings = PANTHER.Settings()
      settings.prototypeCount = c
      settings.emSteps = config.int("emSteps")
      settings.tau = Float(config.double("tau"))
      settings.priorVariance = Float(config.double("priorVariance"))
      settings.patchesPerPrototype = config.int("patchesPerPrototype")
      settings.kmeansIterations = config.int("kmeansIterations")
      settings.kmeansRestarts = config.int("kmeansRestarts")
      settings.learningRate = Float(config.double("learningRate"))
      settings.weightDecay = Float(config.double("weightDecay"))
      settings.epochs = config.int("epochs")
      settings.batchSize = config.int("batchSize")
      settings.warmupEpochs = config.int("warmupEpochs")
      var g = context.generator.split("panther C=\(c)")
      // One set of prototypes per training set: the survival task reuses the classification
      // embeddings when its training slides are the same (always, without --subset).
      let sameTrain = survival.map { $0.train.map(\.slideID) == data.train.map(\.slideID) } ?? false
      let e = embed(
        train: data.train, others: [data.test] + (sameTrain ? [survival?.test ?? []] : []),
        dimension: data.featureDimension, settings: settings, using: &g)
      if suffix.isEmpty { metrics["embedding_dimension"] = Double(e.train.first?.count ?? 0) }
      var headGenerator = g.split("classification head")
      let head = PANTHER.trainHead(
        embeddings: e.train, objective: .classification(labels: data.train.map(\.label), classes: data.classCount),
        settings: settings, using: &headGenerator)
      var bootstrapGenerator = g.split("bootstrap")
      let slide = MILEvaluation.slideMetrics(
        probabilities: PANTHER.predict(head: head, embeddings: e.others[0]).map(softmax),
        labels: data.test.map(\.label), bootstrap: config.int("bootstrap"), using: &bootstrapGenerator)
      metrics.merge(MILEvaluation.named(slide, suffix: suffix)) { $1 }
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
          metrics["c_index\(suffix)"] = c
        } else {
          output.notes.append("c_index\(suffix) undefined: no comparable pair among the test slides")
        }
      }
    }
    let armSuffix = ".c\(config.int("armPrototypes"))"
    if let a = metrics["auc"], let b = metrics["auc\(armSuffix)"] { metrics["auc_gap_c16_c32"] = a - b }
    if let a = metrics["c_index"], let b = metrics["c_index\(armSuffix)"] { metrics["c_index_gap_c16_c32"] = a - b }
    metrics["train_seconds"] = Date().timeIntervalSince(start)
    output.metrics = metrics.filter { $0.value.isFinite }
    output.notes.append(
      "PANTHER: C=\(config.int("prototypes")) (arm C=\(config.int("armPrototypes"))), L=\(config.int("emSteps")), "
        + "τ=\(ConfigValue.format(config.double("tau"))), eps=\(ConfigValue.format(config.double("priorVariance"))); "
        + "\(data.train.count) of \(data.fullTrainCount) training slides (subset \(ConfigValue.format(context.spec.subset))%), "
        + "\(data.test.count) test slides, task \(task.rawValue); head \(config.int("epochs")) epochs, batch \(config.int("batchSize"))")
    return output
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
    let prior = PANTHER.Prior(
      prototypes: prototypes, componentCount: settings.prototypeCount, priorVariance: settings.priorVariance)
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
    _ data: MILSplits, train: [[Float]], test: [[Float]], settings: PANTHER.Settings, config: ResolvedConfig,
    using g: inout RandomGenerator
  ) -> Double? {
    let months = data.train.map { $0.survivalMonths ?? 0 }
    let events = data.train.map { ($0.event ?? 0) == 1 }
    var times = months
    if config.string("coxTimes") == "bins" {
      // The official survival datasets order the Cox risk sets by the quantile time bin.
      if let edges = Survival.quantileBinEdges(times: months, events: events, count: config.int("timeBins")) {
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

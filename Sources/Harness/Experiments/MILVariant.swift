import Engine
import Foundation
import Methods

/// A MIL config: a `MethodConfig` that embeds the shared MIL data keys (`MILDataConfig`) at `data`.
public protocol MILMethodConfig: MethodConfig {
  /// The shared bag-extraction and bootstrap keys.
  var data: MILDataConfig { get }
}

/// One MIL paper method as `MILExperiment` runs it: its typed config, the bags it loads, its main
/// model and its comparison arms (each a `MILArmPlan`: how it is built and which of its metrics the
/// run keeps, under which names), and the gap metrics of the paper's claims as data (`MILGap`).
/// `SelfSupervisedVariant` is the SSL counterpart.
///
/// The models of the shared loop (ABMIL, TransMIL, INS's ABMIL arm) are declared entirely as
/// data: `main` and `arms` return `.trained` plans that `MILArm.run` trains and evaluates. Three
/// hooks let the methods that do not train one `MILClassifier` per arm use the same flow:
/// - `load`: bags other than one task's `MILSplits`, as the associated `Bags` (PANTHER adds the
///   survival splits; INS the tile-image bags next to the feature bags);
/// - `.custom` plans: a method's own pipeline for an arm (PANTHER's prototypes and heads, INS's
///   tile-level training loop), whose metrics are then kept and whose gaps are derived as any
///   arm's;
/// - `finish`: what is written after the gaps (the summary notes; PANTHER's wall time).
public protocol MILVariant {
  associatedtype Config: MILMethodConfig
  /// What `load` opens (the task's `MILSplits` unless the method needs more).
  associatedtype Bags = MILSplits

  /// The method's name, as the run's notes write it.
  static var name: String { get }
  /// Every metric the target reports (the main model's, the arms' copies, the gaps).
  static var metrics: [MetricInfo] { get }
  /// The slide task the main model learns.
  static func task(_ config: Config) -> MILTask
  /// Opens the run's bags. Default (`Bags == MILSplits`): the task's splits of the bags extracted
  /// with `config.data`.
  static func load(_ config: Config, context: RunContext) throws -> Bags
  /// The main model: every metric it reports is kept under its own name (label "", suffix "").
  static func main(_ config: Config, bags: Bags, context: RunContext) throws -> MILArmPlan
  /// The comparison arms, run in order after the main model (none by default).
  static func arms(_ config: Config, bags: Bags, context: RunContext) throws -> [MILArmPlan]
  /// The claims' gap metrics, derived in order once every arm has run (none by default).
  static func gaps(_ config: Config) -> [MILGap]
  /// Writes what follows the gaps: notes (and metrics) that need the whole run (nothing by default).
  static func finish(
    _ config: Config, bags: Bags, context: RunContext, metrics: inout [String: Double], notes: inout [String])
  /// Whether metrics that are not finite are stored too (INS stores them; the others drop them).
  static var keepsNonFiniteMetrics: Bool { get }
  /// The feature bags of the run, for the tile probe (`MILEvaluation.tileProbeAUC`); nil: none.
  static func featureBags(_ bags: Bags) -> MILSplits?
}

extension MILVariant {
  public static func arms(_ config: Config, bags: Bags, context: RunContext) throws -> [MILArmPlan] { [] }
  public static func gaps(_ config: Config) -> [MILGap] { [] }
  public static func finish(
    _ config: Config, bags: Bags, context: RunContext, metrics: inout [String: Double], notes: inout [String]
  ) {}
  public static var keepsNonFiniteMetrics: Bool { false }
  public static func featureBags(_ bags: Bags) -> MILSplits? { nil }
}

extension MILVariant where Bags == MILSplits {
  public static func featureBags(_ bags: MILSplits) -> MILSplits? { bags }

  public static func load(_ config: Config, context: RunContext) throws -> MILSplits {
    try context.loadBags(task: task(config), settings: config.data.extraction, permuteLabels: config.data.permuteLabels)
  }
}

/// One model inside a MIL run (the main model or a comparison arm) as data: how it is run, and
/// which of its metrics the run keeps, renamed `prefix + metric + suffix`.
public struct MILArmPlan {
  /// How the arm's outcome is produced.
  public enum Source {
    /// A `MILClassifier` trained and evaluated by the shared loop (`MILArm.run`).
    case trained(Training)
    /// The method's own pipeline (PANTHER's prototypes and heads, INS's tile-level training).
    case custom(() throws -> MILArm.Outcome)
  }

  /// A model for the shared loop.
  public struct Training {
    /// The name its generator is split by from the run's (`context.generator.split(generator)`).
    public var generator: String
    /// The splits it trains on and is tested on.
    public var data: MILSplits
    public var settings: MILTrainingSettings
    /// Resamples of the AUC interval (the main model's config value; 0 for arms).
    public var bootstrap: Int
    /// The checkpoint kind, when it is not the model's type name (`MILArm.run`).
    public var checkpointKind: String?
    /// Builds the model from the arm's generator.
    public var model: (inout RandomGenerator) -> any MILClassifier
  }

  /// Names the progress line, the curves (`loss.<label>`) and the checkpoints; "" for the main model.
  public var label: String
  public var source: Source
  /// The metrics copied into the run's (nil: all of them).
  public var copies: [String]?
  public var prefix: String
  public var suffix: String
  /// Notes written before the arm runs.
  public var notes: [String] = []

  /// A model the shared loop trains; `copies` are kept as `prefix + metric + suffix` (suffix
  /// `.<label>` unless given).
  public static func trained(
    _ label: String, generator: String, data: MILSplits, settings: MILTrainingSettings, bootstrap: Int = 0,
    copies: [String]? = nil, prefix: String = "", suffix: String? = nil, checkpointKind: String? = nil,
    notes: [String] = [], model: @escaping (inout RandomGenerator) -> any MILClassifier
  ) -> MILArmPlan {
    MILArmPlan(
      label: label,
      source: .trained(
        Training(
          generator: generator, data: data, settings: settings, bootstrap: bootstrap, checkpointKind: checkpointKind,
          model: model)),
      copies: copies, prefix: prefix, suffix: suffix ?? (label.isEmpty ? "" : ".\(label)"), notes: notes)
  }

  /// The method's own pipeline; `copies` are kept as `prefix + metric + suffix`.
  public static func custom(
    _ label: String, copies: [String]? = nil, prefix: String = "", suffix: String? = nil,
    run: @escaping () throws -> MILArm.Outcome
  ) -> MILArmPlan {
    MILArmPlan(
      label: label, source: .custom(run), copies: copies, prefix: prefix,
      suffix: suffix ?? (label.isEmpty ? "" : ".\(label)"))
  }

  /// The arm's metrics as the run keeps them.
  public func kept(_ metrics: [String: Double]) -> [String: Double] {
    var out: [String: Double] = [:]
    for name in copies ?? Array(metrics.keys) {
      if let v = metrics[name] { out[prefix + name + suffix] = v }
    }
    return out
  }
}

/// A claim's gap metric: `name = metric − minus`, both full metric names of the run (an arm's
/// copy such as `auc.mean_pooling`, or an earlier gap). Written only when both are there.
public struct MILGap: Sendable, Equatable {
  public var name: String
  public var metric: String
  public var minus: String

  public init(_ name: String, _ metric: String, minus: String) {
    self.name = name
    self.metric = metric
    self.minus = minus
  }

  /// Adds `gaps` to `metrics` in order (a gap may subtract an earlier one).
  public static func derive(_ gaps: [MILGap], into metrics: inout [String: Double]) {
    for gap in gaps {
      if let a = metrics[gap.metric], let b = metrics[gap.minus] { metrics[gap.name] = a - b }
    }
  }
}

/// The MIL protocol shared by every MIL target: load the bags, run the main model and then each
/// arm (`MILVariant`), keep the declared metrics of each, derive the gaps, write the notes.
public enum MILExperiment<Variant: MILVariant>: Experiment {
  public typealias Config = Variant.Config

  public static var schema: [ConfigKey] { Config.schema }
  public static var metrics: [MetricInfo] {
    Variant.metrics + MILEvaluation.TileProbe.allCases.map { probe in
      let what: String
      switch probe {
      case .tumour: what = "tumour tiles from all others"
      case .lymphoid: what = "lymphoid-aggregate tiles from all others"
      case .necrosis: what = "necrosis tiles from all others"
      case .lymphoidVsNecrosis: what = "lymphoid-aggregate tiles from necrosis tiles (what the relational task needs)"
      }
      let source = probe == .tumour ? "the training instances' tumour labels" : "the training instances' ground-truth kinds (synthetic slides only)"
      return MetricInfo(
        probe.metric, .higher,
        "how well the bag features separate \(what): test-instance ROC-AUC of a linear probe fitted on \(source) (an upper bound for weakly supervised instance scores)",
        banded: false)
    } + [
      MetricInfo(
        "bag_size_auc", .higher,
        "a shortcut's reference: test-slide AUC of the instance count alone for the task label (0.5: bag size says nothing; far from 0.5, a model whose score grows or shrinks with the bag can score that without learning the task)",
        banded: false),
      MetricInfo(
        "probe_slide_auc", .higher,
        "the task's instance-supervised reference on these features: test-slide AUC of the tile probes read as the label is made (tumour: the slide's highest tumour score; relational: the smaller of its highest lymphoid and highest necrosis scores); near chance, the features cannot carry the task",
        banded: false)
    ]
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = try Config(context.spec.config)
    Parallel.setThreadCount(context.spec.threads)
    BLAS.setThreadCount(context.spec.threads)
    // A pretrained encoder first (its own progress lines), so the run's notes can name it.
    var encoder: PretrainedEncoders.Entry?
    if case .synthetic = context.data { encoder = try context.pretrainedEncoder(config.data.extraction) }
    let bags = try Variant.load(config, context: context)
    var output = ExperimentOutput()
    if let encoder { output.notes.append(encoder.summary) }
    if case .synthetic = context.data {} else if let reference = config.data.extraction.pretrainedEncoder {
      output.notes.append("the profile's sslEncoder (\(reference)) does not apply: the --data bags hold their own features")
    }
    var metrics: [String: Double] = [:]
    if let features = Variant.featureBags(bags) {
      var found: [String] = []
      for probe in MILEvaluation.TileProbe.allCases {
        guard let auc = MILEvaluation.tileProbeAUC(probe, train: features.train, test: features.test) else { continue }
        metrics[probe.metric] = auc
        let labels = features.test.compactMap { probe.labels($0) }.joined().compactMap { $0 }
        let positives = labels.reduce(0, +)
        found.append(String(format: "%@ %.3f (%d of %d test instances positive)", probe.rawValue, auc, positives, labels.count))
      }
      if !found.isEmpty {
        output.notes.append(
          "tile probes (a linear probe per tile kind, fitted on the training instances, test-instance AUC): "
            + found.joined(separator: ", "))
      }
      let task = Variant.task(config)
      if let sizes = MILEvaluation.bagSizeAUC(features.test) {
        metrics["bag_size_auc"] = sizes
        output.notes.append(
          String(
            format: "bag size alone ranks the test slides of the %@ task at AUC %.3f (0.5: no shortcut)", task.rawValue, sizes))
      }
      if let reference = MILEvaluation.probeSlideAUC(task: task, train: features.train, test: features.test) {
        metrics["probe_slide_auc"] = reference
        output.notes.append(
          String(
            format: "the %@ task's reference on these features: the instance-supervised tile probes, read as its label is made, give test slide AUC %.3f",
            task.rawValue, reference))
      }
    }
    if config.data.permuteLabels {
      output.notes.append(
        "label-permutation control: the training slides' labels are shuffled by a fixed balanced permutation "
          + "(MILData.labelPermutationSeed), and the validation slides' among themselves; test slides keep theirs, so this run must score at chance")
    }
    try runPlan(Variant.main(config, bags: bags, context: context), context: context, metrics: &metrics, output: &output)
    for arm in try Variant.arms(config, bags: bags, context: context) {
      try runPlan(arm, context: context, metrics: &metrics, output: &output)
    }
    MILGap.derive(Variant.gaps(config), into: &metrics)
    Variant.finish(config, bags: bags, context: context, metrics: &metrics, notes: &output.notes)
    output.metrics = Variant.keepsNonFiniteMetrics ? metrics : metrics.filter { $0.value.isFinite }
    return output
  }

  /// Runs one plan (its generator split by name from the run's) and keeps its declared metrics,
  /// its curves and its notes.
  static func runPlan(
    _ plan: MILArmPlan, context: RunContext, metrics: inout [String: Double], output: inout ExperimentOutput
  ) throws {
    output.notes += plan.notes
    let outcome: MILArm.Outcome
    switch plan.source {
    case .trained(let t):
      var g = context.generator.split(t.generator)
      let model = t.model(&g)
      outcome = try MILArm.run(
        model, data: t.data, settings: t.settings, label: plan.label, bootstrap: t.bootstrap, context: context,
        checkpointKind: t.checkpointKind, using: &g)
    case .custom(let run):
      outcome = try run()
    }
    metrics.merge(plan.kept(outcome.metrics)) { $1 }
    output.series += outcome.series
    output.notes += outcome.notes
  }
}

import Basics
import Engine
import Foundation

/// A tile encoder pretrained by one of the project's own SSL targets, named by its run
/// (`moco-v2/ci/0`: target, profile, seed; all of the data, no overrides), or by its run on a
/// share of the pretraining pool (`moco-v3/ci/0@25%`: the `--subset` of that run, as the
/// data-efficiency study's data-fraction arms pretrain).
///
/// The MIL targets' `sslEncoder` key takes one. The first run that needs it pretrains it (the SSL
/// target's experiment, evaluated as usual, not stored in the results store) and caches the
/// backbone; later runs, in any process, reuse it (`PretrainedEncoders.entry`).
public struct PretrainedEncoderReference: Sendable, Equatable, CustomStringConvertible {
  public var target: String
  public var profile: String
  public var seed: UInt64
  /// The share of the pretraining pool in percent (0 < p ≤ 100; 100: all of it).
  public var percent: Double
  /// Config keys the pretraining run changes from its profile (the data-efficiency study's
  /// sampling arms: `sampling: srcl`). Not part of the text form: only the study sets them.
  public var overrides: [String: ConfigValue]

  public init(target: String, profile: String, seed: UInt64, percent: Double = 100, overrides: [String: ConfigValue] = [:]) {
    self.target = target
    self.profile = profile
    self.seed = seed
    self.percent = percent
    self.overrides = overrides
  }

  /// Parses `target/profile/seed` or `target/profile/seed@P%` (0 < P ≤ 100); nil for anything else.
  public init?(_ text: String) {
    let main = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    var percent = 100.0
    if main.count == 2 {
      guard main[1].hasSuffix("%"), let p = Double(main[1].dropLast()), p > 0, p <= 100 else { return nil }
      percent = p
    }
    let parts = main[0].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, let seed = UInt64(parts[2]) else { return nil }
    self.init(target: parts[0], profile: parts[1], seed: seed, percent: percent)
  }

  /// The `--subset` value of the pretraining run (`100%`, `25%`, `4%`, `12.5%`).
  public var subset: String {
    (percent == percent.rounded() ? String(Int(percent)) : String(percent)) + "%"
  }

  public var description: String {
    "\(target)/\(profile)/\(seed)" + (percent == 100 ? "" : "@\(subset)") + (overrides.isEmpty ? "" : " " + overridesText)
  }

  /// The overrides as `key=value, …` in key order (empty when there are none).
  public var overridesText: String {
    overrides.keys.sorted().map { "\($0)=\(overrides[$0]!.description)" }.joined(separator: ", ")
  }

  /// The config check of the `sslEncoder` key: empty or `none` (no pretrained encoder; `--set`
  /// cannot give an empty value), or `target/profile/seed`.
  public static let check: @Sendable (ConfigValue) -> String? = { v in
    guard case .string(let s) = v else { return "expected a string" }
    return s.isEmpty || s == "none" || PretrainedEncoderReference(s) != nil
      ? nil : "expected none or target/profile/seed[@P%] of an SSL target, such as moco-v2/ci/0 or moco-v3/ci/0@25%"
  }
}

/// The cache of pretrained encoders: `<cache root>/encoders/<target>-<profile>-s<seed>-<key>/`
/// holding `backbone.safetensors` (`--save-backbone`'s format), `control.safetensors` (the run's
/// no-learning control: the same initial weights with the batch-norm statistics refitted on the
/// pretraining pool) and `run.json` (the pretraining run's metrics). The key hashes the resolved SSL spec (target, profile, seed, every config
/// value) and `revision`; a change of the SSL training code that should invalidate cached
/// encoders bumps `revision`.
public enum PretrainedEncoders {
  /// 2 (2026-12-06): the control's weights are cached too.
  public static let revision = 2

  /// A cached encoder.
  public struct Entry: Sendable {
    public var reference: PretrainedEncoderReference
    /// The backbone state dict.
    public var weights: URL
    /// The no-learning control's state dict (initial weights, refitted batch-norm statistics).
    public var controlWeights: URL
    /// The view side the backbone was pretrained on (the default encoder input).
    public var imageSize: Int
    /// The tile encoder that reads the weights (the SSL run's `backbone`).
    public var encoder: TileEncoderKind
    /// The pretraining run's metrics (kNN and linear accuracy, gains over the control, loss).
    public var metrics: [String: Double]
    /// Pretraining images kept of the profile's pool (its `--subset`).
    public var poolKept: Int
    public var poolTotal: Int

    /// The backbone and its pretraining run's figures.
    public var description: String {
      func f(_ name: String) -> String { metrics[name].map { String(format: "%.3f", $0) } ?? "—" }
      return "the \(reference.target) \(reference.profile) backbone of seed \(reference.seed) "
        + (reference.percent == 100 ? "" : "pretrained on \(reference.subset) of its images ")
        + (reference.overrides.isEmpty ? "" : "with \(reference.overridesText) ")
        + "(cached; kNN \(f("knn_accuracy")), linear \(f("linear_accuracy")), gain over its no-learning control "
        + "kNN \(f("knn_gain_over_control")), linear \(f("linear_gain_over_control")); loss/chance \(f("loss_over_chance")))"
    }

    /// One line for a MIL run's notes.
    public var summary: String {
      "tile encoder: \(description), tiles at \(imageSize)² unless encoderInputSize says otherwise"
    }
  }

  struct Record: Codable {
    var target: String
    var profile: String
    var seed: UInt64
    var imageSize: Int
    /// The SSL run's `backbone` (absent in records written before 2026-12-06: resnet-small).
    var backbone: String?
    var config: String
    var metrics: [String: Double]
    var weightsSHA256: String
    var controlSHA256: String
    var poolKept: Int
    var poolTotal: Int
  }

  /// The run `reference` names and its backbone's name, resolved without pretraining anything.
  /// - Throws: `InputError` for an unknown target or profile, or a target that is not SSL.
  static func resolve(_ reference: PretrainedEncoderReference, registry: Registry, threads: Int) throws -> (
    plan: RunPlan, backbone: String
  ) {
    let plan: RunPlan
    do {
      plan = try RunPlan.make(
        registry: registry, target: reference.target, profile: reference.profile, seed: reference.seed, seeds: nil,
        subset: reference.subset, data: nil, overrides: [], threads: threads, typedOverrides: reference.overrides)
    } catch let error as InputError {
      throw InputError.badOverride(key: "sslEncoder", value: reference.description, expected: error.description)
    }
    guard RunArguments.selfSupervisedMethods.contains(plan.target.method) else {
      throw InputError.badOverride(
        key: "sslEncoder", value: reference.description,
        expected: "expected an SSL target (\(RunArguments.selfSupervisedMethods.map(\.rawValue).sorted().joined(separator: ", ")))")
    }
    let backbone =
      plan.specs[0].config.values["backbone"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "resnet-small"
    return (plan, backbone)
  }

  /// The backbone name (`resnet-small`, `swin-micro`, …) of the SSL run `reference` names,
  /// without pretraining it: for checks that must come before any data is read.
  public static func backboneName(_ reference: PretrainedEncoderReference, registry: Registry) throws -> String {
    try resolve(reference, registry: registry, threads: 1).backbone
  }

  /// The encoder of `reference`, pretrained into the cache on first use.
  /// - Throws: `InputError` (exit 2) for an unknown target or profile, a target that is not SSL,
  ///   or a profile that needs `--data`.
  public static func entry(
    _ reference: PretrainedEncoderReference, registry: Registry, threads: Int,
    progress: @escaping (String, Int, String) -> ProgressSink
  ) throws -> Entry {
    let (plan, backbone) = try resolve(reference, registry: registry, threads: threads)
    let spec = plan.specs[0]
    let imageSize = spec.config.values["imageSize"].flatMap { if case .int(let n) = $0 { n } else { nil } } ?? 64
    guard let encoder = TileEncoderKind(backbone: backbone) else {
      throw InputError.badOverride(
        key: "sslEncoder", value: reference.description,
        expected: "an SSL profile whose backbone the tile encoder reads (resnet-small or swin-micro); its backbone is \(backbone)")
    }
    let key = SHA256Hasher.hex(
      of: "\(spec.target)|\(spec.profile)|\(spec.seed)|\(spec.config.json)|\(plan.data.label)|rev=\(revision)"
        + (reference.percent == 100 ? "" : "|subset=\(spec.subset)"))
    let directory = CheckpointStore.cacheRoot(registry).appendingPathComponent("encoders", isDirectory: true)
      .appendingPathComponent(
        "\(spec.target)-\(spec.profile)-s\(spec.seed)" + (reference.percent == 100 ? "" : "-p\(reference.subset.dropLast())")
          + (reference.overrides.isEmpty ? "" : "-o") + "-\(key.prefix(16))", isDirectory: true)
    func complete(_ dir: URL) -> Entry? {
      let weights = dir.appendingPathComponent("backbone.safetensors")
      let control = dir.appendingPathComponent("control.safetensors")
      guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("run.json").path),
        let record = try? JSONDecoder().decode(Record.self, from: data),
        let sha = try? TileEncoder.fileSHA256(weights.path), sha == record.weightsSHA256,
        let controlSHA = try? TileEncoder.fileSHA256(control.path), controlSHA == record.controlSHA256
      else { return nil }
      return Entry(
        reference: reference, weights: weights, controlWeights: control, imageSize: record.imageSize, encoder: encoder,
        metrics: record.metrics, poolKept: record.poolKept, poolTotal: record.poolTotal)
    }
    return try CachePublisher.entry(at: directory, isComplete: complete) { partial in
      var context = RunContext(
        spec: spec, data: plan.data, generator: RandomGenerator(seed: spec.seed), progress: progress,
        loader: TileLoader(cacheDirectory: registry.cacheDirectory()), onDataset: { _ in }, checkpoints: nil)
      let weights = partial.appendingPathComponent("backbone.safetensors")
      context.backboneExport = weights
      let control = partial.appendingPathComponent("control.safetensors")
      context.controlExport = control
      let output = try spec.method.experiment.run(context)
      let record = Record(
        target: spec.target, profile: spec.profile, seed: spec.seed, imageSize: imageSize, backbone: backbone,
        config: spec.config.json,
        metrics: output.metrics, weightsSHA256: try TileEncoder.fileSHA256(weights.path),
        controlSHA256: try TileEncoder.fileSHA256(control.path),
        poolKept: context.subsetLog.entries.first?.kept ?? 0, poolTotal: context.subsetLog.entries.first?.of ?? 0)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(record).write(to: partial.appendingPathComponent("run.json"))
    }
  }
}

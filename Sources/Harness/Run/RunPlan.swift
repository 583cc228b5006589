import Basics
import Foundation

/// A validated run request: every argument is checked, and the specs are resolved, before the
/// results store is touched.
///
/// `replicate run`, `calibrate` and `audit` build one with `make(...)` and then `execute` it.
public struct RunPlan {
  /// The registry the target came from.
  public var registry: Registry
  /// The target to run.
  public var target: TargetSpec
  /// One spec per seed, in order.
  public var specs: [RunSpec]
  /// Where the run's data comes from (the target's default dataset or `--data`).
  public var data: DataSource
  /// Whether the profile runs only on the user's own data.
  public var requiresData: Bool
  /// Where the pretrained backbone is written (`--save-backbone`; one SSL run only).
  public var backboneExport: URL?
  /// The sweep task that runs this plan (`replicate sweep task`), recorded with each run.
  public var sweepTask: RunProvenance?

  /// Checks a run request and resolves its specs.
  ///
  /// - Parameters:
  ///   - targetID: a target id (`replicate list`).
  ///   - profileName: a profile the target defines.
  ///   - seed: one seed (default 0); not together with `seeds`.
  ///   - seeds: several seeds, `0-4` or `0,2,5`.
  ///   - subset: the share of the training pool, `50%`.
  ///   - data: a path to the user's own data, or nil for the target's dataset.
  ///   - overrides: `key=value` texts (`--set`), checked against the method's config schema.
  ///   - threads: the thread count (default: all cores), in 1...256.
  ///   - typedOverrides: overrides that are already typed (an audit variant's); `overrides` win.
  /// - Throws: `InputError` (exit 2) naming the first bad argument.
  public static func make(
    registry: Registry, target targetID: String, profile profileName: String, seed: UInt64?, seeds: String?,
    subset: String, data: String?, overrides: [String], threads: Int?, typedOverrides: [String: ConfigValue] = [:]
  ) throws -> RunPlan {
    let target = try registry.target(targetID)
    let profile = try target.profile(profileName)
    let subsetValue = try RunArguments.subset(subset)
    if seed != nil && seeds != nil {
      throw InputError.badArgument(option: "--seeds", value: seeds ?? "", expected: "either --seed or --seeds, not both")
    }
    let seedList = try seeds.map(RunArguments.seeds) ?? [seed ?? 0]
    var parsed = typedOverrides
    for text in overrides {
      let (k, v) = try RunArguments.override(text, schema: target.method.configSchema)
      parsed[k] = v
    }
    let threadCount = threads ?? HostFacts.cores
    guard threadCount >= 1, threadCount <= 256 else {
      throw InputError.badArgument(option: "--threads", value: String(threadCount), expected: "an integer in 1...256")
    }
    if profile.requiresData && data == nil {
      throw InputError.badArgument(
        option: "--profile", value: profileName,
        expected: "--data PATH as well: this profile runs on your own data (see `replicate show \(targetID)`)")
    }
    let source = try registry.dataSource(for: target, dataPath: data)
    // An SSL encoder encodes the embedded slides' tiles; a user's bags already hold features, so a
    // `--set sslEncoder` beside `--data` would be silently ignored (a profile's own value is, with a note).
    if case .string(let reference) = parsed["sslEncoder"], !reference.isEmpty, reference != "none", data != nil {
      throw InputError.badOverride(
        key: "sslEncoder", value: reference,
        expected: "no sslEncoder with --data: it encodes the embedded synthetic slides, and the bags in --data already hold their features")
    }
    let config = RunArguments.resolve(target: target, profile: profile, overrides: parsed)
    let specs = seedList.map {
      RunSpec(
        target: target.id, method: target.method, profile: profile.name, subset: subsetValue, seed: $0, config: config,
        overrides: parsed, threads: threadCount)
    }
    return RunPlan(registry: registry, target: target, specs: specs, data: source, requiresData: profile.requiresData)
  }

  /// Runs every spec in order, each recorded through `store`, with progress lines on standard error.
  ///
  /// - Parameters:
  ///   - resume: a spec whose earlier run was interrupted continues from that run's checkpoints;
  ///     false deletes them first (`--fresh`).
  ///   - invocation: the command line recorded with each run.
  ///   - completed: called with each result as soon as its run ends (the command prints it).
  /// - Returns: the results in spec order.
  public func execute(
    store: RunRecorder, resume: Bool = true, invocation: String = CommandLine.arguments.joined(separator: " "),
    completed: (RunResult) -> Void = { _ in }
  ) throws -> [RunResult] {
    var runner = Runner(
      registry: registry, recorder: store, invocation: invocation,
      makeProgress: { label, total, unit in ProgressLine(label, total: total, unit: unit) })
    runner.resume = resume
    runner.backboneExport = backboneExport
    runner.sweepTask = sweepTask
    var results: [RunResult] = []
    for spec in specs {
      let result = try runner.run(target: target, spec: spec, data: data)
      completed(result)
      results.append(result)
    }
    return results
  }
}

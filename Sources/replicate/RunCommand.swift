import ArgumentParser
import Basics
import Foundation
import Harness
import Results

/// `replicate <target>`: runs a target's fixed config and records it.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a target (the default command: `replicate <target>` is `replicate run <target>`).",
    discussion: """
      Runs the target's profile as written in Replications/<target>/target.yaml, records the run in
      the results store, and checks it against the calibrated band. Only --seed/--seeds, --subset,
      --data and --profile keep a run canonical; any --set override marks it non-canonical (stored
      and reported, never gated on). SSL pretraining checkpoints at every epoch end (and every N
      steps with REPLICATE_CHECKPOINT_EVERY=N) into the cache; a run interrupted (even by kill -9)
      resumes from its last checkpoint when run again with the same spec, unless --fresh is given.
      """)

  @Argument(help: "Target id (see `replicate list`).")
  var target: String

  @Option(help: "Profile: smoke, ci or paper.")
  var profile: String = "ci"

  @Option(help: "Seed of the run.")
  var seed: UInt64?

  @Option(help: "Several seeds, for example 0-4 or 0,2,5 (one run each).")
  var seeds: String?

  @Option(help: "Percentage of the training (or tile) pool to use, for example 50%.")
  var subset: String = "100%"

  @Option(help: "Run on your own data: a folder of PNG/TIFF images, an image, or a slide.")
  var data: String?

  @OptionGroup var store: StoreOptions

  @Option(name: .customLong("set"), help: "Override a config key (repeatable): --set key=value. Makes the run non-canonical.")
  var overrides: [String] = []

  @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Run>

  @Option(
    name: .customLong("save-backbone"),
    help: ArgumentHelp(
      "SSL targets, one seed: write the pretrained backbone to FILE (safetensors, torchvision names; the format `slides extract --weights` and the MIL key encoderWeights read).",
      valueName: "FILE"))
  var saveBackbone: String?

  @Flag(help: "Delete the checkpoints of an interrupted run of the same spec and start afresh (default: resume from them).")
  var fresh = false

  mutating func run() throws {
    let registry = try Registry.locate()
    var plan = try RunPlan.make(
      registry: registry, target: target, profile: profile, seed: seed, seeds: seeds, subset: subset, data: data,
      overrides: overrides, threads: threads.threads)
    if let saveBackbone {
      plan.backboneExport = try RunArguments.backboneExport(saveBackbone, plan: plan)
    }
    let results = try plan.execute(store: try store.deferred(registry), resume: !fresh) {
      print(Self.summary($0, target: plan.target))
    }
    for note in Gate.notes(after: results) { warn(note) }
  }

  /// The summary printed after each run: metrics against their bands, claims, notes.
  static func summary(_ r: RunResult, target: TargetSpec) -> String {
    var out = "\(r.spec.target) · \(r.spec.profile) · seed \(r.spec.seed) · subset \(BandTable.subsetKey(r.spec.subset))"
    out += " · run \(r.runID)\(r.spec.canonical ? "" : " (non-canonical)") · \(String(format: "%.1f", r.wallSeconds)) s\n"
    out += "data: \(r.datasetID)\n"
    let checks = Dictionary(uniqueKeysWithValues: r.checks.map { ($0.metric, $0) })
    let shown = target.method.metrics.filter(\.banded).map(\.name)
    let paper = target.reported.filter { $0.profile == r.spec.profile && $0.band != nil }
    let rows = shown.compactMap { name -> [String]? in
      guard let v = r.output.metrics[name] else { return checks[name] == nil ? nil : [name, "missing", "", "OUT"] }
      if checks[name] == nil, let p = paper.first(where: { $0.metric == name }), let band = p.band, let verdict = p.verdict(v) {
        return [name, fmt(v), "paper \(fmt(p.value)) [\(fmt(band.lower)), \(fmt(band.upper))]",
          "paper: \(verdict) (\(v >= p.value ? "+" : "")\(fmt(v - p.value)))"]
      }
      guard let c = checks[name] else { return [name, fmt(v), "", r.onDefaultData ? "uncalibrated" : "user data"] }
      return [name, fmt(v), "[\(fmt(c.lower)), \(fmt(c.upper))]", c.passed ? "ok" : "OUT"]
    }
    out += table(["metric", "value", "band", "check"], rows) + "\n"
    if !r.claims.isEmpty {
      out += "claims:\n"
      for c in r.claims {
        out += "  \(c.claimID): \(c.holds.map { $0 ? "holds" : "does not hold" } ?? "undetermined") — \(c.detail)\n"
      }
    }
    for note in r.output.notes { out += "note: \(note)\n" }
    return out
  }
}


import Foundation

/// A frozen description of one run: what was asked and everything it resolved to.
public struct RunSpec: Sendable {
  public var target: String
  public var method: MethodKind
  public var profile: String
  /// Percentage of the training (or tile) pool used, 100 for all.
  public var subset: Double
  public var seed: UInt64
  /// Every config key and its value.
  public var config: ResolvedConfig
  /// The `--set` overrides, as given.
  public var overrides: [String: ConfigValue]
  /// Runs with overrides are stored as non-canonical and never gated on.
  public var canonical: Bool { overrides.isEmpty }
  /// The overrides as canonical JSON (keys sorted), as stored with the run.
  public var overridesJSON: String { ResolvedConfig(values: overrides).json }
  /// Threads the run may use.
  public var threads: Int

  public init(target: String, method: MethodKind, profile: String, subset: Double, seed: UInt64, config: ResolvedConfig, overrides: [String: ConfigValue], threads: Int) {
    self.target = target
    self.method = method
    self.profile = profile
    self.subset = subset
    self.seed = seed
    self.config = config
    self.overrides = overrides
    self.threads = threads
  }
}

/// Parsing of the run-selection arguments (`--subset`, `--seeds`).
public enum RunArguments {
  /// The SSL methods: their runs pretrain a backbone that `--save-backbone` can write.
  public static let selfSupervisedMethods: Set<MethodKind> = [.mocoV1, .mocoV2, .mocoV3, .simclr, .instdisc, .swav]

  /// Checks `--save-backbone FILE` against a plan: an SSL target, one seed, a file in an existing
  /// folder. The file is written only when the pretraining ends, so a bad path fails here, before
  /// minutes of training.
  public static func backboneExport(_ path: String, plan: RunPlan) throws -> URL {
    guard selfSupervisedMethods.contains(plan.target.method) else {
      throw InputError.badArgument(
        option: "--save-backbone", value: path,
        expected: "an SSL target (\(selfSupervisedMethods.map(\.rawValue).sorted().joined(separator: ", "))); \(plan.target.id) pretrains no backbone")
    }
    guard plan.specs.count == 1 else {
      throw InputError.badArgument(
        option: "--save-backbone", value: path, expected: "one seed (--seed N): one file holds one backbone")
    }
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    let folder = url.deletingLastPathComponent().path
    guard !path.hasSuffix("/"), FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw InputError.badArgument(
        option: "--save-backbone", value: path, expected: "a file path in an existing folder")
    }
    return url
  }

  /// Parses `50%` or `12.5%` into a percentage in (0, 100]. The `%` is required: a bare `50` or
  /// `0.5` could mean either a percentage or a fraction, so it is refused rather than guessed.
  public static func subset(_ text: String) throws -> Double {
    var t = text.trimmingCharacters(in: .whitespaces)
    guard t.hasSuffix("%") else {
      let hint = Double(t).map { v in v > 0 && v <= 1 ? " (\(ConfigValue.format(v * 100))% for the fraction \(t)?)" : " (\(t)%?)" } ?? ""
      throw InputError.badArgument(option: "--subset", value: text, expected: "a percentage with its % sign, such as 50%\(hint)")
    }
    t.removeLast()
    guard let v = Double(t), v.isFinite else {
      throw InputError.badArgument(option: "--subset", value: text, expected: "a percentage such as 50%")
    }
    guard v > 0, v <= 100 else {
      throw InputError.badArgument(
        option: "--subset", value: text, expected: "a percentage greater than 0% and at most 100%")
    }
    return v
  }

  /// Parses `0-4`, `0,2,5` or `3` into seeds.
  public static func seeds(_ text: String) throws -> [UInt64] {
    let bad = InputError.badArgument(
      option: "--seeds", value: text, expected: "a range such as 0-4 or a list such as 0,1,2")
    var out: [UInt64] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 1, let v = UInt64(bounds[0].trimmingCharacters(in: .whitespaces)) {
        out.append(v)
      } else if bounds.count == 2, let a = UInt64(bounds[0].trimmingCharacters(in: .whitespaces)),
        let b = UInt64(bounds[1].trimmingCharacters(in: .whitespaces)), a <= b, b - a < 10_000
      {
        out.append(contentsOf: a...b)
      } else {
        throw bad
      }
    }
    guard !out.isEmpty, Set(out).count == out.count else { throw bad }
    return out
  }

  /// Parses one `key=value` override against the method's schema.
  public static func override(_ text: String, schema: [ConfigKey]) throws -> (String, ConfigValue) {
    guard let eq = text.firstIndex(of: "=") else {
      throw InputError.badOverride(key: text, value: "", expected: "expected key=value")
    }
    let key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
    let valueText = String(text[text.index(after: eq)...])
    guard let spec = schema.first(where: { $0.name == key }) else {
      throw InputError.badOverride(
        key: key, value: valueText,
        expected: "unknown key; expected one of: \(schema.map(\.name).joined(separator: ", "))")
    }
    guard let value = spec.type.parse(valueText) else {
      throw InputError.badOverride(key: key, value: valueText, expected: "expected \(spec.type.rawValue)")
    }
    if let problem = spec.check?(value) {
      throw InputError.badOverride(key: key, value: valueText, expected: problem)
    }
    return (key, value)
  }

  /// Resolves a target's profile plus overrides into a frozen config: schema defaults, then the
  /// profile's values, then `--set` overrides.
  public static func resolve(
    target: TargetSpec, profile: Profile, overrides: [String: ConfigValue]
  ) -> ResolvedConfig {
    var values: [String: ConfigValue] = [:]
    for key in target.method.configSchema { values[key.name] = key.defaultValue }
    for (k, v) in profile.config { values[k] = v }
    for (k, v) in overrides { values[k] = v }
    return ResolvedConfig(values: values)
  }
}

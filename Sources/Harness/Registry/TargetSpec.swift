import Foundation

/// A paper (or a method's defining publication) as a target cites it.
public struct PaperReference: Sendable, Equatable {
  public var title: String
  public var authors: [String]
  public var venue: String
  public var year: Int
  public var arxiv: String?
  public var doi: String?
  public var url: String?
  /// The official code repository, or the reference implementation the target follows.
  public var code: String?
  /// Free-text remark (for example "no official code; this port is what users run").
  public var note: String?

  static func read(_ r: inout YAMLReader) throws -> PaperReference {
    let p = PaperReference(
      title: try r.string("title"), authors: try r.stringList("authors", required: true),
      venue: try r.string("venue"), year: try r.int("year"), arxiv: try r.optionalString("arxiv"),
      doi: try r.optionalString("doi"), url: try r.optionalString("url"),
      code: try r.optionalString("code"), note: try r.optionalString("note"))
    try r.finish()
    if p.authors.isEmpty { throw r.fail("authors", "expected at least one author") }
    return p
  }

  /// "Tong, Li, Zhang, Zhang (ICME 2004)".
  public var shortCitation: String {
    let names = authors.map { $0.split(separator: " ").last.map(String.init) ?? $0 }
    let who = names.count > 3 ? "\(names[0]) et al." : names.joined(separator: ", ")
    return "\(who) (\(venue) \(year))"
  }
}

/// The dataset a target runs on by default: a manifest id plus generator parameters.
public struct DatasetRef: Sendable, Equatable {
  /// Manifest id in `Datasets/` (for example `synthetic-tissue`).
  public var id: String
  /// Which split of the manifest (for example `test`).
  public var split: String
  /// Generator parameters that override the manifest's (for example `imageSize: 128`).
  public var parameters: [String: String]

  public init(id: String, split: String, parameters: [String: String]) {
    self.id = id
    self.split = split
    self.parameters = parameters
  }
}

/// A fixed configuration of a target (`smoke`, `ci`, `paper`).
public struct Profile: Sendable {
  public var name: String
  public var description: String
  /// Keys as written in the file (validated against the method's schema).
  public var config: [String: ConfigValue]
  /// True when the profile only makes sense on user-supplied data (`--data`).
  public var requiresData: Bool
}

/// A checkable statement from the paper.
public struct Claim: Sendable {
  /// One condition on a run's metric: `metric op value`.
  public struct Condition: Sendable, Equatable {
    public var metric: String
    public var op: ComparisonOperator
    public var value: Double

    public init(metric: String, op: ComparisonOperator, value: Double) {
      self.metric = metric
      self.op = op
      self.value = value
    }

    /// Whether `measured` satisfies the condition.
    public func holds(_ measured: Double) -> Bool { op.apply(measured, value) }

    public var text: String { "\(metric) \(op.rawValue) \(ConfigValue.format(value))" }
  }

  public var id: String
  public var statement: String
  /// Where in the paper (section, table, figure).
  public var source: String
  /// `relational` claims are re-checked at small scale; `absolute` ones only under `paper`.
  public var kind: Kind
  /// Profiles under which it is checked.
  public var profiles: [String]
  /// All must hold in a run for the claim to hold in that run.
  public var conditions: [Condition]
  /// The paper's own figure, for the report (absolute claims).
  public var reported: String?

  public enum Kind: String, Sendable { case relational, absolute }
}

/// A sabotaged variant of a target (`audit:` in target.yaml): the profile with some config keys
/// changed so that the method cannot work (learning rate 0, its core mechanism switched off).
/// `replicate audit` runs each with one seed; the profile's bands have power only when the gate
/// fails every variant.
public struct AuditVariant: Sendable {
  public var id: String
  /// What is sabotaged, in words.
  public var description: String
  /// The config values that differ from the profile (validated against the method's schema).
  public var overrides: [String: ConfigValue]
}

/// Comparison operators a claim or a check can use.
public enum ComparisonOperator: String, Sendable, CaseIterable {
  case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "=="

  public func apply(_ a: Double, _ b: Double) -> Bool {
    switch self {
    case .greater: return a > b
    case .greaterOrEqual: return a >= b
    case .less: return a < b
    case .lessOrEqual: return a <= b
    case .equal: return a == b
    }
  }
}

/// A replication target: one paper (or experiment) made runnable, from `Replications/<id>/`.
public struct TargetSpec: Sendable {
  public var id: String
  public var title: String
  public var summary: String
  public var paper: PaperReference
  public var references: [PaperReference]
  public var method: MethodKind
  public var dataset: DatasetRef
  /// Profiles by name, in file order.
  public var profiles: [Profile]
  public var claims: [Claim]
  /// Sabotaged variants for `replicate audit` (empty when the target lists none).
  public var audits: [AuditVariant] = []
  /// The paper's own numbers (`reported:`): context, and the paper bands of paper profiles.
  public var reported: [ReportedResult] = []
  /// What the paper's numbers lack, in words (`reportedNote:`): for example that its tables could
  /// not be reached, or that it reports nothing comparable. Shown with the numbers, or alone.
  public var reportedNote: String?
  /// Figures of merit for the HTML report (`figures:`).
  public var figures: [TargetFigure] = []
  /// What one sweep task of this target asks of a cluster node (`resources:`).
  public var resources = ResourceTable()
  /// Calibrated bands (from `bands.yaml`; empty until calibrated).
  public var bands: BandTable
  /// The folder holding `target.yaml`.
  public var directory: URL

  /// The profile called `name`, or an `InputError` listing the known ones.
  public func profile(_ name: String) throws -> Profile {
    guard let p = profiles.first(where: { $0.name == name }) else {
      throw InputError.unknownProfile(target: id, profile: name, known: profiles.map(\.name))
    }
    return p
  }

  /// Path of `target.yaml`.
  public var file: URL { directory.appendingPathComponent("target.yaml") }
  /// Path of `bands.yaml`.
  public var bandsFile: URL { directory.appendingPathComponent("bands.yaml") }
}

extension TargetSpec {
  /// Loads and validates `Replications/<id>/target.yaml` (and its `bands.yaml` if present).
  public static func load(directory: URL) throws -> TargetSpec {
    let path = directory.appendingPathComponent("target.yaml").path
    var r = try YAMLReader.load(path: path)
    let id = try r.string("id")
    if id != directory.lastPathComponent {
      throw r.fail("id", "'\(id)' must equal the folder name '\(directory.lastPathComponent)'")
    }
    let title = try r.string("title")
    let summary = try r.optionalString("summary") ?? ""
    var paperReader = try r.child("paper")
    let paper = try PaperReference.read(&paperReader)
    var references: [PaperReference] = []
    for var ref in try r.children("references") { references.append(try PaperReference.read(&ref)) }
    let methodName = try r.string("method")
    guard let method = MethodKind(rawValue: methodName) else {
      throw r.fail(
        "method",
        "unknown method '\(methodName)'; expected one of: "
          + MethodKind.allCases.map(\.rawValue).joined(separator: ", "))
    }
    var ds = try r.child("dataset")
    let datasetId = try ds.string("id")
    let split = try ds.string("split")
    var parameters: [String: String] = [:]
    if let params = try ds.optionalChild("parameters") {
      for key in params.keys {
        guard let s = params.mapping[.init(key)]?.scalar?.string else {
          throw params.fail(key, "expected a scalar")
        }
        parameters[key] = s
      }
    }
    try ds.finish()
    let schema = method.configSchema
    var profiles: [Profile] = []
    var profilesReader = try r.child("profiles")
    for name in profilesReader.keys {
      var p = try profilesReader.child(name)
      let description = try p.string("description")
      let requiresData = try p.optionalBool("requiresData") ?? false
      var config: [String: ConfigValue] = [:]
      if let c = try p.optionalChild("config") {
        for key in c.keys {
          guard let spec = schema.first(where: { $0.name == key }) else {
            throw c.fail(
              key, "unknown config key for method \(method.rawValue); expected one of: "
                + schema.map(\.name).joined(separator: ", "))
          }
          guard let node = c.mapping[.init(key)], let value = spec.type.read(node) else {
            throw c.fail(key, "expected \(spec.type.rawValue)")
          }
          if let problem = spec.check?(value) { throw c.fail(key, problem) }
          config[key] = value
        }
      }
      try p.finish()
      profiles.append(
        Profile(name: name, description: description, config: config, requiresData: requiresData))
    }
    try profilesReader.finish()
    if profiles.isEmpty { throw r.fail("profiles", "expected at least one profile") }
    var claims: [Claim] = []
    for var c in try r.children("claims") {
      let claimID = try c.string("id")
      let statement = try c.string("statement")
      let source = try c.string("source")
      let kindName = try c.optionalString("kind") ?? "relational"
      guard let kind = Claim.Kind(rawValue: kindName) else {
        throw c.fail("kind", "expected relational or absolute")
      }
      let claimProfiles = try c.stringList("profiles", required: true)
      for name in claimProfiles where !profiles.contains(where: { $0.name == name }) {
        throw c.fail("profiles", "no profile '\(name)' in this target")
      }
      let reported = try c.optionalString("reported")
      var conditions: [Claim.Condition] = []
      for var cond in try c.children("all", required: true) {
        let metric = try cond.string("metric")
        let opText = try cond.string("op")
        guard let op = ComparisonOperator(rawValue: opText) else {
          throw cond.fail(
            "op", "expected one of " + ComparisonOperator.allCases.map(\.rawValue).joined(separator: " "))
        }
        let value = try cond.double("value")
        try cond.finish()
        if !method.metricNames.contains(metric) {
          throw cond.fail(
            "metric", "unknown metric '\(metric)' for method \(method.rawValue); see `replicate show \(id)`")
        }
        conditions.append(.init(metric: metric, op: op, value: value))
      }
      try c.finish()
      claims.append(
        Claim(
          id: claimID, statement: statement, source: source, kind: kind, profiles: claimProfiles,
          conditions: conditions, reported: reported))
    }
    var audits: [AuditVariant] = []
    for var a in try r.children("audit") {
      let auditID = try a.string("id")
      let description = try a.string("description")
      var overrides: [String: ConfigValue] = [:]
      let set = try a.child("set")
      for key in set.keys {
        guard let spec = schema.first(where: { $0.name == key }) else {
          throw set.fail(key, "unknown config key for method \(method.rawValue)")
        }
        guard let node = set.mapping[.init(key)], let value = spec.type.read(node) else {
          throw set.fail(key, "expected \(spec.type.rawValue)")
        }
        if let problem = spec.check?(value) { throw set.fail(key, problem) }
        overrides[key] = value
      }
      if overrides.isEmpty { throw a.fail("set", "expected at least one config key to change") }
      if audits.contains(where: { $0.id == auditID }) { throw a.fail("id", "'\(auditID)' appears twice") }
      try a.finish()
      audits.append(AuditVariant(id: auditID, description: description, overrides: overrides))
    }
    var reported: [ReportedResult] = []
    for var entry in try r.children("reported") {
      reported.append(try ReportedResult.read(&entry, method: method, profiles: profiles.map(\.name)))
    }
    let reportedNote = try r.optionalString("reportedNote")
    var figures: [TargetFigure] = []
    for var entry in try r.children("figures") {
      let figure = try TargetFigure.read(&entry, method: method, claims: claims)
      if figures.contains(where: { $0.id == figure.id }) { throw entry.fail("id", "'\(figure.id)' appears twice") }
      figures.append(figure)
    }
    var resources = ResourceTable()
    if var block = try r.optionalChild("resources") {
      resources = try ResourceTable.read(&block, profiles: profiles.map(\.name))
    }
    try r.finish()
    let bandsURL = directory.appendingPathComponent("bands.yaml")
    let bands =
      FileManager.default.fileExists(atPath: bandsURL.path)
      ? try BandTable.load(path: bandsURL.path, profiles: profiles.map(\.name))
      : BandTable(entries: [])
    return TargetSpec(
      id: id, title: title, summary: summary, paper: paper, references: references, method: method,
      dataset: DatasetRef(id: datasetId, split: split, parameters: parameters), profiles: profiles,
      claims: claims, audits: audits, reported: reported, reportedNote: reportedNote, figures: figures, resources: resources,
      bands: bands,
      directory: directory)
  }
}

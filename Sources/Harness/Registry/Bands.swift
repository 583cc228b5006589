import Foundation

/// Which direction of a metric is an improvement (for display; a gate fails outside either bound).
public enum Better: String, Sendable, Codable {
  case higher, lower, neither
}

/// The expected range of one metric, with how it was derived.
public struct Band: Sendable, Equatable {
  public var metric: String
  public var lower: Double
  public var upper: Double
  public var better: Better
  /// Mean and sample standard deviation over the calibration seeds.
  public var mean: Double
  public var standardDeviation: Double
  public var count: Int

  /// Whether `value` lies inside the band (bounds included).
  public func contains(_ value: Double) -> Bool { value >= lower && value <= upper }

  public init(metric: String, lower: Double, upper: Double, better: Better, mean: Double, standardDeviation: Double, count: Int) {
    self.metric = metric
    self.lower = lower
    self.upper = upper
    self.better = better
    self.mean = mean
    self.standardDeviation = standardDeviation
    self.count = count
  }
}

/// How a band set was derived: which runs, which code, which rule.
public struct Calibration: Sendable, Equatable {
  public var seeds: [UInt64]
  public var codeVersion: String
  public var codeDirty: Bool
  public var date: String
  public var host: String
  public var method: String
  public var dataset: String

  public init(seeds: [UInt64], codeVersion: String, codeDirty: Bool, date: String, host: String, method: String, dataset: String) {
    self.seeds = seeds
    self.codeVersion = codeVersion
    self.codeDirty = codeDirty
    self.date = date
    self.host = host
    self.method = method
    self.dataset = dataset
  }
}

/// All bands of one (profile, subset): metric bands plus the expected claim verdicts.
public struct BandSet: Sendable, Equatable {
  public var profile: String
  /// Subset percentage, 100 for the full set.
  public var subset: Double
  public var calibration: Calibration
  public var bands: [Band]
  /// Claim id → the verdict the calibration runs reached; a change is a gated failure.
  public var claimVerdicts: [String: Verdict]
  /// Claim id → how the verdict was reached (`ClaimEvidence.summary`: n, each condition's mean,
  /// 95 % interval and power); empty for sets calibrated before intervals were recorded.
  public var claimEvidence: [String: String]

  public func band(for metric: String) -> Band? { bands.first { $0.metric == metric } }

  public init(
    profile: String, subset: Double, calibration: Calibration, bands: [Band], claimVerdicts: [String: Verdict],
    claimEvidence: [String: String] = [:]
  ) {
    self.profile = profile
    self.subset = subset
    self.calibration = calibration
    self.bands = bands
    self.claimVerdicts = claimVerdicts
    self.claimEvidence = claimEvidence
  }
}

/// A claim's outcome over a set of runs.
public enum Verdict: String, Sendable, Codable, Equatable {
  case reproduced
  case notReproduced = "not-reproduced"
  case inconclusive
  case notRun = "not-run"
}

/// The bands of a target, as written by `replicate calibrate` into `bands.yaml`.
public struct BandTable: Sendable {
  public var entries: [BandSet]

  public init(entries: [BandSet]) { self.entries = entries }

  /// The band set for a profile and subset, if calibrated.
  public func set(profile: String, subset: Double) -> BandSet? {
    entries.first { $0.profile == profile && abs($0.subset - subset) < 1e-9 }
  }

  /// Replaces (or adds) the set with the same profile and subset.
  public mutating func replace(_ set: BandSet) {
    entries.removeAll { $0.profile == set.profile && abs($0.subset - set.subset) < 1e-9 }
    entries.append(set)
    entries.sort { ($0.profile, $0.subset) < ($1.profile, $1.subset) }
  }

  /// Subset key as written in the file: `100%`, `50%`, `12.5%`.
  public static func subsetKey(_ subset: Double) -> String {
    subset == subset.rounded() ? "\(Int(subset))%" : "\(subset)%"
  }

  static func load(path: String, profiles: [String]) throws -> BandTable {
    var r = try YAMLReader.load(path: path)
    var entries: [BandSet] = []
    for profile in r.keys {
      guard profiles.contains(profile) else {
        _ = r.node(profile)
        throw r.fail(profile, "no such profile in target.yaml (profiles: \(profiles.joined(separator: ", ")))")
      }
      var p = try r.child(profile)
      for key in p.keys {
        guard key.hasSuffix("%"), let subset = Double(key.dropLast()), subset > 0, subset <= 100 else {
          _ = p.node(key)
          throw p.fail(key, "expected a subset such as 100% or 50%")
        }
        var s = try p.child(key)
        var c = try s.child("calibration")
        let seeds = try c.stringList("seeds", required: true).map { text -> UInt64 in
          guard let v = UInt64(text) else { throw c.fail("seeds", "expected non-negative integers") }
          return v
        }
        let calibration = Calibration(
          seeds: seeds, codeVersion: try c.string("codeVersion"),
          codeDirty: try c.optionalBool("codeDirty") ?? false, date: try c.string("date"),
          host: try c.string("host"), method: try c.string("method"), dataset: try c.string("dataset"))
        try c.finish()
        var bands: [Band] = []
        if let m = try s.optionalChild("metrics") {
          var metrics = m
          for name in metrics.keys {
            var b = try metrics.child(name)
            let betterText = try b.string("better")
            guard let better = Better(rawValue: betterText) else {
              throw b.fail("better", "expected higher, lower or neither")
            }
            let band = Band(
              metric: name, lower: try b.double("lower"), upper: try b.double("upper"), better: better,
              mean: try b.double("mean"), standardDeviation: try b.double("sd"), count: try b.int("n"))
            try b.finish()
            if band.lower > band.upper { throw b.fail("lower", "lower \(band.lower) exceeds upper \(band.upper)") }
            bands.append(band)
          }
          try metrics.finish()
        }
        var verdicts: [String: Verdict] = [:]
        var evidence: [String: String] = [:]
        if let v = try s.optionalChild("claims") {
          var claims = v
          for id in claims.keys {
            // A verdict alone (`id: reproduced`), or with its evidence
            // (`id: {verdict: reproduced, evidence: "n 5: …"}`).
            let text: String
            if claims.node(id)?.scalar != nil {
              text = try claims.string(id)
            } else {
              var entry = try claims.child(id)
              text = try entry.string("verdict")
              evidence[id] = try entry.optionalString("evidence")
              try entry.finish()
            }
            guard let verdict = Verdict(rawValue: text) else {
              throw claims.fail(id, "expected reproduced, not-reproduced or inconclusive")
            }
            verdicts[id] = verdict
          }
          try claims.finish()
        }
        try s.finish()
        entries.append(
          BandSet(
            profile: profile, subset: subset, calibration: calibration, bands: bands,
            claimVerdicts: verdicts, claimEvidence: evidence))
      }
      try p.finish()
    }
    try r.finish()
    return BandTable(entries: entries)
  }

  /// The YAML text of the table (stable order, so diffs of recalibrations read well).
  public func yaml() -> String {
    var out = "# Written by `replicate calibrate`; recalibrate instead of editing by hand.\n"
    out += "# Band rule and provenance are recorded under each calibration.\n"
    for profile in Array(Set(entries.map(\.profile))).sorted() {
      out += "\(profile):\n"
      for set in entries.filter({ $0.profile == profile }) {
        let c = set.calibration
        out += "  \"\(Self.subsetKey(set.subset))\":\n"
        out += "    calibration:\n"
        out += "      seeds: [\(c.seeds.map(String.init).joined(separator: ", "))]\n"
        out += "      codeVersion: \(ConfigValue.quote(c.codeVersion))\n"
        out += "      codeDirty: \(c.codeDirty)\n"
        out += "      date: \(ConfigValue.quote(c.date))\n"
        out += "      host: \(ConfigValue.quote(c.host))\n"
        out += "      method: \(ConfigValue.quote(c.method))\n"
        out += "      dataset: \(ConfigValue.quote(c.dataset))\n"
        if !set.bands.isEmpty {
          out += "    metrics:\n"
          for b in set.bands.sorted(by: { $0.metric < $1.metric }) {
            out += "      \(b.metric): {lower: \(Self.num(b.lower)), upper: \(Self.num(b.upper)), "
            out += "better: \(b.better.rawValue), mean: \(Self.num(b.mean)), "
            out += "sd: \(Self.num(b.standardDeviation)), n: \(b.count)}\n"
          }
        }
        if !set.claimVerdicts.isEmpty {
          out += "    claims:\n"
          for (id, v) in set.claimVerdicts.sorted(by: { $0.key < $1.key }) {
            if let evidence = set.claimEvidence[id] {
              out += "      \(id): {verdict: \(v.rawValue), evidence: \(ConfigValue.quote(evidence))}\n"
            } else {
              out += "      \(id): \(v.rawValue)\n"
            }
          }
        }
      }
    }
    return out
  }

  static func num(_ v: Double) -> String {
    String(format: "%.6g", v)
  }
}

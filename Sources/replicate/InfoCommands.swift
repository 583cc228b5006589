import ArgumentParser
import Foundation
import Harness

/// `replicate list`: every target with its paper, profiles and band status.
struct ListCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List the targets: paper, method, profiles and band status.")

  func run() throws {
    let registry = try Registry.locate()
    let targets = try registry.allTargets()
    let rows = targets.map { t -> [String] in
      let bands = t.profiles.map { p -> String in
        let sets = t.bands.entries.filter { $0.profile == p.name }
        if sets.isEmpty { return "\(p.name): uncalibrated" }
        return "\(p.name): " + sets.map { "\(BandTable.subsetKey($0.subset)) (\($0.calibration.seeds.count) seeds)" }
          .joined(separator: ", ")
      }
      return [t.id, t.paper.shortCitation, t.method.rawValue, t.profiles.map(\.name).joined(separator: ","),
        bands.joined(separator: "; ")]
    }
    print(table(["target", "paper", "method", "profiles", "bands"], rows))
  }
}

/// `replicate show <target>`: the resolved config of every profile, claims, bands and metrics.
struct ShowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "Show a target: paper, resolved config per profile, claims, bands, metrics.")

  @Argument(help: "Target id.")
  var target: String

  @Option(help: "Show only this profile.")
  var profile: String?

  func run() throws {
    let registry = try Registry.locate()
    let t = try registry.target(target)
    if let profile { _ = try t.profile(profile) }
    var out = "\(t.id): \(t.title)\n"
    if !t.summary.isEmpty { out += "\n\(t.summary)\n" }
    for p in [t.paper] + t.references {
      out += "\npaper: \(p.title)\n  \(p.authors.joined(separator: ", ")). \(p.venue) \(p.year)."
      if let a = p.arxiv { out += " arXiv:\(a)." }
      if let d = p.doi { out += " doi:\(d)." }
      if let u = p.url { out += "\n  \(u)" }
      if let c = p.code { out += "\n  code: \(c)" }
      if let n = p.note { out += "\n  note: \(n)" }
      out += "\n"
    }
    out += "\nmethod: \(t.method.rawValue)\ndataset: \(t.dataset.id) (split \(t.dataset.split)"
    out += t.dataset.parameters.isEmpty ? ")\n" : "; " + t.dataset.parameters.sorted { $0.key < $1.key }
      .map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")\n"
    let schema = t.method.configSchema
    for p in t.profiles where profile == nil || p.name == profile {
      let resolved = RunArguments.resolve(target: t, profile: p, overrides: [:])
      out += "\nprofile \(p.name): \(p.description)\(p.requiresData ? " [needs --data]" : "")\n"
      out += "  config sha256 \(resolved.hash.prefix(16))…\n"
      for key in schema {
        let v = resolved.values[key.name]?.description ?? ""
        let origin = p.config[key.name] != nil ? "profile" : "default"
        out += "  \(key.name) = \(v)  (\(origin); \(key.help))\n"
      }
      for set in t.bands.entries where set.profile == p.name {
        out += "  bands at \(BandTable.subsetKey(set.subset)): \(set.bands.count) metrics, calibrated over seeds "
          + "\(set.calibration.seeds.map(String.init).joined(separator: ",")) at \(set.calibration.codeVersion) "
          + "on \(set.calibration.date)\n"
        for b in set.bands.sorted(by: { $0.metric < $1.metric }) {
          out += "    \(b.metric): [\(fmt(b.lower)), \(fmt(b.upper))] (mean \(fmt(b.mean)) ± \(fmt(b.standardDeviation)), better \(b.better.rawValue))\n"
        }
        for (id, v) in set.claimVerdicts.sorted(by: { $0.key < $1.key }) {
          out += "    claim \(id): \(v.rawValue)" + (set.claimEvidence[id].map { " (\($0))" } ?? "") + "\n"
        }
      }
      if !t.bands.entries.contains(where: { $0.profile == p.name }) { out += "  bands: uncalibrated\n" }
    }
    out += "\nclaims:\n"
    for c in t.claims {
      out += "  \(c.id) [\(c.kind.rawValue); profiles \(c.profiles.joined(separator: ","))]: \(c.statement)\n"
      out += "    source: \(c.source)\n    check: \(c.conditions.map(\.text).joined(separator: " and "))\n"
    }
    if !t.reported.isEmpty {
      out += "\nthe paper's numbers:\n"
      for e in t.reported {
        out += "  \(e.metric) = \(e.valueText): \(e.dataset), \(e.architecture)\(e.epochs.map { ", \($0) epochs" } ?? "")"
        out += " — \(e.source) [\(e.sourceKind.rawValue)]\n"
        if let band = e.band, let profile = e.profile {
          out += "    paper band for profile \(profile): [\(fmt(band.lower)), \(fmt(band.upper))] (not calibrated, not gated)\n"
        }
      }
    }
    out += "\nmetrics:\n"
    for m in t.method.metrics { out += "  \(m.name) (better \(m.better.rawValue)\(m.banded ? "" : ", not banded")): \(m.help)\n" }
    print(out, terminator: "")
  }
}

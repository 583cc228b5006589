import Foundation
import Harness
import Mustache

/// The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network).
///
/// Per target: the paper, its claims beside their verdicts, every band beside the measured
/// per-seed values, the curves, the history across code versions and the environment of the runs.
/// Layout lives in `Reports/templates/report.mustache`; this type only prepares the values.
public enum HTMLReport {
  /// Renders the report for `assessments` with the template in `templateDirectory`.
  public static func render(
    _ assessments: [TargetAssessment], store: ResultsStore, templateDirectory: URL, generatedAt: Date = Date()
  ) throws -> String {
    let templateURL = templateDirectory.appendingPathComponent("report.mustache")
    let text: String
    do { text = try String(contentsOf: templateURL, encoding: .utf8) } catch {
      throw InputError.file(path: templateURL.path, key: "", message: "cannot read the report template")
    }
    let template: MustacheTemplate
    do { template = try MustacheTemplate(string: text) } catch {
      throw InputError.file(path: templateURL.path, key: "", message: "template does not parse: \(error)")
    }
    let allRuns = try store.runs()
    var targets: [[String: Any]] = []
    for a in assessments { targets.append(try targetContext(a, store: store)) }
    let summary = assessments.map { a -> [String: Any] in
      let status = statusOf(a)
      return [
        "id": a.target.id, "title": a.target.title, "profile": a.profile, "paper": a.target.paper.shortCitation,
        "status": status.text, "statusClass": status.css, "runs": a.subsets.reduce(0) { $0 + $1.runs.count },
        "ungatedRuns": a.ungated.reduce(0) { $0 + $1.runs.count },
        "checks": checkSummary(a),
        "claims": a.subsets.flatMap(\.claims).map { "\($0.claim.id): \($0.verdict.rawValue)" }.joined(separator: "; "),
      ]
    }
    let failed = allRuns.filter { ![.completed, .running, .rejectedInput].contains($0.runStatus) }.suffix(20)
    let context: [String: Any] = [
      "hasFailedRuns": !failed.isEmpty,
      "generated": ISO8601DateFormatter().string(from: generatedAt),
      "storePath": store.path,
      "runCount": allRuns.count,
      "codeVersions": Array(Set(allRuns.map(\.codeVersion))).sorted().joined(separator: ", "),
      "summary": summary,
      "targets": targets,
      "failedRuns": failed.map {
        ["id": $0.id ?? 0, "target": $0.target, "profile": $0.profile, "status": $0.status,
         "message": $0.message ?? "", "started": date($0.startedAt)] as [String: Any]
      },
    ]
    return template.render(context)
  }

  static func statusOf(_ a: TargetAssessment) -> (text: String, css: String) {
    if a.notRun { return ("not run", "skip") }
    if a.subsets.allSatisfy({ $0.bandSet == nil }) { return ("uncalibrated", "skip") }
    return a.passed ? ("pass", "pass") : ("fail: \(a.failureCount)", "fail")
  }

  static func checkSummary(_ a: TargetAssessment) -> String {
    let all = a.subsets.flatMap { $0.checks.values.flatMap { $0 } }
    return all.isEmpty ? "–" : "\(all.filter(\.passed).count)/\(all.count) in band"
  }

  static func targetContext(_ a: TargetAssessment, store: ResultsStore) throws -> [String: Any] {
    let t = a.target
    let status = statusOf(a)
    var refs: [[String: Any]] = []
    for p in [t.paper] + t.references {
      var links: [[String: String]] = []
      if let x = p.arxiv { links.append(["label": "arXiv:\(x)", "href": "https://arxiv.org/abs/\(x)"]) }
      if let d = p.doi { links.append(["label": "doi:\(d)", "href": "https://doi.org/\(d)"]) }
      if let u = p.url { links.append(["label": "paper", "href": u]) }
      if let c = p.code { links.append(["label": "code", "href": c]) }
      refs.append([
        "title": p.title, "authors": p.authors.joined(separator: ", "), "venue": p.venue, "year": p.year,
        "links": links, "note": p.note ?? "",
      ])
    }
    let metricInfo = Dictionary(uniqueKeysWithValues: t.method.metrics.map { ($0.name, $0) })
    // History: mean of each metric per code version over every canonical default-data run.
    let history = try store.completedRuns(target: t.id, profile: a.profile).filter { $0.canonical && $0.defaultData }
    var historyMetrics: [Int64: [String: Double]] = [:]
    for run in history { if let id = run.id { historyMetrics[id] = try store.metrics(runID: id) } }
    var versions: [String] = []
    for run in history where !versions.contains(run.codeVersion) { versions.append(run.codeVersion) }

    var subsets: [[String: Any]] = []
    for s in a.subsets {
      let seeds = s.runs.map { "seed \($0.seed)" }
      var names = Set(s.bandSet?.bands.map(\.metric) ?? [])
      for m in s.metrics.values { for (k, _) in m where metricInfo[k]?.banded ?? false { names.insert(k) } }
      var rows: [[String: Any]] = []
      for name in names.sorted() {
        let band = s.bandSet?.band(for: name)
        let values = s.runs.compactMap { run -> (String, Double)? in
          guard let id = run.id, let v = s.metrics[id]?[name] else { return nil }
          return ("seed \(run.seed)", v)
        }
        let failing = s.runs.contains { run in
          guard let id = run.id else { return false }
          return s.checks[id]?.contains { $0.metric == name && !$0.passed } ?? false
        }
        let mean = values.isEmpty ? nil : values.map(\.1).reduce(0, +) / Double(values.count)
        let ciLow = s.runs.compactMap { run in run.id.flatMap { s.metrics[$0]?["\(name).ci95_low"] } }
        let ciHigh = s.runs.compactMap { run in run.id.flatMap { s.metrics[$0]?["\(name).ci95_high"] } }
        let spark = versions.compactMap { v -> (String, Double)? in
          let vals = history.filter { $0.codeVersion == v }.compactMap { r in r.id.flatMap { historyMetrics[$0]?[name] } }
          return vals.isEmpty ? nil : (v, vals.reduce(0, +) / Double(vals.count))
        }
        rows.append([
          "values": values.map { "\($0.0.replacingOccurrences(of: "seed ", with: "s")) \(fmt($0.1))" }.joined(separator: " · "),
          "metric": name, "help": metricInfo[name]?.help ?? "",
          "better": band?.better.rawValue ?? metricInfo[name]?.better.rawValue ?? "",
          "band": band.map { "[\(fmt($0.lower)), \($0.upper >= 1e6 ? "∞" : fmt($0.upper))]" } ?? "uncalibrated",
          "calibrated": band.map { "\(fmt($0.mean)) ± \(fmt($0.standardDeviation)) (n=\($0.count))" } ?? "",
          "mean": mean.map(fmt) ?? "–",
          "ci": ciLow.isEmpty ? "" : "within-run 95% CI [\(fmt(ciLow.reduce(0, +) / Double(ciLow.count))), "
            + "\(fmt(ciHigh.reduce(0, +) / Double(max(ciHigh.count, 1))))]",
          "seedCI": seedInterval(values.map(\.1)),
          "strip": SVGCharts.strip(lower: band?.lower, upper: band?.upper, values: values),
          "history": SVGCharts.sparkline(spark),
          "rowClass": band == nil ? "skip" : (failing ? "fail" : "pass"),
        ])
      }
      let claims = s.claims.map { c -> [String: Any] in
        [
          "id": c.claim.id, "statement": c.claim.statement, "source": c.claim.source, "kind": c.claim.kind.rawValue,
          "verdict": c.verdict.rawValue, "verdictClass": c.verdict == .reproduced ? "pass" : (c.verdict == .notReproduced ? "fail" : "skip"),
          "expected": c.expected?.rawValue ?? "uncalibrated", "gate": c.passed ? "holds" : "changed",
          "gateClass": c.passed ? "pass" : "fail",
          "reported": c.claim.reported ?? "", "hasReported": c.claim.reported != nil,
          "details": c.outcomes.map { ["seed": $0.seed, "detail": $0.outcome.detail] as [String: Any] },
        ]
      }
      // Curves of the newest run.
      let charts = try s.runs.max(by: { ($0.id ?? 0) < ($1.id ?? 0) }).flatMap(\.id).map { try curves(runID: $0, store: store) } ?? []
      let env = s.runs.last.map { r -> [String: Any] in
        [
          "codeVersion": r.codeVersion + (r.codeDirty ? " (dirty)" : ""), "cpu": r.cpu, "cores": r.cores,
          "threads": r.threads, "blas": r.blas, "build": r.build, "os": r.operatingSystem,
          "dataset": r.datasetID ?? r.dataSource, "datasetHash": String((r.datasetHash ?? "").prefix(16)),
          "configHash": String(r.configHash.prefix(16)), "config": r.config,
          "wall": s.runs.compactMap(\.wallSeconds).map { String(format: "%.1f s", $0) }.joined(separator: ", "),
          "memory": r.peakMemoryBytes.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? "–",
          "date": date(r.startedAt),
        ]
      }
      let notes = (s.runs.last?.message ?? "").split(separator: "\n").map(String.init)
      let subsetFigures = figures(
        t, runs: s.runs, metrics: s.metrics, verdicts: s.claims.map { ($0.claim, $0.verdict.rawValue) })
      subsets.append([
        "subset": BandTable.subsetKey(s.subset), "seeds": seeds.joined(separator: ", "),
        "calibration": s.bandSet.map {
          "calibrated over seeds \($0.calibration.seeds.map(String.init).joined(separator: ",")) at "
            + "\($0.calibration.codeVersion)\($0.calibration.codeDirty ? " (dirty)" : "") on \($0.calibration.date); "
            + "rule: \($0.calibration.method)"
        } ?? "no calibrated band: values are reported, not gated",
        "rows": rows, "claims": claims, "hasClaims": !claims.isEmpty, "charts": charts, "hasCharts": !charts.isEmpty,
        "figures": subsetFigures, "hasFigures": !subsetFigures.isEmpty,
        "env": env ?? [:], "notes": notes, "hasNotes": !notes.isEmpty,
      ])
    }
    let allClaims = t.claims.filter { $0.profiles.contains(a.profile) }
    let ungated = try a.ungated.map { g -> [String: Any] in
      let groupCharts = try g.runs.max(by: { ($0.id ?? 0) < ($1.id ?? 0) }).flatMap(\.id).map { try curves(runID: $0, store: store) } ?? []
      let groupFigures = figures(t, runs: g.runs, metrics: g.metrics, verdicts: g.claims.map { ($0.claim, $0.verdict.rawValue) })
      var names: [String] = []
      for m in g.metrics.values { for k in m.keys where metricInfo[k]?.banded ?? false && !names.contains(k) { names.append(k) } }
      let rows = names.sorted().map { name -> [String: Any] in
        let values = g.runs.compactMap { run -> (Int64, Double)? in
          guard let id = run.id, let v = g.metrics[id]?[name] else { return nil }
          return (run.seed, v)
        }
        let mean = values.isEmpty ? nil : values.map(\.1).reduce(0, +) / Double(values.count)
        return [
          "metric": name, "mean": mean.map(fmt) ?? "–", "seedCI": seedInterval(values.map(\.1)),
          "values": values.map { "s\($0.0) \(fmt($0.1))" }.joined(separator: " · "),
        ]
      }
      return [
        "environment": g.runs.last.map { r in
          [
            "code \(r.codeVersion)\(r.codeDirty ? " (dirty)" : "")",
            r.isExternal ? "hardware \(r.cpu)" : "\(r.cpu), \(r.threads) threads, \(r.blas), \(r.build) build",
            "host \(r.hostName)", r.datasetHash.map { "data sha256 \($0.prefix(16))…" },
            r.isExternal ? nil : "config sha256 \(r.configHash.prefix(16))…", "newest run \(date(r.startedAt))",
          ].compactMap { $0 }.joined(separator: " · ")
        } ?? "",
        "kind": g.kind.rawValue, "label": g.label,
        "command": g.provenance?.command ?? "", "hasCommand": g.provenance?.command != nil, "seeds": g.runs.map { String($0.seed) }.joined(separator: ", "),
        "runIDs": g.runs.compactMap(\.id).map(String.init).joined(separator: ", "),
        "codeVersions": Array(Set(g.runs.map(\.codeVersion))).sorted().joined(separator: ", "),
        "rows": rows,
        "claims": g.claims.map { ["id": $0.claim.id, "verdict": $0.verdict.rawValue] },
        "hasClaims": !g.claims.isEmpty,
        "charts": groupCharts, "hasCharts": !groupCharts.isEmpty,
        "figures": groupFigures, "hasFigures": !groupFigures.isEmpty,
      ]
    }
    let paperNumbers = t.reported.map { e -> [String: Any] in
      // A paper band judges the runs of its profile: the gated ones (if any) and every group beside them.
      var comparisons: [[String: Any]] = []
      if e.profile == a.profile, e.band != nil {
        var groups: [(String, [Double])] = a.subsets.map { s in
          ("embedded data · \(BandTable.subsetKey(s.subset))", s.runs.compactMap { $0.id.flatMap { s.metrics[$0]?[e.metric] } })
        }
        groups += a.ungated.map { g in (g.label, g.runs.compactMap { $0.id.flatMap { g.metrics[$0]?[e.metric] } }) }
        for (label, values) in groups where !values.isEmpty {
          let mean = values.reduce(0, +) / Double(values.count)
          let verdict = e.verdict(mean) ?? ""
          comparisons.append([
            "label": label, "n": values.count, "mean": fmt(mean), "seedCI": seedInterval(values),
            "difference": (mean >= e.value ? "+" : "") + fmt(mean - e.value), "verdict": verdict,
            "verdictClass": verdict == "within" ? "pass" : "fail",
          ])
        }
      }
      return [
        "metric": e.metric, "value": e.valueText, "dataset": e.dataset, "architecture": e.architecture,
        "epochs": e.epochs.map(String.init) ?? "–", "source": e.source, "sourceKind": e.sourceKind.rawValue,
        "band": e.band.map { "paper band for \(e.profile ?? ""): [\(fmt($0.lower)), \(fmt($0.upper))]" } ?? "context",
        "note": e.note ?? "", "hasNote": e.note != nil, "comparisons": comparisons, "hasComparisons": !comparisons.isEmpty,
      ]
    }
    return [
      "paperNumbers": paperNumbers, "hasPaperNumbers": !paperNumbers.isEmpty,
      "reportedNote": t.reportedNote ?? "", "hasPaperSection": !paperNumbers.isEmpty || t.reportedNote != nil,
      "ungated": ungated, "hasUngated": !ungated.isEmpty,
      "id": t.id, "title": t.title, "summary": t.summary, "profile": a.profile, "method": t.method.rawValue,
      "dataset": t.dataset.id, "refs": refs, "status": status.text, "statusClass": status.css,
      "notRun": a.notRun, "subsets": subsets,
      "plannedClaims": allClaims.map { ["id": $0.id, "statement": $0.statement, "source": $0.source] },
    ]
  }

  /// The target's figures of merit over `runs` (one value per run and metric; runs lacking a
  /// point's metric leave it out), each with a printed summary and the claims it bears on beside
  /// their verdicts over these runs (`verdicts`). A figure of which the runs hold fewer than two
  /// points is left out.
  static func figures(
    _ t: TargetSpec, runs: [StoredRun], metrics: [Int64: [String: Double]], verdicts: [(Claim, String)]
  ) -> [[String: Any]] {
    func values(_ metric: String) -> [(seed: Int64, value: Double)] {
      runs.compactMap { run in run.id.flatMap { metrics[$0]?[metric] }.map { (run.seed, $0) } }
    }
    return t.figures.compactMap { f -> [String: Any]? in
      let columns = f.points.compactMap { p -> SVGCharts.FigureColumn? in
        let v = values(p.metric)
        guard !v.isEmpty else { return nil }
        let interval = Checks.seedInterval(v.map(\.value)).map { ($0.lower, $0.upper) }
        return SVGCharts.FigureColumn(
          label: p.label, x: p.x, values: v, mean: v.map(\.value).reduce(0, +) / Double(v.count), interval: interval)
      }
      guard columns.count >= 2 else { return nil }
      let references = f.references.compactMap { r -> (label: String, value: Double)? in
        let v = values(r.metric).map(\.value)
        return v.isEmpty ? nil : (r.label, v.reduce(0, +) / Double(v.count))
      }
      let svg = SVGCharts.figure(
        title: f.title, xLabel: f.xLabel, yLabel: f.yLabel, numeric: f.numeric, columns: columns, references: references)
      let printed = columns.map { c in
        "\(c.label) \(fmt(c.mean))" + (c.interval.map { " [\(fmt($0.lower)), \(fmt($0.upper))]" } ?? "")
      } + references.map { "\($0.label) \(fmt($0.value))" }
      let claims = f.claims.map { id -> [String: Any] in
        let verdict = verdicts.first { $0.0.id == id }
        let text = verdict?.1 ?? "not decided here"
        return [
          "id": id, "statement": (verdict?.0 ?? t.claims.first { $0.id == id })?.statement ?? "", "verdict": text,
          "verdictClass": text == "reproduced" ? "pass" : (text == "not-reproduced" ? "fail" : "skip"),
        ]
      }
      return [
        "svg": svg, "summary": printed.joined(separator: " · ") + " (mean [95% CI over seeds])",
        "claims": claims, "hasClaims": !claims.isEmpty,
      ]
    }
  }

  /// The curves of one run as charts, grouped by the part of each series name after the first dot.
  static func curves(runID: Int64, store: ResultsStore) throws -> [String] {
    let points = try store.series(runID: runID)
    var groups: [String: [(String, [(Double, Double)])]] = [:]
    var order: [String] = []
    for name in Array(Set(points.map(\.name))).sorted() {
      let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
      let (series, chart) = parts.count == 2 ? (parts[0], parts[1]) : (name, name)
      let chartKey = "\(series)|\(chart)"
      if !order.contains(chartKey) { order.append(chartKey) }
      groups[chartKey, default: []].append((series, points.filter { $0.name == name }.map { ($0.x, $0.value) }))
    }
    return order.map { key in
      let parts = key.split(separator: "|").map(String.init)
      let xLabel = parts[1].contains("gaussian") ? "Gaussian σ (px)" : (parts[1].contains("defocus") ? "disk radius (px)" : "step")
      return SVGCharts.lines(title: "\(parts[0]): \(parts[1])", xLabel: xLabel, series: groups[key] ?? [])
    }
  }

  static func fmt(_ v: Double) -> String { String(format: "%.4g", v) }

  /// "seeds: 95% CI [lo, hi]", the Student-t interval of the mean over the seeds (empty below two seeds).
  static func seedInterval(_ values: [Double]) -> String {
    Checks.seedInterval(values).map { "seeds: 95% CI [\(fmt($0.lower)), \(fmt($0.upper))]" } ?? ""
  }

  static func date(_ d: Date) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm"
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: d) + " UTC"
  }
}

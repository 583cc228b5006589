import Foundation
import Harness

/// JUnit XML for CI: one `testsuite` per target and profile, one `testcase` per band check (per
/// seed) or claim. Out of band → `failure`; not run → `skipped`.
///
/// Validates against the Jenkins/Surefire schema (`Tests/ResultsTests/Fixtures/junit-10.xsd`). That
/// schema allows no `properties` inside a `testcase`, so each case carries its band, value, seed and
/// code version as `key=value` lines in `system-out`, and the suite carries the shared ones as
/// `properties`. Names read well in GitLab and Jenkins: classname `<target>.<profile>.<subset>`,
/// name `<metric> [seed N]` or `claim: <id>`.
public enum JUnitReport {
  /// Renders the assessments as one `testsuites` document.
  public static func render(_ assessments: [TargetAssessment], generatedAt: Date = Date()) -> String {
    var suites: [String] = []
    var totalTests = 0, totalFailures = 0
    for a in assessments {
      var cases: [String] = []
      var failures = 0, skipped = 0
      let suiteName = "\(a.target.id).\(a.profile)"
      if a.notRun {
        cases.append(
          testcase(
            classname: suiteName, name: "not run",
            body: "<skipped message=\"no canonical \(a.profile) run of \(a.target.id) in the store\"/>"))
        skipped += 1
      }
      for s in a.subsets {
        let classname = "\(suiteName).\(BandTable.subsetKey(s.subset))"
        if s.bandSet == nil {
          cases.append(
            testcase(
              classname: classname, name: "bands",
              body: "<skipped message=\"no calibrated band for \(a.profile) at \(BandTable.subsetKey(s.subset))\"/>"))
          skipped += 1
        }
        for run in s.runs {
          guard let id = run.id else { continue }
          for check in s.checks[id] ?? [] {
            var body = ""
            let valueText = check.value.map { fmt($0) } ?? "missing"
            if !check.passed {
              failures += 1
              body += "<failure type=\"OutOfBand\" message=\""
                + escape("\(check.metric) = \(valueText) outside [\(fmt(check.lower)), \(fmt(check.upper))]")
                + "\"/>"
            }
            body += "<system-out>" + escape(
              "band=[\(fmt(check.lower)), \(fmt(check.upper))]\nvalue=\(valueText)\nbetter=\(check.better.rawValue)\n"
                + "seed=\(run.seed)\nrun=\(id)\ncodeVersion=\(run.codeVersion)\(run.codeDirty ? "+dirty" : "")\n")
              + "</system-out>"
            cases.append(
              testcase(classname: classname, name: "\(check.metric) [seed \(run.seed)]", body: body,
                time: run.wallSeconds))
          }
        }
        for c in s.claims {
          var body = ""
          if !c.passed {
            failures += 1
            body += "<failure type=\"ClaimVerdictChanged\" message=\""
              + escape("verdict \(c.verdict.rawValue), calibrated \(c.expected?.rawValue ?? "none")") + "\"/>"
          }
          var out = "statement=\(c.claim.statement)\nverdict=\(c.verdict.rawValue)\n"
          out += "expected=\(c.expected?.rawValue ?? "uncalibrated")\nsource=\(c.claim.source)\n"
          for (seed, o) in c.outcomes { out += "seed \(seed): \(o.detail)\n" }
          body += "<system-out>\(escape(out))</system-out>"
          cases.append(testcase(classname: "\(classname).claims", name: "claim: \(c.claim.id)", body: body))
        }
      }
      totalTests += cases.count
      totalFailures += failures
      let runs = a.subsets.flatMap(\.runs)
      let time = runs.compactMap(\.wallSeconds).reduce(0, +)
      var props = "<properties>"
      props += property("paper", a.target.paper.shortCitation)
      props += property("profile", a.profile)
      props += property("codeVersions", Array(Set(runs.map(\.codeVersion))).sorted().joined(separator: ","))
      props += property("seeds", runs.map { String($0.seed) }.joined(separator: ","))
      if let host = runs.last { props += property("host", "\(host.cpu); \(host.threads) threads; \(host.build)") }
      props += "</properties>"
      suites.append(
        "  <testsuite name=\"\(escape(suiteName))\" tests=\"\(cases.count)\" failures=\"\(failures)\" "
          + "errors=\"0\" skipped=\"\(skipped)\" time=\"\(String(format: "%.3f", time))\" "
          + "timestamp=\"\(iso(generatedAt))\">\n    \(props)\n" + cases.map { "    " + $0 + "\n" }.joined()
          + "  </testsuite>\n")
    }
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      + "<testsuites name=\"replicate\" tests=\"\(totalTests)\" failures=\"\(totalFailures)\" errors=\"0\">\n"
      + suites.joined() + "</testsuites>\n"
  }

  private static func testcase(classname: String, name: String, body: String, time: Double? = nil) -> String {
    let t = time.map { " time=\"\(String(format: "%.3f", $0))\"" } ?? ""
    return "<testcase classname=\"\(escape(classname))\" name=\"\(escape(name))\"\(t)>\(body)</testcase>"
  }

  private static func property(_ name: String, _ value: String) -> String {
    "<property name=\"\(escape(name))\" value=\"\(escape(value))\"/>"
  }

  static func fmt(_ v: Double) -> String { String(format: "%.6g", v) }

  static func iso(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
  }

  /// XML-escapes text for attributes and element content.
  static func escape(_ s: String) -> String {
    var out = ""
    for ch in s.unicodeScalars {
      switch ch {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default:
        if ch.value < 0x20 && ch != "\n" && ch != "\t" { continue }
        out.unicodeScalars.append(ch)
      }
    }
    return out
  }
}

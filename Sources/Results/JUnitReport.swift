import Foundation
import Harness

/// JUnit XML for CI: one `testsuite` per target and profile, one `testcase` per band check (per
/// seed) or claim. Out of band → `failure`; not run → `skipped`.
///
/// Validates against the Jenkins/Surefire schema (`Tests/ResultsTests/Fixtures/junit-10.xsd`). That
/// schema allows no `properties` inside a `testcase`, so each case carries its band, value, seed and
/// code version as `key=value` lines in `system-out`, and the suite carries the shared ones as
/// `properties`. Names read well in GitLab and Jenkins: classname `<target>.<profile>.<subset>pct`
/// (no `%`, and `12_5pct` for 12.5 %: a dot would split Jenkins' package path), name
/// `<metric> [seed N]` or `claim: <id>`. A failure's message is also its text, which is what GitLab
/// shows as the case's details. (GitLab also reads a `file` attribute, which the schema does not
/// allow; the target file is named in each case's output instead.)
///
/// Times: a run's wall time is counted once, on its first band check; every other case takes 0 s
/// (a claim is decided over runs already counted). So the cases' times add up exactly to the
/// suite's time, and the suites' to the document's, and a tool that totals case times gets the
/// time the runs took.
public enum JUnitReport {
  /// Renders the assessments as one `testsuites` document.
  public static func render(_ assessments: [TargetAssessment], generatedAt: Date = Date()) -> String {
    var suites: [String] = []
    var totalTests = 0, totalFailures = 0, totalMilliseconds = 0
    for a in assessments {
      var cases: [String] = []
      var failures = 0, skipped = 0
      var suiteMilliseconds = 0
      let suiteName = "\(a.target.id).\(a.profile)"
      if a.notRun {
        cases.append(
          testcase(
            classname: suiteName, name: "not run",
            body: "<skipped message=\"no canonical \(a.profile) run of \(a.target.id) in the store\"/>", milliseconds: 0))
        skipped += 1
      }
      for s in a.subsets {
        let classname = "\(suiteName).\(subsetLabel(s.subset))"
        if s.bandSet == nil {
          cases.append(
            testcase(
              classname: classname, name: "bands",
              body: "<skipped message=\"no calibrated band for \(a.profile) at \(BandTable.subsetKey(s.subset))\"/>",
              milliseconds: 0))
          skipped += 1
        }
        for run in s.runs {
          guard let id = run.id else { continue }
          for (n, check) in (s.checks[id] ?? []).enumerated() {
            var body = ""
            let valueText = check.value.map { fmt($0) } ?? "missing"
            if !check.passed {
              failures += 1
              body += failure(
                type: "OutOfBand", message: "\(check.metric) = \(valueText) outside [\(fmt(check.lower)), \(fmt(check.upper))]")
            }
            body += "<system-out>" + escape(
              "band=[\(fmt(check.lower)), \(fmt(check.upper))]\nvalue=\(valueText)\nbetter=\(check.better.rawValue)\n"
                + "seed=\(run.seed)\nrun=\(id)\ncodeVersion=\(run.codeVersion)\(run.codeDirty ? "+dirty" : "")\n"
                + "file=Replications/\(a.target.id)/bands.yaml\n")
              + "</system-out>"
            let time = n == 0 ? milliseconds(run.wallSeconds ?? 0) : 0
            suiteMilliseconds += time
            cases.append(testcase(classname: classname, name: "\(check.metric) [seed \(run.seed)]", body: body, milliseconds: time))
          }
        }
        for c in s.claims {
          var body = ""
          if !c.passed {
            failures += 1
            body += failure(
              type: "ClaimVerdictChanged",
              message: "\(c.claim.id): verdict \(c.verdict.rawValue), calibrated \(c.expected?.rawValue ?? "none")")
          }
          var out = "statement=\(c.claim.statement)\nverdict=\(c.verdict.rawValue)\n"
          out += "expected=\(c.expected?.rawValue ?? "uncalibrated")\nsource=\(c.claim.source)\n"
          out += "file=Replications/\(a.target.id)/target.yaml\n"
          for (seed, o) in c.outcomes { out += "seed \(seed): \(o.detail)\n" }
          body += "<system-out>\(escape(out))</system-out>"
          cases.append(testcase(classname: "\(classname).claims", name: "claim: \(c.claim.id)", body: body, milliseconds: 0))
        }
      }
      totalTests += cases.count
      totalFailures += failures
      let runs = a.subsets.flatMap(\.runs)
      totalMilliseconds += suiteMilliseconds
      var props = "<properties>"
      props += property("paper", a.target.paper.shortCitation)
      props += property("profile", a.profile)
      props += property("codeVersions", Array(Set(runs.map(\.codeVersion))).sorted().joined(separator: ","))
      props += property("seeds", runs.map { String($0.seed) }.joined(separator: ","))
      if let host = runs.last { props += property("host", "\(host.cpu); \(host.threads) threads; \(host.build)") }
      props += "</properties>"
      suites.append(
        "  <testsuite name=\"\(escape(suiteName))\" tests=\"\(cases.count)\" failures=\"\(failures)\" "
          + "errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(suiteMilliseconds))\" "
          + "timestamp=\"\(iso(generatedAt))\">\n    \(props)\n" + cases.map { "    " + $0 + "\n" }.joined()
          + "  </testsuite>\n")
    }
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      + "<testsuites name=\"replicate\" tests=\"\(totalTests)\" failures=\"\(totalFailures)\" errors=\"0\" "
      + "time=\"\(seconds(totalMilliseconds))\">\n"
      + suites.joined() + "</testsuites>\n"
  }

  private static func testcase(classname: String, name: String, body: String, milliseconds: Int) -> String {
    "<testcase classname=\"\(escape(classname))\" name=\"\(escape(name))\" time=\"\(seconds(milliseconds))\">\(body)</testcase>"
  }

  /// A failure whose message is also its text (GitLab shows the text, Jenkins the message).
  private static func failure(type: String, message: String) -> String {
    "<failure type=\"\(type)\" message=\"\(escape(message))\">\(escape(message))</failure>"
  }

  /// `50pct`, `12_5pct`: a subset in a classname (no `%`, no extra dot).
  public static func subsetLabel(_ subset: Double) -> String {
    let key = BandTable.subsetKey(subset).replacingOccurrences(of: "%", with: "")
    return key.replacingOccurrences(of: ".", with: "_") + "pct"
  }

  /// Times are kept in whole milliseconds, so the sums the document states are exact.
  private static func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }

  /// `12.345`: the schema's time format (at most three decimals, no exponent).
  private static func seconds(_ milliseconds: Int) -> String {
    String(format: "%d.%03d", milliseconds / 1000, milliseconds % 1000)
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

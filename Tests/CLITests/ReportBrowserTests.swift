import Foundation
import Testing
import _TestSupport

/// The HTML report in a real browser (headless Chromium, which scripts/test.sh installs): at 480
/// and 1400 px no table sticks out of its card, the page does not scroll sideways, and the key
/// numbers are on the page as text (not only in tooltips). The report has no scripts; the test
/// measures a copy with one measuring script appended, shown in an iframe of the exact width
/// (headless Chromium will not make a window narrower than 500 px).
@Suite struct ReportBrowserTests {
  /// What the measuring script leaves in `<pre id="measured">`.
  struct Measured: Decodable {
    var width: Int
    var pageWidth: Int
    var tables: Int
    var overflowing: [String]
    var text: String
  }

  static let measuring = """
    <script>
    addEventListener('load', () => {
      const out = {width: innerWidth, pageWidth: document.documentElement.scrollWidth, tables: 0, overflowing: []};
      for (const card of document.querySelectorAll('section.card')) {
        const c = card.getBoundingClientRect();
        for (const t of card.querySelectorAll('table')) {
          out.tables += 1;
          const r = t.getBoundingClientRect();
          if (r.right > c.right + 0.5 || r.left < c.left - 0.5) {
            out.overflowing.push((card.id || 'summary') + ': table ' + Math.round(r.width) + ' px in a card of ' + Math.round(c.width));
          }
        }
      }
      out.text = document.querySelector('main').innerText;
      const pre = parent.document.createElement('pre');
      pre.id = 'measured';
      pre.textContent = JSON.stringify(out);
      parent.document.body.appendChild(pre);
    });
    </script>
    """

  /// The browser: Debian's `chromium`.
  static var chromium: String? {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: candidate) {
      return candidate
    }
    return nil
  }

  func measure(_ html: String, width: Int, screenshot: String? = nil) throws -> Measured {
    let browser = try #require(Self.chromium, "headless Chromium is missing: scripts/test.sh installs Debian's chromium")
    let page = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).html")
    let inner = html.replacingOccurrences(of: "</body>", with: Self.measuring + "</body>")
      .replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
    // The outer page states its encoding: without it Chromium may guess windows-1252 for a local
    // file and read the report's UTF-8 (·, –, ±) as mojibake (seen once on a fresh clone).
    let outer = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\"><iframe style=\"border:0;display:block\" width=\"\(width)\" "
      + "height=\"2400\" srcdoc=\"\(inner)\"></iframe></body></html>"
    try outer.write(to: page, atomically: true, encoding: .utf8)
    let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(max(width, 500)),2400",
      "--virtual-time-budget=3000"]
    if let screenshot {
      _ = try TestSupport.runTool(browser, common + ["--screenshot=\(screenshot)", page.absoluteString])
    }
    let (status, dom) = try TestSupport.runTool(browser, common + ["--dump-dom", page.absoluteString])
    #expect(status == 0, "chromium: \(dom.suffix(2000))")
    guard let start = dom.range(of: "<pre id=\"measured\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
      Issue.record("no measurement in the dumped page: \(dom.suffix(1500))")
      return Measured(width: 0, pageWidth: 0, tables: 0, overflowing: [], text: "")
    }
    let json = String(dom[start.upperBound..<end.lowerBound])
      .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
      .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    return try JSONDecoder().decode(Measured.self, from: Data(json.utf8))
  }

  @Test func reportLaysOutFrom480To1400PixelsWithNumbersAsText() throws {
    let box = try Sandbox()
    #expect(try box.run(["blur-detection", "--profile", "smoke", "--seeds", "0-1"]).status == 0)
    #expect(try box.run(["blur-detection", "--profile", "smoke", "--set", "tiles=8"]).status == 0)
    let lab = box.path("lab.csv")
    try "metric,value,seed\nknn_accuracy,0.815,0\n".write(toFile: lab, atomically: true, encoding: .utf8)
    #expect(try box.run(["ingest", "moco-v1", lab, "--who", "lab X", "--dataset", "CIFAR-10"]).status == 0)
    let file = box.path("Reports/index.html")
    #expect(try box.run(["report", "--html", file, "--profiles", "smoke,paper"]).status == 0)
    let html = try String(contentsOfFile: file, encoding: .utf8)
    let shots = ProcessInfo.processInfo.environment["REPLICATE_REPORT_SCREENSHOTS"]
    for width in [480, 1400] {
      let m = try measure(html, width: width, screenshot: shots.map { "\($0)/report-\(width).png" })
      #expect(m.width == width && m.tables > 5)
      #expect(m.overflowing.isEmpty, "at \(width) px: \(m.overflowing)")
      #expect(m.pageWidth <= width, "the page scrolls sideways at \(width) px: \(m.pageWidth) px wide")
      // Key numbers as text: the band of a gated metric, per-seed values, the paper comparison,
      // the external group and a claim's name with its verdict in the summary.
      for text in ["[0.99, 1.01]", "s0 1 · s1 1", "laplacian-falls-with-blur: reproduced", "external: lab X", "0.815", "paper band for paper: [0.806, 0.846]"] {
        #expect(m.text.contains(text), "at \(width) px the page text lacks \(text)")
      }
    }
  }
}

import Foundation

/// Small inline SVG charts for the HTML report (no scripts, no network).
enum SVGCharts {
  /// A horizontal strip: the band as a shaded bar, each seed's value as a dot (red outside).
  static func strip(lower: Double?, upper: Double?, values: [(label: String, value: Double)], width: Int = 220)
    -> String
  {
    let h = 26.0, w = Double(width), pad = 8.0
    var lo = values.map(\.value).min() ?? 0, hi = values.map(\.value).max() ?? 1
    if let lower { lo = min(lo, lower) }
    if let upper { hi = max(hi, upper) }
    if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
    let span = hi - lo
    lo -= 0.08 * span
    hi += 0.08 * span
    func x(_ v: Double) -> Double { pad + (v - lo) / (hi - lo) * (w - 2 * pad) }
    var s = "<svg class=\"strip\" width=\"\(width)\" height=\"\(Int(h))\" viewBox=\"0 0 \(width) \(Int(h))\" role=\"img\">"
    s += "<line x1=\"\(pad)\" y1=\"13\" x2=\"\(w - pad)\" y2=\"13\" stroke=\"#c8ccd2\"/>"
    if let lower, let upper {
      s += "<rect x=\(q(x(lower))) y=\"6\" width=\(q(max(x(upper) - x(lower), 1.5))) height=\"14\" "
        + "fill=\"#cfe8d6\" stroke=\"#6fb383\"><title>band [\(f(lower)), \(f(upper))]</title></rect>"
    }
    for (label, v) in values {
      let inside = lower.map { v >= $0 } ?? true && (upper.map { v <= $0 } ?? true)
      s += "<circle cx=\(q(x(v))) cy=\"13\" r=\"4\" fill=\"\(inside ? "#1f5fa8" : "#c62828")\" "
        + "fill-opacity=\"0.8\"><title>\(esc(label)): \(f(v))</title></circle>"
    }
    return s + "</svg>"
  }

  /// A line chart of several series sharing an x axis, with axes, ticks and a legend.
  static func lines(
    title: String, xLabel: String, series: [(name: String, points: [(Double, Double)])], width: Int = 300,
    height: Int = 190
  ) -> String {
    let palette = ["#1f5fa8", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c"]
    let all = series.flatMap(\.points)
    guard !all.isEmpty else { return "" }
    let left = 46.0, right = 10.0, top = 22.0, bottom = 34.0
    let w = Double(width), h = Double(height)
    var x0 = all.map(\.0).min() ?? 0, x1 = all.map(\.0).max() ?? 1
    var y0 = all.map(\.1).min() ?? 0, y1 = all.map(\.1).max() ?? 1
    if x1 - x0 < 1e-12 { x0 -= 1; x1 += 1 }
    if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
    let yPad = 0.06 * (y1 - y0)
    let nonNegative = y0 >= 0
    y0 -= yPad
    y1 += yPad
    if nonNegative { y0 = max(y0, 0) }
    func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (w - left - right) }
    func py(_ v: Double) -> Double { top + (1 - (v - y0) / (y1 - y0)) * (h - top - bottom) }
    var s = "<svg class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
    s += frame(title: title, left: left, right: w - right, top: top, bottom: h - bottom, y: (y0, y1), py: py)
    let xs = Array(Set(all.map(\.0))).sorted()
    let ticks = xs.count <= 8 ? xs : stride(from: 0, to: xs.count, by: max(1, xs.count / 6)).map { xs[$0] }
    for v in ticks {
      s += "<text x=\(q(px(v))) y=\(q(h - bottom + 13)) class=\"ax\" text-anchor=\"middle\">\(esc(short(v)))</text>"
    }
    s += "<text x=\(q((left + w - right) / 2)) y=\(q(h - 4)) class=\"ax\" text-anchor=\"middle\">\(esc(xLabel))</text>"
    for (i, ser) in series.enumerated() {
      let color = palette[i % palette.count]
      let pts = ser.points.map { "\(f2(px($0.0))),\(f2(py($0.1)))" }.joined(separator: " ")
      s += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"/>"
      for p in ser.points {
        s += "<circle cx=\(q(px(p.0))) cy=\(q(py(p.1))) r=\"2.5\" fill=\"\(color)\"><title>\(esc(ser.name)) "
          + "x=\(f(p.0)) y=\(f(p.1))</title></circle>"
      }
      if series.count > 1 {
        let ly = top + 12 + Double(i) * 12
        s += "<text x=\(q(w - right - 4)) y=\(q(ly)) class=\"lg\" text-anchor=\"end\" fill=\"\(color)\">\(esc(ser.name))</text>"
      }
    }
    return s + "</svg>"
  }

  /// One column of a figure of merit: its label, its x position (numeric axes only), each seed's
  /// value, and the mean with its 95 % interval over the seeds (nil below two seeds).
  struct FigureColumn {
    var label: String
    var x: Double?
    var values: [(seed: Int64, value: Double)]
    var mean: Double
    var interval: (lower: Double, upper: Double)?
  }

  /// A figure of merit: per column every seed's value (small dots), the mean (a larger dot) with
  /// its 95 % interval over seeds (a whisker), the means joined by a line on a numeric axis, and
  /// dashed horizontal reference lines (a control's mean, chance) with their labels.
  static func figure(
    title: String, xLabel: String, yLabel: String, numeric: Bool, columns: [FigureColumn],
    references: [(label: String, value: Double)], width: Int = 380, height: Int = 230
  ) -> String {
    guard !columns.isEmpty else { return "" }
    let left = 50.0, right = 12.0, top = 22.0, bottom = 36.0
    let w = Double(width), h = Double(height)
    var ys = columns.flatMap { c in c.values.map(\.value) + [c.mean] }
    ys += columns.compactMap { $0.interval }.flatMap { [$0.lower, $0.upper] }
    ys += references.map(\.value)
    var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
    if y1 - y0 < 1e-12 { y0 -= 0.05; y1 += 0.05 }
    let yPad = 0.08 * (y1 - y0)
    y0 -= yPad
    y1 += yPad
    let plotW = w - left - right
    let xs = columns.map { $0.x ?? 0 }
    let (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
    func px(_ i: Int) -> Double {
      if numeric, x1 - x0 > 1e-12 { return left + 14 + (xs[i] - x0) / (x1 - x0) * (plotW - 28) }
      return left + (Double(i) + 0.5) / Double(columns.count) * plotW
    }
    func py(_ v: Double) -> Double { top + (1 - (v - y0) / (y1 - y0)) * (h - top - bottom) }
    var s = "<svg class=\"chart figure\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
    s += "<title>\(esc(title))</title>"
    s += frame(title: title, left: left, right: w - right, top: top, bottom: h - bottom, y: (y0, y1), py: py)
    s += "<text x=\"11\" y=\(q((top + h - bottom) / 2)) class=\"ax\" text-anchor=\"middle\" "
      + "transform=\"rotate(-90 11 \(f2((top + h - bottom) / 2)))\">\(esc(yLabel))</text>"
    for (i, r) in references.enumerated() {
      let y = py(r.value)
      s += "<line x1=\(q(left)) x2=\(q(w - right)) y1=\(q(y)) y2=\(q(y)) stroke=\"#9a6700\" stroke-dasharray=\"4 3\">"
        + "<title>\(esc(r.label)): \(f(r.value))</title></line>"
      s += "<text x=\(q(w - right - 3)) y=\(q(y - 3 - Double(i % 2) * 9)) class=\"lg\" text-anchor=\"end\" fill=\"#9a6700\">"
        + "\(esc(r.label)) \(esc(short(r.value)))</text>"
    }
    if numeric {
      let pts = columns.indices.map { "\(f2(px($0))),\(f2(py(columns[$0].mean)))" }.joined(separator: " ")
      s += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.6\"/>"
    }
    for (i, c) in columns.enumerated() {
      let x = px(i)
      for (k, v) in c.values.enumerated() {
        let jitter = (Double(k) - Double(c.values.count - 1) / 2) * 2.2
        s += "<circle cx=\(q(x + jitter)) cy=\(q(py(v.value))) r=\"2.2\" fill=\"#7aa6d6\" fill-opacity=\"0.75\">"
          + "<title>\(esc(c.label)), seed \(v.seed): \(f(v.value))</title></circle>"
      }
      if let ci = c.interval {
        s += "<line x1=\(q(x)) x2=\(q(x)) y1=\(q(py(ci.lower))) y2=\(q(py(ci.upper))) stroke=\"#12355b\" stroke-width=\"1.4\"/>"
        for end in [ci.lower, ci.upper] {
          s += "<line x1=\(q(x - 5)) x2=\(q(x + 5)) y1=\(q(py(end))) y2=\(q(py(end))) stroke=\"#12355b\" stroke-width=\"1.4\"/>"
        }
      }
      let tip = "\(c.label): mean \(f(c.mean))" + (c.interval.map { " [\(f($0.lower)), \(f($0.upper))]" } ?? "")
        + " over \(c.values.count) seeds"
      s += "<circle cx=\(q(x)) cy=\(q(py(c.mean))) r=\"4\" fill=\"#12355b\"><title>\(esc(tip))</title></circle>"
      s += "<text x=\(q(x)) y=\(q(h - bottom + 13)) class=\"ax\" text-anchor=\"middle\">\(esc(c.label))</text>"
    }
    s += "<text x=\(q(left + plotW / 2)) y=\(q(h - 5)) class=\"ax\" text-anchor=\"middle\">\(esc(xLabel))</text>"
    return s + "</svg>"
  }

  /// A chart's title, its plot area (from `left` to `right`, `top` to `bottom`) and four
  /// horizontal grid lines across `y` labelled at the left.
  static func frame(
    title: String, left: Double, right: Double, top: Double, bottom: Double, y: (Double, Double), py: (Double) -> Double
  ) -> String {
    var s = "<text x=\"\(left)\" y=\"14\" class=\"ct\">\(esc(title))</text>"
    s += "<rect x=\(q(left)) y=\(q(top)) width=\(q(right - left)) height=\(q(bottom - top)) fill=\"#fafbfc\" stroke=\"#d9dde3\"/>"
    for i in 0...3 {
      let v = y.0 + (y.1 - y.0) * Double(i) / 3
      s += "<line x1=\(q(left)) x2=\(q(right)) y1=\(q(py(v))) y2=\(q(py(v))) stroke=\"#eceef1\"/>"
      s += "<text x=\(q(left - 4)) y=\(q(py(v) + 3)) class=\"ax\" text-anchor=\"end\">\(esc(short(v)))</text>"
    }
    return s
  }

  /// A tiny history line: one point per code version (mean over its runs).
  static func sparkline(_ values: [(label: String, value: Double)], width: Int = 90, height: Int = 22) -> String {
    guard values.count > 1 else { return values.isEmpty ? "" : "<span class=\"muted\">one version</span>" }
    let lo = values.map(\.value).min() ?? 0, hi = values.map(\.value).max() ?? 1
    let span = hi - lo < 1e-12 ? 1 : hi - lo
    let w = Double(width), h = Double(height)
    let pts = values.enumerated().map { i, v in
      "\(f2(3 + Double(i) / Double(values.count - 1) * (w - 6))),\(f2(h - 3 - (v.value - lo) / span * (h - 6)))"
    }
    let tip = values.map { "\($0.label): \(f($0.value))" }.joined(separator: "&#10;")
    // Printed labels too (a tooltip is lost on paper): the first and the newest version's value.
    let first = values[0], last = values[values.count - 1]
    return "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\"><title>\(esc(tip))</title>"
      + "<polyline points=\"\(pts.joined(separator: " "))\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.3\"/></svg>"
      + "<br><span class=\"muted\">\(values.count) versions: \(esc(String(first.label.prefix(7)))) \(f(first.value)) → "
      + "\(esc(String(last.label.prefix(7)))) \(f(last.value))</span>"
  }

  static func q(_ v: Double) -> String { "\"\(f2(v))\"" }
  static func f2(_ v: Double) -> String { String(format: "%.2f", v) }
  static func f(_ v: Double) -> String { String(format: "%.4g", v) }

  static func short(_ v: Double) -> String {
    let a = abs(v)
    if a >= 10_000 || (a < 0.01 && a > 0) { return String(format: "%.1e", v) }
    if a >= 100 { return String(format: "%.0f", v) }
    return String(format: "%.3g", v)
  }

  static func esc(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}

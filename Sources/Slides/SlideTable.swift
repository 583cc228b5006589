import Basics
import Foundation

/// Why a slide or bag table (CSV) could not be read or written.
///
/// An input error in the project's sense: the command line prints the description and exits 2.
public enum SlideTableError: Error, CustomStringConvertible, Equatable {
  /// The file is missing or unreadable.
  case cannotRead(path: String, reason: String)
  /// A row or the header breaks the format (`line` is 1-based).
  case invalid(path: String, line: Int, message: String)
  /// The file could not be written.
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .cannotRead(let path, let reason): "\(path): cannot read the table: \(reason)"
    case .invalid(let path, let line, let message): "\(path): line \(line): \(message)"
    case .cannotWrite(let path, let reason): "\(path): cannot write the table: \(reason)"
    }
  }
}

/// One slide of a slide table: identity, labels, split and survival.
public struct SlideRecord: Sendable, Equatable {
  /// File stem of the slide (`train_000`, `tumor_001`, …).
  public var slideID: String
  /// Slide label: 1 tumour (metastasis present), 0 normal.
  public var label: Int
  /// `train`, `val`, `test`, or nil when the table has no split column.
  public var split: String?
  /// Tumour area / tissue area (from the annotations), when known.
  public var tumourFraction: Double?
  /// Follow-up time in months (event or censoring), when known.
  public var survivalMonths: Double?
  /// 1 if the event was observed at `survivalMonths`, 0 if censored there.
  public var event: Int?
  /// The relational task's label (see `RelationalGroup`), when known.
  public var relationalLabel: Int?
  /// Every other column, by header name.
  public var extra: [String: String]

  /// A record with the given fields.
  public init(
    slideID: String, label: Int, split: String? = nil, tumourFraction: Double? = nil, survivalMonths: Double? = nil,
    event: Int? = nil, relationalLabel: Int? = nil, extra: [String: String] = [:]
  ) {
    self.slideID = slideID
    self.label = label
    self.split = split
    self.tumourFraction = tumourFraction
    self.survivalMonths = survivalMonths
    self.event = event
    self.relationalLabel = relationalLabel
    self.extra = extra
  }
}

/// A slide table: one CSV row per slide, a header row of column names.
///
/// Columns: `slide_id` and `label` (0/1) are required; `split`, `tumour_fraction`,
/// `survival_months`, `event` (0/1) and `relational_label` (0/1) are read into their fields
/// when present; any other column is kept as text in `extra` and written back in header order.
/// Fields may be quoted with `"` (a doubled `""` inside is a quote). Slide ids must be unique.
public struct SlideTable: Sendable, Equatable {
  /// The typed columns, in the order they are written.
  public static let standardColumns = [
    "slide_id", "label", "split", "tumour_fraction", "survival_months", "event", "relational_label",
  ]

  /// The rows, in file order.
  public var records: [SlideRecord]
  /// Names of the `extra` columns, in file order.
  public var extraColumns: [String]

  /// A table of `records` with `extraColumns` written after the standard ones.
  public init(records: [SlideRecord], extraColumns: [String] = []) {
    self.records = records
    self.extraColumns = extraColumns
  }

  /// The record of `slideID`, if any.
  public subscript(slideID: String) -> SlideRecord? { records.first { $0.slideID == slideID } }

  /// The records whose split is `split`, in file order.
  public func records(inSplit split: String) -> [SlideRecord] { records.filter { $0.split == split } }

  /// The splits present, in order of first appearance.
  public var splits: [String] {
    var out: [String] = []
    for case let s? in records.map(\.split) where !out.contains(s) { out.append(s) }
    return out
  }

  /// Reads and validates the table at `path`.
  public static func read(path: String) throws(SlideTableError) -> SlideTable {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw .cannotRead(
        path: path, reason: FileManager.default.fileExists(atPath: path) ? "not UTF-8 text" : "no such file")
    }
    return try parse(text, path: path)
  }

  /// Parses CSV text; `path` names the source in errors.
  public static func parse(_ text: String, path: String) throws(SlideTableError) -> SlideTable {
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    guard let headerLine = lines.first, !headerLine.isEmpty else {
      throw .invalid(path: path, line: 1, message: "empty file; expected a header row starting slide_id,label")
    }
    let header = try fields(headerLine, path: path, line: 1)
    for required in ["slide_id", "label"] where !header.contains(required) {
      throw .invalid(path: path, line: 1, message: "missing column '\(required)' (header: \(header.joined(separator: ",")))")
    }
    if let duplicate = header.first(where: { name in header.filter { $0 == name }.count > 1 }) {
      throw .invalid(path: path, line: 1, message: "column '\(duplicate)' appears twice")
    }
    let extraColumns = header.filter { !standardColumns.contains($0) }
    var records: [SlideRecord] = []
    var seen = Set<String>()
    for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      let number = index + 1
      let values = try fields(line, path: path, line: number)
      guard values.count == header.count else {
        throw .invalid(path: path, line: number, message: "\(values.count) fields; the header has \(header.count)")
      }
      var row: [String: String] = [:]
      for (name, value) in zip(header, values) { row[name] = value }
      func int(_ name: String, allowed: Set<Int>? = nil) throws(SlideTableError) -> Int? {
        guard let text = row[name], !text.isEmpty else { return nil }
        guard let v = Int(text), allowed?.contains(v) ?? true else {
          let expected = allowed.map { "one of \($0.sorted().map(String.init).joined(separator: ", "))" } ?? "an integer"
          throw .invalid(path: path, line: number, message: "\(name) '\(text)': expected \(expected)")
        }
        return v
      }
      func double(_ name: String) throws(SlideTableError) -> Double? {
        guard let text = row[name], !text.isEmpty else { return nil }
        guard let v = Double(text), v.isFinite else {
          throw .invalid(path: path, line: number, message: "\(name) '\(text)': expected a number")
        }
        return v
      }
      let id = row["slide_id"] ?? ""
      guard !id.isEmpty else { throw .invalid(path: path, line: number, message: "empty slide_id") }
      guard seen.insert(id).inserted else {
        throw .invalid(path: path, line: number, message: "slide_id '\(id)' appears twice")
      }
      guard let label = try int("label", allowed: [0, 1]) else {
        throw .invalid(path: path, line: number, message: "empty label; expected 0 or 1")
      }
      let split = row["split"].flatMap { $0.isEmpty ? nil : $0 }
      records.append(
        SlideRecord(
          slideID: id, label: label, split: split, tumourFraction: try double("tumour_fraction"),
          survivalMonths: try double("survival_months"), event: try int("event", allowed: [0, 1]),
          relationalLabel: try int("relational_label", allowed: [0, 1]),
          extra: row.filter { extraColumns.contains($0.key) }))
    }
    return SlideTable(records: records, extraColumns: extraColumns)
  }

  /// The CSV text: the standard columns that any record fills (always `slide_id`, `label`),
  /// then `extraColumns`; numbers in Swift's shortest round-tripping form.
  public func csv() -> String {
    var columns = ["slide_id", "label"]
    if records.contains(where: { $0.split != nil }) { columns.append("split") }
    if records.contains(where: { $0.tumourFraction != nil }) { columns.append("tumour_fraction") }
    if records.contains(where: { $0.survivalMonths != nil }) { columns.append("survival_months") }
    if records.contains(where: { $0.event != nil }) { columns.append("event") }
    if records.contains(where: { $0.relationalLabel != nil }) { columns.append("relational_label") }
    columns += extraColumns
    var out = columns.joined(separator: ",") + "\n"
    for r in records {
      let values = columns.map { column -> String in
        switch column {
        case "slide_id": r.slideID
        case "label": String(r.label)
        case "split": r.split ?? ""
        case "tumour_fraction": r.tumourFraction.map { String($0) } ?? ""
        case "survival_months": r.survivalMonths.map { String($0) } ?? ""
        case "event": r.event.map(String.init) ?? ""
        case "relational_label": r.relationalLabel.map(String.init) ?? ""
        default: r.extra[column] ?? ""
        }
      }
      out += values.map(SlideTable.quoted).joined(separator: ",") + "\n"
    }
    return out
  }

  /// Writes `csv()` to `path` (through a temporary sibling, renamed into place).
  public func write(to path: String) throws(SlideTableError) {
    do { try csv().write(toFile: path, atomically: true, encoding: .utf8) } catch {
      throw .cannotWrite(path: path, reason: "\(error.localizedDescription)")
    }
  }

  /// `value`, quoted when it holds a comma, a quote or a line break.
  static func quoted(_ value: String) -> String {
    guard value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return value }
    return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// Splits one CSV line into fields (RFC 4180 quoting within the line).
  static func fields(_ line: String, path: String, line number: Int) throws(SlideTableError) -> [String] {
    var out: [String] = []
    var current = ""
    var quoted = false
    var chars = Array(line)
    if chars.last == "\r" { chars.removeLast() }
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if quoted {
        if c == "\"" {
          if i + 1 < chars.count, chars[i + 1] == "\"" {
            current.append("\"")
            i += 1
          } else {
            quoted = false
          }
        } else {
          current.append(c)
        }
      } else if c == "\"" && current.isEmpty {
        quoted = true
      } else if c == "," {
        out.append(current.trimmingCharacters(in: .whitespaces))
        current = ""
      } else {
        current.append(c)
      }
      i += 1
    }
    guard !quoted else { throw .invalid(path: path, line: number, message: "unterminated quoted field") }
    out.append(current.trimmingCharacters(in: .whitespaces))
    return out
  }
}

extension SlideTableError: UserFacingError {}

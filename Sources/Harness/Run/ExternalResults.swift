import Foundation

/// Results that the harness did not compute (a lab's runs of the official code on its own GPUs),
/// read for `replicate ingest` and stored as runs marked `external`.
public struct ExternalResults: Sendable, Equatable {
  /// Who ran what where.
  public struct Provenance: Codable, Sendable, Equatable {
    /// A person or lab.
    public var who: String?
    /// The code's URL and commit.
    public var code: String?
    public var commit: String?
    /// GPUs, CPUs, nodes.
    public var hardware: String?
    /// The command line that produced the numbers.
    public var command: String?
    /// The data it ran on (ImageNet-1k, CAMELYON16, or the exported embedded data).
    public var dataset: String?

    public init(
      who: String? = nil, code: String? = nil, commit: String? = nil, hardware: String? = nil, command: String? = nil,
      dataset: String? = nil
    ) {
      self.who = who
      self.code = code
      self.commit = commit
      self.hardware = hardware
      self.command = command
      self.dataset = dataset
    }

    /// Fields of `other` fill the ones this lacks (command-line options over the file's).
    public func overriding(with other: Provenance) -> Provenance {
      Provenance(
        who: other.who ?? who, code: other.code ?? code, commit: other.commit ?? commit,
        hardware: other.hardware ?? hardware, command: other.command ?? command, dataset: other.dataset ?? dataset)
    }
  }

  /// One run: its seed, subset and metric values (in the method's units).
  public struct Run: Sendable, Equatable {
    public var seed: UInt64
    public var subset: Double
    public var metrics: [String: Double]
    public var wallSeconds: Double?
  }

  public var provenance: Provenance
  public var runs: [Run]

  /// The formats `replicate ingest` reads.
  public enum Format: String, Sendable, CaseIterable {
    /// `{"schema": "replicate-external/1", "provenance": {…}, "runs": [{"seed", "subset", "metrics", "wallSeconds"}]}`.
    case json
    /// A header `metric,value,seed` (and optionally `subset`), one value per line.
    case csv
    /// The log of facebookresearch/moco's `main_lincls.py` (and moco-v3's): its last
    /// ` * Acc@1 60.606 Acc@5 82.868` line is the linear probe's top-1 (`linear_accuracy`, /100).
    case mocoLincls = "moco-lincls"

    /// The format a file's name suggests (`.json`, `.csv`, `.log`/`.txt`).
    public static func guess(_ path: String) -> Format? {
      switch URL(fileURLWithPath: path).pathExtension.lowercased() {
      case "json": return .json
      case "csv": return .csv
      case "log", "txt", "out": return .mocoLincls
      default: return nil
      }
    }
  }

  public static let schemaID = "replicate-external/1"

  /// Reads `path` in `format`; `seed` is the seed of a log's single run. Every metric must be one
  /// the method reports, every value finite, and no (seed, subset) may appear twice.
  /// - Throws: `InputError` (exit 2) naming the file and the line or key.
  public static func read(path: String, format: Format, method: MethodKind, seed: UInt64 = 0) throws -> ExternalResults {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError.badData(path: path, message: "cannot read the file", option: "results")
    }
    let text = String(decoding: data, as: UTF8.self)
    var results: ExternalResults
    switch format {
    case .json: results = try json(data, path: path)
    case .csv: results = try csv(text, path: path)
    case .mocoLincls: results = try mocoLincls(text, path: path, seed: seed)
    }
    guard !results.runs.isEmpty else { throw InputError.file(path: path, key: "", message: "no runs in the file") }
    var seen = Set<String>()
    for run in results.runs {
      guard seen.insert("\(run.seed)|\(run.subset)").inserted else {
        throw InputError.file(path: path, key: "", message: "seed \(run.seed) at \(BandTable.subsetKey(run.subset)) appears twice")
      }
      for (name, value) in run.metrics {
        guard method.metricNames.contains(name) else {
          throw InputError.file(
            path: path, key: name, message: "not a metric of method \(method.rawValue); see `replicate show` for its metrics")
        }
        guard value.isFinite else { throw InputError.file(path: path, key: name, message: "expected a finite number") }
      }
    }
    return results
  }

  private struct JSONFile: Decodable {
    struct JSONRun: Decodable {
      var seed: UInt64
      var subset: String?
      var metrics: [String: Double]
      var wallSeconds: Double?
    }
    var schema: String
    var provenance: Provenance?
    var runs: [JSONRun]
  }

  /// `runs[0].metrics`: a decoding path as the user would write it.
  private static func keyPath(_ path: [CodingKey]) -> String {
    path.reduce("") { text, key in
      if let i = key.intValue { return text + "[\(i)]" }
      return text.isEmpty ? key.stringValue : text + "." + key.stringValue
    }
  }

  static func json(_ data: Data, path: String) throws -> ExternalResults {
    let file: JSONFile
    do { file = try JSONDecoder().decode(JSONFile.self, from: data) } catch let DecodingError.keyNotFound(key, context) {
      throw InputError.file(path: path, key: keyPath(context.codingPath + [key]), message: "missing")
    } catch let DecodingError.typeMismatch(_, context) {
      throw InputError.file(path: path, key: keyPath(context.codingPath), message: "wrong type")
    } catch {
      throw InputError.file(path: path, key: "", message: "not JSON of schema \(schemaID) (\(error.localizedDescription))")
    }
    guard file.schema == schemaID else {
      throw InputError.file(path: path, key: "schema", message: "'\(file.schema)'; expected \(schemaID)")
    }
    return ExternalResults(
      provenance: file.provenance ?? Provenance(),
      runs: try file.runs.enumerated().map { i, r in
        Run(
          seed: r.seed, subset: try subset(r.subset, path: path, key: "runs[\(i)].subset"), metrics: r.metrics,
          wallSeconds: r.wallSeconds)
      })
  }

  static func csv(_ text: String, path: String) throws -> ExternalResults {
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard let header = lines.first?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
      let m = header.firstIndex(of: "metric"), let v = header.firstIndex(of: "value"), let s = header.firstIndex(of: "seed")
    else {
      throw InputError.file(path: path, key: "line 1", message: "expected a header with metric,value,seed (and optionally subset)")
    }
    let sub = header.firstIndex(of: "subset")
    var runs: [String: Run] = [:]
    var order: [String] = []
    for (n, line) in lines.dropFirst().enumerated() {
      let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      let key = "line \(n + 2)"
      guard cells.count == header.count else {
        throw InputError.file(path: path, key: key, message: "\(cells.count) cells; the header has \(header.count)")
      }
      guard let value = Double(cells[v]) else { throw InputError.file(path: path, key: key, message: "value '\(cells[v])' is not a number") }
      guard let seed = UInt64(cells[s]) else { throw InputError.file(path: path, key: key, message: "seed '\(cells[s])' is not a seed") }
      let percent = try subset(sub.map { cells[$0] }, path: path, key: key)
      let id = "\(seed)|\(percent)"
      if runs[id] == nil {
        order.append(id)
        runs[id] = Run(seed: seed, subset: percent, metrics: [:], wallSeconds: nil)
      }
      guard runs[id]?.metrics[cells[m]] == nil else {
        throw InputError.file(path: path, key: key, message: "\(cells[m]) of seed \(seed) given twice")
      }
      runs[id]?.metrics[cells[m]] = value
    }
    return ExternalResults(provenance: Provenance(), runs: order.compactMap { runs[$0] })
  }

  static func mocoLincls(_ text: String, path: String, seed: UInt64) throws -> ExternalResults {
    var top1: Double?
    for line in text.split(whereSeparator: \.isNewline) {
      let words = line.split(separator: " ")
      guard words.first == "*", let i = words.firstIndex(of: "Acc@1"), i + 1 < words.count, let v = Double(words[i + 1]) else {
        continue
      }
      top1 = v
    }
    guard let top1 else {
      throw InputError.file(path: path, key: "", message: "no ' * Acc@1 <top1> Acc@5 <top5>' line (the output of main_lincls.py)")
    }
    return ExternalResults(
      provenance: Provenance(), runs: [Run(seed: seed, subset: 100, metrics: ["linear_accuracy": top1 / 100], wallSeconds: nil)])
  }

  private static func subset(_ text: String?, path: String, key: String) throws -> Double {
    guard let text, !text.isEmpty else { return 100 }
    do { return try RunArguments.subset(text) } catch {
      throw InputError.file(path: path, key: key, message: "subset '\(text)': expected a percentage such as 50%")
    }
  }
}

import Foundation
import Yams

/// Reads one YAML mapping with strict checking: every read key is recorded, a missing required
/// key or a wrong type is an `InputError.file` naming the file, the dotted key and what was
/// expected, and `finish()` rejects keys nobody read (typos).
struct YAMLReader {
  let path: String
  let keyPath: String
  let mapping: Node.Mapping
  private var seen: Set<String> = []

  /// Parses a file's text into a reader over its top-level mapping.
  static func load(path: String) throws -> YAMLReader {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw InputError.file(path: path, key: "", message: "cannot read the file (\(error.localizedDescription))")
    }
    return try parse(text, path: path)
  }

  /// Parses YAML text into a reader over its top-level mapping.
  static func parse(_ text: String, path: String) throws -> YAMLReader {
    let node: Node?
    do { node = try Yams.compose(yaml: text) } catch {
      throw InputError.file(path: path, key: "", message: "malformed YAML: \(Self.summary(of: error))")
    }
    guard let node, let mapping = node.mapping else {
      throw InputError.file(path: path, key: "", message: "expected a YAML mapping at the top level")
    }
    return YAMLReader(path: path, keyPath: "", mapping: mapping)
  }

  /// One line for a YAML error: the problem and its line, never the file's text (Yams's own
  /// description of a duplicate key quotes the whole mapping).
  static func summary(of error: Error) -> String {
    if let e = error as? YamlError, case .duplicatedKeysInMapping(let duplicates, let context) = e {
      let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
      return "duplicate key \(keys) in the mapping that starts at line \(context.mark.line); each key may appear once"
    }
    let first = "\(error)".split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? "\(error)"
    return first.count > 300 ? String(first.prefix(300)) + "…" : first
  }

  init(path: String, keyPath: String, mapping: Node.Mapping) {
    self.path = path
    self.keyPath = keyPath
    self.mapping = mapping
  }

  /// All keys present, in file order.
  var keys: [String] { mapping.keys.compactMap(\.string) }

  func full(_ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }

  func fail(_ key: String, _ message: String) -> InputError {
    .file(path: path, key: full(key), message: message)
  }

  mutating func node(_ key: String) -> Node? {
    seen.insert(key)
    return mapping[Node(key)]
  }

  mutating func require(_ key: String, _ what: String) throws -> Node {
    guard let n = node(key), n != Node("~"), !(n.scalar?.string == "null") else {
      throw fail(key, "missing; expected \(what)")
    }
    return n
  }

  mutating func string(_ key: String) throws -> String {
    let n = try require(key, "a string")
    guard let s = n.scalar?.string, !s.isEmpty else { throw fail(key, "expected a non-empty string") }
    return s
  }

  mutating func optionalString(_ key: String) throws -> String? {
    guard let n = node(key) else { return nil }
    guard let s = n.scalar?.string else { throw fail(key, "expected a string") }
    return s == "null" || s == "~" || s.isEmpty ? nil : s
  }

  mutating func int(_ key: String) throws -> Int {
    let n = try require(key, "an integer")
    guard let s = n.scalar?.string, let v = Int(s) else { throw fail(key, "expected an integer") }
    return v
  }

  mutating func optionalDouble(_ key: String) throws -> Double? {
    guard let n = node(key) else { return nil }
    guard let s = n.scalar?.string, let v = Double(s) else { throw fail(key, "expected a number") }
    return v
  }

  mutating func double(_ key: String) throws -> Double {
    guard let v = try optionalDouble(key) else { throw fail(key, "missing; expected a number") }
    return v
  }

  mutating func optionalBool(_ key: String) throws -> Bool? {
    guard let n = node(key) else { return nil }
    guard let s = n.scalar?.string, let v = Bool(s) else { throw fail(key, "expected true or false") }
    return v
  }

  mutating func stringList(_ key: String, required: Bool = false) throws -> [String] {
    guard let n = node(key) else {
      if required { throw fail(key, "missing; expected a list of strings") }
      return []
    }
    guard let seq = n.sequence else { throw fail(key, "expected a list of strings") }
    return try seq.enumerated().map { i, item in
      guard let s = item.scalar?.string else { throw fail("\(key)[\(i)]", "expected a string") }
      return s
    }
  }

  mutating func child(_ key: String) throws -> YAMLReader {
    let n = try require(key, "a mapping")
    guard let m = n.mapping else { throw fail(key, "expected a mapping") }
    return YAMLReader(path: path, keyPath: full(key), mapping: m)
  }

  mutating func optionalChild(_ key: String) throws -> YAMLReader? {
    guard let n = node(key) else { return nil }
    guard let m = n.mapping else { throw fail(key, "expected a mapping") }
    return YAMLReader(path: path, keyPath: full(key), mapping: m)
  }

  mutating func children(_ key: String, required: Bool = false) throws -> [YAMLReader] {
    guard let n = node(key) else {
      if required { throw fail(key, "missing; expected a list of mappings") }
      return []
    }
    guard let seq = n.sequence else { throw fail(key, "expected a list of mappings") }
    return try seq.enumerated().map { i, item in
      guard let m = item.mapping else { throw fail("\(key)[\(i)]", "expected a mapping") }
      return YAMLReader(path: path, keyPath: full("\(key)[\(i)]"), mapping: m)
    }
  }

  /// Rejects keys that were never read (typos), naming the keys this mapping accepts.
  func finish() throws {
    for key in keys where !seen.contains(key) {
      throw fail(key, "unknown key; expected one of: \(seen.sorted().joined(separator: ", "))")
    }
  }
}

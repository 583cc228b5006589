import Basics
import Foundation
import Yams

/// One value of a method's configuration: a scalar or a list of scalars.
public enum ConfigValue: Sendable, Equatable, Hashable, CustomStringConvertible {
  case int(Int)
  case double(Double)
  case bool(Bool)
  case string(String)
  case list([ConfigValue])

  public var description: String {
    switch self {
    case .int(let v): return String(v)
    case .double(let v): return Self.format(v)
    case .bool(let v): return String(v)
    case .string(let v): return v
    case .list(let vs): return "[" + vs.map(\.description).joined(separator: ", ") + "]"
    }
  }

  /// Canonical JSON text (sorted keys at the container level, shortest round-trip doubles).
  var json: String {
    switch self {
    case .int(let v): return String(v)
    case .double(let v): return Self.format(v)
    case .bool(let v): return String(v)
    case .string(let v): return Self.quote(v)
    case .list(let vs): return "[" + vs.map(\.json).joined(separator: ",") + "]"
    }
  }

  static func format(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(format: "%.1f", v) }
    return "\(v)"
  }

  static func quote(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      default:
        if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
      }
    }
    return out + "\""
  }

  /// The value as a Double (ints widen), or nil.
  public var doubleValue: Double? {
    switch self {
    case .double(let v): return v
    case .int(let v): return Double(v)
    default: return nil
    }
  }
}

/// The type a config key accepts.
public enum ConfigType: String, Sendable {
  case int = "an integer"
  case double = "a number"
  case bool = "true or false"
  case string = "a string"
  case doubleList = "a list of numbers"
  case intList = "a list of integers"

  /// Parses a command-line or YAML scalar text into this type.
  func parse(_ text: String) -> ConfigValue? {
    let t = text.trimmingCharacters(in: .whitespaces)
    switch self {
    case .int: return Int(t).map(ConfigValue.int)
    case .double: return Double(t).flatMap { $0.isFinite ? ConfigValue.double($0) : nil }
    case .bool: return Bool(t).map(ConfigValue.bool)
    case .string: return t.isEmpty ? nil : .string(t)
    case .doubleList, .intList:
      var body = t
      if body.hasPrefix("[") && body.hasSuffix("]") { body = String(body.dropFirst().dropLast()) }
      let items = body.split(separator: ",").map { String($0) }
      let element: ConfigType = self == .intList ? .int : .double
      let parsed = items.compactMap { element.parse($0) }
      return parsed.count == items.count && !items.isEmpty ? .list(parsed) : nil
    }
  }

  /// Reads a YAML node as this type.
  func read(_ node: Node) -> ConfigValue? {
    switch self {
    case .doubleList, .intList:
      guard let seq = node.sequence else { return nil }
      let element: ConfigType = self == .intList ? .int : .double
      let items = seq.compactMap { $0.scalar.flatMap { element.parse($0.string) } }
      return items.count == seq.count && !items.isEmpty ? .list(items) : nil
    default:
      return node.scalar.flatMap { parse($0.string) }
    }
  }
}

/// One key of a method's configuration: its type, default and meaning.
public struct ConfigKey: Sendable {
  /// The key as written in `target.yaml` and `--set`.
  public let name: String
  /// What it accepts.
  public let type: ConfigType
  /// The value when neither the profile nor an override sets it.
  public let defaultValue: ConfigValue
  /// One line on what it does.
  public let help: String
  /// Extra validation (for example a positive range); returns an error text or nil.
  public let check: (@Sendable (ConfigValue) -> String?)?

  public init(
    _ name: String, _ type: ConfigType, default defaultValue: ConfigValue, _ help: String,
    check: (@Sendable (ConfigValue) -> String?)? = nil
  ) {
    self.name = name
    self.type = type
    self.defaultValue = defaultValue
    self.help = help
    self.check = check
  }
}

/// A fully resolved, frozen configuration: every key of the method's schema with its value.
public struct ResolvedConfig: Sendable, Equatable {
  /// Key → value, for every schema key.
  public let values: [String: ConfigValue]

  public init(values: [String: ConfigValue]) { self.values = values }

  /// Canonical JSON (keys sorted), the input of `hash`.
  public var json: String {
    "{" + values.keys.sorted().map { "\(ConfigValue.quote($0)):\(values[$0]?.json ?? "null")" }
      .joined(separator: ",") + "}"
  }

  /// SHA-256 of the canonical JSON: two runs with the same hash ran the same config.
  public var hash: String { SHA256Hasher.hex(of: json) }

  public func int(_ key: String) -> Int {
    guard case .int(let v) = values[key] else { preconditionFailure("config key \(key) is not an int") }
    return v
  }

  public func double(_ key: String) -> Double {
    guard let v = values[key]?.doubleValue else { preconditionFailure("config key \(key) is not a number") }
    return v
  }

  public func bool(_ key: String) -> Bool {
    guard case .bool(let v) = values[key] else { preconditionFailure("config key \(key) is not a bool") }
    return v
  }

  public func string(_ key: String) -> String {
    guard case .string(let v) = values[key] else { preconditionFailure("config key \(key) is not a string") }
    return v
  }

  public func doubles(_ key: String) -> [Double] {
    guard case .list(let vs) = values[key] else { preconditionFailure("config key \(key) is not a list") }
    return vs.compactMap(\.doubleValue)
  }
}

/// Validators shared by the experiments' config schemas (`ConfigKey.check`).
public enum ConfigCheck {
  /// An integer in `lo...hi`.
  public static func range(_ lo: Int, _ hi: Int) -> @Sendable (ConfigValue) -> String? {
    { v in
      if case .int(let n) = v, n >= lo, n <= hi { return nil }
      return "expected an integer in \(lo)...\(hi)"
    }
  }

  /// A positive integer, `1...1_000_000` (counts, sizes, epochs).
  public static let positive: @Sendable (ConfigValue) -> String? = { v in
    if case .int(let n) = v, n >= 1, n <= 1_000_000 { return nil }
    return "expected a positive integer (at most 1000000)"
  }

  /// A non-negative integer, `0...1_000_000` (0 usually means "off" or "the default").
  public static let nonNegative: @Sendable (ConfigValue) -> String? = { v in
    if case .int(let n) = v, n >= 0, n <= 1_000_000 { return nil }
    return "expected a non-negative integer (at most 1000000)"
  }

  /// A probability that may be zero but not one (dropout rates), `[0, 1)`.
  public static let probability: @Sendable (ConfigValue) -> String? = { v in
    if let x = v.doubleValue, x >= 0, x < 1 { return nil }
    return "expected a number in [0, 1)"
  }

  /// A number in `lo...hi` (both ends allowed).
  public static func between(_ lo: Double, _ hi: Double) -> @Sendable (ConfigValue) -> String? {
    { v in
      if let x = v.doubleValue, x >= lo, x <= hi { return nil }
      return "expected a number in [\(ConfigValue.format(lo)), \(ConfigValue.format(hi))]"
    }
  }

  /// A colour-jitter hue strength, `[0, 0.5]` (torchvision's `hue` bound).
  public static let hueStrength: @Sendable (ConfigValue) -> String? = { v in
    if let x = v.doubleValue, x >= 0, x <= 0.5 { return nil }
    return "expected a number in [0, 0.5]"
  }

  /// One of `options`.
  public static func oneOf(_ options: [String]) -> @Sendable (ConfigValue) -> String? {
    { v in
      if case .string(let s) = v, options.contains(s) { return nil }
      return "expected one of \(options.joined(separator: ", "))"
    }
  }
}

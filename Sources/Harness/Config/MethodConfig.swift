import Basics
import Foundation

/// A method's configuration as one typed struct: its stored properties' initial values are the
/// defaults, and its `fields` table gives each key's name (as written in `target.yaml` and
/// `--set`), meaning and check. The schema the registry validates profiles and overrides against
/// is derived from that table (`schema`), so keys, types and defaults live in one place, and an
/// experiment reads `config.hidden` instead of `config.int("hidden")`.
///
/// Why a key-path table and not `Decodable`: a synthesised `Decodable` init ignores property
/// defaults (a missing key is an error), and it has nowhere to keep the help line and the check
/// that `replicate show` and the validation need. The table gives the same "one struct" with
/// errors that name the key and the struct's property.
///
/// ```swift
/// struct ABMILConfig: MethodConfig {
///   var hidden = 500
///   var learningRate = 5e-4
///   static let fields: [ConfigField<Self>] = [
///     .int("hidden", \.hidden, "instance embedding size L", check: ConfigCheck.positive),
///     .double("learningRate", \.learningRate, "Adam learning rate"),
///   ]
/// }
/// ```
public protocol MethodConfig: Sendable {
  /// The defaults.
  init()
  /// Every key, in the order `replicate show` lists them.
  static var fields: [ConfigField<Self>] { get }
}

extension MethodConfig {
  /// The keys with their types, defaults (read from `Self()`), help lines and checks.
  public static var schema: [ConfigKey] {
    let defaults = Self()
    return fields.map { ConfigKey($0.name, $0.type, default: $0.get(defaults), $0.help, check: $0.check) }
  }

  /// Reads a resolved config (already validated against `schema` by the registry).
  /// - Throws: `ConfigDecodingError` naming the key and the property when a key is missing or
  ///   holds another type (a resolved config from another method, or a stored one from an older
  ///   version).
  public init(_ resolved: ResolvedConfig) throws(ConfigDecodingError) {
    self.init()
    for field in Self.fields {
      guard let value = resolved.values[field.name] else {
        throw ConfigDecodingError(key: field.name, property: field.property, problem: "is missing")
      }
      guard field.set(&self, value) else {
        throw ConfigDecodingError(
          key: field.name, property: field.property, problem: "holds \(value), expected \(field.type.rawValue)")
      }
    }
  }

  /// This config as resolved values (every key), the inverse of `init(_:)`.
  public var resolved: ResolvedConfig {
    ResolvedConfig(values: Dictionary(uniqueKeysWithValues: Self.fields.map { ($0.name, $0.get(self)) }))
  }
}

/// A config key that cannot be read into its typed property.
public struct ConfigDecodingError: UserFacingError, Equatable {
  /// The key as written in `target.yaml`.
  public var key: String
  /// The property it fills, `Type.name`.
  public var property: String
  /// What is wrong.
  public var problem: String

  public init(key: String, property: String, problem: String) {
    self.key = key
    self.property = property
    self.problem = problem
  }

  public var description: String { "config key '\(key)' (\(property)) \(problem)" }
}

/// One key of a `MethodConfig`: its name, type, help, check, and the property it fills.
///
/// `@unchecked Sendable`: it holds key paths, which are immutable values but not marked
/// `Sendable` by the standard library.
public struct ConfigField<Root>: @unchecked Sendable {
  public let name: String
  public let type: ConfigType
  public let help: String
  public let check: (@Sendable (ConfigValue) -> String?)?
  /// `Root.property`, for error messages.
  public let property: String
  let get: (Root) -> ConfigValue
  let set: (inout Root, ConfigValue) -> Bool

  init(
    name: String, type: ConfigType, help: String, check: (@Sendable (ConfigValue) -> String?)?, property: String,
    get: @escaping (Root) -> ConfigValue, set: @escaping (inout Root, ConfigValue) -> Bool
  ) {
    self.name = name
    self.type = type
    self.help = help
    self.check = check
    self.property = property
    self.get = get
    self.set = set
  }

  static func propertyName(_ path: AnyKeyPath) -> String {
    // `\ABMILConfig.hidden` prints as `\ABMILConfig.hidden`; drop the backslash.
    String(describing: path).drop { $0 == "\\" }.description
  }

  /// An integer key.
  public static func int(
    _ name: String, _ path: WritableKeyPath<Root, Int>, _ help: String,
    check: (@Sendable (ConfigValue) -> String?)? = nil
  ) -> Self {
    Self(
      name: name, type: .int, help: help, check: check, property: propertyName(path), get: { .int($0[keyPath: path]) },
      set: { root, v in
        guard case .int(let n) = v else { return false }
        root[keyPath: path] = n
        return true
      })
  }

  /// A number key (an integer written for it reads as that number).
  public static func double(
    _ name: String, _ path: WritableKeyPath<Root, Double>, _ help: String,
    check: (@Sendable (ConfigValue) -> String?)? = nil
  ) -> Self {
    Self(
      name: name, type: .double, help: help, check: check, property: propertyName(path),
      get: { .double($0[keyPath: path]) },
      set: { root, v in
        guard let x = v.doubleValue else { return false }
        root[keyPath: path] = x
        return true
      })
  }

  /// A true/false key.
  public static func bool(_ name: String, _ path: WritableKeyPath<Root, Bool>, _ help: String) -> Self {
    Self(
      name: name, type: .bool, help: help, check: nil, property: propertyName(path), get: { .bool($0[keyPath: path]) },
      set: { root, v in
        guard case .bool(let b) = v else { return false }
        root[keyPath: path] = b
        return true
      })
  }

  /// A free string key.
  public static func string(
    _ name: String, _ path: WritableKeyPath<Root, String>, _ help: String,
    check: (@Sendable (ConfigValue) -> String?)? = nil
  ) -> Self {
    Self(
      name: name, type: .string, help: help, check: check, property: propertyName(path),
      get: { .string($0[keyPath: path]) },
      set: { root, v in
        guard case .string(let s) = v else { return false }
        root[keyPath: path] = s
        return true
      })
  }

  /// A key that takes one of an enumeration's raw values (all cases, or those `among`); the
  /// check lists them.
  public static func choice<E: RawRepresentable & CaseIterable & Sendable & Equatable>(
    _ name: String, _ path: WritableKeyPath<Root, E>, _ help: String, among: [E]? = nil
  ) -> Self where E.RawValue == String {
    let allowed = among ?? Array(E.allCases)
    return Self(
      name: name, type: .string, help: help, check: ConfigCheck.oneOf(allowed.map(\.rawValue)),
      property: propertyName(path), get: { .string($0[keyPath: path].rawValue) },
      set: { root, v in
        guard case .string(let s) = v, let e = E(rawValue: s), allowed.contains(e) else { return false }
        root[keyPath: path] = e
        return true
      })
  }

  /// A list-of-numbers key.
  public static func doubles(
    _ name: String, _ path: WritableKeyPath<Root, [Double]>, _ help: String,
    check: (@Sendable (ConfigValue) -> String?)? = nil
  ) -> Self {
    Self(
      name: name, type: .doubleList, help: help, check: check, property: propertyName(path),
      get: { .list($0[keyPath: path].map(ConfigValue.double)) },
      set: { root, v in
        guard case .list(let items) = v else { return false }
        let xs = items.compactMap(\.doubleValue)
        guard xs.count == items.count else { return false }
        root[keyPath: path] = xs
        return true
      })
  }

  /// A list-of-integers key.
  public static func ints(
    _ name: String, _ path: WritableKeyPath<Root, [Int]>, _ help: String,
    check: (@Sendable (ConfigValue) -> String?)? = nil
  ) -> Self {
    Self(
      name: name, type: .intList, help: help, check: check, property: propertyName(path),
      get: { .list($0[keyPath: path].map(ConfigValue.int)) },
      set: { root, v in
        guard case .list(let items) = v else { return false }
        var ns: [Int] = []
        for item in items {
          guard case .int(let n) = item else { return false }
          ns.append(n)
        }
        root[keyPath: path] = ns
        return true
      })
  }

  /// The same key on a struct that holds `Root` at `path` (shared key groups, such as the MIL
  /// data keys every MIL method embeds).
  public func lifted<Outer>(_ path: WritableKeyPath<Outer, Root>) -> ConfigField<Outer> {
    let get = self.get, set = self.set
    return ConfigField<Outer>(
      name: name, type: type, help: help, check: check, property: property,
      get: { get($0[keyPath: path]) },
      set: { outer, v in set(&outer[keyPath: path], v) })
  }
}

extension Array {
  /// Every field of a shared key group, lifted onto the struct that embeds it at `path`.
  public static func lifted<Inner: MethodConfig, Outer>(
    _ inner: Inner.Type, at path: WritableKeyPath<Outer, Inner>
  ) -> [ConfigField<Outer>] where Element == ConfigField<Outer> {
    Inner.fields.map { $0.lifted(path) }
  }
}

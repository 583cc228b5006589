import Foundation

/// A dataset manifest from `Datasets/<id>.yaml`: how to generate (or where to find) the data.
///
/// Generators: `synthetic-tissue` (tiles; `perClass` images per class and split, loaded by
/// `TileLoader`) and `synthetic-slides` (whole slides; `perClass` slides per slide label and
/// split, loaded by `SlideDatasetLoader`). `parameters` are text, typed by the generator's loader.
public struct DatasetManifest: Sendable {
  /// The generators a manifest may name.
  public static let generators = ["synthetic-tissue", "synthetic-slides"]

  public struct Split: Sendable, Equatable {
    public var seed: UInt64
    public var perClass: Int
  }

  public var id: String
  public var version: Int
  public var kind: String
  public var generator: String
  public var description: String
  public var classes: [String]
  /// Default generator parameters (text values; typed by the generator).
  public var parameters: [String: String]
  public var splits: [String: Split]
  public var file: String

  /// Loads and validates a manifest.
  public static func load(path: String) throws -> DatasetManifest {
    var r = try YAMLReader.load(path: path)
    let id = try r.string("id")
    let version = try r.int("version")
    let kind = try r.string("kind")
    guard kind == "synthetic" else { throw r.fail("kind", "expected synthetic") }
    let generator = try r.string("generator")
    guard Self.generators.contains(generator) else {
      throw r.fail("generator", "expected one of \(Self.generators.joined(separator: ", "))")
    }
    let description = try r.optionalString("description") ?? ""
    let classes = try r.stringList("classes", required: true)
    var parameters: [String: String] = [:]
    if let p = try r.optionalChild("parameters") {
      for key in p.keys {
        guard let s = p.mapping[.init(key)]?.scalar?.string else { throw p.fail(key, "expected a scalar") }
        parameters[key] = s
      }
    }
    var splits: [String: Split] = [:]
    var s = try r.child("splits")
    for name in s.keys {
      var sp = try s.child(name)
      let seed = try sp.int("seed")
      let perClass = try sp.int("perClass")
      try sp.finish()
      guard seed >= 0 else { throw sp.fail("seed", "expected a non-negative integer") }
      guard perClass > 0 else { throw sp.fail("perClass", "expected a positive integer") }
      splits[name] = Split(seed: UInt64(seed), perClass: perClass)
    }
    try s.finish()
    try r.finish()
    return DatasetManifest(
      id: id, version: version, kind: kind, generator: generator, description: description,
      classes: classes, parameters: parameters, splits: splits, file: path)
  }
}

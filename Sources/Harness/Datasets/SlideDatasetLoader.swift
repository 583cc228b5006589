import Basics
import Foundation
import Slides

/// A generated `synthetic-slides` set on disk: the folder, its slide table and its identity.
public struct SyntheticSlideSet: Sendable {
  /// The folder holding `slides/`, `annotations/`, `layouts/` and `slides.csv`.
  public var directory: URL
  /// `slides.csv`.
  public var table: SlideTable
  /// Dataset id as recorded with a run (`synthetic-slides@1{maxSide=4608,…}`).
  public var datasetId: String
  /// SHA-256 over every file of the set (`SlideDatasetLoader.contentHash`).
  public var contentHash: String

  /// The slide file of `slideID`.
  public func slidePath(_ slideID: String) -> String {
    directory.appendingPathComponent("slides/\(slideID).tiff").path
  }

  /// The tumour annotation file of `slideID`, or nil for a negative slide (it has none).
  public func annotationPath(_ slideID: String) -> String? {
    let path = directory.appendingPathComponent("annotations/\(slideID).xml").path
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }

  /// The ground-truth layout file of `slideID`.
  public func layoutPath(_ slideID: String) -> String {
    directory.appendingPathComponent("layouts/\(slideID).json").path
  }
}

/// Generates the `synthetic-slides` set into the dataset cache on first use (or into a given
/// folder) and finds it again afterwards.
///
/// Cache: `<cache>/synthetic-slides-v<version>-<key>`, the key hashing the dataset id (resolved
/// parameters), the splits and `generatorRevision`. A set is generated into a private temporary
/// sibling and renamed into place when complete (`CachePublisher`: one writer at a time under a
/// lock file, a complete set is never deleted), so a half-written set is never read and
/// concurrent runs in threads or processes share one generation; its content hash is stored
/// beside it (`sha256`) and checked on every load (a mismatch regenerates it).
public struct SlideDatasetLoader: Sendable {
  /// Where generated datasets are cached.
  public let cacheDirectory: URL
  /// Bumped whenever the generator's output changes, so stale caches are never read.
  public static let generatorRevision = 1

  public init(cacheDirectory: URL) { self.cacheDirectory = cacheDirectory }

  /// The generator settings from manifest text values (unknown keys and bad values are
  /// `InputError.file` naming the key).
  public static func parameters(_ text: [String: String], path: String) throws -> SyntheticSlides.Parameters {
    var p = SyntheticSlides.Parameters()
    func int(_ key: String, _ value: String) throws -> Int {
      guard let v = Int(value) else { throw InputError.file(path: path, key: key, message: "expected an integer") }
      return v
    }
    func double(_ key: String, _ value: String) throws -> Double {
      guard let v = Double(value), v.isFinite else {
        throw InputError.file(path: path, key: key, message: "expected a number")
      }
      return v
    }
    for key in text.keys.sorted() {
      let value = text[key] ?? ""
      switch key {
      case "minSide": p.minSide = try int(key, value)
      case "maxSide": p.maxSide = try int(key, value)
      case "micronsPerPixel": p.micronsPerPixel = try double(key, value)
      case "levels": p.levels = try int(key, value)
      case "objectScale": p.objectScale = try double(key, value)
      case "textureDownsample": p.textureDownsample = try int(key, value)
      case "macroFraction": p.macroFraction = try double(key, value)
      case "blurredSlideFraction": p.blurredSlideFraction = try double(key, value)
      case "deflateLevel": p.deflateLevel = try int(key, value)
      case "matchedBlocks":
        guard let v = Bool(value) else { throw InputError.file(path: path, key: key, message: "expected true or false") }
        p.matchedBlocks = v
      case "proximityDesign":
        guard let v = Bool(value) else { throw InputError.file(path: path, key: key, message: "expected true or false") }
        p.proximityDesign = v
      default:
        throw InputError.file(
          path: path, key: "parameters.\(key)",
          message: "unknown generator parameter; expected minSide, maxSide, micronsPerPixel, levels, objectScale, "
            + "textureDownsample, macroFraction, blurredSlideFraction, deflateLevel, matchedBlocks, proximityDesign")
      }
    }
    if let problem = p.problems.first { throw InputError.file(path: path, key: "parameters", message: problem) }
    return p
  }

  /// The manifest's splits in output order: train, val, test, then any others by name.
  public static func splits(of manifest: DatasetManifest) -> [SyntheticSlides.Split] {
    let known = ["train", "val", "test"]
    let names = known.filter { manifest.splits[$0] != nil } + manifest.splits.keys.filter { !known.contains($0) }.sorted()
    return names.compactMap { name in
      manifest.splits[name].map { SyntheticSlides.Split(name: name, seed: $0.seed, perClass: $0.perClass) }
    }
  }

  /// The generator a manifest describes, with `overrides` applied to its parameters.
  public static func generator(
    _ manifest: DatasetManifest, overrides: [String: String] = [:]
  ) throws -> (generator: SyntheticSlides, datasetId: String) {
    guard manifest.generator == SyntheticSlides.name else {
      throw InputError.file(
        path: manifest.file, key: "generator", message: "expected \(SyntheticSlides.name), found \(manifest.generator)")
    }
    var text = manifest.parameters
    for (k, v) in overrides { text[k] = v }
    let parameters = try Self.parameters(text, path: manifest.file)
    let paramText = text.keys.sorted().map { "\($0)=\(text[$0] ?? "")" }.joined(separator: ",")
    let splits = Self.splits(of: manifest)
    let splitText = splits.map { "\($0.name):\($0.seed):\($0.perClass)" }.joined(separator: ",")
    let id = "\(manifest.id)@\(manifest.version){\(paramText)}[\(splitText)]"
    return (SyntheticSlides(parameters: parameters, splits: splits), id)
  }

  /// The set in the cache, generated first when missing or damaged.
  public func load(
    _ manifest: DatasetManifest, overrides: [String: String] = [:], threads: Int = 1,
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> SyntheticSlideSet {
    let (generator, datasetId) = try Self.generator(manifest, overrides: overrides)
    let key = SHA256Hasher.hex(of: "\(datasetId)|rev=\(Self.generatorRevision)")
    let dir = cacheDirectory.appendingPathComponent(
      "\(manifest.id)-v\(manifest.version)-\(key.prefix(16))", isDirectory: true)
    func complete(_ dir: URL) -> SyntheticSlideSet? {
      guard let stored = try? String(contentsOf: dir.appendingPathComponent("sha256"), encoding: .utf8),
        let table = try? SlideTable.read(path: dir.appendingPathComponent("slides.csv").path),
        let hash = try? Self.contentHash(of: dir),
        hash == stored.trimmingCharacters(in: .whitespacesAndNewlines)
      else { return nil }
      return SyntheticSlideSet(directory: dir, table: table, datasetId: datasetId, contentHash: hash)
    }
    return try CachePublisher.entry(at: dir, isComplete: complete) { partial in
      _ = try generator.generate(
        into: partial.path, threads: threads, progress: progress, isCancelled: { Interruption.requested })
      let hash = try Self.contentHash(of: partial)
      try (hash + "\n").write(to: partial.appendingPathComponent("sha256"), atomically: true, encoding: .utf8)
    }
  }

  /// Generates the set into `directory` (created if needed; existing files of the same names are
  /// replaced) and writes its `sha256`.
  public static func generate(
    _ manifest: DatasetManifest, overrides: [String: String] = [:], into directory: URL, threads: Int = 1,
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> SyntheticSlideSet {
    let (generator, datasetId) = try Self.generator(manifest, overrides: overrides)
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw InputError.badData(path: directory.path, message: "cannot create the folder: \(error.localizedDescription)", option: "")
    }
    let table = try generator.generate(
      into: directory.path, threads: threads, progress: progress, isCancelled: { Interruption.requested })
    let hash = try contentHash(of: directory)
    try (hash + "\n").write(to: directory.appendingPathComponent("sha256"), atomically: true, encoding: .utf8)
    return SyntheticSlideSet(directory: directory, table: table, datasetId: datasetId, contentHash: hash)
  }

  /// SHA-256 over the set's files in path order: for each file of `slides.csv`, `slides/*.tiff`,
  /// `annotations/*.xml` and `layouts/*.json`, its relative path, a NUL, its size, a NUL, then its
  /// bytes.
  public static func contentHash(of directory: URL) throws -> String {
    let fm = FileManager.default
    var files = ["slides.csv"]
    for (sub, ext) in [("slides", "tiff"), ("annotations", "xml"), ("layouts", "json")] {
      let names = (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent(sub).path)) ?? []
      files += names.filter { $0.hasSuffix("." + ext) }.map { "\(sub)/\($0)" }
    }
    files.sort()
    var hasher = SHA256Hasher()
    for file in files {
      let url = directory.appendingPathComponent(file)
      guard let handle = try? FileHandle(forReadingFrom: url) else {
        throw InputError.badData(path: url.path, message: "cannot read a file of the slide set", option: "")
      }
      defer { try? handle.close() }
      let size = ((try? fm.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0
      hasher.update("\(file)\u{0}\(size)\u{0}")
      while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty {
        chunk.withUnsafeBytes { hasher.update($0) }
      }
    }
    return hasher.finalize()
  }
}

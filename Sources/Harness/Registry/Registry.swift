import Basics
import Foundation

/// The project's targets and datasets, found under the project root.
public struct Registry: Sendable {
  /// The folder holding `Replications/`, `Datasets/` and `Reports/`.
  public let root: URL

  /// Finds the root: `$REPLICATE_ROOT`, else the first ancestor of the working directory, else of
  /// the executable, that holds `Replications/`.
  public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Registry {
    if let explicit = environment["REPLICATE_ROOT"], !explicit.isEmpty {
      let url = URL(fileURLWithPath: explicit).standardizedFileURL
      guard hasReplications(url) else { throw InputError.noProjectRoot(searched: "REPLICATE_ROOT=\(explicit)") }
      return Registry(root: url)
    }
    let starts = [
      URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
      URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent(),
    ]
    for start in starts {
      var dir = start.standardizedFileURL
      while true {
        if hasReplications(dir) { return Registry(root: dir) }
        let parent = dir.deletingLastPathComponent()
        if parent.path == dir.path { break }
        dir = parent
      }
    }
    throw InputError.noProjectRoot(searched: FileManager.default.currentDirectoryPath)
  }

  public init(root: URL) { self.root = root }

  private static func hasReplications(_ dir: URL) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(
      atPath: dir.appendingPathComponent("Replications").path, isDirectory: &isDir) && isDir.boolValue
  }

  /// Target ids (folder names under `Replications/` holding a `target.yaml`), sorted.
  public var targetIDs: [String] {
    let dir = root.appendingPathComponent("Replications")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter {
      FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).appendingPathComponent("target.yaml").path)
    }.sorted()
  }

  /// Loads and validates one target.
  public func target(_ id: String) throws -> TargetSpec {
    guard targetIDs.contains(id) else { throw InputError.unknownTarget(id, known: targetIDs) }
    return try TargetSpec.load(directory: root.appendingPathComponent("Replications").appendingPathComponent(id))
  }

  /// Loads and validates every target.
  public func allTargets() throws -> [TargetSpec] { try targetIDs.map(target) }

  /// Loads a dataset manifest `Datasets/<id>.yaml`.
  public func dataset(_ id: String) throws -> DatasetManifest {
    let path = root.appendingPathComponent("Datasets").appendingPathComponent("\(id).yaml").path
    guard FileManager.default.fileExists(atPath: path) else {
      throw InputError.file(path: path, key: "", message: "dataset manifest '\(id)' not found in Datasets/")
    }
    let manifest = try DatasetManifest.load(path: path)
    if manifest.id != id { throw InputError.file(path: path, key: "id", message: "expected '\(id)'") }
    return manifest
  }

  /// The data source of a run: the user's `--data`, or the target's embedded dataset.
  public func dataSource(for target: TargetSpec, dataPath: String?) throws -> DataSource {
    if let dataPath { return try DataSource.user(path: dataPath) }
    return .synthetic(try dataset(target.dataset.id), target.dataset)
  }

  /// The dataset cache: `$REPLICATE_CACHE/datasets`, else `<root>/.cache/datasets`.
  public func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
    if let c = environment["REPLICATE_CACHE"], !c.isEmpty {
      return URL(fileURLWithPath: c).appendingPathComponent("datasets")
    }
    return root.appendingPathComponent(".cache").appendingPathComponent("datasets")
  }

  /// Default results store: `<root>/Reports/results.sqlite`.
  public var defaultStorePath: String { root.appendingPathComponent("Reports").appendingPathComponent("results.sqlite").path }

  /// The code version: the git commit (12 hex digits) and whether tracked files differ from it.
  /// Calibrated bands (`Replications/*/bands.yaml`) are outputs of runs, not code, so editing them
  /// does not make the code dirty.
  ///
  /// Read once per process and root, at first use (when the first run starts): a calibration that
  /// runs for an hour records the tree its executable started on, not one edited or committed while
  /// it ran (the bands of a calibration used to read git at the moment they were written).
  public var codeVersion: (version: String, dirty: Bool) {
    CodeVersionCache.shared.version(root: root.path) {
      guard let commit = Shell.output("git", ["-C", root.path, "rev-parse", "--short=12", "HEAD"]) else {
        return ("unknown", true)
      }
      let status =
        Shell.output(
          "git",
          ["-C", root.path, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)Replications/*/bands.yaml"])
        ?? "?"
      return (commit, !status.isEmpty)
    }
  }
}

/// `Registry.codeVersion` per project root, read once per process.
private final class CodeVersionCache: @unchecked Sendable {
  static let shared = CodeVersionCache()
  private let lock = NSLock()
  private var versions: [String: (version: String, dirty: Bool)] = [:]

  func version(root: String, read: () -> (version: String, dirty: Bool)) -> (version: String, dirty: Bool) {
    lock.lock()
    defer { lock.unlock() }
    if let known = versions[root] { return known }
    let value = read()
    versions[root] = value
    return value
  }
}

import ArgumentParser
import Basics
import Foundation
import Harness
import Methods
import Results
import Slides

/// Options every command that touches the store shares.
struct StoreOptions: ParsableArguments {
  @Option(name: .long, help: "Results store (SQLite). Default: Reports/results.sqlite under the project root.")
  var db: String?

  /// The store's path: `--db`, else `Reports/results.sqlite` under the project root.
  func path(_ registry: Registry) -> String { db ?? registry.defaultStorePath }

  /// Opens the store; `create` false: a missing store is an input error (exit 2).
  func open(_ registry: Registry, create: Bool = true) throws -> ResultsStore {
    let path = path(registry)
    if db == nil && create {
      try? FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }
    return try ResultsStore(path: path, create: create)
  }

  /// The store for runs: checked now, created and written only when a run records itself.
  func deferred(_ registry: Registry) throws -> DeferredStore {
    let path = path(registry)
    if db == nil {
      try? FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }
    return try DeferredStore(path: path)
  }
}

/// The help line of a command's `--threads` (what the threads do differs by command).
protocol ThreadsHelp {
  /// The text after `--threads <threads>` in `--help`.
  static var text: String { get }
}

/// `--threads N`: one thread count, 1...256, default all cores. The help line comes from `Help`.
struct ThreadOptions<Help: ThreadsHelp>: ParsableArguments {
  @Option(help: ArgumentHelp(Help.text))
  var threads: Int?

  /// The count (default: all cores), checked.
  /// - Throws: `InputError.badArgument` (exit 2) outside 1...256.
  func count() throws -> Int {
    let t = threads ?? HostFacts.cores
    guard (1...256).contains(t) else {
      throw InputError.badArgument(option: "--threads", value: String(t), expected: "an integer in 1...256")
    }
    return t
  }
}

/// `--threads` help texts, one per kind of command.
enum ThreadsHelpText {
  /// `replicate run`.
  enum Run: ThreadsHelp { static let text = "Threads (default: all cores). Recorded with the run." }
  /// `calibrate`, `audit`.
  enum Plain: ThreadsHelp { static let text = "Threads (default: all cores)." }
  /// `dataset probe`.
  enum Probe: ThreadsHelp { static let text = "Threads for generation and BLAS." }
  /// `predict`.
  enum Predict: ThreadsHelp { static let text = "Threads for the engine and BLAS (default: all cores)." }
  /// `slides generate`.
  enum Generate: ThreadsHelp { static let text = "Slides generated at a time (default: all cores)." }
  /// `slides tile`.
  enum Tile: ThreadsHelp { static let text = "Threads reading and scoring tiles (default: all cores)." }
  /// `slides extract`.
  enum Extract: ThreadsHelp {
    static let text = "Threads (default: all cores): tile reading and focus QC, engine and BLAS."
  }
}

/// Parses a bench command's `--threads` list ("1,2"): at least one count, each in `range`.
/// - Throws: `InputError.badArgument` (exit 2) naming `--threads`.
func threadList(_ text: String, range: ClosedRange<Int> = 1...Int.max) throws -> [Int] {
  let list = text.split(separator: ",").compactMap { Int($0) }
  guard !list.isEmpty, list.allSatisfy({ range.contains($0) }) else {
    throw InputError.badArgument(option: "--threads", value: text, expected: "thread counts, for example 1,2")
  }
  return list
}

/// `key=value` pairs of a repeatable option.
/// - Throws: `InputError.badArgument` (exit 2) for an item without `=` or key.
func keyValues(_ items: [String], option: String) throws -> [String: String] {
  var parsed: [String: String] = [:]
  for item in items {
    guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
      throw InputError.badArgument(option: option, value: item, expected: "key=value")
    }
    parsed[String(item[..<eq])] = String(item[item.index(after: eq)...])
  }
  return parsed
}

/// Tiling options shared by `tile` and `extract`: a preset plus overrides.
struct TilingOptions: ParsableArguments {
  @Option(help: "Tiling preset from Datasets/presets/tiling.yaml (clam-default, tcga, camelyon16, bwh-resection).")
  var preset: String = "camelyon16"

  @Option(help: "Cut tiles at this objective magnification (overrides the preset's resolution).")
  var magnification: Double?

  @Option(help: "Cut tiles at this many microns per pixel (overrides the preset's resolution).")
  var mpp: Double?

  @Option(help: "Cut tiles at this pyramid level (overrides the preset's resolution).")
  var level: Int?

  @Option(help: "Tile side in pixels at the target resolution.")
  var patchSize: Int?

  @Option(help: "Distance between tiles in pixels at the target resolution (default: the patch size).")
  var step: Int?

  @Option(help: "Keep tiles with at least this tissue fraction (0…1).")
  var minCoverage: Double?

  @Option(help: "Focus detector: laplacian_var, haar_energy, tong_per, tong_per_norm.")
  var focusDetector: String = FocusQC.standard.detector.rawValue

  @Option(help: "Reject tiles whose focus score is below this (default 15 for laplacian_var, none for the others; 0 turns QC off).")
  var focusThreshold: Double?

  /// The preset with the overrides applied, validated (exit 2 for bad settings).
  func resolved(_ registry: Registry) throws -> TilingPreset {
    try TilingOverrides(
      magnification: magnification, micronsPerPixel: mpp, level: level, patchSize: patchSize, step: step,
      minCoverage: minCoverage
    ).preset(named: preset, root: registry.root)
  }

  /// Focus QC from the options (exit 2 for an unknown detector).
  func focusQC() throws -> FocusQC { try FocusQC(detectorName: focusDetector, threshold: focusThreshold) }
}

import Basics
import Engine
import Foundation

/// A metric a method reports: its name, which direction is better, and what it means.
public struct MetricInfo: Sendable {
  public var name: String
  public var better: Better
  public var help: String
  /// Whether `replicate calibrate` derives a band for it (booleans and counts usually not).
  public var banded: Bool

  public init(_ name: String, _ better: Better, _ help: String, banded: Bool = true) {
    self.name = name
    self.better = better
    self.help = help
    self.banded = banded
  }
}

/// One point of a curve: a training-loss step, or a score against a blur level.
public struct SeriesPoint: Sendable, Equatable {
  public var name: String
  public var step: Int
  public var x: Double
  public var value: Double

  public init(name: String, step: Int, x: Double, value: Double) {
    self.name = name
    self.step = step
    self.x = x
    self.value = value
  }
}

/// What a method's run produces.
public struct ExperimentOutput: Sendable {
  /// Final metric values (a metric that is undefined for this run is absent).
  public var metrics: [String: Double] = [:]
  /// Curves.
  public var series: [SeriesPoint] = []
  /// Remarks for the report (for example "spearman undefined: constant scores").
  public var notes: [String] = []

  public init() {}
}

/// Everything a run may read: its frozen spec, data, randomness and a progress factory.
public struct RunContext {
  public let spec: RunSpec
  public let data: DataSource
  /// The run's root generator (seeded from `spec.seed`); split it per consumer.
  public let generator: RandomGenerator
  /// Makes a progress line (quiet when standard error is not a terminal).
  public let progress: (_ label: String, _ total: Int, _ unit: String) -> ProgressSink
  /// Reads or generates data.
  public let loader: TileLoader
  /// Told what data the run read, once it is read and validated (the runner then records the
  /// run, with the data's id and content hash). Input errors must be thrown before this call.
  public let onDataset: (TileSet) throws -> Void
  /// Where long trainings checkpoint and resume from (nil: no checkpoints).
  public let checkpoints: CheckpointStore?
  /// Where the run applied `--subset` (`subset(labels:of:)` fills it; the runner checks it).
  public let subsetLog = SubsetLog()
  /// Where an SSL run writes its pretrained backbone (`--save-backbone`; nil: nowhere).
  public var backboneExport: URL?
  /// Where an SSL run writes its no-learning control's backbone (the initial weights with the
  /// batch-norm statistics refitted on the pretraining pool; nil: nowhere).
  public var controlExport: URL?
  /// The project's registry (set by the runner), for what a run builds from other targets (a MIL
  /// run's `sslEncoder`).
  public var registry: Registry?

  public init(
    spec: RunSpec, data: DataSource, generator: RandomGenerator,
    progress: @escaping (String, Int, String) -> ProgressSink, loader: TileLoader,
    onDataset: @escaping (TileSet) throws -> Void, checkpoints: CheckpointStore? = nil
  ) {
    self.spec = spec
    self.data = data
    self.generator = generator
    self.progress = progress
    self.loader = loader
    self.onDataset = onDataset
    self.checkpoints = checkpoints
  }

  /// Loads the run's tiles at `tileSize` and reports them to the runner. Generating a synthetic
  /// dataset on first use shows its own progress line.
  public func loadTiles(tileSize: Int) throws -> TileSet {
    let bar = LazyProgress(label: "generating data", unit: "images", make: progress)
    let tiles = try loader.load(data, tileSize: tileSize, threads: spec.threads) { done, total in
      bar.update(done: done, total: total)
    }
    bar.finish()
    try onDataset(tiles)
    return tiles
  }

  /// The training and test splits of the run's data, reported to the runner as one dataset
  /// (ids joined by `+`, hashes combined). Synthetic data: the manifest's `train` and `test`
  /// splits; a user's folder: a fixed, class-stratified 80/20 split of it.
  /// A folder in the usual split layout (`train/<class>/…` beside `test/<class>/…` or
  /// `val/<class>/…`): its own splits, the test split's labels mapped onto the training classes
  /// by name.
  /// - Throws: `InputError.badData` when the test split has a class the training split lacks.
  func loadSplitFolders(_ url: URL, tileSize: Int, progress: @escaping @Sendable (Int, Int) -> Void) throws -> (
    TileSet, TileSet
  ) {
    guard let (trainURL, testURL) = TileLoader.splitFolders(url) else { preconditionFailure("not a split folder") }
    let train = try loader.load(.imageFolder(trainURL), tileSize: tileSize, threads: spec.threads, progress: progress)
    let test = try loader.load(.imageFolder(testURL), tileSize: tileSize, threads: spec.threads, progress: progress)
    let index = Dictionary(uniqueKeysWithValues: train.classNames.enumerated().map { ($1, $0) })
    let unknown = test.classNames.filter { index[$0] == nil }
    guard unknown.isEmpty else {
      throw InputError.badData(
        path: testURL.path,
        message: "classes \(unknown.joined(separator: ", ")) are not in \(trainURL.lastPathComponent)/ "
          + "(training classes: \(train.classNames.joined(separator: ", ")))")
    }
    let labels = test.labels.map { index[test.classNames[$0]]! }
    let root = "folder:\(url.lastPathComponent)"
    let named = TileSet(
      images: train.images, labels: train.labels, classNames: train.classNames, names: train.names,
      datasetId: "\(root)/\(trainURL.lastPathComponent)", contentHash: train.contentHash)
    let mapped = TileSet(
      images: test.images, labels: labels, classNames: train.classNames, names: test.names,
      datasetId: "\(root)/\(testURL.lastPathComponent)", contentHash: TileSet.hash(images: test.images, labels: labels))
    return (named, mapped)
  }

  public func loadTrainAndTest(tileSize: Int) throws -> (train: TileSet, test: TileSet) {
    let bar = LazyProgress(label: "generating data", unit: "images", make: progress)
    let report: @Sendable (Int, Int) -> Void = { done, total in bar.update(done: done, total: total) }
    let pair: (TileSet, TileSet)
    switch data {
    case .synthetic(let manifest, let ref):
      var trainRef = ref, testRef = ref
      trainRef.split = "train"
      testRef.split = "test"
      pair = (
        try loader.load(.synthetic(manifest, trainRef), tileSize: tileSize, threads: spec.threads, progress: report),
        try loader.load(.synthetic(manifest, testRef), tileSize: tileSize, threads: spec.threads, progress: report)
      )
    case .imageFolder(let url) where TileLoader.splitFolders(url) != nil:
      pair = try loadSplitFolders(url, tileSize: tileSize, progress: report)
    default:
      let all = try loader.load(data, tileSize: tileSize, threads: spec.threads, progress: report)
      let testPart = Set(Sampling.stratifiedSubset(labels: all.labels, percent: 20, seed: 0x7E57))
      func part(_ keep: (Int) -> Bool, _ name: String) -> TileSet {
        let idx = all.images.indices.filter(keep)
        return TileSet(
          images: idx.map { all.images[$0] }, labels: idx.map { all.labels[$0] }, classNames: all.classNames,
          names: idx.map { all.names[$0] }, datasetId: "\(all.datasetId):\(name)", contentHash: all.contentHash)
      }
      pair = (part({ !testPart.contains($0) }, "train80"), part({ testPart.contains($0) }, "test20"))
    }
    bar.finish()
    for (set, role) in [(pair.0, "training"), (pair.1, "test")] where set.images.isEmpty {
      throw InputError.badData(
        path: data.label,
        message: "the \(role) split is empty (\(pair.0.images.count) training and \(pair.1.images.count) test images); "
          + "SSL runs need images for both (a user folder is split 80/20 per class unless it has train/ and "
          + "test/ or val/ sub-folders: give at least 5 images per class)")
    }
    var h = SHA256Hasher()
    h.update(Array(pair.0.contentHash.utf8))
    h.update(Array(pair.1.contentHash.utf8))
    try onDataset(
      TileSet(
        images: [], labels: [], classNames: pair.0.classNames, names: [],
        datasetId: "\(pair.0.datasetId)+\(pair.1.datasetId)", contentHash: h.finalize()))
    return pair
  }

  /// Throws `CancellationError` once the user interrupted the run (Ctrl-C).
  public func checkInterrupted() throws {
    if Interruption.requested { throw CancellationError() }
  }
}

/// A progress sink (the command line draws it; tests ignore it).
public protocol ProgressSink: Sendable {
  func advance(by count: Int, note: String)
  func finish()
}

/// A method made runnable: its config schema, its metrics and its run.
public protocol Experiment {
  /// Every config key with its type and default.
  static var schema: [ConfigKey] { get }
  /// Every metric it reports.
  static var metrics: [MetricInfo] { get }
  /// Runs once for `context.spec` and returns the measured metrics and curves.
  static func run(_ context: RunContext) throws -> ExperimentOutput
}

/// Process-wide flag set by SIGINT/SIGTERM so a run can stop cleanly and be marked interrupted.
public enum Interruption {
  nonisolated(unsafe) private static var flag: Int32 = 0

  /// Whether an interruption was requested.
  public static var requested: Bool { flag != 0 }

  /// Requests an interruption (called from the signal handler).
  public static func request() { flag = 1 }

  /// Clears the flag (tests).
  public static func reset() { flag = 0 }
}

/// A progress line created on the first update, once the total is known.
final class LazyProgress: @unchecked Sendable {
  private let label: String
  private let unit: String
  private let make: (String, Int, String) -> ProgressSink
  private var sink: ProgressSink?
  private var reported = 0
  private let lock = NSLock()

  init(label: String, unit: String, make: @escaping (String, Int, String) -> ProgressSink) {
    self.label = label
    self.unit = unit
    self.make = make
  }

  func update(done: Int, total: Int) {
    lock.lock()
    defer { lock.unlock() }
    if sink == nil { sink = make(label, total, unit) }
    sink?.advance(by: done - reported, note: "")
    reported = done
  }

  func finish() {
    lock.lock()
    defer { lock.unlock() }
    sink?.finish()
  }
}

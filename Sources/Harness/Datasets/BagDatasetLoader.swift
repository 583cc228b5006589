import Basics
import Engine
import Foundation
import Slides

/// An opened folder of feature bags with the identity a run records.
public struct BagDataset: Sendable {
  /// The bags, their slide table (labels, splits) and counts.
  public var store: BagStore
  /// Dataset id as recorded with a run: the slide set's id plus the extraction settings, or the
  /// folder's path for a user's `--data` folder.
  public var datasetId: String
  /// SHA-256 over the store's files (`BagDatasetLoader.contentHash`).
  public var contentHash: String
  /// The ground-truth layouts of the slides (`layouts/<slide id>.json`, `SyntheticSlideLayout`)
  /// when the bags come from the embedded synthetic slides; nil for a user's bag folder. Read
  /// by `MILData.splits` into each instance's `TileTruth`.
  public var layoutDirectory: URL? = nil
}

/// How feature bags are made from a slide set: encoder, tiling preset, focus QC, and (for the
/// synthetic slides) the size of each split.
public struct BagExtractionSettings: Sendable, Equatable {
  /// Tile encoder (`small`: random-init ResNet-small, 128-d).
  public var encoder: TileEncoderKind = .small
  /// Encoder input side (nil: the encoder's default, 64 for `small`).
  public var inputSize: Int?
  /// The Swin stage the features come from (`last` for the ResNets).
  public var stage: TileEncoderStage = .last
  /// Seed of the encoder's random initialisation (fixed across run seeds: the features are data).
  public var encoderSeed: UInt64 = 0
  /// The encoder's weights (a safetensors state dict, e.g. an SSL run's `--save-backbone` file);
  /// nil: random initialisation from `encoderSeed`. Keyed into the cache by their SHA-256.
  public var encoderWeights: String?
  /// An SSL target's backbone as the encoder (`RunContext.loadBags` resolves it into
  /// `encoderWeights` and, unless given, `inputSize`).
  public var pretrainedEncoder: PretrainedEncoderReference?
  /// Tiling preset name in `Datasets/presets/tiling.yaml`.
  public var preset = "camelyon16"
  /// Focus QC (the default rejects Laplacian variance < 15).
  public var focus: FocusQC = .standard
  /// Slides per slide label of a split, overriding the manifest's `perClass` (`["train": 40]`);
  /// a changed split is a different slide set with its own cache entry.
  public var perClass: [String: Int] = [:]
  /// Generator parameters overriding the manifest's (the target's `dataset.parameters`).
  public var slideParameters: [String: String] = [:]

  public init() {}
}

/// Feature bags of the `synthetic-slides` set, extracted into the cache on first use, or a
/// user's bag folder (`--data DIR` holding `bags.csv` and `slides.csv` from
/// `replicate slides extract`).
///
/// Cache: `<cache root>/bags/<key>` beside `<cache root>/datasets` (`$REPLICATE_CACHE/bags`), the
/// key hashing the slide set's content hash, the encoder (kind, input size, seed, weights
/// SHA-256), the resolved tiling preset, the focus QC and `extractorRevision`. Bags are
/// extracted into a temporary sibling that is renamed into place when complete, so a
/// half-written store is never read; the store's content hash is kept beside it (`sha256`) and
/// checked on every load (a mismatch extracts again).
public struct BagDatasetLoader: Sendable {
  /// The dataset cache (`$REPLICATE_CACHE/datasets`); bags go to its sibling `bags`.
  public let cacheDirectory: URL
  /// Bumped whenever extraction's output changes, so stale bag caches are never read.
  public static let extractorRevision = 1

  public init(cacheDirectory: URL) { self.cacheDirectory = cacheDirectory }

  /// Where extracted bags are cached.
  public var bagsDirectory: URL { cacheDirectory.deletingLastPathComponent().appendingPathComponent("bags") }

  /// `manifest` with the split sizes of `settings.perClass` applied.
  /// - Throws: `InputError.file` for a split the manifest does not define or a size below 1.
  public static func manifest(_ manifest: DatasetManifest, perClass: [String: Int]) throws -> DatasetManifest {
    var m = manifest
    for (split, n) in perClass.sorted(by: { $0.key < $1.key }) {
      guard m.splits[split] != nil else {
        throw InputError.file(
          path: manifest.file, key: "splits.\(split)",
          message: "no such split to resize; expected one of \(manifest.splits.keys.sorted().joined(separator: ", "))")
      }
      guard n >= 1 else {
        throw InputError.file(path: manifest.file, key: "splits.\(split).perClass", message: "expected at least 1, found \(n)")
      }
      m.splits[split]?.perClass = n
    }
    return m
  }

  /// The bags of the synthetic slide set `manifest` describes: generates the slides if needed
  /// (`SlideDatasetLoader`), then extracts the bags if the cache has none.
  /// - Parameter progress: `(stage, done, total)`, stage `"slides"` or `"bags"`.
  public func load(
    _ manifest: DatasetManifest, settings: BagExtractionSettings = BagExtractionSettings(), threads: Int = 1,
    progress: (@Sendable (String, Int, Int) -> Void)? = nil
  ) throws -> BagDataset {
    // The encoder first: a weights file that does not load is an input error before any slide
    // is generated into the cache.
    let encoder: TileEncoder
    do {
      encoder = try TileEncoder(
        kind: settings.encoder, inputSize: settings.inputSize, seed: settings.encoderSeed, weights: settings.encoderWeights,
        stage: settings.stage)
    } catch InputError.badData(let path, let message, _) {
      throw InputError.badData(path: path, message: message, option: "encoderWeights")
    } catch InputError.badArgument(let option, let value, let expected) {
      let key = ["--input-size": "encoderInputSize", "--stage": "encoderStage"][option] ?? option
      throw InputError.badOverride(key: key, value: value, expected: expected)
    }
    let resized = try Self.manifest(manifest, perClass: settings.perClass)
    let slides = try SlideDatasetLoader(cacheDirectory: cacheDirectory).load(
      resized, overrides: settings.slideParameters, threads: threads, progress: { done, total in progress?("slides", done, total) })
    let presetsPath = URL(fileURLWithPath: manifest.file).deletingLastPathComponent()
      .appendingPathComponent("presets/tiling.yaml").path
    let preset = try TilingPresets.preset(named: settings.preset, path: presetsPath)
    var extractor = BagExtractor(preset: preset, focus: settings.focus, encoder: encoder)
    extractor.threads = threads
    let focusText = "\(settings.focus.detector.rawValue)<\(settings.focus.threshold.map { String($0) } ?? "off")"
    // The stage enters the key only when it is not the last (earlier caches keep their keys).
    let stageText = encoder.stage == .last ? "" : ":stage=\(encoder.stage.rawValue)"
    let recipe =
      "encoder=\(encoder.kind.rawValue):\(encoder.inputSize):\(encoder.seed):\(encoder.weightsSHA256)\(stageText)|"
      + "preset=\(String(describing: preset))|focus=\(focusText)|instance>=\(extractor.instanceThreshold)"
    let key = SHA256Hasher.hex(of: "\(slides.contentHash)|\(recipe)|rev=\(Self.extractorRevision)")
    let datasetId =
      "\(slides.datasetId)/bags{encoder=\(encoder.kind.rawValue)@\(encoder.inputSize),seed=\(encoder.seed),"
      + (encoder.stage == .last ? "" : "stage=\(encoder.stage.rawValue),")
      + ""
      + (settings.encoderWeights == nil ? "" : "weights=\(encoder.weightsSHA256.prefix(12)),")
      + "preset=\(preset.name),focus=\(focusText)}"
    let dir = bagsDirectory.appendingPathComponent("\(manifest.id)-\(key.prefix(16))", isDirectory: true)
    func complete(_ dir: URL) -> BagDataset? {
      guard let stored = try? String(contentsOf: dir.appendingPathComponent("sha256"), encoding: .utf8),
        let hash = try? Self.contentHash(of: dir), hash == stored.trimmingCharacters(in: .whitespacesAndNewlines),
        let store = try? BagStore(directory: dir.path)
      else { return nil }
      return BagDataset(
        store: store, datasetId: datasetId, contentHash: hash,
        layoutDirectory: slides.directory.appendingPathComponent("layouts", isDirectory: true))
    }
    let inputs = slides.table.records.map { record in
      BagExtractor.SlideInput(
        id: record.slideID, path: slides.slidePath(record.slideID),
        annotations: slides.annotationPath(record.slideID).map { .file($0) } ?? .negative)
    }
    return try CachePublisher.entry(at: dir, isComplete: complete) { partial in
      _ = try extractor.writeStore(
        inputs, table: slides.table, to: partial.path, progress: { done, total, _ in progress?("bags", done, total) },
        isCancelled: { Interruption.requested })
      let hash = try Self.contentHash(of: partial)
      try (hash + "\n").write(to: partial.appendingPathComponent("sha256"), atomically: true, encoding: .utf8)
    }
  }

  /// A user's bag folder (`--data DIR`): `bags.csv` plus a slide table `slides.csv` with labels
  /// and splits, as `replicate slides extract` writes them.
  /// - Throws: `InputError.badData` naming the folder when either table is missing or malformed.
  public static func open(directory: URL) throws -> BagDataset {
    let store: BagStore
    do { store = try BagStore(directory: directory.path) } catch {
      throw InputError.badData(path: directory.path, message: error.description)
    }
    guard store.slideTable != nil else {
      throw InputError.badData(
        path: directory.path,
        message: "no slides.csv (slide_id, label, split, …) beside bags.csv: the bags have no labels or splits")
    }
    return BagDataset(store: store, datasetId: directory.path, contentHash: try contentHash(of: directory))
  }

  /// Whether `directory` looks like a bag folder (has `bags.csv`).
  public static func isBagFolder(_ directory: URL) -> Bool {
    FileManager.default.fileExists(atPath: directory.appendingPathComponent(BagStore.tableName).path)
  }

  /// SHA-256 over `bags.csv`, `slides.csv` and every `.safetensors` file of the folder (top
  /// level), in name order: for each, its name, a NUL, its size, a NUL, then its bytes. The
  /// per-slide `.json` provenance records are left out: they name the absolute paths the slides
  /// were read from, so the same bags extracted under another cache folder (or machine) would
  /// otherwise get another hash.
  public static func contentHash(of directory: URL) throws -> String {
    let fm = FileManager.default
    let names = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).filter {
      $0 == BagStore.tableName || $0 == BagStore.slideTableName || $0.hasSuffix(".safetensors")
    }.sorted()
    var hasher = SHA256Hasher()
    for name in names {
      let url = directory.appendingPathComponent(name)
      guard let data = fm.contents(atPath: url.path) else {
        throw InputError.badData(path: url.path, message: "cannot read a file of the bag folder", option: "")
      }
      hasher.update("\(name)\u{0}\(data.count)\u{0}")
      data.withUnsafeBytes { hasher.update($0) }
    }
    return hasher.finalize()
  }
}

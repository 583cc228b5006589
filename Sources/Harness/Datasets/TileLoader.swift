import Basics
import Dispatch
import Engine
import Foundation
import Slides
import Vision

/// Loads tiles from a `DataSource`: generates (or reads from the cache) the synthetic dataset, or
/// reads a user's images or slide.
public struct TileLoader: Sendable {
  /// Where generated datasets are cached: `$REPLICATE_CACHE/datasets`, else `<root>/.cache/datasets`.
  public let cacheDirectory: URL
  /// Bumped whenever the generator's output changes, so stale caches are never read.
  public static let generatorRevision = 1

  public init(cacheDirectory: URL) { self.cacheDirectory = cacheDirectory }

  /// Loads the tiles of `source`.
  ///
  /// - Parameters:
  ///   - tileSize: for synthetic data the image size to generate; for slides the tile size; for
  ///     user images ignored (images are used as they are).
  ///   - limit: at most this many tiles from a slide.
  public func load(
    _ source: DataSource, tileSize: Int, limit: Int = 4096, threads: Int = 1,
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> TileSet {
    switch source {
    case .synthetic(let manifest, let ref):
      return try synthetic(manifest, ref, tileSize: tileSize, threads: threads, progress: progress)
    case .imageFile(let url):
      let image = try readImage(url)
      return TileSet(
        images: [image], labels: [0], classNames: ["images"], names: [url.lastPathComponent],
        datasetId: "file:\(url.lastPathComponent)", contentHash: TileSet.hash(images: [image], labels: [0]))
    case .imageFolder(let url):
      return try folder(url)
    case .slide(let url):
      let slide = try WholeSlideImage(path: url.path)  // SlideError names the file
      let tiles = try SlideTiles.tiles(of: slide, level: 0, size: tileSize, limit: limit)
      guard !tiles.isEmpty else {
        throw InputError.badData(path: url.path, message: "no tissue tiles of \(tileSize)² px found at level 0", option: "")
      }
      let images = tiles.map(\.image)
      let labels = [Int](repeating: 0, count: images.count)
      return TileSet(
        images: images, labels: labels, classNames: ["tissue"],
        names: tiles.map { "x=\($0.x),y=\($0.y)" }, datasetId: "slide:\(url.lastPathComponent)",
        contentHash: TileSet.hash(images: images, labels: labels))
    }
  }

  /// An image; `ImageIOError` names the file and what is wrong with it.
  private func readImage(_ url: URL) throws -> RGBImage {
    try ImageIO.read(url.path)
  }

  /// The training and evaluation folders of a folder in the usual split layout: `train/` beside
  /// `test/` (or, without it, `val/`), each holding images or class sub-folders; nil otherwise.
  public static func splitFolders(_ url: URL) -> (train: URL, test: URL)? {
    let fm = FileManager.default
    func isFolder(_ name: String) -> URL? {
      var isDir: ObjCBool = false
      let sub = url.appendingPathComponent(name)
      return fm.fileExists(atPath: sub.path, isDirectory: &isDir) && isDir.boolValue ? sub : nil
    }
    guard let train = isFolder("train"), let test = isFolder("test") ?? isFolder("val") else { return nil }
    return (train, test)
  }

  /// An image folder: files at the top level (one class "images"), or one sub-folder per class.
  private func folder(_ url: URL) throws -> TileSet {
    let fm = FileManager.default
    let entries = (try? fm.contentsOfDirectory(atPath: url.path))?.sorted() ?? []
    func isImage(_ name: String) -> Bool {
      ImageIO.supportedExtensions.contains((name as NSString).pathExtension.lowercased())
    }
    var classes: [String] = []
    var files: [(URL, Int)] = []
    let topImages = entries.filter(isImage)
    if !topImages.isEmpty {
      classes = ["images"]
      files = topImages.map { (url.appendingPathComponent($0), 0) }
    } else {
      for name in entries {
        var isDir: ObjCBool = false
        let sub = url.appendingPathComponent(name)
        guard fm.fileExists(atPath: sub.path, isDirectory: &isDir), isDir.boolValue else { continue }
        let images = ((try? fm.contentsOfDirectory(atPath: sub.path)) ?? []).sorted().filter(isImage)
        guard !images.isEmpty else { continue }
        classes.append(name)
        files += images.map { (sub.appendingPathComponent($0), classes.count - 1) }
      }
    }
    guard !files.isEmpty else {
      throw InputError.badData(
        path: url.path, message: "no .png/.tif/.tiff images in the folder or its class sub-folders", option: "")
    }
    let images = try files.map { try readImage($0.0) }
    let labels = files.map(\.1)
    let names = files.map { $0.0.path.replacingOccurrences(of: url.path + "/", with: "") }
    return TileSet(
      images: images, labels: labels, classNames: classes, names: names,
      datasetId: "folder:\(url.lastPathComponent)", contentHash: TileSet.hash(images: images, labels: labels))
  }

  /// Resolved generator parameters for the synthetic dataset.
  static func tissueParameters(_ text: [String: String], path: String) throws -> SyntheticTissue.Parameters {
    var p = SyntheticTissue.Parameters()
    for (key, value) in text {
      switch key {
      case "imageSize":
        guard let v = Int(value), v >= 16, v <= 4096 else {
          throw InputError.file(path: path, key: key, message: "expected an integer in 16...4096")
        }
        p.imageSize = v
      case "focusVariation":
        guard let v = Bool(value) else { throw InputError.file(path: path, key: key, message: "expected true or false") }
        p.focusVariation = v
      case "blurredFraction":
        guard let v = Double(value), v >= 0, v <= 1 else {
          throw InputError.file(path: path, key: key, message: "expected a number in 0...1")
        }
        p.blurredFraction = v
      default:
        throw InputError.file(
          path: path, key: key, message: "unknown generator parameter; expected imageSize, focusVariation, blurredFraction")
      }
    }
    return p
  }

  private func synthetic(
    _ manifest: DatasetManifest, _ ref: DatasetRef, tileSize: Int, threads: Int,
    progress: (@Sendable (Int, Int) -> Void)?
  ) throws -> TileSet {
    guard manifest.generator == "synthetic-tissue" else {
      throw InputError.file(
        path: manifest.file, key: "generator",
        message: "\(manifest.generator) is not a tile dataset; expected a synthetic-tissue manifest")
    }
    guard let split = manifest.splits[ref.split] else {
      throw InputError.file(
        path: manifest.file, key: "splits.\(ref.split)", message: "missing; the target asks for this split")
    }
    var text = manifest.parameters
    for (k, v) in ref.parameters { text[k] = v }
    text["imageSize"] = String(tileSize)
    let parameters = try Self.tissueParameters(text, path: manifest.file)
    let paramText = text.keys.sorted().map { "\($0)=\(text[$0] ?? "")" }.joined(separator: ",")
    let datasetId = "\(manifest.id)@\(manifest.version):\(ref.split){\(paramText)}"
    let key = SHA256Hasher.hex(
      of: "\(datasetId)|seed=\(split.seed)|perClass=\(split.perClass)|rev=\(Self.generatorRevision)")
    let dir = cacheDirectory.appendingPathComponent("\(manifest.id)-v\(manifest.version)-\(key.prefix(16))")
    let classCount = manifest.classes.count
    let count = classCount * split.perClass
    let labels = (0..<count).map { $0 / split.perClass }
    let names = (0..<count).map { "\(manifest.classes[$0 / split.perClass])/\($0 % split.perClass)" }
    let size = parameters.imageSize
    let bytesPer = size * size * 3
    func complete(_ dir: URL) -> TileSet? {
      guard let data = try? Data(contentsOf: dir.appendingPathComponent("tiles.u8")), data.count == bytesPer * count,
        let stored = try? String(contentsOf: dir.appendingPathComponent("sha256"), encoding: .utf8)
      else { return nil }
      let images = (0..<count).map { i in
        RGBImage(width: size, height: size, pixels: [UInt8](data[(i * bytesPer)..<((i + 1) * bytesPer)]))
      }
      let hash = TileSet.hash(images: images, labels: labels)
      guard hash == stored.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
      return TileSet(
        images: images, labels: labels, classNames: manifest.classes, names: names, datasetId: datasetId,
        contentHash: hash)
    }
    return try CachePublisher.entry(at: dir, isComplete: complete) { partial in
      // Every image is a pure function of (seed, label, index), so threads cannot change bytes.
      let generator = SyntheticTissue(parameters: parameters, seed: split.seed)
      let perClass = split.perClass
      let images = try Parallel.map(
        count, threads: threads, chunk: 16, progress: progress, isCancelled: { Interruption.requested }
      ) { i in
        generator.image(label: i / perClass, index: i % perClass)
      }
      var blob = Data(capacity: bytesPer * count)
      for image in images { blob.append(contentsOf: image.pixels) }
      try blob.write(to: partial.appendingPathComponent("tiles.u8"))
      let hash = TileSet.hash(images: images, labels: labels)
      try (hash + "\n").write(to: partial.appendingPathComponent("sha256"), atomically: false, encoding: .utf8)
      let info = "{\"dataset\": \(ConfigValue.quote(datasetId)), \"count\": \(count), \"imageSize\": \(size)}\n"
      try info.write(to: partial.appendingPathComponent("info.json"), atomically: false, encoding: .utf8)
    }
  }
}

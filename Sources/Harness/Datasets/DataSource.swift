import Basics
import Foundation
import Slides
import Vision

/// Where a run's images come from.
public enum DataSource: Sendable {
  /// The embedded synthetic dataset named by the target (generated into the cache).
  case synthetic(DatasetManifest, DatasetRef)
  /// A user's folder of PNG/TIFF images (sorted by name; sub-folders are class labels if present).
  case imageFolder(URL)
  /// A single image file.
  case imageFile(URL)
  /// A whole-slide image, tiled at level 0.
  case slide(URL)

  /// Classifies a `--data` path: a folder, a slide OpenSlide recognises, or an image file.
  /// `option` names the path in messages (`--data`, or empty for a positional argument).
  public static func user(path: String, option: String = "--data") throws -> DataSource {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw InputError.badData(path: path, message: "no such file or folder", option: option)
    }
    let url = URL(fileURLWithPath: path).standardizedFileURL
    if isDir.boolValue { return .imageFolder(url) }
    let ext = url.pathExtension.lowercased()
    let slideExtensions = ["svs", "ndpi", "mrxs", "scn", "vms", "vmu", "bif", "svslide"]
    if slideExtensions.contains(ext) { return .slide(url) }
    if ext == "tif" || ext == "tiff" {
      return WholeSlideImage.isSlide(path: url.path) && isTiled(url.path) ? .slide(url) : .imageFile(url)
    }
    if ImageIO.supportedExtensions.contains(ext) { return .imageFile(url) }
    throw InputError.badData(
      path: path, message: "expected a folder of PNG/TIFF images, an image file or a slide", option: option)
  }

  /// Whether OpenSlide opens the TIFF with more than one level or as a vendor format (a slide),
  /// rather than a plain single-page image.
  private static func isTiled(_ path: String) -> Bool {
    guard let slide = try? WholeSlideImage(path: path) else { return false }
    return slide.levelCount > 1 || slide.vendor != "generic-tiff"
      || (slide.levelDimensions.first.map { $0.width * $0.height > 4096 * 4096 } ?? false)
  }

  /// A short description for the store (`synthetic-tissue@1:test`, or the path).
  public var label: String {
    switch self {
    case .synthetic(let m, let ref): return "\(m.id)@\(m.version):\(ref.split)"
    case .imageFolder(let url), .imageFile(let url), .slide(let url): return url.path
    }
  }
}

/// A set of RGB tiles with class labels, plus the identity of what was read.
public struct TileSet: Sendable {
  public var images: [RGBImage]
  public var labels: [Int]
  public var classNames: [String]
  /// A name per tile (file name, or slide coordinates, or `class/index`).
  public var names: [String]
  /// Dataset id as recorded with a run (for example `synthetic-tissue@1:test{imageSize=128}`).
  public var datasetId: String
  /// SHA-256 over every tile's bytes and label, in order.
  public var contentHash: String

  /// Hashes images and labels in order.
  static func hash(images: [RGBImage], labels: [Int]) -> String {
    var h = SHA256Hasher()
    for (image, label) in zip(images, labels) {
      h.update([Int64(image.width), Int64(image.height), Int64(label)])
      h.update(image.pixels)
    }
    return h.finalize()
  }
}

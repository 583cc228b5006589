import Basics
import COpenSlide
import Foundation
import Vision

/// An error opening or reading a whole-slide image.
public enum SlideError: Error, CustomStringConvertible, Equatable {
  /// OpenSlide cannot open the file (not a slide, unsupported format, truncated).
  case cannotOpen(path: String, reason: String)
  /// OpenSlide failed while reading (the file is damaged beyond its header).
  case readFailed(path: String, reason: String)
  /// A level index outside `0..<levelCount`.
  case levelOutOfRange(path: String, level: Int, available: Int)
  /// A whole level too large to read at once (tissue detection reads its level whole).
  case regionTooLarge(path: String, level: Int, width: Int, height: Int, limit: Int)
  /// The slide lacks what a request needs (for example microns per pixel for a magnification).
  case unsupportedRequest(path: String, reason: String)

  public var description: String {
    switch self {
    case .cannotOpen(let path, let reason):
      return "\(path): cannot open as a whole-slide image: \(reason) "
        + "(expected a format OpenSlide 3.4 reads: SVS, tiled pyramidal TIFF, NDPI, MRXS, …)"
    case .readFailed(let path, let reason):
      return "\(path): reading the slide failed: \(reason)"
    case .levelOutOfRange(let path, let level, let available):
      return "\(path): level \(level) does not exist (the slide has levels 0..<\(available))"
    case .regionTooLarge(let path, let level, let width, let height, let limit):
      return "\(path): level \(level) is \(width)×\(height) pixels, more than \(limit) to read at once; "
        + "choose a coarser segmentation level (a larger downsample)"
    case .unsupportedRequest(let path, let reason):
      return "\(path): \(reason)"
    }
  }
}

/// A whole-slide image read through OpenSlide; owns the `openslide_t` handle and closes it.
///
/// OpenSlide's functions are thread-safe except `openslide_close`, which `deinit` calls once no
/// reference remains, so one instance may serve tiles to several threads.
public final class WholeSlideImage: @unchecked Sendable {
  /// The file the slide was opened from.
  public let path: String
  private let handle: OpaquePointer
  /// Dimensions (width, height) of every level, level 0 first.
  public let levelDimensions: [(width: Int, height: Int)]
  /// Downsample factor of every level relative to level 0.
  public let levelDownsamples: [Double]
  /// All properties OpenSlide reports (`openslide.vendor`, `tiff.XResolution`, …).
  public let properties: [String: String]

  /// Opens `path`; throws `SlideError.cannotOpen` with OpenSlide's message when it cannot.
  public init(path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
      throw SlideError.cannotOpen(path: path, reason: "no such file")
    }
    guard let osr = openslide_open(path) else {
      throw SlideError.cannotOpen(path: path, reason: "format not recognised")
    }
    if let err = openslide_get_error(osr) {
      let reason = String(cString: err)
      openslide_close(osr)
      throw SlideError.cannotOpen(path: path, reason: reason)
    }
    self.path = path
    handle = osr
    let count = Int(openslide_get_level_count(osr))
    var dims: [(Int, Int)] = []
    var downs: [Double] = []
    for level in 0..<max(count, 0) {
      var w: Int64 = 0, h: Int64 = 0
      openslide_get_level_dimensions(osr, Int32(level), &w, &h)
      dims.append((Int(w), Int(h)))
      downs.append(openslide_get_level_downsample(osr, Int32(level)))
    }
    levelDimensions = dims
    levelDownsamples = downs
    var props: [String: String] = [:]
    if var names = openslide_get_property_names(osr) {
      while let name = names.pointee {
        if let value = openslide_get_property_value(osr, name) {
          props[String(cString: name)] = String(cString: value)
        }
        names += 1
      }
    }
    properties = props
  }

  deinit { openslide_close(handle) }

  /// Whether OpenSlide recognises the file as a slide (cheap: reads the header only).
  public static func isSlide(path: String) -> Bool { openslide_detect_vendor(path) != nil }

  /// OpenSlide's version string.
  public static var openSlideVersion: String { String(cString: openslide_get_version()) }

  /// Number of pyramid levels.
  public var levelCount: Int { levelDimensions.count }

  /// Vendor (`aperio`, `generic-tiff`, …).
  public var vendor: String { properties["openslide.vendor"] ?? "unknown" }

  /// Microns per pixel at level 0 (x, y): OpenSlide's `openslide.mpp-x/y`, or else the TIFF
  /// resolution tags (`10000 / XResolution` for centimetres, `25400 / XResolution` for inches).
  public var micronsPerPixel: (x: Double, y: Double)? {
    if let x = properties["openslide.mpp-x"].flatMap(Double.init),
      let y = properties["openslide.mpp-y"].flatMap(Double.init)
    {
      return (x, y)
    }
    guard let xr = properties["tiff.XResolution"].flatMap(Double.init), xr > 0 else { return nil }
    let yr = properties["tiff.YResolution"].flatMap(Double.init) ?? xr
    let unit = properties["tiff.ResolutionUnit"]?.lowercased() ?? ""
    let scale: Double
    if unit.contains("centimeter") { scale = 10_000 } else if unit.contains("inch") { scale = 25_400 } else {
      return nil
    }
    return (scale / xr, scale / yr)
  }

  /// The level OpenSlide recommends for a downsample factor.
  public func bestLevel(forDownsample downsample: Double) -> Int {
    Int(openslide_get_best_level_for_downsample(handle, downsample))
  }

  /// Reads a region as straight (un-premultiplied) RGB, transparent pixels composited on white.
  ///
  /// - Parameters:
  ///   - x, y: top-left corner in level-0 coordinates (OpenSlide's convention).
  ///   - level: pyramid level to read from.
  ///   - width, height: size in pixels at that level.
  public func readRegion(x: Int, y: Int, level: Int, width: Int, height: Int) throws -> RGBImage {
    guard level >= 0, level < levelCount else {
      throw SlideError.levelOutOfRange(path: path, level: level, available: levelCount)
    }
    precondition(width > 0 && height > 0, "readRegion: size \(width)×\(height) must be positive")
    var argb = [UInt32](repeating: 0, count: width * height)
    argb.withUnsafeMutableBufferPointer { buf in
      openslide_read_region(handle, buf.baseAddress, Int64(x), Int64(y), Int32(level), Int64(width), Int64(height))
    }
    if let err = openslide_get_error(handle) {
      throw SlideError.readFailed(path: path, reason: String(cString: err))
    }
    var rgb = [UInt8](repeating: 255, count: width * height * 3)
    rgb.withUnsafeMutableBufferPointer { out in
      argb.withUnsafeBufferPointer { src in
        for i in 0..<(width * height) {
          let p = src[i]
          let a = p >> 24
          var r = (p >> 16) & 0xFF, g = (p >> 8) & 0xFF, b = p & 0xFF
          if a == 0 {
            r = 255; g = 255; b = 255
          } else if a < 255 {
            // Premultiplied ARGB → straight, then composite on white.
            r = (r * 255 + a / 2) / a; g = (g * 255 + a / 2) / a; b = (b * 255 + a / 2) / a
            r = (r * a + 255 * (255 - a) + 127) / 255
            g = (g * a + 255 * (255 - a) + 127) / 255
            b = (b * a + 255 * (255 - a) + 127) / 255
          }
          out[3 * i] = UInt8(min(r, 255)); out[3 * i + 1] = UInt8(min(g, 255)); out[3 * i + 2] = UInt8(min(b, 255))
        }
      }
    }
    return RGBImage(width: width, height: height, pixels: rgb)
  }
}

extension SlideError: UserFacingError {}

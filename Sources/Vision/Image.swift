/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R G B` (HWC layout).
///
/// This is the form tiles come in from PNG/TIFF files, OpenSlide and the synthetic generators.
public struct RGBImage: Sendable, Equatable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// `height * width * 3` bytes, row-major, interleaved RGB.
  public var pixels: [UInt8]

  /// Wraps existing pixels. - Precondition: `pixels.count == width * height * 3`.
  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)×\(height)")
    precondition(
      pixels.count == width * height * 3,
      "RGBImage: \(pixels.count) bytes for \(width)×\(height)×3")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// A blank image filled with one colour.
  public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
    var p = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) {
      p[3 * i] = fill.0
      p[3 * i + 1] = fill.1
      p[3 * i + 2] = fill.2
    }
    self.init(width: width, height: height, pixels: p)
  }

  /// 8-bit grey by ITU-R BT.601 luma, rounded exactly as OpenCV's `cvtColor(RGB2GRAY)` does it
  /// (fixed point with 14 fractional bits: `(4899 R + 9617 G + 1868 B + 8192) >> 14`), so that
  /// focus scores and thresholds carry over from OpenCV pipelines.
  public func grayscale() -> GrayImage {
    let n = width * height
    var out = [UInt8](repeating: 0, count: n)
    pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for i in 0..<n {
          let r = Int32(src[3 * i]), g = Int32(src[3 * i + 1]), b = Int32(src[3 * i + 2])
          dst[i] = UInt8(truncatingIfNeeded: (4899 * r + 9617 * g + 1868 * b + 8192) >> 14)
        }
      }
    }
    return GrayImage(width: width, height: height, pixels: out)
  }
}

/// An 8-bit single-channel image (grey levels 0–255), row-major.
public struct GrayImage: Sendable, Equatable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// `height * width` grey levels, row-major.
  public var pixels: [UInt8]

  /// Wraps existing pixels. - Precondition: `pixels.count == width * height`.
  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(width >= 0 && height >= 0, "GrayImage: negative size \(width)×\(height)")
    precondition(
      pixels.count == width * height, "GrayImage: \(pixels.count) bytes for \(width)×\(height)")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// Grey level at column `x`, row `y`.
  @inlinable
  public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }
}

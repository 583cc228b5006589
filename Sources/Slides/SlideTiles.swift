import Vision

/// A tile cut from a slide: its level-0 position and pixels.
public struct SlideTile: Sendable {
  /// Top-left corner in level-0 coordinates.
  public var x: Int
  public var y: Int
  /// Level it was read from.
  public var level: Int
  public var image: RGBImage
  /// Fraction of pixels that look like tissue (see `SlideTiles.tissueFraction`).
  public var tissueFraction: Double
}

/// A simple non-overlapping tile grid over one slide level with a tissue filter.
///
/// The tissue test is a fixed-threshold one (HSV saturation > 0.07 and not near-white), enough to
/// skip glass for focus QC; the Otsu-based tissue detector of the whole-slide pipeline replaces it
/// where masks matter.
public enum SlideTiles {
  /// Fraction of pixels with saturation above 0.07 and brightness below 0.94 (not glass).
  public static func tissueFraction(_ image: RGBImage) -> Double {
    let n = image.width * image.height
    guard n > 0 else { return 0 }
    var count = 0
    image.pixels.withUnsafeBufferPointer { p in
      for i in 0..<n {
        let r = Int(p[3 * i]), g = Int(p[3 * i + 1]), b = Int(p[3 * i + 2])
        let mx = max(r, max(g, b)), mn = min(r, min(g, b))
        if mx > 0 && mx < 240 && Double(mx - mn) / Double(mx) > 0.07 { count += 1 }
      }
    }
    return Double(count) / Double(n)
  }

  /// Tiles of `size`×`size` pixels at `level`, row by row, keeping those with at least
  /// `minTissue` tissue fraction, at most `limit` of them.
  public static func tiles(
    of slide: WholeSlideImage, level: Int = 0, size: Int = 256, minTissue: Double = 0.5,
    limit: Int = .max
  ) throws -> [SlideTile] {
    guard level >= 0, level < slide.levelCount else {
      throw SlideError.levelOutOfRange(path: slide.path, level: level, available: slide.levelCount)
    }
    let (w, h) = slide.levelDimensions[level]
    let down = slide.levelDownsamples[level]
    var out: [SlideTile] = []
    var ty = 0
    while ty + size <= h && out.count < limit {
      var tx = 0
      while tx + size <= w && out.count < limit {
        let x0 = Int((Double(tx) * down).rounded()), y0 = Int((Double(ty) * down).rounded())
        let image = try slide.readRegion(x: x0, y: y0, level: level, width: size, height: size)
        let fraction = tissueFraction(image)
        if fraction >= minTissue {
          out.append(SlideTile(x: x0, y: y0, level: level, image: image, tissueFraction: fraction))
        }
        tx += size
      }
      ty += size
    }
    return out
  }
}

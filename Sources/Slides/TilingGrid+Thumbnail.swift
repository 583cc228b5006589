import Foundation
import Vision

extension TilingGrid {
  /// A low-resolution image of `slide` with the grid drawn on it: kept tiles green, the others
  /// red, and the outline of each tumour polygon of `regions` blue.
  ///
  /// The image is read at the coarsest level whose longest side is at least `longestSide`, then
  /// shrunk so that its longest side is at most `longestSide` pixels.
  /// - Parameter kept: one flag per tile of `tiles`.
  /// - Throws: `SlideError` when that level is too large to read (over 64 Mpx) or cannot be read.
  public func thumbnail(
    of slide: WholeSlideImage, kept: [Bool], regions: TumourRegions?, longestSide: Int = 1024
  ) throws -> RGBImage {
    precondition(kept.count == tiles.count, "thumbnail: \(kept.count) flags for \(tiles.count) tiles")
    let target = Double(longestSide)
    let (w0, h0) = slide.levelDimensions[0]
    var level = 0
    for (l, dims) in slide.levelDimensions.enumerated() where max(dims.width, dims.height) >= longestSide { level = l }
    let dims = slide.levelDimensions[level]
    guard dims.width * dims.height <= 64_000_000 else {
      throw SlideError.regionTooLarge(
        path: slide.path, level: level, width: dims.width, height: dims.height, limit: 64_000_000)
    }
    var image = try slide.readRegion(x: 0, y: 0, level: level, width: dims.width, height: dims.height)
    let shrink = min(1, target / Double(max(dims.width, dims.height)))
    if shrink < 1 {
      image = image.resized(
        width: max(1, Int(Double(dims.width) * shrink)), height: max(1, Int(Double(dims.height) * shrink)))
    }
    let sx = Double(image.width) / Double(w0)
    let sy = Double(image.height) / Double(h0)
    func set(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
      let o = 3 * (y * image.width + x)
      image.pixels[o] = colour.0
      image.pixels[o + 1] = colour.1
      image.pixels[o + 2] = colour.2
    }
    func box(_ rect: SlideRect, _ colour: (UInt8, UInt8, UInt8)) {
      let x0 = Int(rect.minX * sx)
      let y0 = Int(rect.minY * sy)
      let x1 = min(image.width - 1, Int(rect.maxX * sx) - 1)
      let y1 = min(image.height - 1, Int(rect.maxY * sy) - 1)
      guard x0 <= x1, y0 <= y1, x0 >= 0, y0 >= 0 else { return }
      for x in x0...x1 {
        set(x, y0, colour)
        set(x, y1, colour)
      }
      for y in y0...y1 {
        set(x0, y, colour)
        set(x1, y, colour)
      }
    }
    for (i, tile) in tiles.enumerated() { box(rect(of: tile), kept[i] ? (0, 150, 0) : (220, 0, 0)) }
    for polygon in regions?.polygons ?? [] {
      for p in polygon.outer {
        let x = Int(p.x * sx)
        let y = Int(p.y * sy)
        guard x >= 0, y >= 0, x < image.width, y < image.height else { continue }
        set(x, y, (0, 0, 230))
      }
    }
    return image
  }
}

import CTIFF

/// Writes an RGB image as a tiled, pyramidal TIFF that OpenSlide 3.4 opens with every level.
///
/// Layout (what OpenSlide's generic-tiff driver accepts, see PLATFORM.md): level 0 is the first
/// directory; each lower level (a 2× box-filtered copy) is its own top-level directory marked
/// reduced-resolution (`NewSubfileType = 1`); every level is tiled (`tileSize`², a multiple of 16);
/// deflate compression (lossless, so reads are pixel-exact); resolution tags in centimetres give the
/// microns per pixel (`XResolution = 10000 / mpp`).
public enum TiledTIFFWriter {
  /// A failure writing the file.
  public struct WriteError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): cannot write the TIFF: \(reason)" }
  }

  /// Writes `image` and `levels − 1` halvings of it.
  ///
  /// - Parameters:
  ///   - levels: number of pyramid levels (level i is downsampled by 2^i); levels stop early when a
  ///     level would be smaller than one tile in either direction (OpenSlide 3.4.1 misreads such
  ///     levels: seen on a 160×96 level of 128² tiles).
  ///   - micronsPerPixel: level-0 resolution recorded in the resolution tags (nil: none).
  ///   - description: ImageDescription text (for example an Aperio-style header), or nil.
  ///   - deflateLevel: zlib level 1 (fastest) … 9 (smallest), nil for libtiff's default (6); every
  ///     level is lossless.
  ///   - horizontalPredictor: store each pixel as the difference from its left neighbour
  ///     (`Predictor = 2`, lossless; readers such as OpenSlide undo it): smaller and faster to
  ///     deflate on photographic content.
  public static func write(
    _ image: RGBImage, to path: String, levels: Int = 3, tileSize: Int = 256, micronsPerPixel: Double? = nil,
    description: String? = nil, deflateLevel: Int? = nil, horizontalPredictor: Bool = false
  ) throws {
    precondition(tileSize % 16 == 0 && tileSize > 0, "TIFF tiles must be a positive multiple of 16, got \(tileSize)")
    ctiff_quiet()
    guard let tif = TIFFOpen(path, "w") else { throw WriteError(path: path, reason: "TIFFOpen failed") }
    defer { TIFFClose(tif) }
    var level = image
    for index in 0..<max(levels, 1) {
      if index > 0 {
        if level.width / 2 < tileSize || level.height / 2 < tileSize { break }
        level = halved(level)
      }
      let downsample = Double(1 << index)
      var ok = ctiff_set_u32(tif, UInt32(TIFFTAG_SUBFILETYPE), index == 0 ? 0 : UInt32(FILETYPE_REDUCEDIMAGE)) == 1
      ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(level.width)) == 1
      ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(level.height)) == 1
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), 8) == 1
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), 3) == 1
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB)) == 1
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)) == 1
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_ADOBE_DEFLATE)) == 1
      if horizontalPredictor {
        ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) == 1
      }
      if let deflateLevel {
        ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_ZIPQUALITY), UInt32(min(9, max(1, deflateLevel)))) == 1
      }
      ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_TILEWIDTH), UInt32(tileSize)) == 1
      ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_TILELENGTH), UInt32(tileSize)) == 1
      if let mpp = micronsPerPixel {
        ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_RESOLUTIONUNIT), UInt16(RESUNIT_CENTIMETER)) == 1
        ok = ok && ctiff_set_double(tif, UInt32(TIFFTAG_XRESOLUTION), 10_000 / (mpp * downsample)) == 1
        ok = ok && ctiff_set_double(tif, UInt32(TIFFTAG_YRESOLUTION), 10_000 / (mpp * downsample)) == 1
      }
      if index == 0, let description {
        ok = ok && ctiff_set_string(tif, UInt32(TIFFTAG_IMAGEDESCRIPTION), description) == 1
      }
      guard ok else { throw WriteError(path: path, reason: "setting the tags of level \(index) failed") }
      var tile = [UInt8](repeating: 255, count: tileSize * tileSize * 3)
      for ty in stride(from: 0, to: level.height, by: tileSize) {
        for tx in stride(from: 0, to: level.width, by: tileSize) {
          for i in tile.indices { tile[i] = 255 }
          let w = min(tileSize, level.width - tx), h = min(tileSize, level.height - ty)
          level.pixels.withUnsafeBufferPointer { src in
            tile.withUnsafeMutableBufferPointer { dst in
              for row in 0..<h {
                let s = ((ty + row) * level.width + tx) * 3
                let d = row * tileSize * 3
                for k in 0..<(w * 3) { dst[d + k] = src[s + k] }
              }
            }
          }
          let written = tile.withUnsafeMutableBytes { TIFFWriteTile(tif, $0.baseAddress, UInt32(tx), UInt32(ty), 0, 0) }
          guard written >= 0 else { throw WriteError(path: path, reason: "writing a tile of level \(index) failed") }
        }
      }
      guard TIFFWriteDirectory(tif) == 1 else { throw WriteError(path: path, reason: "writing directory \(index) failed") }
    }
  }

  /// The reduction between levels: a 2× box-filtered copy (rounded), dropping a trailing odd row
  /// or column.
  public static func halved(_ image: RGBImage) -> RGBImage {
    let w = image.width / 2, h = image.height / 2
    var out = [UInt8](repeating: 0, count: w * h * 3)
    image.pixels.withUnsafeBufferPointer { src in
      for y in 0..<h {
        for x in 0..<w {
          for c in 0..<3 {
            let a = Int(src[((2 * y) * image.width + 2 * x) * 3 + c])
            let b = Int(src[((2 * y) * image.width + 2 * x + 1) * 3 + c])
            let d = Int(src[((2 * y + 1) * image.width + 2 * x) * 3 + c])
            let e = Int(src[((2 * y + 1) * image.width + 2 * x + 1) * 3 + c])
            out[(y * w + x) * 3 + c] = UInt8((a + b + d + e + 2) / 4)
          }
        }
      }
    }
    return RGBImage(width: w, height: h, pixels: out)
  }
}

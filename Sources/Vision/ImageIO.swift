import Basics
import CPNG
import CTIFF

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why an image file could not be read or written.
///
/// Every case names the file, so a message printed by the harness points straight at it.
public enum ImageIOError: Error, CustomStringConvertible, Equatable {
  /// The file could not be opened or created (missing, unreadable, not writable).
  case cannotOpen(path: String, reason: String)
  /// The file exists but is neither a PNG nor a TIFF (judged by its first bytes).
  case unsupportedFormat(path: String)
  /// The file starts like a PNG/TIFF but its contents are damaged or truncated.
  case corrupt(path: String, reason: String)

  /// The file the error is about.
  public var path: String {
    switch self {
    case .cannotOpen(let path, _), .unsupportedFormat(let path), .corrupt(let path, _): path
    }
  }

  /// A one-line message naming the file and what was expected.
  public var description: String {
    switch self {
    case .cannotOpen(let path, let reason):
      "cannot open image file '\(path)': \(reason)"
    case .unsupportedFormat(let path):
      "'\(path)' is not a supported image: expected a PNG or TIFF file "
        + "(\(ImageIO.supportedExtensions.map { "." + $0 }.joined(separator: ", ")))"
    case .corrupt(let path, let reason):
      "image file '\(path)' is damaged or truncated (\(reason)); expected a complete PNG or TIFF"
    }
  }
}

/// Reading and writing RGB tiles as PNG (libpng) and TIFF (libtiff).
///
/// Reading converts whatever the file holds (8/16-bit, grey, RGB, RGBA, palette) to 8-bit RGB;
/// alpha is composited on white, as slide viewers show transparent regions. The format is told
/// by the file's first bytes, not its name. Errors never crash the process: libpng's simplified
/// API and libtiff report failures through return codes, which become `ImageIOError`s.
///
/// Sources: libpng 1.6 manual, "Simplified API" (`png_image_*`); libtiff `TIFFReadRGBAImage(3)`.
public enum ImageIO {
  /// File extensions (lower case, without the dot) that `read(_:)` accepts.
  public static let supportedExtensions = ["png", "tif", "tiff"]

  /// Largest image `read(_:)` accepts, in pixels (`2^28`, e.g. 16384 × 16384): a guard against
  /// corrupt headers that claim absurd sizes.
  public static let maxPixels = 1 << 28

  /// Reads a PNG or TIFF file as 8-bit RGB.
  ///
  /// - PNG: any bit depth and colour type, via libpng's simplified API. Alpha is composited on
  ///   white (255, 255, 255). 16-bit samples become `round(v / 257)` (PIL/OpenCV convention) for
  ///   untagged files; files with a gAMA/sRGB chunk are linearised by libpng first.
  /// - TIFF: the first directory, decoded by `TIFFReadRGBAImageOriented` with
  ///   `ORIENTATION_TOPLEFT`; associated (premultiplied) alpha `a` composites on white as
  ///   `c + (255 − a)`.
  /// - Returns: an image of the file's size, `height × width × 3` bytes, rows top to bottom.
  /// - Throws: `ImageIOError` naming `path`.
  public static func read(_ path: String) throws(ImageIOError) -> RGBImage {
    let head = try readHead(path, count: 8)
    if head.count >= 8, head[0] == 0x89, head[1] == 0x50, head[2] == 0x4E, head[3] == 0x47 {
      return try readPNG(path)
    }
    if head.count >= 4,
      (head[0] == 0x49 && head[1] == 0x49 && (head[2] == 42 || head[2] == 43) && head[3] == 0)
        || (head[0] == 0x4D && head[1] == 0x4D && head[2] == 0 && (head[3] == 42 || head[3] == 43))
    {
      return try readTIFF(path)
    }
    throw .unsupportedFormat(path: path)
  }

  /// Writes `image` as an 8-bit RGB PNG (default zlib compression, no metadata).
  /// - Throws: `ImageIOError.cannotOpen` if the file cannot be written.
  public static func writePNG(_ image: RGBImage, to path: String) throws(ImageIOError) {
    guard image.width > 0, image.height > 0 else {
      throw .cannotOpen(
        path: path, reason: "cannot write an empty \(image.width)×\(image.height) image")
    }
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    png.width = UInt32(image.width)
    png.height = UInt32(image.height)
    png.format = UInt32(PNG_FORMAT_RGB)
    let ok = image.pixels.withUnsafeBytes { buffer in
      png_image_write_to_file(&png, path, 0, buffer.baseAddress, 0, nil)
    }
    let message = pngMessage(&png)
    png_image_free(&png)
    if ok == 0 { throw .cannotOpen(path: path, reason: message) }
  }

  /// Writes `image` as a stripped, chunky 8-bit RGB TIFF with Deflate compression and the
  /// horizontal-differencing predictor (falls back to no compression if Deflate is not built in).
  /// - Throws: `ImageIOError.cannotOpen` if the file cannot be written.
  public static func writeTIFF(_ image: RGBImage, to path: String) throws(ImageIOError) {
    guard image.width > 0, image.height > 0 else {
      throw .cannotOpen(
        path: path, reason: "cannot write an empty \(image.width)×\(image.height) image")
    }
    ctiff_quiet()
    guard let tif = TIFFOpen(path, "w") else {
      throw .cannotOpen(path: path, reason: "libtiff could not create the file")
    }
    defer { TIFFClose(tif) }
    let deflate = UInt16(COMPRESSION_ADOBE_DEFLATE)
    let compress = TIFFIsCODECConfigured(deflate) != 0
    var ok = ctiff_set_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(image.width)) != 0
    ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(image.height)) != 0
    ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), 8) != 0
    ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), 3) != 0
    ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_RGB)) != 0
    ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)) != 0
    ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_ORIENTATION), UInt16(ORIENTATION_TOPLEFT)) != 0
    if compress {
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_COMPRESSION), deflate) != 0
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) != 0
    } else {
      ok = ok && ctiff_set_u16(tif, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_NONE)) != 0
    }
    let rows = TIFFDefaultStripSize(tif, 0)
    ok = ok && ctiff_set_u32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), rows) != 0
    guard ok else { throw .cannotOpen(path: path, reason: "libtiff rejected the RGB header") }
    // TIFFWriteScanline may modify its buffer (predictor), so each row goes through a copy.
    let rowBytes = image.width * 3
    var row = [UInt8](repeating: 0, count: rowBytes)
    for y in 0..<image.height {
      for i in 0..<rowBytes { row[i] = image.pixels[y * rowBytes + i] }
      let written = row.withUnsafeMutableBytes {
        TIFFWriteScanline(tif, $0.baseAddress, UInt32(y), 0)
      }
      if written < 0 { throw .cannotOpen(path: path, reason: "libtiff failed writing row \(y)") }
    }
    if TIFFFlush(tif) == 0 { throw .cannotOpen(path: path, reason: "libtiff failed to flush") }
  }

  // MARK: - Private

  /// The first `count` bytes of the file (fewer if it is shorter).
  private static func readHead(_ path: String, count: Int) throws(ImageIOError) -> [UInt8] {
    guard let file = fopen(path, "rb") else {
      throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    defer { fclose(file) }
    var head = [UInt8](repeating: 0, count: count)
    let got = head.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, file) }
    if got < count && ferror(file) != 0 {
      // For example a directory: fopen succeeds, reading fails with EISDIR.
      throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    return Array(head.prefix(got))
  }

  private static func pngMessage(_ png: inout png_image) -> String {
    withUnsafeBytes(of: &png.message) { raw in
      let bytes = raw.prefix { $0 != 0 }
      return String(decoding: bytes, as: UTF8.self)
    }
  }

  private static func readPNG(_ path: String) throws(ImageIOError) -> RGBImage {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&png, path) != 0 else {
      let message = pngMessage(&png)
      png_image_free(&png)
      throw .corrupt(path: path, reason: "PNG header: \(message)")
    }
    let width = Int(png.width)
    let height = Int(png.height)
    guard width > 0, height > 0, width * height <= maxPixels else {
      png_image_free(&png)
      throw .corrupt(path: path, reason: "PNG claims an implausible size \(width)×\(height)")
    }
    if png.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 {
      return try readPNG16(&png, path: path, width: width, height: height)
    }
    png.format = UInt32(PNG_FORMAT_RGB)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    var white = png_color(red: 255, green: 255, blue: 255)
    let ok = pixels.withUnsafeMutableBytes { buffer in
      png_image_finish_read(&png, &white, buffer.baseAddress, 0, nil)
    }
    let message = pngMessage(&png)
    png_image_free(&png)
    guard ok != 0 else { throw .corrupt(path: path, reason: "PNG data: \(message)") }
    return RGBImage(width: width, height: height, pixels: pixels)
  }

  /// 16-bit PNGs: read the samples as 16-bit RGBA (libpng premultiplies alpha in this format),
  /// composite on white and reduce with `round(v / 257)`, as PIL and OpenCV do. libpng's own
  /// 16→8-bit path would instead treat untagged 16-bit data as linear light and re-encode it to
  /// sRGB, brightening mid-tones.
  private static func readPNG16(
    _ png: inout png_image, path: String, width: Int, height: Int
  ) throws(ImageIOError) -> RGBImage {
    png.format = UInt32(PNG_FORMAT_FLAG_LINEAR | PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
    var wide = [UInt16](repeating: 0, count: width * height * 4)
    let ok = wide.withUnsafeMutableBytes { buffer in
      png_image_finish_read(&png, nil, buffer.baseAddress, 0, nil)
    }
    let message = pngMessage(&png)
    png_image_free(&png)
    guard ok != 0 else { throw .corrupt(path: path, reason: "PNG data: \(message)") }
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) {
      let pad = 65_535 - Int(wide[4 * i + 3])
      for c in 0..<3 {
        let v = min(65_535, Int(wide[4 * i + c]) + pad)
        pixels[3 * i + c] = UInt8((v + 128) / 257)
      }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
  }

  private static func readTIFF(_ path: String) throws(ImageIOError) -> RGBImage {
    ctiff_quiet()
    guard let tif = TIFFOpen(path, "r") else {
      throw .corrupt(path: path, reason: "libtiff could not parse the TIFF header")
    }
    defer { TIFFClose(tif) }
    var w: UInt32 = 0
    var h: UInt32 = 0
    guard ctiff_get_u32(tif, UInt32(TIFFTAG_IMAGEWIDTH), &w) != 0,
      ctiff_get_u32(tif, UInt32(TIFFTAG_IMAGELENGTH), &h) != 0
    else { throw .corrupt(path: path, reason: "TIFF without image width/length") }
    let width = Int(w)
    let height = Int(h)
    guard width > 0, height > 0, width * height <= maxPixels else {
      throw .corrupt(path: path, reason: "TIFF claims an implausible size \(width)×\(height)")
    }
    var raster = [UInt32](repeating: 0, count: width * height)
    let ok = raster.withUnsafeMutableBufferPointer { buffer in
      TIFFReadRGBAImageOriented(tif, w, h, buffer.baseAddress, Int32(ORIENTATION_TOPLEFT), 0)
    }
    guard ok != 0 else { throw .corrupt(path: path, reason: "libtiff could not decode the pixels") }
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) {
      // ABGR packing: R in the low byte; premultiplied alpha in the high byte.
      let v = raster[i]
      let pad = 255 - Int(v >> 24)
      pixels[3 * i] = UInt8(min(255, Int(v & 0xFF) + pad))
      pixels[3 * i + 1] = UInt8(min(255, Int((v >> 8) & 0xFF) + pad))
      pixels[3 * i + 2] = UInt8(min(255, Int((v >> 16) & 0xFF) + pad))
    }
    return RGBImage(width: width, height: height, pixels: pixels)
  }
}

extension ImageIOError: UserFacingError {}

import Foundation
import Testing

@testable import Vision

/// A fresh path under the temporary directory.
private func temporaryPath(_ name: String) -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
    "VisionTests-\(UUID().uuidString)")
  try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir.appendingPathComponent(name).path
}

/// A deterministic test pattern with every byte value present.
private func pattern(width: Int, height: Int) -> RGBImage {
  var pixels = [UInt8](repeating: 0, count: width * height * 3)
  for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 37 &+ i / 7) }
  return RGBImage(width: width, height: height, pixels: pixels)
}

@Suite struct ImageIOTests {
  @Test func pngRoundTripIsExact() throws {
    let image = pattern(width: 37, height: 23)
    let path = temporaryPath("round.png")
    try ImageIO.writePNG(image, to: path)
    #expect(try ImageIO.read(path) == image)
  }

  @Test func tiffRoundTripIsExact() throws {
    let image = pattern(width: 41, height: 19)
    let path = temporaryPath("round.tif")
    try ImageIO.writeTIFF(image, to: path)
    #expect(try ImageIO.read(path) == image)
  }

  @Test func syntheticTileRoundTripsThroughBothFormats() throws {
    let tile = SyntheticTissue(seed: 3).image(label: 4, index: 0)
    let png = temporaryPath("tile.png")
    let tif = temporaryPath("tile.tiff")
    try ImageIO.writePNG(tile, to: png)
    try ImageIO.writeTIFF(tile, to: tif)
    #expect(try ImageIO.read(png) == tile)
    #expect(try ImageIO.read(tif) == tile)
  }

  @Test func truncatedPNGThrowsNamingThePath() throws {
    let path = temporaryPath("full.png")
    try ImageIO.writePNG(pattern(width: 64, height: 64), to: path)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let cut = temporaryPath("truncated.png")
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
    do {
      _ = try ImageIO.read(cut)
      Issue.record("reading a truncated PNG did not throw")
    } catch {
      guard case .corrupt(let p, _) = error else {
        Issue.record("expected .corrupt, got \(error)")
        return
      }
      #expect(p == cut)
      #expect(error.description.contains(cut))
    }
  }

  @Test func truncatedTIFFThrows() throws {
    let path = temporaryPath("full.tif")
    try ImageIO.writeTIFF(pattern(width: 64, height: 64), to: path)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let cut = temporaryPath("truncated.tif")
    try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: cut))
    #expect(throws: ImageIOError.self) { try ImageIO.read(cut) }
  }

  @Test func nonImageFileThrowsUnsupportedFormat() throws {
    let path = temporaryPath("notes.png")
    try Data("just some text, not an image\n".utf8).write(to: URL(fileURLWithPath: path))
    #expect(throws: ImageIOError.unsupportedFormat(path: path)) { try ImageIO.read(path) }
    let message = ImageIOError.unsupportedFormat(path: path).description
    #expect(message.contains(path) && message.contains("PNG"))
  }

  @Test func emptyAndGarbageFilesThrow() throws {
    let empty = temporaryPath("empty.tif")
    try Data().write(to: URL(fileURLWithPath: empty))
    #expect(throws: ImageIOError.unsupportedFormat(path: empty)) { try ImageIO.read(empty) }
    // A PNG signature followed by garbage.
    let garbage = temporaryPath("garbage.png")
    var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    for i in 0..<200 { bytes.append(UInt8(truncatingIfNeeded: i * 91 + 7)) }
    try Data(bytes).write(to: URL(fileURLWithPath: garbage))
    #expect(throws: ImageIOError.self) { try ImageIO.read(garbage) }
    // A TIFF header followed by garbage.
    let badTIFF = temporaryPath("garbage.tif")
    var tiff: [UInt8] = [0x49, 0x49, 42, 0, 0xFF, 0xFF, 0, 0]
    for i in 0..<100 { tiff.append(UInt8(truncatingIfNeeded: i * 13)) }
    try Data(tiff).write(to: URL(fileURLWithPath: badTIFF))
    #expect(throws: ImageIOError.self) { try ImageIO.read(badTIFF) }
  }

  @Test func missingFileThrowsCannotOpen() {
    let path = temporaryPath("does-not-exist.png")
    do {
      _ = try ImageIO.read(path)
      Issue.record("reading a missing file did not throw")
    } catch {
      guard case .cannotOpen(let p, _) = error else {
        Issue.record("expected .cannotOpen, got \(error)")
        return
      }
      #expect(p == path)
    }
  }

  @Test func directoryThrowsCannotOpen() throws {
    let dir = temporaryPath("folder.png")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    do {
      _ = try ImageIO.read(dir)
      Issue.record("reading a directory did not throw")
    } catch {
      guard case .cannotOpen(let p, _) = error else {
        Issue.record("expected .cannotOpen, got \(error)")
        return
      }
      #expect(p == dir)
    }
  }

  @Test func unwritablePathThrows() {
    let image = pattern(width: 4, height: 4)
    #expect(throws: ImageIOError.self) {
      try ImageIO.writePNG(image, to: "/nonexistent-dir-for-tests/x.png")
    }
    #expect(throws: ImageIOError.self) {
      try ImageIO.writeTIFF(image, to: "/nonexistent-dir-for-tests/x.tif")
    }
  }

  @Test func pngWithAlphaCompositesOnWhite() throws {
    // RGBA, 8 bit: a transparent pixel reads back white, an opaque one keeps its colour.
    let path = temporaryPath("alpha.png")
    try minimalPNG(
      width: 2, height: 1, colourType: 6, bitDepth: 8,
      rows: [
        [10, 20, 30, 255, 10, 20, 30, 0]
      ]
    ).write(to: URL(fileURLWithPath: path))
    #expect(try ImageIO.read(path).pixels == [10, 20, 30, 255, 255, 255])
  }

  @Test func sixteenBitGreyPNGReadsAsRGB8() throws {
    // Grey, 16 bit, big-endian samples 0x0000, 0xFFFF, 0x8080.
    let path = temporaryPath("grey16.png")
    try minimalPNG(
      width: 3, height: 1, colourType: 0, bitDepth: 16,
      rows: [
        [0x00, 0x00, 0xFF, 0xFF, 0x80, 0x80]
      ]
    ).write(to: URL(fileURLWithPath: path))
    let read = try ImageIO.read(path)
    #expect(read.width == 3 && read.height == 1)
    #expect(Array(read.pixels[0..<6]) == [0, 0, 0, 255, 255, 255])
    #expect(read.pixels[6] == read.pixels[7] && read.pixels[7] == read.pixels[8])
    #expect(read.pixels[6] == 128)  // 0x8080 / 257 = 128
  }
}

/// A PNG built byte by byte (stored, uncompressed deflate blocks), so tests can make colour types
/// and bit depths that `ImageIO.writePNG` never writes. `rows` are unfiltered scanlines.
private func minimalPNG(
  width: Int, height: Int, colourType: UInt8, bitDepth: UInt8, rows: [[UInt8]]
) -> Data {
  func be32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
  }
  func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
      c ^= UInt32(b)
      for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
  }
  func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return be32(UInt32(data.count)) + body + be32(crc32(body))
  }
  var raw: [UInt8] = []
  for row in rows { raw += [0] + row }
  var a: UInt32 = 1
  var b: UInt32 = 0
  for x in raw {
    a = (a + UInt32(x)) % 65521
    b = (b + a) % 65521
  }
  let n = UInt16(raw.count)
  let zlib: [UInt8] =
    [0x78, 0x01, 0x01, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8)] + raw
    + be32((b << 16) | a)
  let header = be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colourType, 0, 0, 0]
  let bytes: [UInt8] =
    [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
    + chunk("IDAT", zlib) + chunk("IEND", [])
  return Data(bytes)
}

import Foundation
import Slides
import Testing
import Vision

@Suite struct WholeSlideImageTests {
  func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
  }

  func gradient(_ w: Int, _ h: Int) -> RGBImage {
    var p = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
      for x in 0..<w {
        p[(y * w + x) * 3] = UInt8((x * 255) / max(w - 1, 1))
        p[(y * w + x) * 3 + 1] = UInt8((y * 255) / max(h - 1, 1))
        p[(y * w + x) * 3 + 2] = UInt8((x + y) % 256)
      }
    }
    return RGBImage(width: w, height: h, pixels: p)
  }

  /// Our tiled pyramidal TIFF → OpenSlide: every level, pixel-exact (deflate is lossless).
  @Test func pyramidRoundTripsThroughOpenSlide() throws {
    let path = temporaryPath("pyramid.tiff")
    let image = gradient(1024, 640)
    try TiledTIFFWriter.write(image, to: path, levels: 3, tileSize: 128, micronsPerPixel: 0.25)
    let slide = try WholeSlideImage(path: path)
    #expect(WholeSlideImage.isSlide(path: path))
    #expect(slide.levelCount == 3)
    #expect(slide.levelDimensions.map(\.width) == [1024, 512, 256])
    #expect(slide.levelDimensions.map(\.height) == [640, 320, 160])
    #expect(slide.levelDownsamples == [1, 2, 4])
    let mpp = try #require(slide.micronsPerPixel)
    #expect(abs(mpp.x - 0.25) < 1e-6 && abs(mpp.y - 0.25) < 1e-6)
    #expect(slide.bestLevel(forDownsample: 2.5) == 1)
    let full = try slide.readRegion(x: 0, y: 0, level: 0, width: 1024, height: 640)
    #expect(full == image)
    let region = try slide.readRegion(x: 100, y: 50, level: 0, width: 30, height: 20)
    #expect(region == image.cropped(x: 100, y: 50, width: 30, height: 20))
    var level = image
    for l in 1..<3 {
      level = TiledTIFFWriter.halved(level)
      let read = try slide.readRegion(x: 0, y: 0, level: l, width: level.width, height: level.height)
      #expect(read == level, "level \(l) differs from the writer's halving")
    }
    // Outside the slide OpenSlide returns transparent pixels: straight RGB gives white.
    let outside = try slide.readRegion(x: 10_000, y: 10_000, level: 0, width: 4, height: 4)
    #expect(outside.pixels.allSatisfy { $0 == 255 })
  }

  @Test func badFilesAreTypedErrors() throws {
    let missing = temporaryPath("none.svs")
    #expect(throws: SlideError.self) { try WholeSlideImage(path: missing) }
    let text = temporaryPath("not-a-slide.tiff")
    try Data("not a tiff at all".utf8).write(to: URL(fileURLWithPath: text))
    let e = #expect(throws: SlideError.self) { try WholeSlideImage(path: text) }
    #expect(e?.description.contains(text) == true)
    // A truncated pyramid: header intact, tiles cut off.
    let good = temporaryPath("good.tiff")
    try TiledTIFFWriter.write(gradient(512, 512), to: good, levels: 2, tileSize: 128)
    let data = try Data(contentsOf: URL(fileURLWithPath: good))
    let cut = temporaryPath("truncated.tiff")
    try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: cut))
    do {
      let slide = try WholeSlideImage(path: cut)
      _ = try slide.readRegion(x: 0, y: 0, level: 0, width: 512, height: 512)
      Issue.record("a truncated slide read without error")
    } catch let error as SlideError {
      #expect(error.description.contains(cut))
    }
  }

  @Test func tissueFilterSkipsGlass() throws {
    var image = RGBImage(width: 512, height: 256, fill: (245, 245, 245))
    for y in 0..<256 { for x in 256..<512 { image.pixels[(y * 512 + x) * 3] = 200; image.pixels[(y * 512 + x) * 3 + 1] = 120; image.pixels[(y * 512 + x) * 3 + 2] = 200 } }
    let path = temporaryPath("half.tiff")
    try TiledTIFFWriter.write(image, to: path, levels: 1, tileSize: 128)
    let tiles = try SlideTiles.tiles(of: WholeSlideImage(path: path), size: 128)
    #expect(tiles.count == 4)
    #expect(tiles.allSatisfy { $0.x >= 256 })
  }
}

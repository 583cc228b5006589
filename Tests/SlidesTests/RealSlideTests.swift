import Basics
import Foundation
import Testing
import Vision

@testable import Slides

/// OpenSlide's CC0 test slide CMU-1-Small-Region.svs, fetched by `scripts/fetch-test-slide.sh`
/// into `.cache/test-slides/` (or `$REPLICATE_CACHE/test-slides/`).
let realSlidePath: String = {
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  let cache = ProcessInfo.processInfo.environment["REPLICATE_CACHE"].map { URL(fileURLWithPath: $0) }
    ?? root.appendingPathComponent(".cache")
  return cache.appendingPathComponent("test-slides/CMU-1-Small-Region.svs").path
}()

@Suite(
  .enabled(
    if: FileManager.default.fileExists(atPath: realSlidePath),
    "CMU-1-Small-Region.svs is not in .cache/test-slides (run scripts/fetch-test-slide.sh; it needs PyPI)"))
struct RealSlideTests {
  /// Geometry and properties as openslide-python 1.4.7 on libopenslide 3.4.1 reports them.
  @Test func levelsDimensionsAndMicronsPerPixel() throws {
    let slide = try WholeSlideImage(path: realSlidePath)
    #expect(slide.vendor == "aperio")
    #expect(slide.levelCount == 1)
    #expect(slide.levelDimensions[0].width == 2220 && slide.levelDimensions[0].height == 2967)
    #expect(slide.levelDownsamples == [1])
    let mpp = try #require(slide.micronsPerPixel)
    #expect(mpp.x == 0.499 && mpp.y == 0.499)
    #expect(slide.properties["openslide.objective-power"] == "20")
    #expect(slide.properties["openslide.quickhash-1"]
      == "6335ea0e6cc54c2cba64bb265d3c713a50cd84484924e3a9c109558c13521d5c")
  }

  /// A 64×48 region at (1000, 1200): pixels and SHA-256 of the RGB bytes recorded once with
  /// openslide-python 1.4.7 (`read_region((1000, 1200), 0, (64, 48))`, alpha 255 everywhere).
  @Test func regionPixelsMatchOpenSlidePython() throws {
    let slide = try WholeSlideImage(path: realSlidePath)
    let region = try slide.readRegion(x: 1000, y: 1200, level: 0, width: 64, height: 48)
    func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(region.pixels[(3 * (y * 64 + x))..<(3 * (y * 64 + x) + 3)]) }
    #expect(pixel(0, 0) == [228, 152, 161])
    #expect(pixel(10, 5) == [251, 176, 206])
    #expect(pixel(63, 47) == [144, 96, 143])
    #expect(pixel(32, 24) == [233, 147, 175])
    var hasher = SHA256Hasher()
    hasher.update(region.pixels)
    #expect(hasher.finalize() == "53db8bb8d89e1012e41d55c19261fb06227708a410eaaf93ecfee29dda6769d3")
  }

  /// The whole pipeline's tissue and grid steps run on a real Aperio slide.
  @Test func tissueDetectionAndTilingFindTissue() throws {
    let slide = try WholeSlideImage(path: realSlidePath)
    // Camelyon16 preset settings (CLAM bwh_biopsy): the default minimum tissue area (100 reference
    // patches) is larger than this small region.
    let parameters = TissueDetectionParameters(
      level: .index(0), threshold: .fixed(15), medianKernel: 11, closeKernel: 2,
      minTissueArea: TissueDetectionParameters.clamAreaUnit, maxHoleArea: TissueDetectionParameters.clamAreaUnit,
      maxHoles: 2)
    let mask = try TissueDetection.detect(in: slide, parameters: parameters)
    #expect(mask.tissueArea > 0.2 * 2220 * 2967)
    let grid = try TilingGrid(
      slide: slide, parameters: TilingParameters(resolution: .magnification(20), patchSize: 256), tissue: mask)
    #expect(grid.readLevel == 0 && grid.scale == 1)
    #expect(grid.tiles.count > 20)
  }
}

import Foundation
import Slides
import Testing
import Vision

/// OpenCV's outputs on a 40×32 H&E-like image (`Fixtures/make_tissue_reference.py`).
struct TissueReference: Decodable {
  struct OtsuCase: Decodable {
    var kind: String
    var values: [UInt8]
    var threshold: Int
  }
  var generator: String
  var width: Int
  var height: Int
  var rgb: [UInt8]
  var saturation: [UInt8]
  var median7: [UInt8]
  var median3: [UInt8]
  var otsu: Int
  var closed3: [UInt8]
  var satClosed3: [UInt8]
  var satClosed5: [UInt8]
  var otsuCases: [OtsuCase]

  static func load() throws -> TissueReference {
    let url = try #require(
      Bundle.module.url(forResource: "tissue_reference", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(TissueReference.self, from: Data(contentsOf: url))
  }
}

/// A slide on glass: 2048×1536 level 0 (4 levels, 0.25 µm/px), background (240, 238, 242), a
/// pink block [512, 1536) × [384, 1152) with a 128² glass hole at (960, 704), and a 64² pink
/// speck at (128, 128).
func syntheticSlide() throws -> String {
  var image = RGBImage(width: 2048, height: 1536, fill: (240, 238, 242))
  func paint(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int, _ c: (UInt8, UInt8, UInt8)) {
    for y in y0..<(y0 + h) {
      for x in x0..<(x0 + w) {
        let i = (y * 2048 + x) * 3
        image.pixels[i] = c.0
        image.pixels[i + 1] = c.1
        image.pixels[i + 2] = c.2
      }
    }
  }
  paint(512, 384, 1024, 768, (200, 110, 180))
  paint(960, 704, 128, 128, (240, 238, 242))
  paint(128, 128, 64, 64, (200, 110, 180))
  let path = try temporaryFile("synthetic-slide.tiff")
  try TiledTIFFWriter.write(image, to: path, levels: 4, tileSize: 128, micronsPerPixel: 0.25)
  return path
}

@Suite struct TissueDetectionTests {
  @Test func filtersMatchOpenCV() throws {
    let ref = try TissueReference.load()
    let image = RGBImage(width: ref.width, height: ref.height, pixels: ref.rgb)
    let saturation = image.saturation()
    #expect(saturation.pixels == ref.saturation)
    #expect(saturation.medianBlurred(kernel: 7).pixels == ref.median7)
    #expect(saturation.medianBlurred(kernel: 3).pixels == ref.median3)
    let median = saturation.medianBlurred(kernel: 7)
    #expect(Int(OtsuThreshold.threshold(median)) == ref.otsu)
    let binary = median.pixels.map { Int($0) > ref.otsu ? UInt8(1) : 0 }
    #expect(BinaryMorphology.closed(binary, width: ref.width, height: ref.height, kernel: 3) == ref.closed3)
    let speckled = saturation.pixels.map { $0 > 20 ? UInt8(1) : 0 }
    #expect(BinaryMorphology.closed(speckled, width: ref.width, height: ref.height, kernel: 3) == ref.satClosed3)
    #expect(BinaryMorphology.closed(speckled, width: ref.width, height: ref.height, kernel: 5) == ref.satClosed5)
    for c in ref.otsuCases {
      let g = GrayImage(width: c.values.count, height: 1, pixels: c.values)
      #expect(Int(OtsuThreshold.threshold(g)) == c.threshold, "\(c.kind) (\(ref.generator))")
    }
  }

  @Test func otsuOnHandComputedHistograms() {
    func otsu(_ values: [UInt8]) -> UInt8 {
      OtsuThreshold.threshold(GrayImage(width: values.count, height: 1, pixels: values))
    }
    // {10, 10, 20, 90}: splitting after 10 gives 2·2·(10 − 55)² = 8100; after 20 gives
    // 3·1·(40/3 − 90)² ≈ 17633; so t = 20 and only 90 is foreground.
    #expect(otsu([10, 10, 20, 90]) == 20)
    // Two spikes: σ²_B is the same for every t in [50, 199]; the first maximum is taken.
    #expect(otsu([UInt8](repeating: 50, count: 8) + [UInt8](repeating: 200, count: 8)) == 50)
    // A constant image has no split: t is its value and nothing is foreground.
    #expect(otsu([UInt8](repeating: 77, count: 9)) == 77)
  }

  @Test func evenClosingFillsGapsWithoutShifting() {
    // A 1-pixel gap between two bars is bridged; the result contains the input, unshifted.
    // (The bars stay 3 pixels from the border: like OpenCV, erosion sees 1 beyond the image,
    // so tissue within the kernel's reach of the border is extended to it.)
    let w = 12
    let h = 12
    var mask = [UInt8](repeating: 0, count: w * h)
    for y in 2..<6 {
      for x in 2..<5 { mask[y * w + x] = 1 }
      for x in 6..<9 { mask[y * w + x] = 1 }
    }
    let closed = BinaryMorphology.closed(mask, width: w, height: h, kernel: 4)
    #expect(zip(mask, closed).allSatisfy { $0 <= $1 })
    var expected = mask
    for y in 2..<6 { expected[y * w + 5] = 1 }
    #expect(closed == expected)
  }

  @Test func componentAndHoleFilters() {
    // 12×12: a 8×8 block with a 2×2 hole and a 3×3 hole, and a lone 1×1 speck.
    let w = 12
    let h = 12
    var mask = [UInt8](repeating: 0, count: w * h)
    for y in 1..<9 { for x in 1..<9 { mask[y * w + x] = 1 } }
    for (x, y) in [(3, 3), (4, 3), (3, 4), (4, 4)] { mask[y * w + x] = 0 }
    for y in 5..<8 { for x in 5..<8 { mask[y * w + x] = 0 } }
    mask[10 * w + 10] = 1
    func run(minArea: Double, maxHole: Double, maxHoles: Int) -> [UInt8] {
      TissueDetection.filtered(
        mask, width: w, height: h, pixelArea: 1, minTissueArea: minArea, maxHoleArea: maxHole, maxHoles: maxHoles)
    }
    // Speck (1 px) dropped; the 4-px hole filled (≤ 4), the 9-px hole kept.
    let a = run(minArea: 1, maxHole: 4, maxHoles: 8)
    #expect(a[10 * w + 10] == 0 && a[3 * w + 3] == 1 && a[6 * w + 6] == 0)
    // At most one hole per component: the larger one stays.
    let b = run(minArea: 0, maxHole: 0, maxHoles: 1)
    #expect(b[10 * w + 10] == 1 && b[3 * w + 3] == 1 && b[6 * w + 6] == 0)
    // Keep every hole.
    let c = run(minArea: 0, maxHole: 0, maxHoles: 8)
    #expect(c == mask)
  }

  @Test func maskOfASyntheticSlideCoversTheBlock() throws {
    let slide = try WholeSlideImage(path: syntheticSlide())
    #expect(slide.levelCount == 4)
    var parameters = TissueDetectionParameters.clamDefault
    parameters.minTissueArea = 1 * TissueDetectionParameters.clamAreaUnit  // the block is 3 units
    #expect(try TissueDetection.segmentationLevel(of: slide, parameters: parameters) == 3)
    let mask = try TissueDetection.detect(in: slide, parameters: parameters)
    #expect(mask.width == 256 && mask.height == 192)
    #expect(mask.downsampleX == 8 && mask.downsampleY == 8)
    // The block is 128×96 mask pixels; the 7×7 median rounds each corner off by 5 pixels
    // (a corner pixel's window holds 16, 20 or 24 of 49 block pixels, fewer than the 25 a
    // median needs), and closing does not restore convex corners. The 16² hole is filled
    // (≤ 16 units) and the speck removed by the area filter.
    let blockPixels = 128 * 96 - 4 * 5
    #expect(mask.tissuePixelCount == blockPixels)
    #expect(mask.tissueArea == Double(blockPixels * 64))
    #expect(mask.coverage(of: rect(576, 448, 896, 640)) == 1)  // the block without its corners
    #expect(mask.coverage(of: rect(0, 0, 512, 384)) == 0)
    #expect(mask.coverage(of: rect(1536, 0, 512, 1536)) == 0)
    #expect(mask.coverage(of: rect(1280, 512, 512, 256)) == 0.5)  // half of it is block
    // Keeping holes: the glass hole inside the block stays background (less its rounded
    // corners, where the median lets tissue in).
    parameters.maxHoleArea = 0
    let holed = try TissueDetection.detect(in: slide, parameters: parameters)
    #expect(holed.coverage(of: rect(968, 712, 112, 112)) == 0)
    #expect(holed.tissuePixelCount == blockPixels - (16 * 16 - 4 * 5))
    // Otsu instead of a fixed threshold finds the same block.
    parameters.threshold = .otsu
    #expect(try TissueDetection.detect(in: slide, parameters: parameters) == holed)
    // The CLAM default area filter (100 × 512²) drops the whole block.
    #expect(try TissueDetection.detect(in: slide).tissuePixelCount == 0)
  }
}

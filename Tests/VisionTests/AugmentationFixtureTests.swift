import Engine
import Foundation
import Testing

@testable import Vision

/// Golden values from torchvision 0.28's tensor functionals (see the header of
/// `Fixtures/make_augmentation_fixture.py`: torchvision's `_functional_tensor.py` loaded by path).
private struct AugmentationFixture: Decodable {
  struct Case: Decodable {
    var name: String
    var params: [String: Double]
    var shape: [Int]
    var values: [Float]
  }
  var source: String
  var height: Int
  var width: Int
  /// CHW bytes.
  var image: [Int]
  var cases: [Case]

  static func load() throws -> AugmentationFixture {
    let url = try #require(
      Bundle.module.url(forResource: "augmentation_fixture", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(AugmentationFixture.self, from: Data(contentsOf: url))
  }

  var rgb: RGBImage {
    let plane = width * height
    var hwc = [UInt8](repeating: 0, count: 3 * plane)
    for c in 0..<3 { for i in 0..<plane { hwc[3 * i + c] = UInt8(image[c * plane + i]) } }
    return RGBImage(width: width, height: height, pixels: hwc)
  }
}

@Suite struct AugmentationFixtureTests {
  /// Largest |ours − torchvision| over a case.
  private func maxError(_ ours: [Float], _ reference: [Float]) -> Float {
    precondition(ours.count == reference.count, "\(ours.count) vs \(reference.count) values")
    return zip(ours, reference).map { abs($0 - $1) }.max() ?? 0
  }

  @Test func everyCaseMatchesTorchvision() throws {
    let fixture = try AugmentationFixture.load()
    let source = FloatImage(fixture.rgb)
    #expect(fixture.cases.count >= 30)
    for c in fixture.cases {
      let p = c.params
      var f = source
      var tolerance: Float = 2e-6
      switch c.name {
      case "resized_crop":
        let box = CropBox(
          top: Int(p["top"] ?? 0), left: Int(p["left"] ?? 0), height: Int(p["height"] ?? 0), width: Int(p["width"] ?? 0))
        f = fixture.rgb.resizedCrop(
          box, width: Int(p["outWidth"] ?? 0), height: Int(p["outHeight"] ?? 0), antialias: p["antialias"] == 1)
      case "brightness": f.adjustBrightness(Float(p["factor"] ?? 0))
      case "contrast": f.adjustContrast(Float(p["factor"] ?? 0))
      case "saturation": f.adjustSaturation(Float(p["factor"] ?? 0))
      case "hue":
        f.adjustHue(Float(p["factor"] ?? 0))
        tolerance = 1e-5  // HSV round trip: a few float32 ulps of division
      case "grayscale": f.convertToGrayscale()
      case "solarize": f.solarize(threshold: Float(p["threshold"] ?? 0))
      case "gaussian_blur":
        let k = Int(p["kernel"] ?? 1)
        f.gaussianBlur(sigma: p["sigma"] ?? 1, radius: k / 2)
      case "normalize": Normalize.imageNet.apply(to: &f)
        tolerance = 1e-5  // values up to ~2.6 after dividing by 0.225
      case "hflip": f.flipHorizontally()
      case "jitter_chain":
        let order = [p["o0"], p["o1"], p["o2"], p["o3"]].map { Int($0 ?? 0) }
        for step in order {
          switch step {
          case 0: f.adjustBrightness(Float(p["b"] ?? 1))
          case 1: f.adjustContrast(Float(p["c"] ?? 1))
          case 2: f.adjustSaturation(Float(p["s"] ?? 1))
          default: f.adjustHue(Float(p["h"] ?? 0))
          }
        }
        tolerance = 1e-5
      default:
        Issue.record("unknown fixture case \(c.name)")
        continue
      }
      #expect([3, f.height, f.width] == c.shape, "\(c.name) \(p)")
      let error = maxError(f.pixels, c.values)
      #expect(error <= tolerance, "\(c.name) \(p): max |Δ| = \(error)")
    }
  }
}

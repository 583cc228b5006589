import Engine
import Testing

@testable import Vision

/// FNV-1a 64 over bytes: a compact fingerprint for golden checks.
func fingerprint(_ images: [RGBImage]) -> UInt64 {
  var h: UInt64 = 0xCBF2_9CE4_8422_2325
  for image in images {
    for byte in image.pixels { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
  }
  return h
}

@Suite struct TissueTextureTests {
  /// `synthetic-tissue` v1 bytes are frozen: calibrated bands and recorded dataset hashes depend on
  /// them. The value was recorded from the v1 painters before they learned rectangular canvases
  /// for whole slides; any change to a painter that alters a byte must bump
  /// `SyntheticTissue.version`.
  @Test func syntheticTissueBytesAreFrozen() {
    let generator = SyntheticTissue(seed: 7)
    let images = (0..<8).flatMap { label in (0..<2).map { generator.image(label: label, index: $0) } }
    #expect(fingerprint(images) == 5_245_181_393_080_593_318, "fingerprint \(fingerprint(images))")
  }
}

@Suite struct TissueTextureShapeTests {
  /// A rectangular canvas is exactly the top-left part of the square canvas of its longer side,
  /// for every class (so whole-slide regions get the same textures as square tiles).
  @Test(arguments: 0..<8) func rectangleIsTheTopLeftOfTheSquare(_ label: Int) {
    var a = RandomGenerator(seed: 11)
    var b = RandomGenerator(seed: 11)
    let square = TissueTexture.render(label: label, width: 96, height: 96, scale: 1.2, using: &a)
    let wide = TissueTexture.render(label: label, width: 96, height: 40, scale: 1.2, using: &b)
    let wideMatches = Array(square.hematoxylin[0..<(96 * 40)]) == wide.hematoxylin
      && Array(square.eosin[0..<(96 * 40)]) == wide.eosin
    #expect(wideMatches, "96×40 is not the top of 96×96")
    var c = RandomGenerator(seed: 11)
    let tall = TissueTexture.render(label: label, width: 30, height: 96, scale: 1.2, using: &c)
    let tallMatches = (0..<96).allSatisfy { y in
      Array(square.hematoxylin[(y * 96)..<(y * 96 + 30)]) == Array(tall.hematoxylin[(y * 30)..<(y * 30 + 30)])
        && Array(square.eosin[(y * 96)..<(y * 96 + 30)]) == Array(tall.eosin[(y * 30)..<(y * 30 + 30)])
    }
    #expect(tallMatches, "30×96 is not the left of 96×96")
  }

  @Test func upsamplingKeepsValuesAndInterpolates() {
    let maps = StainMaps(width: 2, height: 2, hematoxylin: [0, 1, 2, 3], eosin: [4, 4, 4, 4])
    #expect(maps.upsampled(by: 1, width: 2, height: 2).hematoxylin == maps.hematoxylin)
    let big = maps.upsampled(by: 2, width: 4, height: 4)
    // Centres aligned: output 1 samples input 0.25, output 2 samples 0.75; edges clamp.
    #expect(big.hematoxylin[0] == 0 && big.hematoxylin[3] == 1 && big.hematoxylin[15] == 3)
    #expect(abs(big.hematoxylin[1] - 0.25) < 1e-6 && abs(big.hematoxylin[2] - 0.75) < 1e-6)
    #expect(big.eosin.allSatisfy { $0 == 4 })
    #expect(maps.means().hematoxylin == 1.5)
  }

  @Test func stainStyleIsDeterministicAndBrightWithoutStain() {
    var a = RandomGenerator(seed: 2)
    var b = RandomGenerator(seed: 2)
    #expect(StainStyle.random(using: &a) == StainStyle.random(using: &b))
    let style = StainStyle(hematoxylin: .init(0.65, 0.70, 0.29), eosin: .init(0.07, 0.99, 0.11), background: .zero)
    let h: [Float] = [0, 1]
    let e: [Float] = [0, 0]
    var out = [UInt8](repeating: 0, count: 6)
    var rng = RandomGenerator(seed: 3)
    h.withUnsafeBufferPointer { hp in
      e.withUnsafeBufferPointer { ep in
        out.withUnsafeMutableBufferPointer { o in
          style.compose(h: hp.baseAddress!, e: ep.baseAddress!, count: 2, into: o.baseAddress!, using: &rng)
        }
      }
    }
    // No stain: white ± 1.5 grey levels of noise; hematoxylin 1: 255·exp(−0.65) ≈ 133 red.
    #expect(out[0...2].allSatisfy { $0 >= 253 })
    #expect(abs(Int(out[3]) - 133) <= 2 && abs(Int(out[4]) - 126) <= 2 && abs(Int(out[5]) - 191) <= 2)
  }
}

import Engine
import Testing
import _TestSupport

@testable import Vision

/// A reproducible random image.
private func randomImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
  var rng = RandomGenerator(seed: seed)
  let pixels = (0..<(width * height * 3)).map { _ in UInt8(rng.nextInt(below: 256)) }
  return RGBImage(width: width, height: height, pixels: pixels)
}

/// A black image with one bright pixel (all three channels) at `(x, y)`.
private func impulse(width: Int, height: Int, x: Int, y: Int, value: UInt8 = 255) -> RGBImage {
  var image = RGBImage(width: width, height: height, fill: (0, 0, 0))
  for c in 0..<3 { image.pixels[3 * (y * width + x) + c] = value }
  return image
}

private func mean(_ image: RGBImage) -> Double {
  Double(image.pixels.reduce(0) { $0 + Int($1) }) / Double(image.pixels.count)
}

@Suite struct FilterTests {
  @Test func gaussianBlurKeepsConstantImage() {
    let flat = RGBImage(width: 20, height: 13, fill: (200, 17, 99))
    for sigma in [0.5, 1.0, 2.5, 8.0] {
      #expect(flat.gaussianBlur(sigma: sigma) == flat)
    }
  }

  @Test func gaussianBlurKeepsTheMean() {
    let image = randomImage(width: 64, height: 48, seed: 1)
    for sigma in [0.7, 1.5, 3.0] {
      let blurred = image.gaussianBlur(sigma: sigma)
      // Reflect-101 borders weight edge pixels slightly differently; interior mass is kept.
      expectClose(Double(mean(blurred)), Double(mean(image)), rtol: 0, atol: 0.6)
    }
  }

  @Test func zeroSigmaIsIdentity() {
    let image = randomImage(width: 9, height: 7, seed: 2)
    #expect(image.gaussianBlur(sigma: 0) == image)
    #expect(image.defocusBlur(radius: 0) == image)
  }

  @Test func blurredImpulseMatchesHandComputedKernel() {
    // σ = 1 → radius 3; k[i] = exp(−i²/2) / 2.50596 = 0.39905, 0.24203, 0.05401, 0.00443.
    // A 1-pixel-tall image is filtered in 1-D only (vertical reflect-101 of one row is itself).
    let row = impulse(width: 11, height: 1, x: 5, y: 0).gaussianBlur(sigma: 1)
    let expected: [UInt8] = [0, 0, 1, 14, 62, 102, 62, 14, 1, 0, 0]  // round(255 k[i])
    #expect((0..<11).map { row.pixels[3 * $0] } == expected)
    // 2-D: the centre is 255·k₀² = 40.6, the diagonal neighbour 255·k₁² = 14.9.
    let square = impulse(width: 15, height: 15, x: 7, y: 7).gaussianBlur(sigma: 1)
    #expect(square.pixels[3 * (7 * 15 + 7)] == 41)
    #expect(square.pixels[3 * (8 * 15 + 8) + 1] == 15)
  }

  @Test func blurUsesReflect101Borders() {
    // Reflect-101 mirrors without repeating the edge (… 2 1 | 0 1 2 …); the impulse sits at
    // x = 1, so position −1 also holds it. Pixel 0: 255·2k₁ = 123.4; pixel 1: 255·(k₀ + k₂) =
    // 115.5; pixel 2: 255·(k₁ + k₃) = 62.8; pixel 3: 255·k₂ = 13.8.
    let row = impulse(width: 6, height: 1, x: 1, y: 0).gaussianBlur(sigma: 1)
    #expect((0..<4).map { row.pixels[3 * $0] } == [123, 116, 63, 14])
  }

  @Test func defocusImpulseSpreadsOverDisk() {
    let r = 4.0
    let out = impulse(width: 31, height: 31, x: 15, y: 15).defocusBlur(radius: r)
    let lit = stride(from: 0, to: out.pixels.count, by: 3).filter { out.pixels[$0] > 0 }.count
    let area = Double.pi * r * r
    #expect(Double(lit) > 0.75 * area && Double(lit) < 1.4 * area)
    // Isotropic: equal spread along x and y, nothing beyond r + 1.
    #expect(out.pixels[3 * (15 * 31 + 19)] == out.pixels[3 * (19 * 31 + 15)])
    #expect(out.pixels[3 * (15 * 31 + 21)] == 0)
    // Mass is kept to rounding.
    let total = stride(from: 0, to: out.pixels.count, by: 3).reduce(0) { $0 + Int(out.pixels[$1]) }
    #expect(abs(total - 255) <= lit / 2 + 1)
  }

  @Test func resizeAreaAndBilinear() {
    let flat = RGBImage(width: 10, height: 6, fill: (12, 34, 56))
    #expect(
      flat.resized(width: 23, height: 4) == RGBImage(width: 23, height: 4, fill: (12, 34, 56)))
    // Halving by area averages 2×2 blocks.
    let image = randomImage(width: 8, height: 8, seed: 3)
    let half = image.resized(width: 4, height: 4)
    for y in 0..<4 {
      for x in 0..<4 {
        var s = 0
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
          s += Int(image.pixels[3 * ((2 * y + dy) * 8 + 2 * x + dx)])
        }
        expectClose(Double(Int(half.pixels[3 * (y * 4 + x)]) * 4), Double(s), rtol: 0, atol: 2)
      }
    }
    // Doubling by bilinear: output pixel 1 samples input 0.25 → ¾·p0 + ¼·p1.
    let two = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 200, 200, 200])
    let up = two.resized(width: 4, height: 1)
    #expect(
      up.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element) == [0, 50, 150, 200])
  }

  @Test func cropCopiesTheWindow() {
    let image = randomImage(width: 10, height: 8, seed: 4)
    let crop = image.cropped(x: 3, y: 2, width: 4, height: 5)
    #expect(crop.width == 4 && crop.height == 5)
    for y in 0..<5 {
      for x in 0..<4 {
        for c in 0..<3 {
          #expect(crop.pixels[3 * (y * 4 + x) + c] == image.pixels[3 * ((y + 2) * 10 + x + 3) + c])
        }
      }
    }
  }
}

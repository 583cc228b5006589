import Engine
import Foundation
import Testing
import _TestSupport

@testable import Vision

/// A CHW image from per-pixel RGB triples, row-major.
private func image(width: Int, height: Int, _ rgb: [(Float, Float, Float)]) -> FloatImage {
  precondition(rgb.count == width * height)
  let n = width * height
  var p = [Float](repeating: 0, count: 3 * n)
  for (i, c) in rgb.enumerated() {
    p[i] = c.0
    p[n + i] = c.1
    p[2 * n + i] = c.2
  }
  return FloatImage(width: width, height: height, pixels: p)
}

private func pixel(_ f: FloatImage, _ i: Int) -> [Float] {
  [f.pixels[i], f.pixels[f.planeSize + i], f.pixels[2 * f.planeSize + i]]
}

private func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

/// A reproducible random 8-bit image.
func randomRGB(width: Int, height: Int, seed: UInt64) -> RGBImage {
  var rng = RandomGenerator(seed: seed)
  return RGBImage(width: width, height: height, pixels: (0..<(width * height * 3)).map { _ in UInt8(rng.nextInt(below: 256)) })
}

@Suite struct ColorOperationTests {
  @Test func flipReversesEveryRowOfEveryChannel() {
    var f = FloatImage(width: 3, height: 2, pixels: (0..<18).map(Float.init))
    f.flipHorizontally()
    #expect(f.pixels == [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 17, 16, 15])
  }

  @Test func grayscaleUsesTorchvisionLuma() {
    // L = 0.2989·1 + 0.587·0.5 + 0.114·0 = 0.5924.
    var f = image(width: 2, height: 1, [(1, 0.5, 0), (0.2, 0.2, 0.2)])
    f.convertToGrayscale()
    #expect(close(pixel(f, 0), [0.5924, 0.5924, 0.5924]))
    #expect(close(pixel(f, 1), [0.19998, 0.19998, 0.19998]))  // 0.2 · 0.9999
  }

  @Test func brightnessScalesAndClamps() {
    var f = image(width: 2, height: 1, [(0.4, 0.8, 0), (0.1, 0.5, 1)])
    f.adjustBrightness(1.5)
    #expect(close(pixel(f, 0), [0.6, 1, 0]))
    #expect(close(pixel(f, 1), [0.15, 0.75, 1]))
  }

  @Test func contrastBlendsWithTheMeanLuma() {
    // Grey pixels 0.2 and 0.6: luma 0.19998 and 0.59994, mean m = 0.39996.
    // f = 0.5: 0.5·x + 0.5·m → 0.29998 and 0.49998.
    var f = image(width: 2, height: 1, [(0.2, 0.2, 0.2), (0.6, 0.6, 0.6)])
    f.adjustContrast(0.5)
    #expect(close(pixel(f, 0), [0.29998, 0.29998, 0.29998]))
    #expect(close(pixel(f, 1), [0.49998, 0.49998, 0.49998]))
    // f = 0 gives the mean everywhere.
    var g = image(width: 2, height: 1, [(1, 0, 0), (0, 0, 1)])
    g.adjustContrast(0)
    let m: Float = (0.2989 + 0.114) / 2
    #expect(close(pixel(g, 0), [m, m, m]) && close(pixel(g, 1), [m, m, m]))
  }

  @Test func saturationBlendsWithThePixelLuma() {
    // (1, 0.5, 0): L = 0.5924. f = 2: 2x − L → (1.4076→1, 0.4076, −0.5924→0). f = 0: grey.
    var f = image(width: 1, height: 1, [(1, 0.5, 0)])
    f.adjustSaturation(2)
    #expect(close(pixel(f, 0), [1, 0.4076, 0]))
    var g = image(width: 1, height: 1, [(1, 0.5, 0)])
    g.adjustSaturation(0)
    #expect(close(pixel(g, 0), [0.5924, 0.5924, 0.5924]))
    var h = image(width: 1, height: 1, [(1, 0.5, 0)])
    h.adjustSaturation(1)
    #expect(close(pixel(h, 0), [1, 0.5, 0]))
  }

  @Test func hueShiftsPureColoursAroundTheCircle() {
    // Red H = 0, yellow 1/6, green 1/3, cyan 1/2, blue 2/3, magenta 5/6.
    let cases: [((Float, Float, Float), Float, [Float])] = [
      ((1, 0, 0), 1.0 / 3, [0, 1, 0]),  // red → green
      ((1, 0, 0), -1.0 / 3, [0, 0, 1]),  // red → blue (wraps below 0)
      ((1, 0, 0), 0.5, [0, 1, 1]),  // red → cyan
      ((1, 1, 0), 1.0 / 6, [0, 1, 0]),  // yellow → green
      ((0, 0, 1), 1.0 / 6, [1, 0, 1]),  // blue → magenta
      ((0, 1, 0), -0.5, [1, 0, 1]),  // green → magenta
      ((0.5, 0.25, 0.25), 0.5, [0.25, 0.5, 0.5]),  // a dull red → dull cyan (S, V kept)
    ]
    for (rgb, shift, expected) in cases {
      var f = image(width: 1, height: 1, [rgb])
      f.adjustHue(shift)
      #expect(close(pixel(f, 0), expected, 1e-5), "hue \(shift) of \(rgb): \(pixel(f, 0))")
    }
    var grey = image(width: 1, height: 1, [(0.3, 0.3, 0.3)])
    grey.adjustHue(0.27)
    #expect(close(pixel(grey, 0), [0.3, 0.3, 0.3]))
  }

  @Test func hsvRoundTripIsIdentity() {
    var rng = RandomGenerator(seed: 4)
    for _ in 0..<1000 {
      let (r, g, b) = (rng.nextFloat(), rng.nextFloat(), rng.nextFloat())
      let (h, s, v) = rgbToHSV(r, g, b)
      #expect(h >= 0 && h < 1 && s >= 0 && s <= 1 && v == max(r, g, b))
      let back = hsvToRGB(h, s, v)
      #expect(close([back.0, back.1, back.2], [r, g, b], 1e-5))
    }
  }

  @Test func solarizeInvertsAtAndAboveTheThreshold() {
    var f = image(width: 3, height: 1, [(0.2, 0.5, 0.9), (0.49, 0.51, 1), (0, 0.7, 0.3)])
    f.solarize(threshold: 0.5)
    #expect(close(pixel(f, 0), [0.2, 0.5, 0.1]))
    #expect(close(pixel(f, 1), [0.49, 0.49, 0]))
    #expect(close(pixel(f, 2), [0, 0.3, 0.3]))
  }

  @Test func normalizeStandardisesEachChannel() {
    var f = image(width: 1, height: 1, [(0.5, 0.5, 0.5)])
    Normalize.imageNet.apply(to: &f)
    let r: Float = (0.5 - 0.485) / 0.229
    let g: Float = (0.5 - 0.456) / 0.224
    let b: Float = (0.5 - 0.406) / 0.225
    #expect(close(pixel(f, 0), [r, g, b]))
  }

  @Test func toTensorDividesBy255IntoCHW() {
    let rgb = RGBImage(width: 2, height: 1, pixels: [255, 0, 51, 102, 153, 204])
    let f = FloatImage(rgb)
    #expect(f.pixels == [1, 0.4, 0, 0.6, 0.2, 0.8])
    #expect(f.rgbImage() == rgb)
  }

  @Test func blurKeepsConstantsAndFollowsTheKernelRules() {
    var flat = FloatImage(width: 12, height: 9, pixels: [Float](repeating: 0.37, count: 3 * 108))
    flat.gaussianBlur(sigma: 1.7, radius: 5)
    #expect(flat.pixels.allSatisfy { abs($0 - 0.37) < 1e-6 })
    #expect(GaussianBlur.KernelSize.sigmaMultiple(3).radius(sigma: 0.5, width: 64, height: 64) == 2)
    #expect(GaussianBlur.KernelSize.sigmaMultiple(3).radius(sigma: 0.1, width: 64, height: 64) == 1)
    #expect(GaussianBlur.KernelSize.sigmaMultiple(3).radius(sigma: 2.0, width: 64, height: 64) == 6)
    // SimCLR: kernel_size = size // 10, radius = kernel_size // 2.
    #expect(GaussianBlur.KernelSize.fractionOfSize(0.1).radius(sigma: 1, width: 224, height: 224) == 11)
    #expect(GaussianBlur.KernelSize.fractionOfSize(0.1).radius(sigma: 1, width: 64, height: 64) == 3)
    #expect(GaussianBlur.KernelSize.fractionOfSize(0.1).radius(sigma: 1, width: 32, height: 32) == 1)
    #expect(GaussianBlur.KernelSize.fixed(23).radius(sigma: 1, width: 224, height: 224) == 11)
  }

  @Test func blurredImpulseMatchesTheKernel() {
    // σ = 1, r = 2: k ∝ exp(−i²/2) = (0.13534, 0.60653, 1, 0.60653, 0.13534), sum 2.48374.
    var f = FloatImage(width: 9, height: 9)
    for c in 0..<3 { f[c, 4, 4] = 1 }
    f.gaussianBlur(sigma: 1, radius: 2)
    let k: [Float] = [0.13534, 0.60653, 1, 0.60653, 0.13534].map { $0 / 2.48374 }
    expectClose(Double(f[0, 4, 4]), Double(k[2] * k[2]), rtol: 0, atol: 1e-5)
    expectClose(Double(f[1, 5, 3]), Double(k[3] * k[1]), rtol: 0, atol: 1e-5)
    expectClose(Double(f[2, 6, 4]), Double(k[4] * k[2]), rtol: 0, atol: 1e-5)
    #expect(f[0, 7, 4] == 0)
  }
}

@Suite struct RandomTransformTests {
  @Test func cropWindowsStayInsideTheirRanges() {
    let crop = RandomResizedCrop(size: 16, scale: 0.2...1, ratio: 0.75...(4.0 / 3))
    var g = RandomGenerator(seed: 11)
    var minArea = 1.0, maxArea = 0.0
    for _ in 0..<5000 {
      let box = crop.window(imageWidth: 64, imageHeight: 48, using: &g)
      #expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= 48 && box.left + box.width <= 64)
      let area = Double(box.width * box.height) / Double(64 * 48)
      minArea = min(minArea, area)
      maxArea = max(maxArea, area)
      // Rounding w and h to integers moves the area and ratio by at most about 1 px per side.
      let ratio = Double(box.width) / Double(box.height)
      let slack = 1.0 / Double(min(box.width, box.height)) * 2.2
      #expect(ratio >= 0.75 * (1 - slack) && ratio <= 4.0 / 3 * (1 + slack), "ratio \(ratio) of \(box)")
      #expect(area >= 0.2 * 0.9 && area <= 1.0, "area \(area) of \(box)")
    }
    #expect(minArea < 0.23 && maxArea > 0.9)  // the whole range is used
  }

  @Test func cropFallsBackToTheCentralCrop() {
    // No window of 2–3× the image's area fits: all 10 attempts fail.
    var g = RandomGenerator(seed: 1)
    let whole = RandomResizedCrop(size: 8, scale: 2...3, ratio: 0.75...(4.0 / 3))
    #expect(whole.window(imageWidth: 10, imageHeight: 10, using: &g) == CropBox(top: 0, left: 0, height: 10, width: 10))
    // Too tall for ratios 2–3: w = 10, h = round(10 / 2) = 5, centred.
    let wide = RandomResizedCrop(size: 8, scale: 2...3, ratio: 2...3)
    #expect(wide.window(imageWidth: 10, imageHeight: 10, using: &g) == CropBox(top: 2, left: 0, height: 5, width: 10))
    // Too wide for ratios 1/3–1/2: h = 10, w = round(10 · 0.5) = 5.
    #expect(
      RandomResizedCrop.centralWindow(imageWidth: 10, imageHeight: 10, ratio: (1.0 / 3)...0.5)
        == CropBox(top: 0, left: 2, height: 10, width: 5))
    // Python's round() is half-to-even: 9 / 2 = 4.5 → 4.
    #expect(
      RandomResizedCrop.centralWindow(imageWidth: 9, imageHeight: 12, ratio: 2...3)
        == CropBox(top: 4, left: 0, height: 4, width: 9))
  }

  @Test func identityCropReproducesTheImage() {
    let rgb = randomRGB(width: 11, height: 7, seed: 3)
    let f = rgb.resizedCrop(CropBox(top: 0, left: 0, height: 7, width: 11), width: 11, height: 7)
    #expect(f == FloatImage(rgb))
    let aa = rgb.resizedCrop(CropBox(top: 0, left: 0, height: 7, width: 11), width: 11, height: 7, antialias: true)
    #expect(close(aa.pixels, FloatImage(rgb).pixels))
  }

  @Test func colorJitterDrawsFactorsInRangeAndEveryOrder() {
    let jitter = ColorJitter(brightness: 0.4, contrast: 1.5, saturation: 0.2, hue: 0.1)
    var g = RandomGenerator(seed: 5)
    var orders = Set<[Int]>()
    for _ in 0..<2000 {
      let p = jitter.parameters(using: &g)
      #expect(Set(p.order) == [0, 1, 2, 3])
      orders.insert(p.order)
      #expect(p.brightness >= 0.6 && p.brightness <= 1.4)
      #expect(p.contrast >= 0 && p.contrast <= 2.5)  // max(0, 1 − 1.5) = 0
      #expect(p.saturation >= 0.8 && p.saturation <= 1.2)
      #expect(p.hue >= -0.1 && p.hue <= 0.1)
    }
    #expect(orders.count == 24)
  }

  @Test func randomApplyAndProbabilitiesAreHonoured() {
    var g = RandomGenerator(seed: 9)
    let base = FloatImage(RGBImage(width: 4, height: 4, fill: (200, 10, 30)))
    var f = base
    RandomApply(RandomSolarize(threshold: 0, probability: 1), probability: 0).apply(to: &f, using: &g)
    #expect(f == base)
    RandomApply(RandomGrayscale(probability: 1), probability: 1).apply(to: &f, using: &g)
    #expect(pixel(f, 0)[0] == pixel(f, 0)[1])
    // Flip frequency ≈ p.
    var flips = 0
    let asymmetric = FloatImage(width: 2, height: 1, pixels: [0, 1, 0, 1, 0, 1])
    for _ in 0..<4000 {
      var h = asymmetric
      RandomHorizontalFlip(probability: 0.3).apply(to: &h, using: &g)
      if h != asymmetric { flips += 1 }
    }
    expectClose(Double(Double(flips) / 4000), 0.3, rtol: 0, atol: 0.03)
  }
}

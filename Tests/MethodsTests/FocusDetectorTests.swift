import Foundation
import Testing
import Vision

import Methods

// MARK: - Fixture (made by Fixtures/make_focus_reference.py with OpenCV / PyWavelets)

private struct FocusFixture: Decodable {
  struct Tong: Decodable {
    var per: Double
    var blurExtent: Double
    var edges: Int, da: Int, rg: Int, brg: Int

    enum CodingKeys: String, CodingKey {
      case per, blurExtent = "blur_extent", edges, da, rg, brg
    }

    var result: TongResult {
      TongResult(
        per: per, blurExtent: blurExtent, edgeCount: edges, daCount: da, rgCount: rg,
        brgCount: brg)
    }
  }
  struct Scores: Decodable {
    var laplacianVar: Double
    var haarEnergy: Double
    var tong: Tong
    var tongNorm: Tong

    enum CodingKeys: String, CodingKey {
      case laplacianVar = "laplacian_var", haarEnergy = "haar_energy", tong
      case tongNorm = "tong_norm"
    }
  }
  struct Entry: Decodable {
    var name: String
    var kind: String
    var formula: String?
    var height: Int
    var width: Int
    var pixels: String?
    var scores: Scores

    /// The image: regenerated from its integer formula or decoded from base64 bytes.
    func image() throws -> GrayImage {
      if let formula {
        return try #require(formulaImage(formula, height: height, width: width))
      }
      let text = try #require(pixels)
      let bytes = try #require(Data(base64Encoded: text))
      return GrayImage(width: width, height: height, pixels: [UInt8](bytes))
    }
  }
  var numpy: String
  var opencv: String
  var pywavelets: String
  var images: [Entry]

  static func load() throws -> FocusFixture {
    let url = try #require(
      Bundle.module.url(
        forResource: "focus_reference", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(FocusFixture.self, from: Data(contentsOf: url))
  }
}

/// The integer formulas of `make_focus_reference.py::formula` (same names, same arithmetic).
private func formulaImage(_ name: String, height h: Int, width w: Int) -> GrayImage? {
  if name == "noise" {
    // 64-bit LCG (Knuth's MMIX constants), top byte of each state.
    var s: UInt64 = 12345
    var px = [UInt8](repeating: 0, count: h * w)
    for k in px.indices {
      s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      px[k] = UInt8(s >> 56)
    }
    return GrayImage(width: w, height: h, pixels: px)
  }
  let f: (Int, Int) -> Int
  switch name {
  case "pattern": f = { i, j in (i * 37 + j * 91 + (i * j) % 13) % 256 }
  case "smooth":
    f = { i, j in
      ((i - h / 2) * (i - h / 2) + (j - w / 3) * (j - w / 3)) * 200 / (h * h / 4 + w * w / 2)
    }
  case "checker": f = { i, j in (i / 4 + j / 4) % 2 == 0 ? 30 : 220 }
  case "ramp_edge": f = { _, j in 40 + min(max(j - 57, 0), 14) * 170 / 14 }
  default: return nil
  }
  var px = [UInt8](repeating: 0, count: h * w)
  for i in 0..<h {
    for j in 0..<w { px[i * w + j] = UInt8(f(i, j)) }
  }
  return GrayImage(width: w, height: h, pixels: px)
}

private func relErr(_ a: Double, _ b: Double) -> Double {
  b == 0 ? abs(a) : abs(a - b) / abs(b)
}

/// `w × h` image, all `value`, with the listed `(x, y, level)` pixels set.
private func image(_ w: Int, _ h: Int, fill value: UInt8 = 0, _ set: [(Int, Int, UInt8)] = [])
  -> GrayImage
{
  var px = [UInt8](repeating: value, count: w * h)
  for (x, y, v) in set { px[y * w + x] = v }
  return GrayImage(width: w, height: h, pixels: px)
}

private let noTong = TongResult(
  per: 0, blurExtent: 100, edgeCount: 0, daCount: 0, rgCount: 0, brgCount: 0)

// MARK: - Hand-computed values

@Suite("Focus detectors: hand-computed values")
struct FocusHandComputedTests {
  @Test("constant images score 0 for every detector", arguments: [(32, 32), (37, 29), (1, 1)])
  func constant(size: (Int, Int)) {
    let img = image(size.0, size.1, fill: 77)
    let s = FocusDetectors.scoreAll(img)
    #expect(s.laplacianVariance == 0)
    #expect(s.haarEnergy == 0)
    // No edge block: per = 0 (the reference's 0/0 would be NaN); N_rg = 0 → blurExtent 100.
    #expect(s.tong == noTong)
    #expect(s.tongNormalized == noTong)
    for kind in FocusDetectorKind.allCases { #expect(s[kind] == 0) }
  }

  @Test("Laplacian of a single bright pixel")
  func laplacianImpulse() {
    // 5×5 zeros, 100 at the centre: L = −400 there, +100 at its 4 neighbours, 0 elsewhere
    // (reflected borders only see zeros). Σ = 0, Σ L² = 160000 + 4·10000 = 200000, n = 25:
    // Var = 200000 / 25 − 0² = 8000.
    #expect(LaplacianVariance.score(image(5, 5, [(2, 2, 100)])) == 8000)
  }

  @Test("Laplacian of step edges uses BORDER_REFLECT_101")
  func laplacianStep() {
    // 4×4, columns 0,1 = 0 and 2,3 = 200. Per row: x=0 → 0 (neighbour 1 on both sides),
    // x=1 → 200, x=2 → 0 + 200 + 400 − 800 = −200, x=3 → 0 (neighbour 2 on both sides).
    // Σ = 0, Σ L² = 4·2·40000 = 320000, Var = 320000 / 16 = 20000.
    var px = [UInt8](repeating: 0, count: 16)
    for y in 0..<4 { px[4 * y + 2] = 200; px[4 * y + 3] = 200 }
    #expect(LaplacianVariance.score(GrayImage(width: 4, height: 4, pixels: px)) == 20000)
    // Step between columns 0 and 1: x=0 → 200 + 200 = 400 (reflected right neighbour twice),
    // x=1 → 0 + 200 + 400 − 800 = −200, x=2,3 → 0. Per row Σ = 200, Σ L² = 200000.
    // Var = 800000/16 − (800/16)² = 50000 − 2500 = 47500.
    for y in 0..<4 { px[4 * y + 1] = 200 }
    #expect(LaplacianVariance.score(GrayImage(width: 4, height: 4, pixels: px)) == 47500)
  }

  @Test("Haar detail energy of single pixels, odd sizes and steps")
  func haarHand() {
    // 4×4, 100 at (x 1, y 1): block [0 0; 0 100] has cH = cV = −50, cD = 50
    // → 3·2500 = 7500; the other three blocks are 0. Mean over 2×2 blocks = 1875.
    #expect(relErr(HaarEnergy.score(image(4, 4, [(1, 1, 100)])), 1875) < 1e-15)
    // 5×5, 100 at the corner (4, 4): symmetric extension makes block (2, 2) = [100 100; 100 100]
    // → no detail at all.
    #expect(HaarEnergy.score(image(5, 5, [(4, 4, 100)])) == 0)
    // 5×5, 100 at (x 0, y 4): block (row 2, col 0) = [100 0; 100 0] (row 4 doubled):
    // cV = (100 − 0 + 100 − 0)/2 = 100, cH = cD = 0 → 10000; mean over 3·3 blocks = 10000/9.
    #expect(relErr(HaarEnergy.score(image(5, 5, [(0, 4, 100)])), 10000.0 / 9) < 1e-15)
    // Steps: Haar is not shift invariant. Step between columns 1|2 lies between pairs → 0;
    // step between columns 0|1 puts [0 200; 0 200] in the 2 left blocks: cV = −200 → 40000,
    // mean = 2·40000 / 4 = 20000.
    var px = [UInt8](repeating: 0, count: 16)
    for y in 0..<4 { px[4 * y + 2] = 200; px[4 * y + 3] = 200 }
    #expect(HaarEnergy.score(GrayImage(width: 4, height: 4, pixels: px)) == 0)
    for y in 0..<4 { px[4 * y + 1] = 200 }
    #expect(HaarEnergy.score(GrayImage(width: 4, height: 4, pixels: px)) == 20000)
  }

  @Test("Haar DWT sub-bands follow pywt.dwt2 signs and layout")
  func haarBands() {
    // pywt.dwt2(np.arange(12).reshape(3, 4) * 7, 'haar'): rows [0 7 14 21], [28 35 42 49],
    // [56 63 70 77] (last row doubled). cA = [[35, 63], [119, 147]], cH = [[−28, −28], [0, 0]],
    // cV = −7 everywhere, cD = 0 everywhere.
    let x = (0..<12).map { Double($0 * 7) }
    let l = HaarDWT.dwt2(x, width: 4, height: 3)
    #expect(l.width == 2 && l.height == 2)
    let close = { (a: [Double], b: [Double]) in zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 } }
    #expect(close(l.approx, [35, 63, 119, 147]))
    #expect(close(l.horizontal, [-28, -28, 0, 0]))
    #expect(close(l.vertical, [-7, -7, -7, -7]))
    #expect(close(l.diagonal, [0, 0, 0, 0]))
  }

  @Test("Tong: a single bright pixel is a Dirac structure")
  func tongDirac() {
    // 16×16, 64 at (0, 0). Level 1: block [64 0; 0 0] → cH = cV = cD = 32, E1 = 32√3 ≈ 55.4,
    // LL1 = 32. Level 2: E2 = 16√3 ≈ 27.7 (LL2 = 16); level 3: E3 = 8√3 ≈ 13.9.
    // E1 > T = 35 → edge; E1 > E2 > E3 → Dirac. per = 1/1; no Roof/G-step → blurExtent 100.
    // Level-normalised: 55.4 > 27.7/2 > 13.9/4, same verdict.
    let want = TongResult(
      per: 1, blurExtent: 100, edgeCount: 1, daCount: 1, rgCount: 0, brgCount: 0)
    let img = image(16, 16, [(0, 0, 64)])
    #expect(TongWavelet.analyze(img) == want)
    #expect(TongWavelet.analyze(img, scaling: .levelNormalized) == want)
    #expect(!want.isBlurred())
  }

  @Test("Tong: a gentle ramp is a G-step that lost sharpness")
  func tongRamp() {
    // 16×16, I(x, y) = 16x. Level 1: every block [a, a+16; a, a+16] → cV = −16, E1 = 16;
    // LL1 has slope 64 per coefficient → E2 = 64; LL2 slope 256 → E3 = 256.
    // Edge (E2 > 35); 16 < 64 < 256 → G-step (Rule 3); E1 = 16 < 35 → brg (Rule 5).
    // per = 0, blurExtent = 1/1. Level-normalised: 16 < 32 < 64, edge via 64 > 35: same.
    var px = [UInt8](repeating: 0, count: 256)
    for y in 0..<16 { for x in 0..<16 { px[16 * y + x] = UInt8(16 * x) } }
    let img = GrayImage(width: 16, height: 16, pixels: px)
    let want = TongResult(
      per: 0, blurExtent: 1, edgeCount: 1, daCount: 0, rgCount: 1, brgCount: 1)
    #expect(TongWavelet.analyze(img) == want)
    #expect(TongWavelet.analyze(img, scaling: .levelNormalized) == want)
    #expect(want.isBlurred())
    #expect(!want.isBlurred(minZero: 0))
  }

  @Test("Tong: images below 16×16 after cropping have no blocks", arguments: [
    (15, 40), (40, 15), (0, 0), (1, 1),
  ])
  func tongTiny(size: (Int, Int)) {
    var s: UInt32 = 7
    let px = (0..<(size.0 * size.1)).map { _ -> UInt8 in
      s = s &* 1_664_525 &+ 1_013_904_223
      return UInt8(s >> 24)
    }
    let img = GrayImage(width: size.0, height: size.1, pixels: px)
    #expect(TongWavelet.analyze(img) == noTong)
    #expect(TongWavelet.analyze(img, scaling: .levelNormalized) == noTong)
  }
}

// MARK: - OpenCV / PyWavelets reference values

@Suite("Focus detectors: OpenCV / PyWavelets reference")
struct FocusReferenceTests {
  @Test("fixture records its library versions and images")
  func fixtureLoads() throws {
    let fx = try FocusFixture.load()
    #expect(!fx.numpy.isEmpty && !fx.opencv.isEmpty && !fx.pywavelets.isEmpty)
    #expect(fx.images.count >= 10)
    for e in fx.images {
      let img = try e.image()
      #expect(img.pixels.count == e.width * e.height, "\(e.name)")
    }
  }

  @Test("Laplacian variance and Haar energy match cv2 / pywt")
  func scalarScores() throws {
    for e in try FocusFixture.load().images {
      let img = try e.image()
      let lap = LaplacianVariance.score(img), haar = HaarEnergy.score(img)
      #expect(relErr(lap, e.scores.laplacianVar) < 1e-9, "\(e.name): \(lap)")
      #expect(relErr(haar, e.scores.haarEnergy) < 1e-9, "\(e.name): \(haar)")
    }
  }

  @Test("Tong per, blurExtent and counts match the Python reference exactly")
  func tong() throws {
    for e in try FocusFixture.load().images {
      let img = try e.image()
      #expect(TongWavelet.analyze(img) == e.scores.tong.result, "\(e.name)")
      #expect(
        TongWavelet.analyze(img, scaling: .levelNormalized) == e.scores.tongNorm.result,
        "\(e.name)")
      let all = FocusDetectors.scoreAll(img)
      #expect(all.tong == e.scores.tong.result, "\(e.name)")
      #expect(all.tongNormalized == e.scores.tongNorm.result, "\(e.name)")
      #expect(all.laplacianVariance == LaplacianVariance.score(img))
      #expect(all.haarEnergy == HaarEnergy.score(img))
    }
  }
}

// MARK: - Properties

@Suite("Focus detectors: properties")
struct FocusPropertyTests {
  /// The fixture's textured 96×96 tile under Gaussian blur σ = 0, 0.5, 1, 2, 4 (cv2).
  private func blurSeries() throws -> [GrayImage] {
    let fx = try FocusFixture.load()
    let names = ["blur_sigma_0", "blur_sigma_0.5", "blur_sigma_1", "blur_sigma_2", "blur_sigma_4"]
    return try names.map { n in
      try #require(fx.images.first { $0.name == n }).image()
    }
  }

  @Test("scores fall as Gaussian blur grows")
  func blurMonotone() throws {
    let s = try blurSeries().map(FocusDetectors.scoreAll)
    for k in 1..<s.count {
      #expect(s[k].laplacianVariance < s[k - 1].laplacianVariance)
      #expect(s[k].haarEnergy < s[k - 1].haarEnergy)
      #expect(s[k].tongNormalized.per <= s[k - 1].tongNormalized.per)
      #expect(s[k].tong.per <= s[k - 1].tong.per)
      #expect(s[k].tongNormalized.blurExtent >= s[k - 1].tongNormalized.blurExtent)
      for kind in FocusDetectorKind.allCases { #expect(s[k][kind] <= s[k - 1][kind]) }
    }
    // Level-normalised Tong separates sharp from blurred at the paper's MinZero = 0.05;
    // the literal orthonormal version calls even the sharp tile blurred (per = 0).
    #expect(!s[0].tongNormalized.isBlurred())
    #expect(s[2].tongNormalized.isBlurred() && s[4].tongNormalized.isBlurred())
    #expect(s[0].tong.isBlurred())
  }

  @Test("Laplacian and Haar detail energy ignore a constant offset (no clipping)")
  func offsetInvariance() throws {
    for e in try FocusFixture.load().images {
      let img = try e.image()
      // Halve to 0…127, then add 0 or 128: no uint8 clipping, details unchanged.
      let half = GrayImage(width: img.width, height: img.height, pixels: img.pixels.map { $0 / 2 })
      let up = GrayImage(width: img.width, height: img.height, pixels: half.pixels.map { $0 + 128 })
      #expect(LaplacianVariance.score(half) == LaplacianVariance.score(up), "\(e.name)")
      #expect(HaarEnergy.score(half) == HaarEnergy.score(up), "\(e.name)")
    }
  }

  @Test("kinds, subscript and Codable round trip")
  func api() throws {
    #expect(FocusDetectorKind.allCases.map(\.rawValue) == [
      "laplacian_var", "haar_energy", "tong_per", "tong_per_norm",
    ])
    #expect(TongWavelet.Scaling.levelNormalized.rawValue == "level-normalized")
    #expect(TongWavelet.threshold == 35)
    let img = try #require(formulaImage("noise", height: 96, width: 112))
    let s = FocusDetectors.scoreAll(img)
    #expect(s[.laplacianVariance] == s.laplacianVariance)
    #expect(s[.haarEnergy] == s.haarEnergy)
    #expect(s[.tongPer] == s.tong.per)
    #expect(s[.tongPerNormalized] == s.tongNormalized.per)
    for kind in FocusDetectorKind.allCases {
      #expect(FocusDetectors.score(img, kind: kind) == s[kind])
    }
    // The threshold reaches both Tong scalings.
    let t20 = FocusDetectors.scoreAll(img, threshold: 20)
    #expect(t20.tong == TongWavelet.analyze(img, threshold: 20))
    #expect(
      t20.tongNormalized == TongWavelet.analyze(img, scaling: .levelNormalized, threshold: 20))
    let data = try JSONEncoder().encode(s)
    #expect(try JSONDecoder().decode(FocusScores.self, from: data) == s)
  }
}

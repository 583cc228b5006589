import Foundation
import Testing

@testable import Vision

/// Mean squared 4-neighbour Laplacian of the grey image: high for sharp detail, low when blurred.
private func gradientEnergy(_ image: RGBImage) -> Double {
  let g = image.grayscale()
  var total = 0.0
  for y in 1..<(g.height - 1) {
    for x in 1..<(g.width - 1) {
      let lap =
        4 * Double(g[x, y]) - Double(g[x - 1, y]) - Double(g[x + 1, y]) - Double(g[x, y - 1])
        - Double(g[x, y + 1])
      total += lap * lap
    }
  }
  return total / Double((g.width - 2) * (g.height - 2))
}

@Suite struct SyntheticTissueTests {
  @Test func sameSeedLabelIndexGivesIdenticalBytes() {
    let a = SyntheticTissue(seed: 42)
    let b = SyntheticTissue(seed: 42)
    for label in 0..<8 {
      #expect(a.image(label: label, index: 5) == b.image(label: label, index: 5))
    }
  }

  @Test func differentSeedsAndIndicesDiffer() {
    let a = SyntheticTissue(seed: 1)
    let b = SyntheticTissue(seed: 2)
    for label in 0..<8 {
      #expect(a.image(label: label, index: 0) != b.image(label: label, index: 0))
      #expect(a.image(label: label, index: 0) != a.image(label: label, index: 1))
    }
  }

  @Test func imageIsIndependentOfGenerationOrder() async {
    let gen = SyntheticTissue(seed: 9)
    let keys = (0..<8).flatMap { label in (0..<3).map { (label, $0) } }
    let forward = keys.map { gen.image(label: $0.0, index: $0.1) }
    let backward = Array(keys.reversed().map { gen.image(label: $0.0, index: $0.1) }.reversed())
    #expect(forward == backward)
    // Concurrently, on whatever threads the runtime picks.
    let concurrent = await withTaskGroup(of: (Int, RGBImage).self) { group in
      for (k, key) in keys.enumerated() {
        group.addTask { (k, gen.image(label: key.0, index: key.1)) }
      }
      var out = [RGBImage?](repeating: nil, count: keys.count)
      for await (k, image) in group { out[k] = image }
      return out.compactMap { $0 }
    }
    #expect(concurrent == forward)
  }

  @Test(arguments: [32, 64, 256])
  func everyClassRendersAtSize(_ size: Int) {
    var p = SyntheticTissue.Parameters()
    p.imageSize = size
    let gen = SyntheticTissue(parameters: p, seed: 0)
    for label in 0..<SyntheticTissue.classNames.count {
      let image = gen.image(label: label, index: 3)
      #expect(image.width == size && image.height == size)
      // Not blank: some stain and some structure.
      let lo = image.pixels.min() ?? 0
      let hi = image.pixels.max() ?? 0
      #expect(hi - lo > 40, "class \(SyntheticTissue.classNames[label]) at \(size) is flat")
      #expect(gradientEnergy(image) > 1)
    }
  }

  @Test func focusVariationOffGivesSharperImages() {
    var sharpParameters = SyntheticTissue.Parameters()
    sharpParameters.focusVariation = false
    var blurryParameters = SyntheticTissue.Parameters()
    blurryParameters.blurredFraction = 1
    let sharp = SyntheticTissue(parameters: sharpParameters, seed: 5)
    let blurry = SyntheticTissue(parameters: blurryParameters, seed: 5)
    var sharpEnergy = 0.0
    var blurryEnergy = 0.0
    for label in 0..<8 {
      for index in 0..<4 {
        let s = gradientEnergy(sharp.image(label: label, index: index))
        let b = gradientEnergy(blurry.image(label: label, index: index))
        #expect(s > b, "label \(label) index \(index): sharp \(s) ≤ blurred \(b)")
        sharpEnergy += s
        blurryEnergy += b
      }
    }
    #expect(sharpEnergy > 2 * blurryEnergy)
  }

  @Test func defaultBlurredFractionIsRespected() {
    // With the same tissue, an image differs from its sharp twin exactly when it was blurred.
    var off = SyntheticTissue.Parameters()
    off.focusVariation = false
    let sharp = SyntheticTissue(parameters: off, seed: 11)
    let mixed = SyntheticTissue(seed: 11)
    var blurred = 0
    let n = 200
    for i in 0..<n where mixed.image(label: i % 8, index: i) != sharp.image(label: i % 8, index: i)
    {
      blurred += 1
    }
    #expect(blurred > n / 10 && blurred < n * 3 / 10)
  }

  @Test func parametersDecodeFromPartialJSON() throws {
    let json = Data(#"{"imageSize": 32, "focusVariation": false}"#.utf8)
    let p = try JSONDecoder().decode(SyntheticTissue.Parameters.self, from: json)
    var expected = SyntheticTissue.Parameters()
    expected.imageSize = 32
    expected.focusVariation = false
    #expect(p == expected)
    let again = try JSONDecoder().decode(
      SyntheticTissue.Parameters.self, from: JSONEncoder().encode(p))
    #expect(again == p)
  }

  @Test func classNamesAreTheEightKatherTypes() {
    #expect(
      SyntheticTissue.classNames == [
        "adipose", "stroma", "lymphocytes", "tumour", "normal-mucosa", "mucus", "debris", "muscle",
      ])
  }
}

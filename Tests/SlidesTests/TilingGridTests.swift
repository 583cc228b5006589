import Foundation
import Slides
import Testing
import _TestSupport
import Vision

/// A 40× slide geometry: 8192×6144 at 0.25 µm/px, levels with downsamples 1, 2, 4, 8.
let levels: [(width: Int, height: Int)] = [(8192, 6144), (4096, 3072), (2048, 1536), (1024, 768)]
let downsamples: [Double] = [1, 2, 4, 8]

func grid(
  _ resolution: TileResolution, patch: Int = 256, step: Int? = nil, padding: Bool = true,
  objectivePower: Double? = nil, mpp: Double? = 0.25, downsamples d: [Double] = downsamples, tissue: TissueMask? = nil
) throws(SlideError) -> TilingGrid {
  try TilingGrid(
    levelDimensions: levels, levelDownsamples: d, objectivePower: objectivePower, micronsPerPixel: mpp,
    parameters: TilingParameters(resolution: resolution, patchSize: patch, stepSize: step, padding: padding),
    tissue: tissue, path: "slide.svs")
}

@Suite struct TilingGridTests {
  @Test func countsAtTwoMagnifications() throws {
    // 20× on a 40× slide: level 1 read as is; a tile covers 512 level-0 pixels.
    let twenty = try grid(.magnification(20))
    #expect(twenty.readLevel == 1 && twenty.readSize == 256 && twenty.scale == 1)
    #expect(twenty.tileSizeLevelZero == 512 && twenty.strideLevelZero == 512)
    #expect(twenty.columns == 16 && twenty.rows == 12 && twenty.tiles.count == 192)
    #expect(twenty.tiles[17] == GridTile(column: 1, row: 1, x: 512, y: 512, tissueCoverage: 1))
    // 10×: level 2, 1024 level-0 pixels per tile.
    let ten = try grid(.magnification(10))
    #expect(ten.readLevel == 2 && ten.scale == 1 && ten.tiles.count == 8 * 6)
    // The same by pixel size: 1 µm/px = 4 × 0.25.
    let micron = try grid(.micronsPerPixel(1))
    #expect(micron.readLevel == 2 && micron.tiles == ten.tiles)
    // A level directly (CLAM patch_level).
    #expect(try grid(.level(3)).tiles.count == 4 * 3)
  }

  @Test func magnificationBetweenLevelsReadsLargerAndResizes() throws {
    // 15×: downsample 8/3 lies between levels 1 (2) and 2 (4): read 256 · 4/3 ≈ 341 pixels at
    // level 1 and shrink to 256; a tile covers 682 level-0 pixels.
    let g = try grid(.magnification(15))
    expectClose(Double(g.targetDownsample), Double(8.0 / 3), rtol: 0, atol: 1e-12)
    #expect(g.readLevel == 1 && g.readSize == 341)
    #expect(g.scale == 341.0 / 256)
    #expect(g.tileSizeLevelZero == 682 && g.strideLevelZero == 682)
    #expect(g.columns == 13 && g.rows == 10)  // ⌈8192/682⌉, ⌈6144/682⌉
  }

  @Test func strideOverlapAndPadding() throws {
    // Overlap 56 → step 200 at 20× → stride 400 level-0 pixels.
    let padded = try grid(.magnification(20), step: 200)
    #expect(padded.columns == 21 && padded.rows == 16)  // ⌈8192/400⌉, ⌈6144/400⌉
    let unpadded = try grid(.magnification(20), step: 200, padding: false)
    #expect(unpadded.columns == 20 && unpadded.rows == 15)  // ⌊(8192−512)/400⌋+1, ⌊(6144−512)/400⌋+1
    #expect(TilingParameters(resolution: .level(0), patchSize: 256, overlap: 56).stepSize == 200)
    #expect(TilingParameters(resolution: .level(0), patchSize: 256, overlap: 256).problems.count == 1)
  }

  @Test func levelChoiceToleratesRoundedDownsamples() throws {
    // Aperio-style downsamples (4.000244 …) still count as the level for 10×, and the reported
    // objective power wins over 10/mpp.
    let g = try grid(.magnification(10), downsamples: [1, 2.000122, 4.000244, 8.000488])
    #expect(g.readLevel == 2 && g.scale == 1 && g.readSize == 256)
    let scanner20 = try grid(.magnification(20), objectivePower: 20)
    #expect(scanner20.readLevel == 0 && scanner20.tileSizeLevelZero == 256)
  }

  @Test func impossibleRequestsAreTypedErrors() {
    let tooFine = #expect(throws: SlideError.self) { try grid(.magnification(80)) }
    #expect(tooFine?.description.contains("finer than level 0") == true)
    let noMPP = #expect(throws: SlideError.self) { try grid(.micronsPerPixel(0.5), mpp: nil) }
    #expect(noMPP?.description.contains("slide.svs") == true)
    #expect(throws: SlideError.self) { try grid(.magnification(20), mpp: nil) }
    #expect(throws: SlideError.levelOutOfRange(path: "slide.svs", level: 4, available: 4)) { try grid(.level(4)) }
  }

  @Test func tissueCoverageFiltersTiles() throws {
    // Left half tissue, at the mask's downsample 64 (128×96 mask pixels).
    var pixels = [UInt8](repeating: 0, count: 128 * 96)
    for y in 0..<96 { for x in 0..<64 { pixels[y * 128 + x] = 1 } }
    let mask = TissueMask(width: 128, height: 96, pixels: pixels, downsampleX: 64, downsampleY: 64)
    let g = try grid(.magnification(10), tissue: mask)  // 8 × 6 tiles of 1024
    #expect(g.tiles.count == 4 * 6)
    #expect(g.tiles.allSatisfy { $0.x < 4096 && $0.tissueCoverage == 1 })
    // A tile straddling the tissue edge counts by area.
    #expect(mask.coverage(of: rect(3584, 0, 1024, 1024)) == 0.5)
    var keepAll = TilingParameters(resolution: .magnification(10), minTissueCoverage: 0)
    keepAll.padding = true
    #expect(
      try TilingGrid(
        levelDimensions: levels, levelDownsamples: downsamples, objectivePower: nil, micronsPerPixel: 0.25,
        parameters: keepAll, tissue: mask, path: "s"
      ).tiles.count == 48)
  }

  @Test func tilesOfARealPyramid() throws {
    let path = try syntheticSlide()
    let slide = try WholeSlideImage(path: path)
    var tissue = TissueDetectionParameters.clamDefault
    tissue.minTissueArea = TissueDetectionParameters.clamAreaUnit
    let mask = try TissueDetection.detect(in: slide, parameters: tissue)
    // 20× (level 1, 512-pixel tiles): the block [512, 1536) × [384, 1152) fully covers the two
    // tiles at x = 512, 1024, y = 512 only; the other tiles it touches are partly glass.
    let twenty = try TilingGrid(
      slide: slide, parameters: TilingParameters(resolution: .magnification(20), minTissueCoverage: 0.99), tissue: mask)
    #expect(twenty.readLevel == 1 && twenty.columns == 4 && twenty.rows == 3)
    #expect(twenty.tiles.map { [$0.x, $0.y] } == [[512, 512], [1024, 512]])
    let tile = try twenty.readTile(twenty.tiles[0], from: slide)
    #expect(tile.width == 256 && tile.height == 256)
    #expect(Array(tile.pixels[0..<3]) == [200, 110, 180])
    // 15×: a 341-pixel region of level 1, shrunk to 256.
    let fifteen = try TilingGrid(
      slide: slide, parameters: TilingParameters(resolution: .magnification(15)), tissue: mask)
    #expect(fifteen.readSize == 341 && fifteen.columns == 4 && fifteen.rows == 3)
    let small = try fifteen.readTile(fifteen.tiles[0], from: slide)
    #expect(small.width == 256 && small.height == 256)
    let t = fifteen.tiles[0]
    let direct = try slide.readRegion(x: t.x, y: t.y, level: 1, width: 341, height: 341).resized(
      width: 256, height: 256)
    #expect(small == direct)
    // Tumour labels for the kept tiles from polygons saved and read back as ASAP XML.
    let xml = try temporaryFile("block.xml")
    try ASAPWriter.write(
      [Annotation(name: "block", group: "Tumor", polygon: Polygon(rect(512, 384, 1024, 384)))], to: xml)
    let regions = TumourRegions(annotations: try ASAPReader.read(path: xml))
    let fractions = twenty.tiles.map { regions.fraction(of: twenty.rect(of: $0)) }
    #expect(fractions == [0.5, 0.5])  // tumour is the block's upper half: y < 768
  }
}

import Foundation
import Slides
import Testing
import _TestSupport

@testable import Harness

/// The tile stages `replicate slides tile` reports and `BagExtractor` encodes are one pipeline:
/// the report's counts are the bag's, and the options that build it check their input.
@Suite(.serialized) struct TilePipelineTests {
  @Test func reportCountsAreTheExtractedBagsCounts() throws {
    let slide = try #require(extractionSlide)
    let path = slide.directory + "/slides/\(slide.id).tiff"
    let xml = slide.directory + "/annotations/\(slide.id).xml"
    var extractor = BagExtractor(preset: try camelyonPreset(), encoder: try TileEncoder(kind: .pixels, inputSize: 8))
    extractor.threads = 2
    let bag = try extractor.extract(slidePath: path, annotations: .file(xml)).bag
    let regions = try TumourRegions(contentsOf: xml)
    let (report, plan, kept) = try TilingReport.make(
      slidePath: path, pipeline: extractor.pipeline, regions: regions, listTiles: true)
    #expect(report.counts.kept == bag.instanceCount && kept.filter { $0 }.count == bag.instanceCount)
    #expect(report.counts.grid == bag.info.counts.grid)
    #expect(report.counts.rejectedTissue == bag.info.counts.rejectedTissue)
    #expect(report.counts.rejectedFocus == bag.info.counts.rejectedFocus)
    #expect(report.tiles?.count == plan.grid.tiles.count)
    let keptTiles = (report.tiles ?? []).filter(\.kept)
    #expect(keptTiles.map(\.focus) == bag.focusScores)
    #expect(keptTiles.map { $0.tumourFraction ?? -1 } == bag.tumourFractions)

    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let object = try #require(
      try JSONSerialization.jsonObject(with: encoder.encode(report)) as? [String: Any])
    let counts = try #require(object["counts"] as? [String: Int])
    #expect(counts["rejected_focus"] == bag.info.counts.rejectedFocus && counts["tumour"] != nil)
    #expect((object["grid"] as? [String: Any])?["read_size"] as? Int == plan.grid.readSize)
    #expect(object.keys.contains("microns_per_pixel") && object.keys.contains("segmentation_level"))
  }

  @Test func tilingOverridesAndFocusNamesAreChecked() throws {
    let root = TestSupport.projectRoot
    func overrides(mpp: Double? = nil, level: Int? = nil, patch: Int? = nil) -> TilingOverrides {
      TilingOverrides(
        magnification: nil, micronsPerPixel: mpp, level: level, patchSize: patch, step: nil, minCoverage: nil)
    }
    let patched = try overrides(patch: 128).preset(named: "camelyon16", root: root)
    #expect(patched.tiling.patchSize == 128 && patched.tiling.stepSize == 128)
    #expect(throws: InputError.self) { try overrides(mpp: 0.5, level: 1).preset(named: "camelyon16", root: root) }
    #expect(throws: InputError.self) { try overrides(patch: 0).preset(named: "camelyon16", root: root) }
    #expect(try FocusQC(detectorName: "laplacian_var", threshold: nil) == .standard)
    #expect(try FocusQC(detectorName: "haar_energy", threshold: nil).threshold == nil)
    #expect(try FocusQC(detectorName: "laplacian_var", threshold: 0).threshold == nil)
    #expect(throws: InputError.self) { try FocusQC(detectorName: "sharpness", threshold: nil) }
    #expect(throws: InputError.self) { try FocusQC(detectorName: "laplacian_var", threshold: .infinity) }
  }
}

import Foundation
import Harness
import Slides
import Testing
import _TestSupport

@Suite struct TilingPresetFileTests {
  let shipped = TilingPresets.defaultPath(root: TestSupport.projectRoot)

  @Test func shippedPresetsLoadWithCLAMValues() throws {
    let presets = try TilingPresets.load(path: shipped)
    #expect(presets.map(\.name) == ["clam-default", "tcga", "camelyon16", "bwh-resection"])
    let clam = try TilingPresets.preset(named: "clam-default", path: shipped)
    #expect(clam.tissue == .clamDefault)  // the YAML and the Swift defaults agree
    #expect(clam.tiling == TilingParameters())
    let tcga = try TilingPresets.preset(named: "tcga", path: shipped)
    #expect(tcga.tissue.minTissueArea == 16 * 512 * 512 && tcga.tissue.maxHoleArea == 4 * 512 * 512)
    #expect(tcga.tiling.resolution == .magnification(20))
    let camelyon = try TilingPresets.preset(named: "camelyon16", path: shipped)
    #expect(camelyon.tissue.threshold == .fixed(15) && camelyon.tissue.medianKernel == 11)
  }

  @Test func badPresetFilesNameTheKey() throws {
    let text = try String(contentsOfFile: shipped, encoding: .utf8)
    func failure(_ edited: String) throws -> String {
      let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-tiling.yaml").path
      try edited.write(toFile: path, atomically: true, encoding: .utf8)
      let error = #expect(throws: InputError.self) { try TilingPresets.load(path: path) }
      let message = error?.description ?? ""
      #expect(message.contains(path))
      return message
    }
    #expect(
      try failure(text.replacingOccurrences(of: "      median_kernel: 7\n", with: "      median_kernal: 7\n"))
        .contains("key 'presets.clam-default.segmentation.median_kernel': missing"))
    #expect(
      try failure(text.replacingOccurrences(of: "      max_holes: 8\n", with: "      max_holes: 8\n      blur: 3\n"))
        .contains("key 'presets.clam-default.segmentation.blur': unknown key"))
    #expect(
      try failure(text.replacingOccurrences(of: "saturation_threshold: 8", with: "saturation_threshold: high"))
        .contains("expected an integer 0…255 or otsu, found 'high'"))
    #expect(
      try failure(text.replacingOccurrences(of: "      level: 0\n", with: "      level: 0\n      magnification: 20\n"))
        .contains("expected exactly one of level, magnification, microns_per_pixel"))
    #expect(
      try failure(text.replacingOccurrences(of: "median_kernel: 11", with: "median_kernel: 10"))
        .contains("median kernel 10 must be odd"))
    let unknown = #expect(throws: InputError.self) { try TilingPresets.preset(named: "tgca", path: shipped) }
    #expect(unknown?.description.contains("known presets: clam-default, tcga") == true)
  }
}

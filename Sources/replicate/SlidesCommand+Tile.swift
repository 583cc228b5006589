import ArgumentParser
import Foundation
import Harness
import Slides
import Vision

extension SlidesCommand {
  /// `replicate slides tile <slide>`.
  struct Tile: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "tile",
      abstract: "Tissue detection, tile grid and focus QC counts for one slide (no encoding).",
      discussion: """
        Counts: grid = columns × rows of the grid; rejected_tissue = grid tiles below the tissue coverage;
        rejected_focus = tissue tiles whose focus score is below the threshold; kept = the rest (what `extract`
        encodes). --thumbnail draws the grid on a low-resolution image: kept tiles green, focus-rejected red,
        annotated tumour (--annotations) blue.
        """)

    @Argument(help: "A whole-slide image OpenSlide reads.")
    var slide: String

    @OptionGroup var tiling: TilingOptions

    @Option(help: "Tumour annotations (ASAP XML or GeoJSON) to count tumour tiles.")
    var annotations: String?

    @Option(help: "Write a PNG thumbnail with the grid drawn.")
    var thumbnail: String?

    @Flag(help: "List every tissue tile (position, coverage, focus score, kept).")
    var list = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Tile>

    func run() throws {
      let registry = try Registry.locate()
      let preset = try tiling.resolved(registry)
      let focus = try tiling.focusQC()
      let t = try threads.count()
      let regions = try annotations.map { try TumourRegions(contentsOf: $0) }
      let (report, plan, kept) = try TilingReport.make(
        slidePath: slide, pipeline: TilePipeline(preset: preset, focus: focus, threads: t), regions: regions,
        listTiles: list)
      if let thumbnail {
        try ImageIO.writePNG(plan.grid.thumbnail(of: plan.slide, kept: kept, regions: regions), to: thumbnail)
      }
      if json {
        print(try jsonText(report), terminator: "")
        return
      }
      let (c, g) = (report.counts, report.grid)
      print(
        "\(report.slide): \(report.width)×\(report.height) px, \(report.levels) levels, \(report.vendor), "
          + (report.micronsPerPixel.map { String(format: "%.4g µm/px", $0) } ?? "no microns per pixel"))
      print(
        "preset \(preset.name): tissue at level \(report.segmentationLevel) (\(String(format: "%.3g", report.tissueArea)) "
          + "px² of tissue); tiles \(g.patchSize) px at \(preset.tiling.resolution), read at level \(g.level) as "
          + "\(g.readSize) px, step \(g.step)")
      print(
        "grid \(g.columns)×\(g.rows) = \(c.grid): rejected_tissue \(c.rejectedTissue), rejected_focus \(c.rejectedFocus) "
          + "(\(focus.detector.rawValue) < \(focus.threshold.map { fmt($0) } ?? "off")), kept \(c.kept)"
          + (c.tumour.map { ", tumour tiles (≥ 50%) \($0)" } ?? ""))
      if let tiles = report.tiles {
        let rows = tiles.map { t in
          [String(t.x), String(t.y), fmt(t.coverage), fmt(t.focus), t.kept ? "yes" : "no"]
            + (t.tumourFraction.map { [fmt($0)] } ?? [])
        }
        print(table(["x", "y", "coverage", "focus", "kept"] + (regions == nil ? [] : ["tumour"]), rows))
      }
    }
  }
}

import Engine
import Foundation
import Testing
import _TestSupport
import Vision

@testable import Slides

/// A small synthetic-slides generator for tests: default 4096² slides, `perClass` slides of each
/// label in one split.
func smallGenerator(perClass: Int = 1, seed: UInt64 = 5, blurred: Double = 0.5) -> SyntheticSlides {
  var p = SyntheticSlides.Parameters()
  p.blurredSlideFraction = blurred
  return SyntheticSlides(parameters: p, splits: [SyntheticSlides.Split(name: "train", seed: seed, perClass: perClass)])
}

func temporaryDirectory(_ name: String) -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

/// Generates (once per test process) a 4-slide set: 2 negative, 2 positive.
let sharedSmallSetResult: Result<(directory: String, table: SlideTable), any Error> = {
  let dir = temporaryDirectory("synthetic-slides-small")
  return Result { (dir, try smallGenerator(perClass: 2).generate(into: dir, threads: 2)) }
}()

var sharedSmallSet: (directory: String, table: SlideTable) {
  get throws { try sharedSmallSetResult.get() }
}

@Suite struct SyntheticSlidesTests {
  /// Level 0 read through OpenSlide equals the rendered canvas byte for byte, and every lower level
  /// equals the writer's 2× box-filter halving; the resolution tags give 0.5 µm/px.
  @Test func roundTripThroughOpenSlideAtEveryLevel() throws {
    let generator = smallGenerator()
    let plan = try #require(generator.plans.first)
    let layout = generator.layout(of: plan)
    let image = generator.image(of: plan, layout: layout)
    let dir = temporaryDirectory("roundtrip")
    for sub in ["slides", "annotations", "layouts"] {
      try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
    }
    _ = try generator.write(plan, into: dir)
    let slide = try WholeSlideImage(path: dir + "/slides/\(plan.slideID).tiff")
    #expect(slide.levelCount == 5)
    #expect(slide.levelDimensions.map(\.width) == [4096, 2048, 1024, 512, 256])
    #expect(slide.levelDownsamples == [1, 2, 4, 8, 16])
    let mpp = try #require(slide.micronsPerPixel)
    #expect(abs(mpp.x - 0.5) < 1e-9 && abs(mpp.y - 0.5) < 1e-9)
    let level0 = try slide.readRegion(x: 0, y: 0, level: 0, width: 4096, height: 4096)
    #expect(level0 == image, "level 0 differs from the rendered canvas")
    var level = image
    for l in 1..<slide.levelCount {
      level = TiledTIFFWriter.halved(level)
      let read = try slide.readRegion(x: 0, y: 0, level: l, width: level.width, height: level.height)
      #expect(read == level, "level \(l) differs from the writer's halving")
    }
  }

  /// Same seed → same bytes, whatever the thread count; a different seed → different slides.
  @Test func generationIsDeterministic() throws {
    let a = temporaryDirectory("det-a")
    let b = temporaryDirectory("det-b")
    _ = try smallGenerator(perClass: 1).generate(into: a, threads: 1)
    _ = try smallGenerator(perClass: 1).generate(into: b, threads: 2)
    let fm = FileManager.default
    var files = ["slides.csv"]
    for sub in ["slides", "annotations", "layouts"] {
      files += try fm.contentsOfDirectory(atPath: a + "/" + sub).sorted().map { "\(sub)/\($0)" }
    }
    #expect(files.count >= 6)
    for file in files {
      #expect(fm.contents(atPath: a + "/" + file) == fm.contents(atPath: b + "/" + file), "\(file) differs")
    }
    let other = smallGenerator(perClass: 1, seed: 6)
    let plan = try #require(other.plans.first)
    let mine = try #require(smallGenerator(perClass: 1).plans.first)
    #expect(other.layout(of: plan) != smallGenerator(perClass: 1).layout(of: mine))
  }

  /// Positive slides have an ASAP XML with `Tumor` polygons; negatives have no XML and no tumour.
  @Test func onlyPositiveSlidesHaveTumourPolygons() throws {
    let (dir, table) = try sharedSmallSet
    #expect(table.records.count == 4)
    #expect(table.records.filter { $0.label == 1 }.count == 2)
    for record in table.records {
      let xml = dir + "/annotations/\(record.slideID).xml"
      if record.label == 1 {
        let annotations = try ASAPReader.read(path: xml)
        #expect(!annotations.isEmpty)
        #expect(annotations.allSatisfy { $0.group == "Tumor" })
        #expect((record.tumourFraction ?? 0) > 0)
      } else {
        #expect(!FileManager.default.fileExists(atPath: xml))
        #expect(record.tumourFraction == 0)
      }
    }
  }

  /// `tumour_fraction` in the CSV is the annotated tumour area over the tissue area, and the
  /// layout file holds the same polygons as the XML.
  @Test func tumourFractionMatchesThePolygons() throws {
    let (dir, table) = try sharedSmallSet
    for record in table.records where record.label == 1 {
      let regions = TumourRegions(annotations: try ASAPReader.read(path: dir + "/annotations/\(record.slideID).xml"))
      let tissue = try #require(record.extra["tissue_area"].flatMap(Double.init))
      let fraction = try #require(record.tumourFraction)
      #expect(abs(regions.area / tissue - fraction) <= 1e-12 * max(1, fraction))
      let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/layouts/\(record.slideID).json"))
      let layout = try JSONDecoder().decode(SyntheticSlideLayout.self, from: data)
      #expect(layout.tumours == regions.polygons)
      #expect(abs(layout.tissueArea - tissue) <= 1e-9 * tissue)
      // Tumour lies inside tissue: the tumour pixels are a subset of the tissue pixels.
      for tumour in layout.tumours {
        let c = tumour.outer.reduce(SlidePoint(x: 0, y: 0)) { SlidePoint(x: $0.x + $1.x, y: $0.y + $1.y) }
        let centre = SlidePoint(x: c.x / Double(tumour.outer.count), y: c.y / Double(tumour.outer.count))
        #expect(layout.sections.contains { $0.outline.contains(centre) })
      }
    }
  }

  /// The relational task: balanced cells, the label exactly "both kinds present", the same
  /// foci-count distribution in every cell, and independence from the tumour label.
  @Test func relationalLabelDependsOnCoOccurrenceOnly() throws {
    let generator = smallGenerator(perClass: 8)
    var byGroup: [RelationalGroup: [Int]] = [:]
    var perLabel: [Int: [RelationalGroup: Int]] = [0: [:], 1: [:]]
    for plan in generator.plans {
      let layout = generator.layout(of: plan)
      let lymphoid = layout.count(of: .lymphoidAggregate)
      let necrosis = layout.count(of: .necrosis)
      let total = lymphoid + necrosis
      #expect((2...4).contains(total), "\(plan.slideID): \(total) rare foci")
      switch plan.group {
      case .lymphoidOnly: #expect(necrosis == 0 && lymphoid == total)
      case .necrosisOnly: #expect(lymphoid == 0 && necrosis == total)
      case .both: #expect(lymphoid >= 1 && necrosis >= 1)
      case .near, .far: Issue.record("\(plan.slideID): a proximity cell in the relational design")
      }
      #expect(layout.relationalLabel == plan.group.relationalLabel)
      byGroup[plan.group, default: []].append(total)
      perLabel[plan.label, default: [:]][plan.group, default: 0] += 1
      // Rare foci never overlap tumour or each other.
      let occupied = layout.rareRegions.map(\.outline) + layout.tumours
      for i in occupied.indices {
        for j in occupied.indices where j > i {
          #expect(SyntheticSlideLayout.Placer.apart(occupied[i], occupied[j], gap: 1))
        }
      }
    }
    for label in 0...1 {
      #expect(perLabel[label]?[.lymphoidOnly] == 2 && perLabel[label]?[.necrosisOnly] == 2)
      #expect(perLabel[label]?[.both] == 4)
    }
    // An attention-weighted mean of per-instance scores puts a "both" bag between the
    // single-kind bags with the same number of rare instances (linear-fractional in the split).
    var rng = RandomGenerator(seed: 3)
    for _ in 0..<200 {
      let (wa, wb, wn) = (rng.uniform(0.01...5), rng.uniform(0.01...5), rng.uniform(0.01...5))
      let (sa, sb, sn) = (rng.uniform(-3...3), rng.uniform(-3...3), rng.uniform(-3...3))
      let k = 2 + rng.nextInt(below: 3)
      let background = Double(20 + rng.nextInt(below: 100))
      func score(_ a: Int) -> Double {
        let b = k - a
        return (Double(a) * wa * sa + Double(b) * wb * sb + background * wn * sn)
          / (Double(a) * wa + Double(b) * wb + background * wn)
      }
      let lo = min(score(0), score(k))
      let hi = max(score(0), score(k))
      for a in 1..<k { #expect(score(a) >= lo - 1e-12 && score(a) <= hi + 1e-12) }
    }
  }

  /// Matched design blocks: per label, two blocks of four slides (lymphoid-only, necrosis-only,
  /// both, both) that share size and section outlines, so tissue area is the same for the two
  /// relational negatives and the two positives of a block; patch classes, foci and tumour are
  /// the slide's own. Without the parameter no two slides share their sections.
  @Test func matchedBlocksShareTissueAndBalanceTheRelationalLabel() {
    var p = SyntheticSlides.Parameters()
    p.matchedBlocks = true
    let matched = SyntheticSlides(parameters: p, splits: [SyntheticSlides.Split(name: "test", seed: 13, perClass: 8)])
    var blocks: [Double: [(label: Int, layout: SyntheticSlideLayout)]] = [:]
    for plan in matched.plans {
      let layout = matched.layout(of: plan)
      blocks[layout.tissueArea, default: []].append((plan.label, layout))
    }
    #expect(blocks.count == 4)
    for (_, slides) in blocks {
      #expect(slides.count == 4)
      #expect(Set(slides.map(\.label)).count == 1)
      #expect(slides.filter { $0.layout.relationalLabel == 1 }.count == 2)
      let outlines = slides.map { $0.layout.sections.map { [$0.outline.outer.map(\.x), $0.outline.outer.map(\.y)] } }
      #expect(outlines.allSatisfy { $0 == outlines[0] })
      #expect(Set(slides.map { [$0.layout.width, $0.layout.height] }).count == 1)
      // The patch classes are redrawn per slide: not all four slides paint the same tissue.
      #expect(Set(slides.map { $0.layout.sections.flatMap { $0.patches.map(\.tissueClass) } }).count > 1)
    }
    let independent = SyntheticSlides(
      parameters: SyntheticSlides.Parameters(), splits: [SyntheticSlides.Split(name: "test", seed: 13, perClass: 8)])
    let areas = independent.plans.map { independent.layout(of: $0).tissueArea }
    #expect(Set(areas).count == areas.count)
  }

  /// The proximity design: every slide holds exactly one lymphoid aggregate and one necrotic
  /// focus; near and far alternate within each label and matched block; the label read from the
  /// geometry equals the design, the gaps fall in their ranges, and no 256² tile (diagonal 362 px)
  /// can touch both foci, so only where the tiles lie tells the label.
  @Test func proximityDesignSeparatesNearFromFarByPositionOnly() {
    var p = SyntheticSlides.Parameters()
    (p.proximityDesign, p.matchedBlocks) = (true, true)
    let generator = SyntheticSlides(parameters: p, splits: [SyntheticSlides.Split(name: "train", seed: 11, perClass: 8)])
    var perLabel: [Int: [Int]] = [0: [], 1: []]
    var gaps: [RelationalGroup: [Double]] = [:]
    for plan in generator.plans {
      #expect(plan.group == .near || plan.group == .far)
      let layout = generator.layout(of: plan)
      #expect(layout.count(of: .lymphoidAggregate) == 1 && layout.count(of: .necrosis) == 1, "\(plan.slideID)")
      #expect(layout.relationalLabel == 1)
      let distance = layout.fociDistance ?? -1
      #expect(plan.group.fociGap?.contains(distance) == true, "\(plan.slideID): \(plan.group) at \(distance) px")
      #expect(distance > 256 * 2.0.squareRoot())
      #expect(layout.proximityLabel == (plan.group == .near ? 1 : 0))
      let record = generator.record(of: plan, layout: layout)
      #expect(record.extra["proximity_label"] == String(layout.proximityLabel))
      #expect(record.relationalLabel == 1)
      perLabel[plan.label, default: []].append(layout.proximityLabel)
      gaps[plan.group, default: []].append(distance)
    }
    for label in 0...1 { #expect(perLabel[label]?.filter { $0 == 1 }.count == 4 && perLabel[label]?.count == 8) }
    #expect((gaps[.near] ?? []).allSatisfy { $0 <= 600 } && (gaps[.far] ?? []).allSatisfy { $0 >= 1100 })
    // The relational design is untouched: no proximity columns, the v1 groups.
    let v1 = smallGenerator(perClass: 4)
    #expect(v1.plans.allSatisfy { $0.group.fociGap == nil })
    #expect(v1.record(of: v1.plans[0], layout: v1.layout(of: v1.plans[0])).extra["proximity_label"] == nil)
  }

  /// Survival: the hazard grows with tumour burden; events and censoring are both present.
  @Test func survivalHazardGrowsWithTumourBurden() {
    var low = RandomGenerator(seed: 1)
    var high = RandomGenerator(seed: 2)
    var lowTimes: [Double] = []
    var highTimes: [Double] = []
    var events = 0
    for _ in 0..<4000 {
      let a = SyntheticSlides.survival(tumourFraction: 0, using: &low)
      let b = SyntheticSlides.survival(tumourFraction: 0.3, using: &high)
      #expect(a.months > 0 && a.months <= 120 && (a.event == 0 || a.event == 1))
      lowTimes.append(a.months)
      highTimes.append(b.months)
      events += a.event + b.event
    }
    let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
    #expect(mean(highTimes) < 0.6 * mean(lowTimes))
    #expect(events > 2000 && events < 7500)
  }

  /// The layout's tile truth agrees with polygon areas.
  @Test func tileTruthMatchesPolygonAreas() throws {
    let generator = smallGenerator(perClass: 1)
    let plan = try #require(generator.plans.first { $0.label == 1 })
    let layout = generator.layout(of: plan)
    let tumour = try #require(layout.tumours.first)
    let box = tumour.boundingBox
    let truth = layout.truth(of: box)
    expectClose(Double(truth.tumour), Double(tumour.area / box.area), rtol: 0, atol: 1e-9)
    #expect(truth.tissue >= truth.tumour - 1e-12)
    let glass = layout.truth(of: SlideRect(x: 0, y: 0, width: 64, height: 64))
    #expect(glass == TileTruth())
    #expect(layout.relationalLabel == plan.group.relationalLabel)
  }
}

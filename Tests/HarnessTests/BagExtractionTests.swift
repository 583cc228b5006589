import Engine
import Foundation
import Methods
import NN
import Slides
import Testing
import Vision
import _TestSupport

@testable import Harness

/// One positive synthetic slide with a blurred area, generated once per test process.
let extractionSlide: (directory: String, id: String, layout: SyntheticSlideLayout)? = {
  var p = SyntheticSlides.Parameters()
  p.blurredSlideFraction = 1
  p.macroFraction = 1
  let generator = SyntheticSlides(parameters: p, splits: [SyntheticSlides.Split(name: "t", seed: 21, perClass: 1)])
  guard let plan = generator.plans.first(where: { $0.label == 1 }) else { return nil }
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bag-extraction-\(UUID().uuidString)").path
  for sub in ["slides", "annotations", "layouts"] {
    try? FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
  }
  guard (try? generator.write(plan, into: dir)) != nil else { return nil }
  return (dir, plan.slideID, generator.layout(of: plan))
}()

func camelyonPreset() throws -> TilingPreset {
  try TilingPresets.preset(named: "camelyon16", path: TilingPresets.defaultPath(root: TestSupport.projectRoot))
}

@Suite(.serialized) struct BagExtractionTests {
  /// Shapes, sidecar fields, counts, instance labels against the polygons, focus rejections in the
  /// blurred area, and a write/read round trip.
  @Test func extractsOneSlide() throws {
    let slide = try #require(extractionSlide)
    let encoder = try TileEncoder(kind: .small, seed: 3)
    var extractor = BagExtractor(preset: try camelyonPreset(), encoder: encoder)
    extractor.threads = 2
    let path = slide.directory + "/slides/\(slide.id).tiff"
    let xml = slide.directory + "/annotations/\(slide.id).xml"
    let (bag, times) = try extractor.extract(slidePath: path, annotations: .file(xml))
    let n = bag.instanceCount
    #expect(n > 20)
    #expect(bag.featureDimension == 128 && bag.features.count == n * 128)
    #expect(bag.featureTensor.shape == [n, 128])
    #expect(bag.features.allSatisfy { $0.isFinite })
    let info = bag.info
    #expect(info.slideID == slide.id && info.preset == "camelyon16" && info.level == 0)
    #expect(info.patchSize == 256 && info.readSize == 256 && info.downsample == 1 && info.micronsPerPixel == 0.5)
    #expect(info.encoder.kind == "small" && info.encoder.inputSize == 64 && info.encoder.seed == 3)
    #expect(info.encoder.weightsSHA256.count == 64 && info.encoder.weightsSHA256 == encoder.weightsSHA256)
    #expect(info.annotations == xml && info.focusDetector == "laplacian_var" && info.focusThreshold == 15)
    #expect(info.counts.grid == 16 * 16)
    #expect(info.counts.kept + info.counts.rejectedTissue + info.counts.rejectedFocus == info.counts.grid)
    #expect(info.counts.kept == n)
    #expect(times.tilesRead == n + info.counts.rejectedFocus && times.tilesEncoded == n)
    // Coordinates are on the 256-px grid; labels follow the polygons.
    let regions = TumourRegions(annotations: try ASAPReader.read(path: xml))
    let fractions = try #require(bag.tumourFractions)
    let labels = try #require(bag.instanceLabels)
    for (i, c) in bag.coordinates.enumerated() {
      #expect(c.x % 256 == 0 && c.y % 256 == 0)
      let rect = SlideRect(x: Double(c.x), y: Double(c.y), width: 256, height: 256)
      expectClose(Double(fractions[i]), Double(regions.fraction(of: rect)), rtol: 0, atol: 1e-12)
      expectClose(Double(fractions[i]), Double(slide.layout.truth(of: rect).tumour), rtol: 0, atol: 1e-9)
      #expect(labels[i] == (fractions[i] >= 0.5 ? 1 : 0))
    }
    #expect(labels.reduce(0, +) >= 1, "a macro-metastasis covers whole tiles")
    // Focus QC: tiles that are entirely blurred tissue are rejected, and what is kept is not.
    let kept = Set(bag.coordinates.map { "\($0.x),\($0.y)" })
    var blurredTissue = 0
    for y in stride(from: 0, to: 4096, by: 256) {
      for x in stride(from: 0, to: 4096, by: 256) {
        let truth = slide.layout.truth(of: SlideRect(x: Double(x), y: Double(y), width: 256, height: 256))
        if truth.blurred >= 0.999 && truth.tissue >= 0.999 {
          blurredTissue += 1
          #expect(!kept.contains("\(x),\(y)"), "blurred tile at \(x),\(y) was kept")
        }
      }
    }
    #expect(info.counts.rejectedFocus >= blurredTissue)
    // Round trip through the bag file.
    let out = slide.directory + "/\(slide.id).safetensors"
    try bag.write(to: out)
    let back = try FeatureBag.read(path: out)
    #expect(back.info == bag.info && back.features == bag.features && back.instanceLabels == bag.instanceLabels)
  }

  /// `MILData.instanceTruth` reads each instance's square back from the slide's layout: the
  /// squares the extractor labelled (the same tumour fractions), with the rare foci on them; a
  /// missing layout is an input error naming the file.
  @Test func instanceTruthComesFromTheLayoutOfTheSameSquares() throws {
    let slide = try #require(extractionSlide)
    var extractor = BagExtractor(preset: try camelyonPreset(), encoder: try TileEncoder(kind: .small, seed: 3))
    extractor.threads = 2
    let bag = try extractor.extract(
      slidePath: slide.directory + "/slides/\(slide.id).tiff",
      annotations: .file(slide.directory + "/annotations/\(slide.id).xml")
    ).bag
    let layouts = URL(fileURLWithPath: slide.directory).appendingPathComponent("layouts")
    let truth = try MILData.instanceTruth(of: bag, slideID: slide.id, layouts: layouts)
    let fractions = try #require(bag.tumourFractions)
    #expect(truth.count == bag.instanceCount)
    for (i, t) in truth.enumerated() {
      expectClose(t.tumour, fractions[i], rtol: 0, atol: 1e-9)
      let c = bag.coordinates[i]
      #expect(t == slide.layout.truth(of: SlideRect(x: Double(c.x), y: Double(c.y), width: 256, height: 256)))
    }
    #expect(truth.contains { $0.lymphoidAggregate > 0 || $0.necrosis > 0 }, "the slide's rare foci lie on kept tiles")
    do {
      _ = try MILData.instanceTruth(of: bag, slideID: "no-such-slide", layouts: layouts)
      Issue.record("a missing layout was read")
    } catch InputError.badData(let path, _, _) {
      #expect(path.hasSuffix("layouts/no-such-slide.json"))
    }
  }

  /// Tile-image bags (`pixels`) come from the same tiling and QC as feature bags: the same tiles
  /// and labels, each instance the resized tile's bytes, stored as U8 and read back exactly.
  @Test func pixelBagsHoldTheSameTilesAsFeatureBags() throws {
    let slide = try #require(extractionSlide)
    let path = slide.directory + "/slides/\(slide.id).tiff"
    let xml = slide.directory + "/annotations/\(slide.id).xml"
    var features = BagExtractor(preset: try camelyonPreset(), encoder: try TileEncoder(kind: .small, seed: 3))
    var pixels = BagExtractor(preset: try camelyonPreset(), encoder: try TileEncoder(kind: .pixels, inputSize: 16))
    (features.threads, pixels.threads) = (2, 2)
    let a = try features.extract(slidePath: path, annotations: .file(xml)).bag
    let b = try pixels.extract(slidePath: path, annotations: .file(xml)).bag
    #expect(b.featureDimension == 16 * 16 * 3 && b.info.encoder.kind == BagInfo.Encoder.pixelsKind)
    #expect(a.coordinates.map(\.x) == b.coordinates.map(\.x) && a.coordinates.map(\.y) == b.coordinates.map(\.y))
    #expect(a.instanceLabels == b.instanceLabels && a.info.counts == b.info.counts)
    #expect(b.features.allSatisfy { $0 >= 0 && $0 <= 255 && $0.rounded() == $0 })
    let out = slide.directory + "/\(slide.id)-pixels.safetensors"
    try b.write(to: out)
    let size = try #require(try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
    #expect(size < b.features.count * 2, "stored as one byte per value")
    let back = try FeatureBag.read(path: out)
    #expect(back.features == b.features && back.info == b.info)
    #expect(throws: InputError.self) { try TileEncoder(kind: .pixels, weights: out) }
  }

  /// The same seed gives the same features; weights saved from the encoder load back to the same
  /// features; a state dict of another architecture is an input error naming the keys.
  @Test func encoderSeedsAndWeights() throws {
    var rng = RandomGenerator(seed: 1)
    let tiles = (0..<3).map { _ in
      RGBImage(width: 256, height: 256, pixels: (0..<(256 * 256 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }
    let a = try TileEncoder(kind: .small, seed: 4)
    let b = try TileEncoder(kind: .small, seed: 4)
    let c = try TileEncoder(kind: .small, seed: 5)
    #expect(a.encode(tiles) == b.encode(tiles))
    #expect(a.encode(tiles) != c.encode(tiles))
    #expect(a.input(tiles).shape == [3, 3, 64, 64])
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("enc-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let weights = dir + "/small.safetensors"
    try SafeTensors.write(try #require(a.model).stateDict(), to: weights)
    let loaded = try TileEncoder(kind: .small, seed: 99, weights: weights)
    #expect(loaded.encode(tiles) == a.encode(tiles))
    #expect(loaded.weightsSHA256.count == 64 && loaded.info.weights == weights)
    let error = #expect(throws: InputError.self) { try TileEncoder(kind: .resnet18, weights: weights) }
    #expect(error?.description.contains("not a resnet18 state dict") == true)
    #expect(throws: InputError.self) { try TileEncoder(kind: .small, weights: dir + "/missing.safetensors") }
  }

  /// The micro Swin as a tile encoder: each stage's width, the fusion as the concatenation of
  /// the last two stages, weights saved under timm names (as `--save-backbone` writes them) load
  /// back to the same features, and the bad combinations are input errors.
  @Test func swinEncoderStagesAndWeights() throws {
    var rng = RandomGenerator(seed: 2)
    let tiles = (0..<2).map { _ in
      RGBImage(width: 64, height: 64, pixels: (0..<(64 * 64 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }
    var features: [TileEncoderStage: [Float]] = [:]
    for (stage, width) in [(TileEncoderStage.last, 384), (.penultimate, 192), (.first, 48), (.fusion, 576)] {
      let encoder = try TileEncoder(kind: .swinMicro, inputSize: 32, seed: 4, stage: stage)
      #expect(encoder.featureDimension == width)
      features[stage] = encoder.encode(tiles)
      #expect(features[stage]?.count == 2 * width)
      #expect(encoder.summary.contains("\(stage.rawValue) stage"))
    }
    let last = try #require(features[.last]), penultimate = try #require(features[.penultimate])
    let fusion = try #require(features[.fusion])
    for row in 0..<2 {
      #expect(Array(fusion[(row * 576)..<(row * 576 + 192)]) == Array(penultimate[(row * 192)..<(row * 192 + 192)]))
      #expect(Array(fusion[(row * 576 + 192)..<(row * 576 + 576)]) == Array(last[(row * 384)..<(row * 384 + 384)]))
    }
    let source = try TileEncoder(kind: .swinMicro, inputSize: 32, seed: 4)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swin-enc-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let weights = dir + "/swin.safetensors"
    try SafeTensors.write(try #require(source.swin).stateDict(), to: weights)
    let loaded = try TileEncoder(kind: .swinMicro, inputSize: 32, seed: 99, weights: weights)
    #expect(loaded.encode(tiles) == last)
    #expect(try TileEncoder(kind: .swinMicro, inputSize: 32, seed: 99).encode(tiles) != last)
    let smallWeights = dir + "/small.safetensors"
    try SafeTensors.write(try #require(TileEncoder(kind: .small).model).stateDict(), to: smallWeights)
    let wrongNames = #expect(throws: InputError.self) { try TileEncoder(kind: .swinMicro, inputSize: 32, weights: smallWeights) }
    #expect(wrongNames?.description.contains("timm names") == true)
    // CTransPath's architecture: 224² (window 7 at every stage), and the micro Swin's weights do not fit it.
    let ctSide = #expect(throws: InputError.self) { try TileEncoder(kind: .ctransPath, inputSize: 112) }
    #expect(ctSide?.description.contains("multiple of it for ctranspath") == true)
    let microAsCT = #expect(throws: InputError.self) { try TileEncoder(kind: .ctransPath, weights: weights) }
    #expect(microAsCT?.description.contains("not a ctranspath state dict") == true, "\(microAsCT?.description ?? "")")
    #expect(try TileEncoder(kind: .ctransPath, stage: .all).featureDimension == 96 + 192 + 384 + 768)
    let wrongSide = #expect(throws: InputError.self) { try TileEncoder(kind: .swinMicro, inputSize: 48) }
    #expect(wrongSide?.description.contains("multiple of 32") == true)
    let wrongStage = #expect(throws: InputError.self) { try TileEncoder(kind: .small, stage: .first) }
    #expect(wrongStage?.description.contains("stages are the Swin's") == true)
    #expect(TileEncoderKind(backbone: "swin-micro") == .swinMicro && TileEncoderKind(backbone: "resnet-small") == .small)
    #expect(TileEncoderKind(backbone: "vit-tiny") == nil)
  }

  /// A stage's columns inside every-stage features, and the data-efficiency bags' slicing by them.
  @Test func stageColumnsSliceEveryStageFeatures() throws {
    let widths = [2, 3, 4]
    #expect(TileEncoderStage.all.columns(widths: widths) == [0..<2, 2..<5, 5..<9])
    #expect(TileEncoderStage.last.columns(widths: widths) == [5..<9])
    #expect(TileEncoderStage.penultimate.columns(widths: widths) == [2..<5])
    #expect(TileEncoderStage.first.columns(widths: widths) == [0..<2])
    #expect(TileEncoderStage.fusion.columns(widths: widths) == [2..<5, 5..<9])
    // Two instances whose feature j is 10·row + j.
    let features = Tensor(shape: [2, 9], data: (0..<18).map { Float(10 * ($0 / 9) + $0 % 9) })
    let bag = MILBag(slideID: "s", features: features, label: 1)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stage-cols-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try (BagStore.columns.joined(separator: ",") + "\n").write(
      to: dir.appendingPathComponent(BagStore.tableName), atomically: true, encoding: .utf8)
    let dataset = BagDataset(store: try BagStore(directory: dir.path), datasetId: "d", contentHash: "h")
    let splits = MILSplits(
      train: [bag], val: [bag], test: [bag], featureDimension: 9, classCount: 2, dataset: dataset, fullTrainCount: 1,
      emptySlides: [])
    let bags = DataEfficiencyBags(
      main: 100, byFraction: [100: splits], control: nil, relational: nil, relationalControl: nil, encoders: [:],
      widths: widths)
    let fusion = bags.stage(.fusion, of: splits)
    #expect(fusion.featureDimension == 7 && fusion.test[0].features.shape == [2, 7])
    #expect(fusion.train[0].features.data == [2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15, 16, 17, 18])
    #expect(bags.stage(.first, of: splits).val[0].features.data == [0, 1, 10, 11])

    // z-scoring by the training instances: train [[1, 5], [3, 5]] has mean (2, 5) and sd (1, 0);
    // the second dimension does not vary, so it is only centred. Test [[4, 7]] maps to [[2, 2]].
    var two = splits
    two.featureDimension = 2
    two.train = [MILBag(slideID: "a", features: Tensor(shape: [2, 2], data: [1, 5, 3, 5]), label: 0)]
    two.val = [MILBag(slideID: "b", features: Tensor(shape: [1, 2], data: [2, 6]), label: 1)]
    two.test = [MILBag(slideID: "c", features: Tensor(shape: [1, 2], data: [4, 7]), label: 1)]
    let z = MILData.standardized(two)
    #expect(z.train[0].features.data == [-1, 0, 1, 0])
    #expect(z.val[0].features.data == [0, 1] && z.test[0].features.data == [2, 2])
  }

  /// The cache generates once, reuses by content hash, and regenerates a damaged set.
  @Test func slideSetCacheReusesAndRepairs() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("slide-cache-\(UUID().uuidString)")
    let (m, manifest) = try TinySlides.manifest(in: root, seed: 3)
    let loader = SlideDatasetLoader(cacheDirectory: root.appendingPathComponent("cache"))
    let first = try loader.load(m, threads: 2)
    #expect(first.table.records.count == 2)
    #expect(first.contentHash == (try SlideDatasetLoader.contentHash(of: first.directory)))
    let second = try loader.load(m)
    #expect(second.contentHash == first.contentHash && second.directory == first.directory)
    let id = first.table.records[0].slideID
    try Data("damaged".utf8).write(to: URL(fileURLWithPath: first.slidePath(id)))
    let third = try loader.load(m)
    #expect(third.contentHash == first.contentHash)
    // Bad parameters name the key.
    let error = #expect(throws: InputError.self) {
      try SlideDatasetLoader.parameters(["minSide": "4000"], path: manifest.path)
    }
    #expect(error?.description.contains("minSide") == true)
    #expect(throws: InputError.self) { try SlideDatasetLoader.parameters(["colour": "red"], path: manifest.path) }
  }
}

/// A two-slide synthetic set (2048², 3 levels, one slide per class) in `root/Datasets`.
enum TinySlides {
  static func manifest(in root: URL, seed: Int) throws -> (DatasetManifest, URL) {
    try FileManager.default.createDirectory(at: root.appendingPathComponent("Datasets"), withIntermediateDirectories: true)
    let url = root.appendingPathComponent("Datasets/tiny-slides.yaml")
    try """
      id: tiny-slides
      version: 1
      kind: synthetic
      generator: synthetic-slides
      classes: [normal, tumour]
      parameters: {minSide: 2048, maxSide: 2048, levels: 3}
      splits:
        train: {seed: \(seed), perClass: 1}
      """.write(to: url, atomically: true, encoding: .utf8)
    return (try DatasetManifest.load(path: url.path), url)
  }
}

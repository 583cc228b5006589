import Engine
import Foundation
import Testing

@testable import Slides

@Suite struct BagStoreTests {
  func sampleBag(id: String, instances n: Int, dimension d: Int = 4, labelled: Bool = true) -> FeatureBag {
    let encoder = BagInfo.Encoder(
      kind: "small", description: "test", inputSize: 64, featureDimension: d, weights: nil,
      weightsSHA256: String(repeating: "0", count: 64), seed: 0, normalisation: "imagenet")
    let info = BagInfo(
      slideID: id, slidePath: "/slides/\(id).tiff", preset: "camelyon16", level: 0, patchSize: 256, readSize: 256,
      stepSize: 256, downsample: 1, micronsPerPixel: 0.5, focusDetector: "laplacian_var", focusThreshold: 15,
      annotations: labelled ? "/a/\(id).xml" : nil, instanceThreshold: 0.5, encoder: encoder,
      counts: BagInfo.Counts(grid: n + 10, kept: n, rejectedTissue: 9, rejectedFocus: 1))
    let fractions = (0..<n).map { Double($0) / Double(max(n, 1)) }
    return FeatureBag(
      info: info, features: (0..<(n * d)).map { Float($0) * 0.25 }, coordinates: (0..<n).map { ($0 * 256, 512) },
      tissueCoverage: Array(repeating: 1, count: n), focusScores: (0..<n).map { Double($0) + 20 },
      tumourFractions: labelled ? fractions : nil, instanceLabels: labelled ? fractions.map { $0 >= 0.5 ? 1 : 0 } : nil)
  }

  @Test func bagRoundTripsAndStoreListsSplits() throws {
    let dir = temporaryDirectory("bags")
    var entries: [BagStore.Entry] = []
    for (id, n) in [("a_000", 5), ("a_001", 3), ("b_000", 0)] {
      let bag = sampleBag(id: id, instances: n, labelled: id != "a_001")
      let path = dir + "/\(id).safetensors"
      try bag.write(to: path)
      let back = try FeatureBag.read(path: path)
      #expect(back.info == bag.info)
      #expect(back.features == bag.features)
      #expect(back.coordinates.map(\.x) == bag.coordinates.map(\.x))
      #expect(back.tumourFractions == bag.tumourFractions.map { $0.map { Double(Float($0)) } })
      #expect(back.instanceLabels == bag.instanceLabels)
      #expect(back.featureTensor.shape == [n, 4])
      entries.append(
        BagStore.Entry(
          slideID: id, path: path, instanceCount: n, featureDimension: 4, counts: bag.info.counts,
          tumourInstances: bag.instanceLabels?.reduce(0, +)))
    }
    try BagStore.tableText(entries, directory: dir).write(toFile: dir + "/bags.csv", atomically: true, encoding: .utf8)
    let table = SlideTable(records: [
      SlideRecord(slideID: "a_000", label: 1, split: "train", tumourFraction: 0.1),
      SlideRecord(slideID: "a_001", label: 0, split: "test", tumourFraction: 0),
      SlideRecord(slideID: "b_000", label: 0, split: "train", tumourFraction: 0),
    ])
    try table.write(to: dir + "/slides.csv")
    let store = try BagStore(directory: dir)
    #expect(store.entries.map(\.slideID) == ["a_000", "a_001", "b_000"])
    #expect(store.splits == ["train", "test"])
    #expect(store.entries(inSplit: "train").map(\.slideID) == ["a_000", "b_000"])
    #expect(store.entry("a_000")?.record?.label == 1)
    #expect(store.entry("a_001")?.tumourInstances == nil)
    #expect(try store.load("a_000").instanceCount == 5)
    #expect(throws: BagError.unknownSlide("zzz", store: dir)) { try store.load("zzz") }
  }

  @Test func damagedBagsAreTypedErrors() throws {
    let dir = temporaryDirectory("bad-bags")
    let path = dir + "/x.safetensors"
    try sampleBag(id: "x", instances: 6).write(to: path)
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    try data.prefix(data.count - 7).write(to: URL(fileURLWithPath: path))
    let truncated = #expect(throws: BagError.self) { try FeatureBag.read(path: path) }
    #expect(truncated?.description.contains(path) == true)
    try sampleBag(id: "y", instances: 2).write(to: dir + "/y.safetensors")
    try FileManager.default.removeItem(atPath: dir + "/y.json")
    #expect(throws: BagError.self) { try FeatureBag.read(path: dir + "/y.safetensors") }
    #expect(throws: BagError.self) { try FeatureBag.read(path: dir + "/none.safetensors") }
    #expect(throws: BagError.self) { try BagStore(directory: dir) }
  }
}

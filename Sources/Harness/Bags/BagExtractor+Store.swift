import Foundation
import Slides

extension BagExtractor {
  /// One slide to turn into a bag: its id (the bag's file stem), its file and where its instance
  /// labels come from.
  public struct SlideInput: Sendable {
    public var id: String
    public var path: String
    public var annotations: AnnotationSource?

    public init(id: String, path: String, annotations: AnnotationSource?) {
      self.id = id
      self.path = path
      self.annotations = annotations
    }
  }

  /// Extracts every slide into `directory` as a `BagStore`: `<id>.safetensors` (+ JSON sidecar)
  /// per slide, then `bags.csv`, then `slides.csv` when `table` is given (the store is complete
  /// once `bags.csv` exists, so callers that need atomicity write into a temporary folder and
  /// rename it). `progress(done, total, note)` is called after each slide.
  /// - Returns: the store's entries (in `slides` order) and the summed stage times.
  public func writeStore(
    _ slides: [SlideInput], table: SlideTable?, to directory: String,
    progress: ((Int, Int, String) -> Void)? = nil, isCancelled: () -> Bool = { false }
  ) throws -> (entries: [BagStore.Entry], times: StageTimes) {
    let outDir = URL(fileURLWithPath: directory).standardizedFileURL.path
    var entries: [BagStore.Entry] = []
    var times = StageTimes()
    for (i, slide) in slides.enumerated() {
      if isCancelled() { throw CancellationError() }
      let (bag, stage) = try extract(slidePath: slide.path, slideID: slide.id, annotations: slide.annotations)
      times.add(stage)
      let path = outDir + "/\(slide.id).safetensors"
      try bag.write(to: path)
      entries.append(
        BagStore.Entry(
          slideID: slide.id, path: path, instanceCount: bag.instanceCount, featureDimension: bag.featureDimension,
          counts: bag.info.counts, tumourInstances: bag.instanceLabels.map { $0.reduce(0, +) }))
      progress?(i + 1, slides.count, "\(slide.id): \(bag.instanceCount) tiles")
    }
    do {
      try BagStore.tableText(entries, directory: outDir).write(
        toFile: outDir + "/" + BagStore.tableName, atomically: true, encoding: .utf8)
    } catch {
      throw BagError.cannotWrite(path: outDir + "/" + BagStore.tableName, reason: error.localizedDescription)
    }
    if let table { try table.write(to: outDir + "/" + BagStore.slideTableName) }
    return (entries, times)
  }
}

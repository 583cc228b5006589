import ArgumentParser
import Basics
import Engine
import Foundation
import Harness
import Slides

/// `replicate bench slides`: tiles/s of the bag pipeline on the synthetic slides, by stage.
struct BenchSlides: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "slides",
    abstract: "Tiles/s of read + tissue mask + focus QC + encode on synthetic slides, at 1 and 2 threads.",
    discussion: """
      Runs `replicate slides extract`'s pipeline (camelyon16 preset: 256-px tiles at 20×, Laplacian-variance focus
      QC, the small ResNet at 64²) on the first --slides slides of the cached synthetic-slides test split (generated
      first if needed; generation is not timed) and reports wall-clock seconds per stage and tiles encoded per
      second, the median of --repeats runs per thread count. With N threads, N tiles are read and scored at once and
      the engine and OpenBLAS use N threads.
      """)

  @Option(help: "Slides per run.")
  var slides: Int = 4

  @Option(help: "Thread counts.")
  var threads: String = "1,2"

  @Option(help: "Repeats per thread count (the median run is reported).")
  var repeats: Int = 3

  @Option(help: "Encoder: small or resnet18.")
  var encoder: String = TileEncoderKind.small.rawValue

  @Option(help: "Also write the results as JSON here.")
  var json: String?

  func run() throws {
    let threadList = threads.split(separator: ",").compactMap { Int($0) }
    guard !threadList.isEmpty, threadList.allSatisfy({ (1...256).contains($0) }) else {
      throw InputError.badArgument(option: "--threads", value: threads, expected: "thread counts, for example 1,2")
    }
    guard slides >= 1, repeats >= 1 else {
      throw InputError.badArgument(option: "--slides/--repeats", value: "\(slides)/\(repeats)", expected: "at least 1")
    }
    guard let kind = TileEncoderKind(rawValue: encoder) else {
      throw InputError.badArgument(option: "--encoder", value: encoder, expected: "small or resnet18")
    }
    let registry = try Registry.locate()
    let set = try SlideDatasetLoader(cacheDirectory: registry.cacheDirectory()).load(
      try registry.dataset(SyntheticSlides.name), threads: HostFacts.cores)
    let chosen = Array(set.table.records(inSplit: "test").prefix(slides))
    let preset = try TilingPresets.preset(named: "camelyon16", path: TilingPresets.defaultPath(root: registry.root))
    var rows: [[String]] = []
    var records: [String] = []
    for t in threadList {
      Parallel.setThreadCount(t)
      BLAS.setThreadCount(t)
      var extractor = BagExtractor(preset: preset, encoder: try TileEncoder(kind: kind))
      extractor.threads = t
      var runs: [StageTimes] = []
      for _ in 0..<repeats {
        var times = StageTimes()
        for record in chosen {
          let annotations = set.annotationPath(record.slideID).map { BagExtractor.AnnotationSource.file($0) }
          times.add(
            try extractor.extract(
              slidePath: set.slidePath(record.slideID), slideID: record.slideID, annotations: annotations ?? .negative
            ).times)
        }
        runs.append(times)
      }
      runs.sort { $0.total < $1.total }
      let m = runs[runs.count / 2]
      let rate = Double(m.tilesEncoded) / m.total
      func share(_ s: Double) -> String { String(format: "%.2f (%.0f%%)", s, 100 * s / m.total) }
      rows.append([
        String(t), String(m.tilesRead), String(m.tilesEncoded), share(m.read), share(m.tissue), share(m.focus),
        share(m.encode), String(format: "%.2f", m.total), String(format: "%.0f", rate),
      ])
      records.append(
        "{\"threads\":\(t),\"tilesRead\":\(m.tilesRead),\"tilesEncoded\":\(m.tilesEncoded),\"read\":\(m.read),"
          + "\"tissue\":\(m.tissue),\"focus\":\(m.focus),\"encode\":\(m.encode),\"total\":\(m.total),"
          + "\"tilesPerSecond\":\(rate)}")
    }
    print(
      table(
        ["threads", "tiles read", "encoded", "read s", "tissue s", "focus s", "encode s", "total s", "tiles/s"], rows))
    print(
      "\(chosen.count) slides of \(set.datasetId.prefix(40))…; encoder \(try TileEncoder(kind: kind).summary)")
    print("host: \(HostFacts.cpuModel), \(HostFacts.cores) cores, \(HostFacts.buildConfiguration) build")
    if let json {
      let text = "{\"host\":\"\(HostFacts.cpuModel)\",\"build\":\"\(HostFacts.buildConfiguration)\",\"rows\":[\n"
        + records.joined(separator: ",\n") + "\n]}\n"
      try text.write(toFile: json, atomically: true, encoding: .utf8)
    }
  }
}

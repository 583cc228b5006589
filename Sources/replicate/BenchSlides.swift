import ArgumentParser
import Basics
import Foundation
import Harness

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
    let threadCounts = try threadList(threads, range: 1...256)
    guard slides >= 1, repeats >= 1 else {
      throw InputError.badArgument(option: "--slides/--repeats", value: "\(slides)/\(repeats)", expected: "at least 1")
    }
    guard let kind = TileEncoderKind(rawValue: encoder) else {
      throw InputError.badArgument(option: "--encoder", value: encoder, expected: "small or resnet18")
    }
    let (rows, setup) = try SlidesBench.run(
      registry: try Registry.locate(), slides: slides, threads: threadCounts, repeats: repeats, encoder: kind)
    print(
      table(
        ["threads", "tiles read", "encoded", "read s", "tissue s", "focus s", "encode s", "total s", "tiles/s"],
        rows.map { m in
          func share(_ s: Double) -> String { String(format: "%.2f (%.0f%%)", s, 100 * s / m.total) }
          return [
            String(m.threads), String(m.tilesRead), String(m.tilesEncoded), share(m.read), share(m.tissue),
            share(m.focus), share(m.encode), String(format: "%.2f", m.total), String(format: "%.0f", m.tilesPerSecond),
          ]
        }))
    print("\(setup.slideCount) slides of \(setup.datasetID.prefix(40))…; encoder \(setup.encoder)")
    print("host: \(HostFacts.cpuModel), \(HostFacts.cores) cores, \(HostFacts.buildConfiguration) build")
    if let json { try jsonText(BenchReport(rows: rows)).write(toFile: json, atomically: true, encoding: .utf8) }
  }
}

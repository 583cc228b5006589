import ArgumentParser
import Basics
import Foundation
import Harness

/// `replicate bench`: throughput benchmarks (never asserted in tests).
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Benchmarks, to compare side by side with the peer scripts in ../shared/bench.",
    subcommands: [Focus.self, BenchEngine.self, BenchSlides.self])

  /// `replicate bench focus`: tiles/s of each focus detector on grey tiles.
  struct Focus: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "focus",
      abstract: "Tiles/s of each focus detector on 256² and 1024² grey tiles, 1 and 2 threads.",
      discussion: """
        Same inputs as ../shared/bench/run_imageops.py (a Gaussian-smoothed uniform-noise grey tile; content
        does not change the timing). Each repeat runs for at least --seconds; the median of --repeats is
        reported with min and max. With N threads, N tiles are scored concurrently (throughput).
        """)

    @Option(help: "Tile sizes.")
    var sizes: String = "256,1024"

    @Option(help: "Thread counts.")
    var threads: String = "1,2"

    @Option(help: "Minimum seconds per repeat.")
    var seconds: Double = 0.25

    @Option(help: "Repeats per cell.")
    var repeats: Int = 5

    @Option(help: "Also write the results as JSON here.")
    var json: String?

    func run() throws {
      let sizeList = sizes.split(separator: ",").compactMap { Int($0) }
      guard !sizeList.isEmpty, sizeList.allSatisfy({ $0 >= 16 }) else {
        throw InputError.badArgument(option: "--sizes", value: sizes, expected: "sizes ≥ 16, for example 256,1024")
      }
      let threadCounts = try threadList(threads)
      let rows = FocusBench.run(sizes: sizeList, threads: threadCounts, seconds: seconds, repeats: repeats)
      print(
        table(
          ["op", "size", "threads", "tiles/s (median)", "min-max", "ms/tile"],
          rows.map { r in
            [r.op, "\(r.size)x\(r.size)", String(r.threads), String(format: "%.0f", r.tilesPerSecond),
              String(format: "%.0f-%.0f", r.min, r.max), String(format: "%.3f", 1000 / r.tilesPerSecond)]
          }))
      print("host: \(HostFacts.cpuModel), \(HostFacts.cores) cores, \(HostFacts.buildConfiguration) build")
      if let json { try jsonText(BenchReport(rows: rows)).write(toFile: json, atomically: true, encoding: .utf8) }
    }
  }
}

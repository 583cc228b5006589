import ArgumentParser
import Basics
import Dispatch
import Engine
import Foundation
import Harness
import Methods
import Vision

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
      let threadList = threads.split(separator: ",").compactMap { Int($0) }
      guard !sizeList.isEmpty, sizeList.allSatisfy({ $0 >= 16 }) else {
        throw InputError.badArgument(option: "--sizes", value: sizes, expected: "sizes ≥ 16, for example 256,1024")
      }
      guard !threadList.isEmpty, threadList.allSatisfy({ $0 >= 1 }) else {
        throw InputError.badArgument(option: "--threads", value: threads, expected: "thread counts, for example 1,2")
      }
      let ops: [(String, @Sendable (GrayImage) -> Double)] = [
        ("laplacian_var", { LaplacianVariance.score($0) }),
        ("haar_energy", { HaarEnergy.score($0) }),
        ("tong_3level", { TongWavelet.analyze($0).per }),
        ("all_detectors", { FocusDetectors.scoreAll($0).laplacianVariance }),
      ]
      var rows: [[String]] = []
      var records: [String] = []
      for size in sizeList {
        let tile = Self.tile(size: size)
        for t in threadList {
          for (name, op) in ops {
            _ = op(tile)
            var rates: [Double] = []
            for _ in 0..<repeats { rates.append(Self.rate(op, tile, threads: t, seconds: seconds)) }
            rates.sort()
            let median = rates[rates.count / 2]
            rows.append([name, "\(size)x\(size)", String(t), String(format: "%.0f", median),
              String(format: "%.0f-%.0f", rates.first ?? 0, rates.last ?? 0), String(format: "%.3f", 1000 / median)])
            records.append(
              "{\"op\":\"\(name)\",\"size\":\(size),\"threads\":\(t),\"tilesPerSecond\":\(median),"
                + "\"min\":\(rates.first ?? 0),\"max\":\(rates.last ?? 0)}")
          }
        }
      }
      print(table(["op", "size", "threads", "tiles/s (median)", "min-max", "ms/tile"], rows))
      print("host: \(HostFacts.cpuModel), \(HostFacts.cores) cores, \(HostFacts.buildConfiguration) build")
      if let json {
        let text = "{\"host\":\"\(HostFacts.cpuModel)\",\"build\":\"\(HostFacts.buildConfiguration)\",\"rows\":[\n"
          + records.joined(separator: ",\n") + "\n]}\n"
        try text.write(toFile: json, atomically: true, encoding: .utf8)
      }
    }

    /// A smooth-ish random grey tile like the peer script's (uniform noise, 5×5 Gaussian σ=1).
    static func tile(size: Int) -> GrayImage {
      var rng = RandomGenerator(seed: 0)
      var pixels = [UInt8](repeating: 0, count: size * size * 3)
      for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: rng.next() >> 56) }
      return RGBImage(width: size, height: size, pixels: pixels).gaussianBlur(sigma: 1).grayscale()
    }

    static func rate(_ op: @escaping @Sendable (GrayImage) -> Double, _ tile: GrayImage, threads: Int, seconds: Double)
      -> Double
    {
      let counter = Counter()
      let start = Date()
      Parallel.onWorkers(threads) { _ in
        var n = 0
        var sink = 0.0
        while Date().timeIntervalSince(start) < seconds {
          sink += op(tile)
          n += 1
        }
        counter.add(n, sink)
      }
      return Double(counter.count) / Date().timeIntervalSince(start)
    }
  }
}

private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var count = 0
  private var sink = 0.0
  func add(_ n: Int, _ s: Double) {
    lock.lock()
    count += n
    sink += s
    lock.unlock()
  }
}

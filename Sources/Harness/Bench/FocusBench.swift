import Engine
import Foundation
import Methods
import Vision

/// `replicate bench focus`: tiles per second of each focus detector on grey tiles.
///
/// Same inputs as `../shared/bench/run_imageops.py` (a Gaussian-smoothed uniform-noise grey tile;
/// content does not change the timing). Each repeat runs for at least `seconds`; with N threads,
/// N tiles are scored concurrently (`Parallel.onWorkers`, throughput).
public enum FocusBench {
  /// One cell: an operation on a tile size at a thread count.
  public struct Row: Codable, Sendable, Equatable {
    /// The operation (`laplacian_var`, `haar_energy`, `tong_3level`, `all_detectors`).
    public var op: String
    /// Tile side in pixels.
    public var size: Int
    /// Tiles scored at once.
    public var threads: Int
    /// The median over the repeats.
    public var tilesPerSecond: Double
    /// The slowest and fastest repeat.
    public var min: Double
    public var max: Double
  }

  /// The operations timed, by name.
  public static let operations: [(name: String, op: @Sendable (GrayImage) -> Double)] = [
    ("laplacian_var", { LaplacianVariance.score($0) }),
    ("haar_energy", { HaarEnergy.score($0) }),
    ("tong_3level", { TongWavelet.analyze($0).per }),
    ("all_detectors", { FocusDetectors.scoreAll($0).laplacianVariance }),
  ]

  /// Times every operation at every size and thread count, `repeats` times each.
  /// - Precondition: sizes ≥ 16, threads ≥ 1, repeats ≥ 1.
  public static func run(sizes: [Int], threads: [Int], seconds: Double, repeats: Int) -> [Row] {
    var rows: [Row] = []
    for size in sizes {
      let tile = Self.tile(size: size)
      for t in threads {
        for (name, op) in operations {
          _ = op(tile)
          var rates: [Double] = []
          for _ in 0..<repeats { rates.append(rate(op, tile, threads: t, seconds: seconds)) }
          rates.sort()
          rows.append(
            Row(
              op: name, size: size, threads: t, tilesPerSecond: rates[rates.count / 2], min: rates.first ?? 0,
              max: rates.last ?? 0))
        }
      }
    }
    return rows
  }

  /// A smooth-ish random grey tile like the peer script's (uniform noise, 5×5 Gaussian σ=1).
  public static func tile(size: Int) -> GrayImage {
    var rng = RandomGenerator(seed: 0)
    var pixels = [UInt8](repeating: 0, count: size * size * 3)
    for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: rng.next() >> 56) }
    return RGBImage(width: size, height: size, pixels: pixels).gaussianBlur(sigma: 1).grayscale()
  }

  /// Tiles per second of `op` on `threads` workers, each scoring `tile` for `seconds`.
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

  /// Tiles scored across workers (the sink keeps the scores from being optimised away).
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
}

/// A binary tissue mask over a whole slide at a reduced resolution, with the scale that maps it
/// back to level 0.
///
/// Mask pixel `(i, j)` covers the level-0 box `[i·dx, (i+1)·dx) × [j·dy, (j+1)·dy)` with
/// `dx = downsampleX`, `dy = downsampleY`. Those are the exact ratios level-0 size / mask size
/// per axis (CLAM's `level_downsamples`), which can differ slightly from OpenSlide's single
/// rounded downsample of the level.
public struct TissueMask: Equatable, Sendable {
  /// Width in mask pixels.
  public let width: Int
  /// Height in mask pixels.
  public let height: Int
  /// `height × width` values, row-major: 1 = tissue, 0 = background.
  public var pixels: [UInt8]
  /// Level-0 pixels per mask pixel along x.
  public let downsampleX: Double
  /// Level-0 pixels per mask pixel along y.
  public let downsampleY: Double

  /// Wraps mask values.
  /// - Precondition: `pixels.count == width * height`, values 0 or 1, downsamples > 0.
  public init(width: Int, height: Int, pixels: [UInt8], downsampleX: Double, downsampleY: Double) {
    precondition(pixels.count == width * height, "TissueMask: \(pixels.count) values for \(width)×\(height)")
    precondition(downsampleX > 0 && downsampleY > 0, "TissueMask: downsample \(downsampleX)×\(downsampleY)")
    precondition(pixels.allSatisfy { $0 <= 1 }, "TissueMask: values must be 0 or 1")
    self.width = width
    self.height = height
    self.pixels = pixels
    self.downsampleX = downsampleX
    self.downsampleY = downsampleY
  }

  /// A mask that calls every pixel of a `width × height` level-0 slide tissue (no filtering).
  public static func everything(levelZeroWidth width: Int, height: Int) -> TissueMask {
    TissueMask(width: 1, height: 1, pixels: [1], downsampleX: Double(width), downsampleY: Double(height))
  }

  /// Mean of the two axis downsamples.
  public var downsample: Double { (downsampleX + downsampleY) / 2 }

  /// Whether mask pixel (`x`, `y`) is tissue.
  public subscript(x: Int, y: Int) -> Bool { pixels[y * width + x] != 0 }

  /// Number of tissue pixels in the mask.
  public var tissuePixelCount: Int { pixels.reduce(0) { $0 + Int($1) } }

  /// Tissue area in level-0 pixels².
  public var tissueArea: Double { Double(tissuePixelCount) * downsampleX * downsampleY }

  /// Fraction of `rect` (level 0) covered by tissue, area-weighted: each mask pixel counts by
  /// the area of its level-0 box inside `rect`; parts of `rect` beyond the slide count as
  /// background. Returns 0 for an empty rectangle.
  public func coverage(of rect: SlideRect) -> Double {
    guard rect.width > 0, rect.height > 0 else { return 0 }
    let u0 = rect.minX / downsampleX
    let u1 = rect.maxX / downsampleX
    let v0 = rect.minY / downsampleY
    let v1 = rect.maxY / downsampleY
    let columns = TissueMask.overlaps(u0, u1, count: width)
    let rows = TissueMask.overlaps(v0, v1, count: height)
    var covered = 0.0
    for (j, wy) in rows {
      var rowSum = 0.0
      let base = j * width
      for (i, wx) in columns where pixels[base + i] != 0 { rowSum += wx }
      covered += rowSum * wy
    }
    return covered / ((u1 - u0) * (v1 - v0))
  }

  /// Cells `i` in `0..<count` overlapping `[a, b)`, with the overlap length of `[i, i+1)`.
  static func overlaps(_ a: Double, _ b: Double, count: Int) -> [(Int, Double)] {
    let first = max(0, Int(a.rounded(.down)))
    let last = min(count - 1, Int(b.rounded(.up)) - 1)
    guard first <= last else { return [] }
    var out: [(Int, Double)] = []
    out.reserveCapacity(last - first + 1)
    for i in first...last {
      let overlap = min(b, Double(i + 1)) - max(a, Double(i))
      if overlap > 0 { out.append((i, overlap)) }
    }
    return out
  }
}

import Engine
import Foundation
import Methods
import Slides
import Vision

/// One image's scores from every focus detector, a row of `replicate focus score` (`--json`
/// encodes it with the detector names as keys; a non-finite score is null).
///
/// Scores are on the scales of the usual OpenCV/PyWavelets pipelines (8-bit BT.601 grey, 0–255):
/// `laplacian_var` = `cv2.Laplacian(gray, CV_64F).var()`; `haar_energy` = mean of cH²+cV²+cD² of
/// `pywt.dwt2(gray, 'haar')`; `tong_per` and `tong_blur_extent` from Tong et al. 2004 (orthonormal
/// Haar as PyWavelets; `_norm` with level-normalised Haar). `blurred` applies Tong's rule
/// Per < MinZero to the level-normalised Per.
public struct FocusScoreRow: Encodable, Sendable {
  /// The image's file name, or a slide tile's `x=…,y=…,level=…`.
  public var name: String
  /// The image size in pixels.
  public var width: Int
  public var height: Int
  /// Every detector's score.
  public var scores: FocusScores
  /// Tong's verdict at the MinZero asked for.
  public var blurred: Bool

  /// Scores every image at `path` (a PNG/TIFF image or a folder of them) or, for a whole-slide
  /// image, up to `limit` tissue tiles of `tileSize` pixels at `level`, on all cores.
  /// - Throws: `InputError` (exit 2) for a path that holds no images.
  public static func score(path: String, tileSize: Int, level: Int, limit: Int, minZero: Double) throws
    -> [FocusScoreRow]
  {
    let source = try DataSource.user(path: path, option: "")
    let items: [(String, RGBImage)]
    switch source {
    case .slide(let url):
      let slide = try WholeSlideImage(path: url.path)
      items = try SlideTiles.tiles(of: slide, level: level, size: tileSize, limit: limit).map {
        ("x=\($0.x),y=\($0.y),level=\($0.level)", $0.image)
      }
    default:
      let tiles = try TileLoader(cacheDirectory: URL(fileURLWithPath: NSTemporaryDirectory())).load(
        source, tileSize: tileSize)
      items = Array(zip(tiles.names, tiles.images))
    }
    let scores = Parallel.map(items.count, threads: ProcessInfo.processInfo.activeProcessorCount, chunk: 16) { i in
      FocusDetectors.scoreAll(items[i].1.grayscale())
    }
    return zip(items, scores).map { item, s in
      FocusScoreRow(
        name: item.0, width: item.1.width, height: item.1.height, scores: s,
        blurred: s.tongNormalized.isBlurred(minZero: minZero))
    }
  }

  enum CodingKeys: String, CodingKey {
    case name, width, height, laplacianVar = "laplacian_var", haarEnergy = "haar_energy", tongPer = "tong_per"
    case tongBlurExtent = "tong_blur_extent", tongPerNorm = "tong_per_norm"
    case tongBlurExtentNorm = "tong_blur_extent_norm", blurred
  }

  /// Encodes each score under its detector's name, a non-finite one as null.
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    func number(_ v: Double, _ key: CodingKeys) throws { try c.encode(v.isFinite ? v : nil, forKey: key) }
    try c.encode(name, forKey: .name)
    try c.encode(width, forKey: .width)
    try c.encode(height, forKey: .height)
    try number(scores.laplacianVariance, .laplacianVar)
    try number(scores.haarEnergy, .haarEnergy)
    try number(scores.tong.per, .tongPer)
    try number(scores.tong.blurExtent, .tongBlurExtent)
    try number(scores.tongNormalized.per, .tongPerNorm)
    try number(scores.tongNormalized.blurExtent, .tongBlurExtentNorm)
    try c.encode(blurred, forKey: .blurred)
  }
}

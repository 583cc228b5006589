import Methods
import Vision

/// Focus quality control: score each tile with one blur detector and reject tiles scoring
/// below a threshold (every detector's score is "higher = sharper").
public struct FocusQC: Sendable, Equatable {
  /// The detector (`FocusDetectors`), on the 8-bit BT.601 grey tile at patch size.
  public var detector: FocusDetectorKind
  /// Tiles scoring below this are rejected; nil scores without rejecting.
  public var threshold: Double?

  /// Settings with every field given.
  public init(detector: FocusDetectorKind, threshold: Double?) {
    self.detector = detector
    self.threshold = threshold
  }

  /// The default: variance of the Laplacian (`cv2.Laplacian(gray, CV_64F).var()`) below 15
  /// rejects. Chosen on `synthetic-slides` 256² level-0 tissue tiles (5 slides, 373 tiles):
  /// tiles inside blurred areas (σ 2–4 px) scored 1.7–21 (median 3.6), sharp tiles 14–410 (1st
  /// percentile 20; the lowest are pale, low-contrast adipose and mucus). Real scanners and other
  /// magnifications need their own threshold (`replicate slides tile --list`).
  public static let standard = FocusQC(detector: .laplacianVariance, threshold: 15)

  /// The tile's score.
  public func score(_ tile: RGBImage) -> Double { FocusDetectors.score(tile.grayscale(), kind: detector) }

  /// Whether a tile with `score` is kept.
  public func keeps(_ score: Double) -> Bool { threshold.map { score >= $0 } ?? true }

  /// Focus QC as the command line names it: a detector name (`laplacian_var`, `haar_energy`,
  /// `tong_per`, `tong_per_norm`) and a threshold. Without a threshold the standard detector
  /// rejects below its standard threshold and the others score without rejecting; a threshold
  /// of 0 or less turns rejection off.
  /// - Throws: `InputError` (exit 2) for an unknown detector or a non-finite threshold.
  public init(detectorName: String, threshold: Double?) throws {
    guard let kind = FocusDetectorKind(rawValue: detectorName) else {
      throw InputError.badArgument(
        option: "--focus-detector", value: detectorName,
        expected: FocusDetectorKind.allCases.map(\.rawValue).joined(separator: ", "))
    }
    if let threshold {
      guard threshold.isFinite else {
        throw InputError.badArgument(option: "--focus-threshold", value: String(threshold), expected: "a number")
      }
      self.init(detector: kind, threshold: threshold > 0 ? threshold : nil)
    } else {
      self.init(detector: kind, threshold: kind == FocusQC.standard.detector ? FocusQC.standard.threshold : nil)
    }
  }
}

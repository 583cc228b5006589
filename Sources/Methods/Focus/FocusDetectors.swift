import Vision

/// The focus (blur) detectors the harness can score tiles with. Every kind's score is
/// "higher = sharper".
///
/// Source: Pech-Pacheco et al., ICPR 2000 (Laplacian variance); PyWavelets `dwt2` (Haar detail
/// energy); Tong et al., IEEE ICME 2004 (wavelet edge-type ratio `per`).
public enum FocusDetectorKind: String, CaseIterable, Sendable {
  /// ``LaplacianVariance``: `cv2.Laplacian(gray, cv2.CV_64F).var()`.
  case laplacianVariance = "laplacian_var"
  /// ``HaarEnergy``: `np.mean(cH² + cV² + cD²)` of one-level `pywt.dwt2(gray, 'haar')`.
  case haarEnergy = "haar_energy"
  /// ``TongWavelet`` `per` with the literal orthonormal Haar (`.orthonormal`).
  case tongPer = "tong_per"
  /// ``TongWavelet`` `per` with level-normalised edge maps (`.levelNormalized`).
  case tongPerNormalized = "tong_per_norm"
}

/// All focus scores of one image.
///
/// Source: see ``FocusDetectorKind``.
public struct FocusScores: Sendable, Equatable, Codable {
  /// ``LaplacianVariance/score(_:)``.
  public var laplacianVariance: Double
  /// ``HaarEnergy/score(_:)``.
  public var haarEnergy: Double
  /// ``TongWavelet/analyze(_:scaling:threshold:)`` with `.orthonormal`, `T = 35`.
  public var tong: TongResult
  /// ``TongWavelet/analyze(_:scaling:threshold:)`` with `.levelNormalized`, `T = 35`.
  public var tongNormalized: TongResult

  /// Creates scores from their parts.
  public init(
    laplacianVariance: Double, haarEnergy: Double, tong: TongResult, tongNormalized: TongResult
  ) {
    self.laplacianVariance = laplacianVariance
    self.haarEnergy = haarEnergy
    self.tong = tong
    self.tongNormalized = tongNormalized
  }

  /// The score of one detector, oriented so that higher = sharper (Tong: `per`).
  public subscript(kind: FocusDetectorKind) -> Double {
    switch kind {
    case .laplacianVariance: return laplacianVariance
    case .haarEnergy: return haarEnergy
    case .tongPer: return tong.per
    case .tongPerNormalized: return tongNormalized.per
    }
  }
}

/// Runs every focus detector on an image.
///
/// Source: see ``FocusDetectorKind``.
public enum FocusDetectors {
  /// All scores of `image` with Tong's paper threshold `T = 35`.
  public static func scoreAll(_ image: GrayImage) -> FocusScores {
    scoreAll(image, threshold: TongWavelet.threshold)
  }

  /// All scores of `image`; both Tong scalings share one 3-level transform.
  /// - Parameter threshold: Tong's edge threshold `T` (paper: 35), used by both scalings.
  public static func scoreAll(_ image: GrayImage, threshold t: Double) -> FocusScores {
    let maxima = TongWavelet.EdgeMaxima(image)
    return FocusScores(
      laplacianVariance: LaplacianVariance.score(image),
      haarEnergy: HaarEnergy.score(image),
      tong: TongWavelet.classify(maxima, scaling: .orthonormal, threshold: t),
      tongNormalized: TongWavelet.classify(maxima, scaling: .levelNormalized, threshold: t))
  }

  /// The score of one detector (higher = sharper).
  public static func score(_ image: GrayImage, kind: FocusDetectorKind) -> Double {
    switch kind {
    case .laplacianVariance: return LaplacianVariance.score(image)
    case .haarEnergy: return HaarEnergy.score(image)
    case .tongPer: return TongWavelet.analyze(image, scaling: .orthonormal).per
    case .tongPerNormalized: return TongWavelet.analyze(image, scaling: .levelNormalized).per
    }
  }
}

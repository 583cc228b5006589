import Vision

/// Settings of CLAM-style tissue segmentation (CLAM `segmentTissue` seg/filter params).
///
/// Areas are in **level-0 pixels²**, so a setting means the same tissue size whichever level
/// the mask is computed at. CLAM states `a_t`/`a_h` in units of a 512×512 level-0 reference
/// patch (`ref_patch_size = 512`; it multiplies them by `512² / downsample²` at the
/// segmentation level): `minTissueArea = a_t · clamAreaUnit`, `maxHoleArea = a_h · clamAreaUnit`.
/// Source: CLAM `wsi_core/WholeSlideImage.py` (`segmentTissue`, `_filter_contours`) and
/// `create_patches_fp.py` (defaults; `seg_level = -1` → best level for downsample 64).
public struct TissueDetectionParameters: Equatable, Sendable {
  /// Which pyramid level the mask is computed at.
  public enum Level: Equatable, Sendable {
    /// OpenSlide's best level for this downsample (CLAM `seg_level: -1` uses 64).
    case bestFor(downsample: Double)
    /// A fixed level index.
    case index(Int)
  }

  /// How the median-filtered saturation is thresholded.
  public enum Threshold: Equatable, Sendable {
    /// Tissue where saturation > this value (CLAM `sthresh`, `use_otsu: False`).
    case fixed(Int)
    /// Tissue where saturation > Otsu's threshold (CLAM `use_otsu: True`).
    case otsu
  }

  /// CLAM's area unit: one 512 × 512 level-0 reference patch, in pixels².
  public static let clamAreaUnit = 512.0 * 512.0

  /// Segmentation level (CLAM `seg_level`).
  public var level: Level
  /// Saturation threshold (CLAM `sthresh` / `use_otsu`).
  public var threshold: Threshold
  /// Median filter size on the saturation channel, odd (CLAM `mthresh`).
  public var medianKernel: Int
  /// Closing square size in mask pixels, 0 for none (CLAM `close`).
  public var closeKernel: Int
  /// Tissue components with area ≤ this (level-0 px²) are dropped (CLAM `a_t` × 512²).
  public var minTissueArea: Double
  /// Holes with area ≤ this (level-0 px²) are filled (CLAM `a_h` × 512²).
  public var maxHoleArea: Double
  /// At most this many holes (the largest) are kept per tissue component; smaller ones are
  /// filled (CLAM `max_n_holes`).
  public var maxHoles: Int

  /// Settings with CLAM's `create_patches_fp.py` defaults for anything not given.
  public init(
    level: Level = .bestFor(downsample: 64), threshold: Threshold = .fixed(8), medianKernel: Int = 7,
    closeKernel: Int = 4, minTissueArea: Double = 100 * clamAreaUnit, maxHoleArea: Double = 16 * clamAreaUnit,
    maxHoles: Int = 8
  ) {
    self.level = level
    self.threshold = threshold
    self.medianKernel = medianKernel
    self.closeKernel = closeKernel
    self.minTissueArea = minTissueArea
    self.maxHoleArea = maxHoleArea
    self.maxHoles = maxHoles
  }

  /// CLAM's defaults (`seg_level -1, sthresh 8, mthresh 7, close 4, a_t 100, a_h 16,
  /// max_n_holes 8`).
  public static let clamDefault = TissueDetectionParameters()

  /// Problems with the settings, one sentence each naming the setting (empty when valid).
  public var problems: [String] {
    var out: [String] = []
    if case .bestFor(let d) = level, !(d >= 1) { out.append("level: downsample \(d) must be ≥ 1") }
    if case .index(let i) = level, i < 0 { out.append("level: index \(i) must be ≥ 0") }
    if case .fixed(let t) = threshold, !(0...255).contains(t) {
      out.append("saturation threshold \(t) must be in 0…255")
    }
    if medianKernel < 1 || medianKernel % 2 == 0 { out.append("median kernel \(medianKernel) must be odd and ≥ 1") }
    if closeKernel < 0 { out.append("close kernel \(closeKernel) must be ≥ 0") }
    if !(minTissueArea >= 0) { out.append("minimum tissue area \(minTissueArea) must be ≥ 0") }
    if !(maxHoleArea >= 0) { out.append("maximum hole area \(maxHoleArea) must be ≥ 0") }
    if maxHoles < 0 { out.append("maximum holes \(maxHoles) must be ≥ 0") }
    return out
  }
}

/// CLAM-style tissue detection: a binary tissue mask of a slide at a low-resolution level.
///
/// Steps (CLAM `segmentTissue`): read the whole segmentation level → HSV saturation
/// (`RGBImage.saturation`, OpenCV-exact) → median filter (`medianKernel`, OpenCV-exact) →
/// threshold (`> sthresh`, or `>` Otsu's threshold) → closing with a square
/// (`BinaryMorphology.closed`) → drop 8-connected tissue components whose area is
/// ≤ `minTissueArea` → fill holes (4-connected background not touching the border) whose area
/// is ≤ `maxHoleArea` or that are beyond the `maxHoles` largest of their component.
///
/// Differences from CLAM, on purpose: CLAM measures areas with `cv2.contourArea` on traced
/// contours (polygon through pixel centres, slightly smaller than the pixel count) and keeps
/// contours rather than a mask; here areas are pixel counts × downsample². Even closing kernels
/// are applied without OpenCV's one-pixel shift (see `BinaryMorphology`).
public enum TissueDetection {
  /// The largest segmentation level CLAM agrees to process (`w · h > 1e8` aborts there).
  public static let maxPixels = 100_000_000

  /// The level `parameters.level` resolves to on `slide`.
  public static func segmentationLevel(
    of slide: WholeSlideImage, parameters: TissueDetectionParameters
  ) throws(SlideError) -> Int {
    switch parameters.level {
    case .index(let i):
      guard i >= 0, i < slide.levelCount else {
        throw .levelOutOfRange(path: slide.path, level: i, available: slide.levelCount)
      }
      return i
    case .bestFor(let downsample):
      return slide.levelCount == 1 ? 0 : slide.bestLevel(forDownsample: downsample)
    }
  }

  /// Detects tissue on `slide`.
  ///
  /// - Throws: `SlideError` when the level does not exist, is larger than `maxPixels`, or
  ///   cannot be read.
  /// - Precondition: `parameters.problems.isEmpty`.
  public static func detect(
    in slide: WholeSlideImage, parameters: TissueDetectionParameters = .clamDefault
  ) throws(SlideError) -> TissueMask {
    precondition(parameters.problems.isEmpty, "TissueDetection: \(parameters.problems.joined(separator: "; "))")
    let level = try segmentationLevel(of: slide, parameters: parameters)
    let (w, h) = slide.levelDimensions[level]
    guard w * h <= maxPixels else {
      throw .regionTooLarge(path: slide.path, level: level, width: w, height: h, limit: maxPixels)
    }
    let image: RGBImage
    do { image = try slide.readRegion(x: 0, y: 0, level: level, width: w, height: h) } catch let error as SlideError {
      throw error
    } catch {
      throw .readFailed(path: slide.path, reason: "\(error)")
    }
    let (w0, h0) = slide.levelDimensions[0]
    return mask(
      for: image, downsampleX: Double(w0) / Double(w), downsampleY: Double(h0) / Double(h), parameters: parameters)
  }

  /// The tissue mask of an already-read low-resolution image whose pixels each cover
  /// `downsampleX × downsampleY` level-0 pixels.
  public static func mask(
    for image: RGBImage, downsampleX: Double, downsampleY: Double,
    parameters: TissueDetectionParameters = .clamDefault
  ) -> TissueMask {
    precondition(parameters.problems.isEmpty, "TissueDetection: \(parameters.problems.joined(separator: "; "))")
    let w = image.width
    let h = image.height
    let saturation = image.saturation().medianBlurred(kernel: parameters.medianKernel)
    let cut: Int
    switch parameters.threshold {
    case .fixed(let t): cut = t
    case .otsu: cut = Int(OtsuThreshold.threshold(saturation))
    }
    var mask = saturation.pixels.map { Int($0) > cut ? UInt8(1) : 0 }
    mask = BinaryMorphology.closed(mask, width: w, height: h, kernel: parameters.closeKernel)
    mask = filtered(
      mask, width: w, height: h, pixelArea: downsampleX * downsampleY, minTissueArea: parameters.minTissueArea,
      maxHoleArea: parameters.maxHoleArea, maxHoles: parameters.maxHoles)
    return TissueMask(width: w, height: h, pixels: mask, downsampleX: downsampleX, downsampleY: downsampleY)
  }

  /// Drops small tissue components and fills small (or surplus) holes; `pixelArea` is the
  /// level-0 area of one mask pixel.
  public static func filtered(
    _ input: [UInt8], width w: Int, height h: Int, pixelArea: Double, minTissueArea: Double,
    maxHoleArea: Double, maxHoles: Int
  ) -> [UInt8] {
    var mask = input
    let tissue = BinaryMorphology.components(mask, width: w, height: h, value: 1, eightConnected: true)
    let kept = tissue.sizes.map { Double($0) * pixelArea > minTissueArea }
    for p in 0..<(w * h) where mask[p] == 1 && !kept[Int(tissue.labels[p])] { mask[p] = 0 }
    // Holes: 4-connected background components off the border. The pixel above a hole's first
    // (top-most, left-most) pixel is tissue of the component enclosing it.
    let background = BinaryMorphology.components(mask, width: w, height: h, value: 0, eightConnected: false)
    var holesByParent: [Int32: [Int]] = [:]
    for (hole, touches) in background.touchesBorder.enumerated() where !touches {
      let parent = tissue.labels[background.firstPixel[hole] - w]
      holesByParent[parent, default: []].append(hole)
    }
    var fill = [Bool](repeating: false, count: background.sizes.count)
    for (_, holes) in holesByParent {
      let ranked = holes.sorted { (background.sizes[$0], -$0) > (background.sizes[$1], -$1) }
      for (rank, hole) in ranked.enumerated() {
        fill[hole] = rank >= maxHoles || Double(background.sizes[hole]) * pixelArea <= maxHoleArea
      }
    }
    for p in 0..<(w * h) where mask[p] == 0 && fill[Int(background.labels[p])] { mask[p] = 1 }
    return mask
  }
}

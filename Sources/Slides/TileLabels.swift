/// The tumour region of a slide, built from annotations, for labelling tiles by the fraction of
/// their area that is tumour.
///
/// Region = (union of tumour polygons) minus (exclusion polygons), with roles from
/// `AnnotationGroups` (default: Camelyon16's `_0`/`_1`/`Tumor` tumour, `_2`/`Exclusion`
/// non-tumour inside tumour; see there). Polygons of role `other` are ignored.
///
/// Assumptions (those of Camelyon16 ground truth and QuPath exports; documented, not checked):
/// - Tumour polygons do not overlap each other, so the union's area is the sum of their areas.
///   If they do, overlaps count twice; `fraction` is clamped to 1.
/// - Each exclusion lies inside one tumour polygon. It is attached as a hole to the tumour
///   polygon holding most of its vertices (ties: the first); an exclusion outside every tumour
///   polygon removes nothing and is dropped. An exclusion straddling a tumour border is
///   subtracted in full from the polygon it is attached to (an approximation; the result is
///   clamped at 0).
///
/// With these, `tumourArea(in:)` is exact: `Σ_T |T ∩ R| − Σ_E |E ∩ R|` through
/// `Polygon.intersectionArea(with:)`.
public struct TumourRegions: Sendable {
  /// Tumour polygons, with their own holes plus the exclusions attached to them.
  public private(set) var polygons: [Polygon]
  /// Exclusions that lay inside no tumour polygon (kept for reporting; they remove nothing).
  public private(set) var unattachedExclusions: [Polygon]

  /// Builds the region from annotations and a group mapping.
  public init(annotations: [Annotation], groups: AnnotationGroups = .camelyon16) {
    var tumour: [Polygon] = []
    var exclusions: [Polygon] = []
    for annotation in annotations {
      switch groups.role(of: annotation.group) {
      case .tumour: tumour.append(annotation.polygon)
      case .exclusion:
        // An exclusion's own holes (GeoJSON) would be tumour again: rare; they are ignored.
        exclusions.append(annotation.polygon)
      case .other: break
      }
    }
    self.init(tumour: tumour, exclusions: exclusions)
  }

  /// Builds the region from tumour and exclusion polygons directly.
  public init(tumour: [Polygon], exclusions: [Polygon] = []) {
    var polygons = tumour
    var unattached: [Polygon] = []
    let boxes = tumour.map(\.boundingBox)
    for exclusion in exclusions {
      var best = -1
      var bestCount = 0
      for (t, polygon) in tumour.enumerated() where boxes[t].intersection(exclusion.boundingBox) != nil {
        let count = exclusion.outer.reduce(0) { $0 + (polygon.contains($1) ? 1 : 0) }
        if count > bestCount {
          best = t
          bestCount = count
        }
      }
      if best >= 0 { polygons[best].holes.append(exclusion.outer) } else { unattached.append(exclusion) }
    }
    self.polygons = polygons
    self.unattachedExclusions = unattached
  }

  /// Whether there is no tumour at all (a normal slide).
  public var isEmpty: Bool { polygons.isEmpty }

  /// Total tumour area in level-0 pixels².
  public var area: Double { polygons.reduce(0) { $0 + max(0, $1.area) } }

  /// Tumour area inside `rect`, in level-0 pixels².
  public func tumourArea(in rect: SlideRect) -> Double {
    var total = 0.0
    for polygon in polygons { total += polygon.intersectionArea(with: rect) }
    return max(0, total)
  }

  /// Fraction of `rect`'s area that is tumour, in [0, 1] (0 for an empty rectangle).
  public func fraction(of rect: SlideRect) -> Double {
    guard rect.area > 0 else { return 0 }
    return min(1, tumourArea(in: rect) / rect.area)
  }

  /// The tile label: whether at least `threshold` of `rect` is tumour.
  ///
  /// - Parameter threshold: a fraction in (0, 1]. Camelyon16 patch-level work commonly uses a
  ///   small value (any tumour) or 0.5; the caller's preset decides.
  public func isTumour(_ rect: SlideRect, threshold: Double) -> Bool {
    precondition(threshold > 0 && threshold <= 1, "isTumour: threshold \(threshold) must be in (0, 1]")
    return fraction(of: rect) >= threshold
  }
}

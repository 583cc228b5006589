/// A rare tissue structure of the `synthetic-slides` relational task.
public enum RareStructure: String, Codable, Sendable, CaseIterable {
  /// A dense lymphoid aggregate (the `synthetic-tissue` lymphocytes texture).
  case lymphoidAggregate = "lymphoid-aggregate"
  /// A necrotic focus (the `synthetic-tissue` debris texture).
  case necrosis

  /// The `SyntheticTissue.classNames` index of its texture.
  public var tissueClass: Int {
    switch self {
    case .lymphoidAggregate: 2
    case .necrosis: 6
    }
  }
}

/// Which rare structures a slide holds, and where: the design cell of the relational task, or of
/// the proximity task (`SyntheticSlides.Parameters.proximityDesign`).
///
/// Relational design: every slide holds the same number distribution of rare foci (2–4); a cell
/// only decides their kinds. `relationalLabel` is 1 exactly for `both`, so the label depends on
/// how two kinds of instance co-occur, never on one instance or on how many rare instances there
/// are.
///
/// Proximity design: every slide holds exactly one lymphoid aggregate and one necrotic focus of
/// the same size distribution; a cell only decides how far apart they are (`near`, `far`), so the
/// label (`SyntheticSlideLayout.proximityLabel`) depends on where instances lie, never on which
/// instances a bag holds. No 256² level-0 tile can touch both foci in either cell (they are at
/// least 380 px apart, more than a tile's diagonal), so no single tile shows the label.
public enum RelationalGroup: String, Codable, Sendable, CaseIterable {
  /// Every rare focus is a lymphoid aggregate.
  case lymphoidOnly = "lymphoid-only"
  /// Every rare focus is necrosis.
  case necrosisOnly = "necrosis-only"
  /// At least one of each.
  case both
  /// Proximity design: one of each, 380–600 px apart (1–2 tiles of 256 px between them).
  case near
  /// Proximity design: one of each, at least 1,100 px apart (more than four tiles between them).
  case far

  /// 1 when both kinds are present (`both`, `near`, `far`), else 0.
  public var relationalLabel: Int { self == .lymphoidOnly || self == .necrosisOnly ? 0 : 1 }

  /// Gap between the two foci of a proximity cell, level-0 pixels (nil in the relational design).
  public var fociGap: ClosedRange<Double>? {
    switch self {
    case .near: 380...600
    case .far: 1100...Double.infinity
    case .lymphoidOnly, .necrosisOnly, .both: nil
    }
  }
}

/// Ground truth of one synthetic whole slide: everything drawn on it, in level-0 pixels.
///
/// Drawing order (later covers earlier): glass (`background`), tissue sections (each a patchwork
/// of background tissue classes: the nearest `Patch` centre after a smooth random warp of the
/// position, decided on a 4-pixel grid), rare foci, tumour, then the blur regions are blurred
/// (Gaussian, `sigma` level-0 pixels) inside their outlines. Tumour polygons and rare foci lie
/// inside sections and do not overlap each other or any blur region, so every area below is an
/// exact sum of polygon areas.
public struct SyntheticSlideLayout: Sendable, Codable, Equatable {
  /// A region of one background tissue class inside a section (a warped Voronoi cell).
  public struct Patch: Sendable, Codable, Equatable {
    /// The cell's centre.
    public var center: SlidePoint
    /// `SyntheticTissue.classNames` index of its texture.
    public var tissueClass: Int
  }

  /// A piece of tissue on the glass.
  public struct Section: Sendable, Codable, Equatable {
    /// The tissue outline (star-shaped around `center`).
    public var outline: Polygon
    /// The point the outline is star-shaped around.
    public var center: SlidePoint
    /// Background-class cells that tile the section.
    public var patches: [Patch]
  }

  /// A rare focus of the relational task.
  public struct RareRegion: Sendable, Codable, Equatable {
    /// What it is.
    public var structure: RareStructure
    /// Its outline.
    public var outline: Polygon
  }

  /// An out-of-focus area.
  public struct BlurRegion: Sendable, Codable, Equatable {
    /// The blurred area.
    public var outline: Polygon
    /// Gaussian σ in level-0 pixels.
    public var sigma: Double
  }

  /// The smooth displacement that makes patch borders irregular: each position moves by up to
  /// `amplitude` pixels along value noise of wavelength `wavelength` keyed by `key`.
  public struct Warp: Sendable, Codable, Equatable {
    public var amplitude: Double
    public var wavelength: Double
    public var key: UInt64
  }

  /// Level-0 width in pixels.
  public var width: Int
  /// Level-0 height in pixels.
  public var height: Int
  /// Glass colour (R, G, B).
  public var background: [UInt8]
  /// Tissue pieces, non-overlapping.
  public var sections: [Section]
  /// Patch-border warp.
  public var warp: Warp
  /// Tumour polygons (Camelyon16 `_0`/`Tumor`), empty on a negative slide.
  public var tumours: [Polygon]
  /// Rare foci of the relational task.
  public var rareRegions: [RareRegion]
  /// Out-of-focus areas.
  public var blurRegions: [BlurRegion]

  /// Tissue area (sum of section areas), level-0 pixels².
  public var tissueArea: Double { sections.reduce(0) { $0 + $1.outline.area } }

  /// Tumour area (sum of tumour polygon areas), level-0 pixels².
  public var tumourArea: Double { tumours.reduce(0) { $0 + $1.area } }

  /// `tumourArea / tissueArea` (0 without tissue).
  public var tumourFraction: Double { tissueArea > 0 ? tumourArea / tissueArea : 0 }

  /// Number of rare foci of `structure`.
  public func count(of structure: RareStructure) -> Int {
    rareRegions.reduce(0) { $0 + ($1.structure == structure ? 1 : 0) }
  }

  /// The relational label: 1 when both rare structures are present.
  public var relationalLabel: Int {
    count(of: .lymphoidAggregate) > 0 && count(of: .necrosis) > 0 ? 1 : 0
  }

  /// Below this distance between a lymphoid aggregate and a necrotic focus (level-0 pixels) a
  /// slide's `proximityLabel` is 1: between the `near` cell's largest gap (600) and the `far`
  /// cell's smallest (1,100).
  public static let proximityThreshold = 800.0

  /// The smallest distance between a lymphoid aggregate and a necrotic focus (outline to outline,
  /// measured from each outline's vertices), nil unless the slide holds both kinds.
  public var fociDistance: Double? {
    let lymphoid = rareRegions.filter { $0.structure == .lymphoidAggregate }.map(\.outline)
    let necrosis = rareRegions.filter { $0.structure == .necrosis }.map(\.outline)
    guard !lymphoid.isEmpty, !necrosis.isEmpty else { return nil }
    var best = Double.infinity
    for a in lymphoid {
      for b in necrosis { best = min(best, Self.distance(a, b)) }
    }
    return best
  }

  /// The proximity label: 1 when a lymphoid aggregate and a necrotic focus lie closer than
  /// `proximityThreshold`, else 0 (also 0 when the slide lacks either kind).
  public var proximityLabel: Int { (fociDistance ?? .infinity) < Self.proximityThreshold ? 1 : 0 }

  /// Distance between two disjoint outlines (0 when one holds a vertex of the other), from each
  /// one's vertices to the other's boundary; the blobs' vertices are dense enough for that.
  static func distance(_ a: Polygon, _ b: Polygon) -> Double {
    var best = Double.infinity
    for p in a.outer {
      if b.contains(p) { return 0 }
      best = min(best, b.distanceToOuterBoundary(p))
    }
    for p in b.outer {
      if a.contains(p) { return 0 }
      best = min(best, a.distanceToOuterBoundary(p))
    }
    return best
  }

  /// Fractions of `rect` covered by each kind of ground truth (areas of polygon intersections
  /// divided by the rectangle's area; 0 for an empty rectangle).
  public func truth(of rect: SlideRect) -> TileTruth {
    guard rect.area > 0 else { return TileTruth() }
    func fraction(_ polygons: [Polygon]) -> Double {
      min(1, polygons.reduce(0) { $0 + $1.intersectionArea(with: rect) } / rect.area)
    }
    return TileTruth(
      tissue: fraction(sections.map(\.outline)), tumour: fraction(tumours),
      lymphoidAggregate: fraction(rareRegions.filter { $0.structure == .lymphoidAggregate }.map(\.outline)),
      necrosis: fraction(rareRegions.filter { $0.structure == .necrosis }.map(\.outline)),
      blurred: fraction(blurRegions.map(\.outline)))
  }
}

/// What covers a tile of a synthetic slide, as fractions of its area.
public struct TileTruth: Sendable, Equatable, Codable {
  /// Tissue (any section).
  public var tissue = 0.0
  /// Tumour.
  public var tumour = 0.0
  /// Lymphoid aggregates.
  public var lymphoidAggregate = 0.0
  /// Necrosis.
  public var necrosis = 0.0
  /// Out of focus.
  public var blurred = 0.0

  /// Fractions as given (all 0 by default).
  public init(
    tissue: Double = 0, tumour: Double = 0, lymphoidAggregate: Double = 0, necrosis: Double = 0,
    blurred: Double = 0
  ) {
    self.tissue = tissue
    self.tumour = tumour
    self.lymphoidAggregate = lymphoidAggregate
    self.necrosis = necrosis
    self.blurred = blurred
  }
}

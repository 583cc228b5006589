/// A point in level-0 slide coordinates (pixels of the full-resolution level, x right, y down).
public struct SlidePoint: Hashable, Sendable, CustomStringConvertible {
  /// Column in level-0 pixels.
  public var x: Double
  /// Row in level-0 pixels.
  public var y: Double

  /// A point at (`x`, `y`).
  public init(x: Double, y: Double) {
    self.x = x
    self.y = y
  }

  public var description: String { "(\(x), \(y))" }
}

/// An axis-aligned rectangle in level-0 slide coordinates: `[minX, maxX) × [minY, maxY)`.
///
/// Tiles, bounding boxes and mask pixels are all `SlideRect`s, so areas and overlaps are
/// measured in level-0 pixels² everywhere.
public struct SlideRect: Hashable, Sendable, CustomStringConvertible {
  /// Left edge.
  public var x: Double
  /// Top edge.
  public var y: Double
  /// Width (≥ 0).
  public var width: Double
  /// Height (≥ 0).
  public var height: Double

  /// The rectangle with top-left corner (`x`, `y`) and the given size.
  /// - Precondition: `width >= 0 && height >= 0`.
  public init(x: Double, y: Double, width: Double, height: Double) {
    precondition(width >= 0 && height >= 0, "SlideRect: negative size \(width)×\(height)")
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  /// The rectangle spanning `[minX, maxX] × [minY, maxY]`.
  public init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
    self.init(x: minX, y: minY, width: maxX - minX, height: maxY - minY)
  }

  /// Left edge.
  public var minX: Double { x }
  /// Top edge.
  public var minY: Double { y }
  /// Right edge.
  public var maxX: Double { x + width }
  /// Bottom edge.
  public var maxY: Double { y + height }
  /// `width · height`, in level-0 pixels².
  public var area: Double { width * height }

  /// The overlap with `other`, or nil when they share no area.
  public func intersection(_ other: SlideRect) -> SlideRect? {
    let x0 = max(minX, other.minX)
    let y0 = max(minY, other.minY)
    let x1 = min(maxX, other.maxX)
    let y1 = min(maxY, other.maxY)
    guard x1 > x0 && y1 > y0 else { return nil }
    return SlideRect(minX: x0, minY: y0, maxX: x1, maxY: y1)
  }

  public var description: String { "[\(minX), \(maxX)) × [\(minY), \(maxY))" }
}

/// A simple polygon with holes in level-0 slide coordinates: one outer ring and zero or more
/// hole rings, each a closed chain of vertices (the closing edge from the last vertex back to
/// the first is implied; a repeated first vertex at the end, as GeoJSON writes it, is dropped).
///
/// Rings may be in either orientation; areas use the absolute value of each ring's signed area.
/// The type assumes a valid polygon (OGC simple-features sense): rings do not self-intersect,
/// holes lie inside the outer ring and do not overlap each other. Annotation tools produce such
/// polygons; nothing here repairs invalid ones.
///
/// Sources: shoelace formula (Gauss's area formula); even–odd rule (Shimrat 1962, "Algorithm
/// 112: position of point relative to polygon"); Sutherland & Hodgman 1974, "Reentrant polygon
/// clipping", CACM 17(1).
public struct Polygon: Equatable, Sendable {
  /// The outer boundary.
  public var outer: [SlidePoint]
  /// Hole boundaries, each inside `outer`.
  public var holes: [[SlidePoint]]

  /// A polygon from its rings.
  /// - Precondition: every ring has at least 3 distinct vertices once a closing duplicate is
  ///   dropped.
  public init(outer: [SlidePoint], holes: [[SlidePoint]] = []) {
    self.outer = Polygon.open(outer)
    self.holes = holes.map(Polygon.open)
    precondition(self.outer.count >= 3, "Polygon: outer ring has \(self.outer.count) vertices; needs ≥ 3")
    for (i, hole) in self.holes.enumerated() {
      precondition(hole.count >= 3, "Polygon: hole \(i) has \(hole.count) vertices; needs ≥ 3")
    }
  }

  /// The axis-aligned rectangle `rect` as a polygon (clockwise in y-down coordinates).
  public init(_ rect: SlideRect) {
    self.init(outer: [
      SlidePoint(x: rect.minX, y: rect.minY), SlidePoint(x: rect.maxX, y: rect.minY),
      SlidePoint(x: rect.maxX, y: rect.maxY), SlidePoint(x: rect.minX, y: rect.maxY),
    ])
  }

  /// Drops a closing vertex equal to the first.
  static func open(_ ring: [SlidePoint]) -> [SlidePoint] {
    if ring.count > 1, ring.first == ring.last { return Array(ring.dropLast()) }
    return ring
  }

  /// Signed area of a ring by the shoelace formula, `½ Σ (xᵢ yᵢ₊₁ − xᵢ₊₁ yᵢ)`: positive when the
  /// ring turns counter-clockwise in x-right/y-up axes (clockwise as drawn on a y-down image).
  public static func signedArea(of ring: [SlidePoint]) -> Double {
    guard ring.count >= 3 else { return 0 }
    var sum = 0.0
    var previous = ring[ring.count - 1]
    for p in ring {
      sum += previous.x * p.y - p.x * previous.y
      previous = p
    }
    return sum / 2
  }

  /// Area enclosed: `|outer| − Σ |holeᵢ|`, in level-0 pixels².
  public var area: Double {
    abs(Polygon.signedArea(of: outer)) - holes.reduce(0) { $0 + abs(Polygon.signedArea(of: $1)) }
  }

  /// The smallest axis-aligned rectangle holding the outer ring.
  public var boundingBox: SlideRect {
    var x0 = Double.infinity
    var y0 = Double.infinity
    var x1 = -Double.infinity
    var y1 = -Double.infinity
    for p in outer {
      x0 = min(x0, p.x)
      y0 = min(y0, p.y)
      x1 = max(x1, p.x)
      y1 = max(y1, p.y)
    }
    return SlideRect(minX: x0, minY: y0, maxX: x1, maxY: y1)
  }

  /// Whether `point` lies in the closed polygon: inside the outer ring and not strictly inside
  /// any hole.
  ///
  /// Boundary rule (exact, no tolerance): a point on an edge of the outer ring or of a hole
  /// counts as inside; the polygon is treated as a closed set. Away from edges the even–odd
  /// rule decides: a ray towards +x crosses the rings (outer and holes together) an odd number
  /// of times. Half-open crossing tests (`yᵢ > y) != (yⱼ > y)`) count a vertex on the ray once.
  public func contains(_ point: SlidePoint) -> Bool {
    if Polygon.onBoundary(point, ring: outer) { return true }
    for hole in holes where Polygon.onBoundary(point, ring: hole) { return true }
    var inside = Polygon.crossesOddly(point, ring: outer)
    for hole in holes where Polygon.crossesOddly(point, ring: hole) { inside.toggle() }
    return inside
  }

  /// Even–odd crossing parity of a +x ray from `p` against one ring.
  static func crossesOddly(_ p: SlidePoint, ring: [SlidePoint]) -> Bool {
    var odd = false
    var j = ring.count - 1
    for i in 0..<ring.count {
      let a = ring[i]
      let b = ring[j]
      if (a.y > p.y) != (b.y > p.y) {
        let xCross = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y)
        if p.x < xCross { odd.toggle() }
      }
      j = i
    }
    return odd
  }

  /// Whether `p` lies exactly on an edge of `ring` (zero cross product, inside the edge's box).
  static func onBoundary(_ p: SlidePoint, ring: [SlidePoint]) -> Bool {
    var previous = ring[ring.count - 1]
    for q in ring {
      let cross = (q.x - previous.x) * (p.y - previous.y) - (q.y - previous.y) * (p.x - previous.x)
      if cross == 0, p.x >= min(previous.x, q.x), p.x <= max(previous.x, q.x),
        p.y >= min(previous.y, q.y), p.y <= max(previous.y, q.y)
      {
        return true
      }
      previous = q
    }
    return false
  }

  /// Exact area of the intersection of this polygon with `rect`, in level-0 pixels².
  ///
  /// Maths: each ring is clipped against the four half-planes of `rect` (Sutherland–Hodgman).
  /// Against a convex window the clipped ring's signed area equals the integral of the ring's
  /// winding number over the window, even for a concave ring (the degenerate edges the
  /// algorithm leaves along the window's sides enclose no area). So
  /// `|P ∩ R| = s(outer)·A(clip(outer)) − Σ s(holeᵢ)·A(clip(holeᵢ))`, with `A` the signed
  /// shoelace area and `s` the sign of the whole ring's area (orientation-free).
  /// Exact up to floating-point rounding; O(vertices) per ring.
  public func intersectionArea(with rect: SlideRect) -> Double {
    guard rect.width > 0, rect.height > 0, boundingBox.intersection(rect) != nil else { return 0 }
    var total = Polygon.clippedArea(outer, to: rect)
    for hole in holes { total -= Polygon.clippedArea(hole, to: rect) }
    return max(0, min(total, rect.area))
  }

  /// `|ring ∩ rect|`, orientation-free.
  static func clippedArea(_ ring: [SlidePoint], to rect: SlideRect) -> Double {
    let whole = signedArea(of: ring)
    guard whole != 0 else { return 0 }
    // Fast paths: ring box inside the rectangle, or disjoint from it.
    var x0 = Double.infinity
    var y0 = Double.infinity
    var x1 = -Double.infinity
    var y1 = -Double.infinity
    for p in ring {
      x0 = min(x0, p.x)
      y0 = min(y0, p.y)
      x1 = max(x1, p.x)
      y1 = max(y1, p.y)
    }
    if x0 >= rect.minX && x1 <= rect.maxX && y0 >= rect.minY && y1 <= rect.maxY { return abs(whole) }
    if x1 <= rect.minX || x0 >= rect.maxX || y1 <= rect.minY || y0 >= rect.maxY { return 0 }
    var poly = ring
    poly = clip(poly, axis: 0, bound: rect.minX, keepGreater: true)
    poly = clip(poly, axis: 0, bound: rect.maxX, keepGreater: false)
    poly = clip(poly, axis: 1, bound: rect.minY, keepGreater: true)
    poly = clip(poly, axis: 1, bound: rect.maxY, keepGreater: false)
    let clipped = signedArea(of: poly)
    return whole > 0 ? clipped : -clipped
  }

  /// One Sutherland–Hodgman pass: keeps the part of `ring` with coordinate `axis` (0 = x,
  /// 1 = y) ≥ `bound` (`keepGreater`) or ≤ `bound`, inserting the crossing points.
  static func clip(_ ring: [SlidePoint], axis: Int, bound: Double, keepGreater: Bool) -> [SlidePoint] {
    guard !ring.isEmpty else { return ring }
    func coordinate(_ p: SlidePoint) -> Double { axis == 0 ? p.x : p.y }
    func inside(_ p: SlidePoint) -> Bool { keepGreater ? coordinate(p) >= bound : coordinate(p) <= bound }
    func crossing(_ a: SlidePoint, _ b: SlidePoint) -> SlidePoint {
      let t = (bound - coordinate(a)) / (coordinate(b) - coordinate(a))
      return axis == 0
        ? SlidePoint(x: bound, y: a.y + t * (b.y - a.y))
        : SlidePoint(x: a.x + t * (b.x - a.x), y: bound)
    }
    var out: [SlidePoint] = []
    out.reserveCapacity(ring.count + 4)
    var previous = ring[ring.count - 1]
    var previousInside = inside(previous)
    for current in ring {
      let currentInside = inside(current)
      if currentInside {
        if !previousInside { out.append(crossing(previous, current)) }
        out.append(current)
      } else if previousInside {
        out.append(crossing(previous, current))
      }
      previous = current
      previousInside = currentInside
    }
    return out
  }
}

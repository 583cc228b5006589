extension Polygon {
  /// The pixels of row `y` whose centres lie inside the polygon, as half-open column ranges
  /// clipped to `0..<width`, left to right.
  ///
  /// Maths: the scanline through pixel centres `y + ½` crosses every edge (outer ring and holes
  /// alike) with `(aᵧ > y + ½) ≠ (bᵧ > y + ½)` (half-open, so a vertex on the line counts once);
  /// sorted crossings pair up by the even–odd rule into intervals `[x₀, x₁)`, and pixel `x` is
  /// inside when its centre `x + ½` is in an interval, i.e. `x ∈ [⌈x₀ − ½⌉, ⌈x₁ − ½⌉)`. The
  /// count of inside pixels approximates `area` (exact for axis-aligned rectangles on the pixel
  /// grid). Source: the classic scanline polygon fill (Foley, van Dam et al., *Computer
  /// Graphics*, §3.6).
  public func spans(row y: Int, width: Int) -> [Range<Int>] {
    let yc = Double(y) + 0.5
    var crossings: [Double] = []
    func addCrossings(_ ring: [SlidePoint]) {
      var previous = ring[ring.count - 1]
      for p in ring {
        if (p.y > yc) != (previous.y > yc) {
          crossings.append(p.x + (yc - p.y) * (previous.x - p.x) / (previous.y - p.y))
        }
        previous = p
      }
    }
    addCrossings(outer)
    for hole in holes { addCrossings(hole) }
    guard crossings.count >= 2 else { return [] }
    crossings.sort()
    var out: [Range<Int>] = []
    var i = 0
    while i + 1 < crossings.count {
      let lo = max(0, Int((crossings[i] - 0.5).rounded(.up)))
      let hi = min(width, Int((crossings[i + 1] - 0.5).rounded(.up)))
      if hi > lo { out.append(lo..<hi) }
      i += 2
    }
    return out
  }

  /// Calls `body(y, span)` for every row of the bounding box inside `0..<height` and every span
  /// of that row (see `spans(row:width:)`).
  public func forEachSpan(width: Int, height: Int, _ body: (Int, Range<Int>) -> Void) {
    let box = boundingBox
    let y0 = max(0, Int((box.minY - 0.5).rounded(.down)))
    let y1 = min(height - 1, Int((box.maxY + 0.5).rounded(.up)))
    guard y0 <= y1 else { return }
    for y in y0...y1 {
      for span in spans(row: y, width: width) { body(y, span) }
    }
  }

  /// Number of pixels whose centres lie inside, within a `width × height` image.
  public func pixelCount(width: Int, height: Int) -> Int {
    var n = 0
    forEachSpan(width: width, height: height) { _, span in n += span.count }
    return n
  }

  /// The smallest distance from `point` to the outer ring's edges.
  public func distanceToOuterBoundary(_ point: SlidePoint) -> Double {
    var best = Double.infinity
    var previous = outer[outer.count - 1]
    for q in outer {
      let dx = q.x - previous.x
      let dy = q.y - previous.y
      let length2 = dx * dx + dy * dy
      var t = length2 > 0 ? ((point.x - previous.x) * dx + (point.y - previous.y) * dy) / length2 : 0
      t = min(1, max(0, t))
      let cx = previous.x + t * dx - point.x
      let cy = previous.y + t * dy - point.y
      best = min(best, (cx * cx + cy * cy).squareRoot())
      previous = q
    }
    return best
  }
}

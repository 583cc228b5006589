import Foundation
import Slides
import Testing
import _TestSupport

func p(_ x: Double, _ y: Double) -> SlidePoint { SlidePoint(x: x, y: y) }

func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double) -> SlideRect {
  SlideRect(x: x, y: y, width: w, height: h)
}

/// A 10×10 square at the origin with a 4×4 hole at (3, 3)–(7, 7): area 84.
let squareWithHole = Polygon(
  outer: [p(0, 0), p(10, 0), p(10, 10), p(0, 10)], holes: [[p(3, 3), p(3, 7), p(7, 7), p(7, 3)]])

@Suite struct PolygonTests {
  @Test func shoelaceAreas() {
    #expect(Polygon.signedArea(of: [p(0, 0), p(4, 0), p(4, 3)]) == 6)
    #expect(Polygon.signedArea(of: [p(0, 0), p(4, 3), p(4, 0)]) == -6)
    #expect(squareWithHole.area == 84)
    // A closing duplicate vertex (GeoJSON style) is dropped; orientation does not matter.
    let closed = Polygon(outer: [p(0, 0), p(0, 2), p(3, 2), p(3, 0), p(0, 0)])
    #expect(closed.outer.count == 4)
    #expect(closed.area == 6)
    // An L shape (concave): 3×3 square minus its 2×2 top-right corner = 5.
    let l = Polygon(outer: [p(0, 0), p(1, 0), p(1, 2), p(3, 2), p(3, 3), p(0, 3)])
    #expect(l.area == 5)
    #expect(squareWithHole.boundingBox == rect(0, 0, 10, 10))
  }

  @Test func intersectionWithRectangles() {
    let square = Polygon(outer: [p(0, 0), p(10, 0), p(10, 10), p(0, 10)])
    // Rectangle fully inside, fully outside, partial, containing the polygon.
    #expect(square.intersectionArea(with: rect(2, 2, 3, 4)) == 12)
    #expect(square.intersectionArea(with: rect(20, 20, 5, 5)) == 0)
    #expect(square.intersectionArea(with: rect(8, -5, 10, 10)) == 10)  // [8,10]×[0,5]
    #expect(square.intersectionArea(with: rect(-5, -5, 30, 30)) == 100)
    // Touching the border from outside: no area; sharing an edge from inside: full area.
    #expect(square.intersectionArea(with: rect(10, 0, 5, 10)) == 0)
    #expect(square.intersectionArea(with: rect(5, 0, 5, 10)) == 50)
    // Square with a hole: tile over the hole, tile half over the hole, whole polygon.
    #expect(squareWithHole.intersectionArea(with: rect(3, 3, 4, 4)) == 0)
    #expect(squareWithHole.intersectionArea(with: rect(0, 0, 5, 5)) == 25 - 4)
    #expect(squareWithHole.intersectionArea(with: rect(5, 0, 10, 10)) == 50 - 8)
    #expect(squareWithHole.intersectionArea(with: rect(-1, -1, 12, 12)) == 84)
    // A triangle over a tile edge: (0,0)-(4,0)-(0,4) cut at x = 2 leaves the trapezoid
    // [0,2] with heights 4→2: area (4 + 2) / 2 · 2 = 6 on the left, 2 on the right.
    let triangle = Polygon(outer: [p(0, 0), p(4, 0), p(0, 4)])
    #expect(triangle.intersectionArea(with: rect(0, 0, 2, 10)) == 6)
    #expect(triangle.intersectionArea(with: rect(2, 0, 2, 10)) == 2)
    // A concave polygon whose two arms cross the tile: the U (0,0)-(6,0)-(6,6)-(4,6)-(4,2)-
    // (2,2)-(2,6)-(0,6) intersected with the band y ∈ [3, 5] gives two 2×2 pieces.
    let u = Polygon(outer: [p(0, 0), p(6, 0), p(6, 6), p(4, 6), p(4, 2), p(2, 2), p(2, 6), p(0, 6)])
    expectClose(Double(u.intersectionArea(with: rect(-1, 3, 8, 2))), 8, rtol: 0, atol: 1e-12)
    // Tiles partitioning a polygon add up to its area.
    var sum = 0.0
    for ty in stride(from: -2.0, to: 12, by: 3) {
      for tx in stride(from: -2.0, to: 12, by: 3) { sum += squareWithHole.intersectionArea(with: rect(tx, ty, 3, 3)) }
    }
    expectClose(Double(sum), 84, rtol: 0, atol: 1e-9)
  }

  @Test func intersectionMatchesPixelCounting() {
    // A rotated, concave star-ish polygon against assorted tiles, checked by fine sampling.
    let star = Polygon(
      outer: (0..<10).map { k in
        let r = k % 2 == 0 ? 40.0 : 15.0
        let a = Double(k) * .pi / 5 + 0.3
        return p(50 + r * cos(a), 50 + r * sin(a))
      })
    for tile in [rect(30, 30, 20, 20), rect(55, 40, 30, 12), rect(10, 10, 80, 80), rect(48, 0, 4, 100)] {
      var inside = 0
      let n = 400
      for j in 0..<n {
        for i in 0..<n {
          let q = p(
            tile.x + (Double(i) + 0.5) * tile.width / Double(n), tile.y + (Double(j) + 0.5) * tile.height / Double(n))
          if star.contains(q) { inside += 1 }
        }
      }
      let sampled = Double(inside) / Double(n * n) * tile.area
      #expect(abs(star.intersectionArea(with: tile) - sampled) < 0.01 * tile.area, "tile \(tile)")
    }
  }

  @Test func pointInPolygon() {
    #expect(squareWithHole.contains(p(1, 1)))
    #expect(!squareWithHole.contains(p(5, 5)))  // in the hole
    #expect(!squareWithHole.contains(p(11, 5)))
    #expect(!squareWithHole.contains(p(-0.001, 5)))
    // Boundaries are inside: outer edges, outer vertices, hole edges.
    #expect(squareWithHole.contains(p(0, 5)))
    #expect(squareWithHole.contains(p(10, 10)))
    #expect(squareWithHole.contains(p(3, 5)))
    #expect(squareWithHole.contains(p(7, 7)))
    // A ray through a vertex is counted once.
    let diamond = Polygon(outer: [p(0, 5), p(5, 0), p(10, 5), p(5, 10)])
    #expect(diamond.contains(p(2, 5)))
    #expect(!diamond.contains(p(-2, 5)))
    #expect(!diamond.contains(p(1, 1)))
  }
}

import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Rendering primitives for `SyntheticTissue`: stain-concentration maps, value noise, and
// anti-aliased elliptical "blobs" (nuclei, vacuoles, lumina). Internal to the module.

/// Per-pixel hematoxylin (`h`) and eosin (`e`) concentrations of one `width × height` tile
/// (square for `synthetic-tissue`, any rectangle for whole-slide regions), in optical-density
/// units per unit stain vector. Painters lay out their geometry on the `size × size` square
/// (`size = max(width, height)`) and draw the part inside the canvas. Owns raw buffers for
/// speed; not shared.
final class TissueCanvas {
  /// Side of the square the painters' geometry covers: `max(width, height)`.
  let size: Int
  let width: Int
  let height: Int
  let count: Int
  let h: UnsafeMutablePointer<Float>
  let e: UnsafeMutablePointer<Float>
  /// Fixed per-pixel uniform noise in [−1, 1), used as chromatin / fibre grain.
  let grain: UnsafeMutablePointer<Float>

  convenience init(size: Int, rng: inout RandomGenerator) {
    self.init(width: size, height: size, rng: &rng)
  }

  init(width: Int, height: Int, rng: inout RandomGenerator) {
    size = max(width, height)
    self.width = width
    self.height = height
    count = width * height
    h = .allocate(capacity: count)
    e = .allocate(capacity: count)
    grain = .allocate(capacity: count)
    h.initialize(repeating: 0, count: count)
    e.initialize(repeating: 0, count: count)
    // The grain of the whole `size × size` square is drawn (so the generator advances as for a
    // square canvas and a rectangle is exactly the top-left part of the square); the pixels
    // inside the canvas keep theirs.
    let square = size * size
    let w = width
    let grain = self.grain
    @inline(__always) func store(_ i: Int, _ v: Float) {
      if w == size {
        if i < count { grain[i] = v }
      } else {
        let y = i / size
        let x = i - y * size
        if x < w && y < height { grain[y * w + x] = v }
      }
    }
    var i = 0
    while i < square {
      // Two 24-bit uniforms per 64-bit draw.
      let bits = rng.next()
      store(i, Float(bits >> 40) * (2.0 / 16_777_216.0) - 1)
      if i + 1 < square { store(i + 1, Float((bits >> 8) & 0xFF_FFFF) * (2.0 / 16_777_216.0) - 1) }
      i += 2
    }
  }

  deinit {
    h.deallocate()
    e.deallocate()
    grain.deallocate()
  }

  /// Calls `body(pixel, x, y)` for every pixel, with `x, y` the pixel centre.
  @inline(__always)
  func forEachPixel(_ body: (Int, Float, Float) -> Void) {
    for y in 0..<height {
      let fy = Float(y) + 0.5
      for x in 0..<width { body(y * width + x, Float(x) + 0.5, fy) }
    }
  }

  /// Rasterises `blob` with an anti-aliased edge: `body(pixel, coverage, q)`, where `q ∈ [0, 1]`
  /// is the normalised radius (0 at the centre, 1 on the outline) and `coverage ∈ (0, 1]`.
  @inline(__always)
  func raster(_ blob: Blob, _ body: (Int, Float, Float) -> Void) {
    let wobble = 1 + abs(blob.h2) + abs(blob.h3)
    let reach = max(blob.a, blob.b) * wobble + 1.5
    let x0 = max(0, Int((blob.x - reach).rounded(.down)))
    let x1 = min(width - 1, Int((blob.x + reach).rounded(.up)))
    let y0 = max(0, Int((blob.y - reach).rounded(.down)))
    let y1 = min(height - 1, Int((blob.y + reach).rounded(.up)))
    if x0 > x1 || y0 > y1 { return }
    let c = cosf(blob.angle)
    let s = sinf(blob.angle)
    let ia = 1 / blob.a
    let ib = 1 / blob.b
    let rim = (blob.a * blob.b).squareRoot()
    let limit = wobble + 0.5 / rim
    let limit2 = limit * limit
    let c2 = cosf(blob.p2)
    let s2 = sinf(blob.p2)
    let c3 = cosf(blob.p3)
    let s3 = sinf(blob.p3)
    for y in y0...y1 {
      let dy = Float(y) + 0.5 - blob.y
      for x in x0...x1 {
        let dx = Float(x) + 0.5 - blob.x
        let u = (dx * c + dy * s) * ia
        let v = (dy * c - dx * s) * ib
        let r2 = u * u + v * v
        if r2 > limit2 { continue }  // outside even the most bulging outline
        let r = r2.squareRoot()
        var f: Float = 1
        if r > 1e-6 {
          let cu = u / r
          let sv = v / r
          let cos2 = cu * cu - sv * sv
          let sin2 = 2 * cu * sv
          let cos3 = cu * (4 * cu * cu - 3)
          let sin3 = sv * (3 - 4 * sv * sv)
          f = 1 + blob.h2 * (cos2 * c2 - sin2 * s2) + blob.h3 * (cos3 * c3 - sin3 * s3)
        }
        let q = r / f
        let cov = min(1, (1 - q) * rim * f + 0.5)
        if cov > 0 { body(y * width + x, cov, min(q, 1)) }
      }
    }
  }

  /// A nucleus: hematoxylin `density` inside the outline (taking the maximum with what is there),
  /// textured by `chromatin` grain, lighter in the middle by `vesicular` (open chromatin), and
  /// displacing cytoplasmic eosin by the fraction `cut`.
  func nucleus(_ blob: Blob, density: Float, chromatin: Float, vesicular: Float, cut: Float = 0.8) {
    let h = self.h
    let e = self.e
    let g = grain
    raster(blob) { p, cov, q in
      let profile = 1 - vesicular * (1 - q * q)
      let v = density * cov * profile * (1 + chromatin * g[p])
      if v > h[p] { h[p] = v }
      e[p] *= 1 - cut * cov
    }
  }

  /// Replaces both stains inside `blob` by `(hv, ev)` (blended by coverage).
  func paint(_ blob: Blob, h hv: Float, e ev: Float) {
    let h = self.h
    let e = self.e
    raster(blob) { p, cov, _ in
      h[p] += (hv - h[p]) * cov
      e[p] += (ev - e[p]) * cov
    }
  }

  /// Adds stain inside `blob`.
  func add(_ blob: Blob, h hv: Float, e ev: Float) {
    let h = self.h
    let e = self.e
    raster(blob) { p, cov, _ in
      h[p] += hv * cov
      e[p] += ev * cov
    }
  }

  /// Mean concentrations over the tile.
  func means() -> (h: Float, e: Float) {
    var sh: Float = 0
    var se: Float = 0
    for p in 0..<count {
      sh += h[p]
      se += e[p]
    }
    return (sh / Float(count), se / Float(count))
  }
}

/// An ellipse at `(x, y)` with semi-axes `a` (along `angle`) and `b`, whose outline radius is
/// modulated by `1 + h2·cos(2θ + p2) + h3·cos(3θ + p3)` for irregular (pleomorphic) shapes.
struct Blob {
  var x: Float
  var y: Float
  var a: Float
  var b: Float
  var angle: Float = 0
  var h2: Float = 0
  var p2: Float = 0
  var h3: Float = 0
  var p3: Float = 0
}

extension RandomGenerator {
  /// Uniform Float in `lo ..< hi`.
  @inline(__always)
  mutating func float(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * nextFloat() }

  /// Log-uniform Float in `lo ..< hi` (both positive).
  @inline(__always)
  mutating func logFloat(_ lo: Float, _ hi: Float) -> Float {
    expf(logf(lo) + (logf(hi) - logf(lo)) * nextFloat())
  }

  /// Uniform angle in `0 ..< 2π`.
  @inline(__always)
  mutating func angle() -> Float { 2 * Float.pi * nextFloat() }
}

/// Points of a jittered square lattice (`spacing`, random rotation and offset, each point moved
/// by up to `jitter·spacing` per axis) that fall in `[−margin, size + margin]²`.
func jitteredLattice(
  size: Int, spacing: Float, jitter: Float, margin: Float, rng: inout RandomGenerator
) -> [SIMD2<Float>] {
  let s = Float(size)
  let theta = rng.angle()
  let c = cosf(theta)
  let sn = sinf(theta)
  let ox = rng.nextFloat() * spacing
  let oy = rng.nextFloat() * spacing
  let extent = (s / 2 + margin) * 1.4143
  let n = Int(extent / spacing) + 1
  var points: [SIMD2<Float>] = []
  points.reserveCapacity((2 * n + 1) * (2 * n + 1))
  for gj in -n...n {
    for gi in -n...n {
      let lx = Float(gi) * spacing + ox
      let ly = Float(gj) * spacing + oy
      let jx = (rng.nextFloat() * 2 - 1) * jitter * spacing
      let jy = (rng.nextFloat() * 2 - 1) * jitter * spacing
      let x = s / 2 + lx * c - ly * sn + jx
      let y = s / 2 + lx * sn + ly * c + jy
      if x >= -margin && x <= s + margin && y >= -margin && y <= s + margin {
        points.append(SIMD2(x, y))
      }
    }
  }
  return points
}

/// `count` uniform points in `[−margin, size + margin]²`, where `count` is Poisson-rounded from
/// `density` points per pixel² of that square.
func scatterPoints(
  size: Int, density: Float, margin: Float, rng: inout RandomGenerator
) -> [SIMD2<Float>] {
  let side = Float(size) + 2 * margin
  let expected = density * side * side
  let count = Int(expected + rng.nextFloat())
  var points: [SIMD2<Float>] = []
  points.reserveCapacity(count)
  for _ in 0..<count {
    points.append(SIMD2(rng.nextFloat() * side - margin, rng.nextFloat() * side - margin))
  }
  return points
}

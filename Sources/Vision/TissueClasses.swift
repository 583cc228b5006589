import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// The eight class painters of `SyntheticTissue`. Each fills the hematoxylin/eosin maps of a
// canvas with one tissue architecture; lengths are in pixels at object scale `s` (1 ≈ 1.6 µm per
// pixel, Kather's 0.5 µm/px 224-px patches shrunk to ~70 px). Colour balance, stain vectors,
// noise and focus are applied afterwards by `SyntheticTissue`, identically for every class.

enum TissuePainter {
  /// Paints class `label` (`SyntheticTissue.classNames` order) onto `cv`.
  static func paint(_ label: Int, _ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    switch label {
    case 0: adipose(cv, s: s, rng: &rng)
    case 1: stroma(cv, s: s, rng: &rng)
    case 2: lymphocytes(cv, s: s, rng: &rng)
    case 3: tumour(cv, s: s, rng: &rng)
    case 4: normalMucosa(cv, s: s, rng: &rng)
    case 5: mucus(cv, s: s, rng: &rng)
    case 6: debris(cv, s: s, rng: &rng)
    default: muscle(cv, s: s, rng: &rng)
    }
  }

  /// Adipose: Voronoi cells (fat vacuoles) with thin eosinophilic membranes, rare flattened
  /// nuclei on the membranes, sometimes a fibrous septum.
  static func adipose(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let n = cv.size
    let spacing = rng.float(19, 27) * s
    let stretch = rng.float(1, 1.3)
    let theta = rng.angle()
    let ct = cosf(theta)
    let st = sinf(theta)
    let margin = 2 * spacing * stretch
    let seeds = jitteredLattice(
      size: n, spacing: spacing, jitter: 0.38, margin: margin, rng: &rng)
    // Map seeds into an anisotropic frame: compress along `theta` by `stretch`.
    @inline(__always) func frame(_ x: Float, _ y: Float) -> SIMD2<Float> {
      let u = x * ct + y * st
      let v = y * ct - x * st
      return SIMD2(u / stretch, v)
    }
    let fs = seeds.map { frame($0.x, $0.y) }
    // Bucket seeds on a coarse grid for nearest-neighbour search.
    let cell = spacing * 0.7
    let lo = fs.reduce(SIMD2<Float>(1e9, 1e9)) { pointwiseMin($0, $1) }
    let hi = fs.reduce(SIMD2<Float>(-1e9, -1e9)) { pointwiseMax($0, $1) }
    let gw = Int((hi.x - lo.x) / cell) + 1
    let gh = Int((hi.y - lo.y) / cell) + 1
    var buckets = [[Int32]](repeating: [], count: gw * gh)
    for (k, p) in fs.enumerated() {
      let bx = Int((p.x - lo.x) / cell)
      let by = Int((p.y - lo.y) / cell)
      buckets[by * gw + bx].append(Int32(k))
    }
    let thick = rng.float(0.35, 0.75)
    let membrane = rng.float(0.55, 0.85)
    let haze = rng.float(0.0, 0.06)
    let noise = ValueNoise<Float>(&rng)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    cv.forEachPixel { p, x, y in
      let q = frame(x, y)
      let bx = min(gw - 1, max(0, Int((q.x - lo.x) / cell)))
      let by = min(gh - 1, max(0, Int((q.y - lo.y) / cell)))
      var d1: Float = 1e12
      var d2: Float = 1e12
      var i1 = 0
      var i2 = 0
      for yy in max(0, by - 2)...min(gh - 1, by + 2) {
        for xx in max(0, bx - 2)...min(gw - 1, bx + 2) {
          for k in buckets[yy * gw + xx] {
            let dd = q - fs[Int(k)]
            let d = (dd * dd).sum()
            if d < d1 {
              d2 = d1
              i2 = i1
              d1 = d
              i1 = Int(k)
            } else if d < d2 {
              d2 = d
              i2 = Int(k)
            }
          }
        }
      }
      var edge: Float = 99
      if d2 < 1e11 {
        let dp = fs[i2] - fs[i1]
        edge = (d2 - d1) / (2 * (dp * dp).sum().squareRoot())
      }
      let cov = min(1, max(0, thick - edge + 0.5))
      let wob = 0.75 + 0.5 * noise.sample(x * 0.15, y * 0.15)
      e[p] =
        haze * (0.6 + 0.8 * noise.sample(x * 0.05 + 9, y * 0.05)) + membrane * cov * wob
        * (1 + 0.15 * g[p])
      h[p] = 0.04 * cov
    }
    // Flattened nuclei squeezed onto a few membranes.
    for (k, p) in seeds.enumerated() where rng.bernoulli(0.22) {
      let other = seeds[(k + 1 + rng.nextInt(below: 3)) % seeds.count]
      let m = (p + other) / 2
      let d = other - p
      let len = (d * d).sum().squareRoot()
      if len > 1.8 * spacing { continue }
      let along = atan2f(d.y, d.x) + Float.pi / 2
      cv.nucleus(
        Blob(x: m.x, y: m.y, a: rng.float(2.5, 4) * s, b: rng.float(0.8, 1.1), angle: along),
        density: rng.float(0.9, 1.3), chromatin: 0.1, vesicular: 0.1, cut: 0)
    }
    if rng.bernoulli(0.3) { septum(cv, s: s, rng: &rng) }
  }

  /// A band of fibrous stroma with a few spindle nuclei crossing the tile (used in adipose).
  static func septum(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let n = Float(cv.size)
    let theta = rng.angle()
    let c = cosf(theta)
    let sn = sinf(theta)
    let offset = rng.float(-0.35, 0.35) * n
    let width = rng.float(3, 7) * s
    let noise = ValueNoise<Float>(&rng)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    cv.forEachPixel { p, x, y in
      let v = (y - n / 2) * c - (x - n / 2) * sn - offset
      let w = v + 4 * s * (noise.sample(x * 0.06, y * 0.06) - 0.5)
      let band = min(1, max(0, width / 2 - abs(w) + 0.5))
      if band > 0 {
        let fib = 0.5 + 0.5 * cosf(2 * Float.pi * w / (2.6 * s))
        e[p] = max(e[p], band * (0.35 + 0.3 * fib) * (1 + 0.2 * g[p]))
        h[p] *= 1 - band
      }
    }
    let count = Int(n / (14 * s)) + 1
    for _ in 0..<count {
      let t = rng.float(-0.6, 0.6) * n
      let x = n / 2 + t * c - offset * sn
      let y = n / 2 + t * sn + offset * c
      cv.nucleus(
        Blob(x: x, y: y, a: rng.float(3, 5) * s, b: rng.float(0.8, 1.2) * s, angle: theta),
        density: rng.float(1.0, 1.4), chromatin: 0.15, vesicular: 0.1)
    }
  }

  /// Stroma: wavy, domain-warped eosinophilic collagen fibres with clefts and sparse spindle
  /// nuclei following the local fibre direction.
  static func stroma(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let theta = rng.angle()
    let c = cosf(theta)
    let sn = sinf(theta)
    let period = rng.float(2.8, 4.2) * s
    let warpAmp = rng.float(6, 12) * s
    let warpScale = 1 / (rng.float(12, 20) * s)
    let base = rng.float(0.3, 0.5)
    let warp = ValueNoise<Float>(&rng)
    let breaks = ValueNoise<Float>(&rng)
    let loose = ValueNoise<Float>(&rng)
    let looseness = rng.float(0.2, 0.42)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    @inline(__always) func phase(_ x: Float, _ y: Float) -> Float {
      y * c - x * sn + warpAmp * (warp.fbm(x * warpScale, y * warpScale) - 0.5)
    }
    cv.forEachPixel { p, x, y in
      let v = phase(x, y)
      let u = x * c + y * sn
      let stripe = 0.5 + 0.5 * cosf(2 * Float.pi * v / period)
      let fib = stripe * stripe
      let brk = breaks.sample(u / (9 * s), v / (1.6 * s))
      let gap = loose.fbm(u / (14 * s), v / (5 * s))
      let open = min(1, max(0, (gap - looseness) * 5 + 0.5))
      e[p] = base * (0.25 + 0.75 * fib * (0.4 + 0.9 * brk)) * open * (1 + 0.18 * g[p])
      h[p] = 0.03 * open
    }
    let nuclei = scatterPoints(size: cv.size, density: 1 / (190 * s * s), margin: 4 * s, rng: &rng)
    for q in nuclei {
      let gx = phase(q.x + 0.5, q.y) - phase(q.x - 0.5, q.y)
      let gy = phase(q.x, q.y + 0.5) - phase(q.x, q.y - 0.5)
      let along = atan2f(gy, gx) + Float.pi / 2
      cv.nucleus(
        Blob(
          x: q.x, y: q.y, a: rng.float(3.5, 6) * s, b: rng.float(0.7, 1.2) * s, angle: along,
          h3: rng.float(0, 0.08), p3: rng.angle()),
        density: rng.float(1.0, 1.5), chromatin: 0.15, vesicular: 0.1)
    }
  }

  /// Smooth muscle: straight parallel fibre cells separated by pale clefts, fibrillar eosin, and
  /// cigar-shaped nuclei centred in the cells, all aligned to one direction.
  static func muscle(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let n = Float(cv.size)
    let theta = rng.angle()
    let c = cosf(theta)
    let sn = sinf(theta)
    let cellW = rng.float(5.5, 8) * s
    let base = rng.float(0.4, 0.6)
    let warpAmp = rng.float(1, 3) * s
    let warpScale = 1 / (rng.float(25, 40) * s)
    let warp = ValueNoise<Float>(&rng)
    let fibril = ValueNoise<Float>(&rng)
    let shade = ValueNoise<Float>(&rng)
    let cleft = rng.float(0.5, 0.85)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    @inline(__always) func coords(_ x: Float, _ y: Float) -> (u: Float, v: Float) {
      let dx = x - n / 2
      let dy = y - n / 2
      return (
        dx * c + dy * sn,
        dy * c - dx * sn + warpAmp * (warp.sample(x * warpScale, y * warpScale) - 0.5)
      )
    }
    cv.forEachPixel { p, x, y in
      let (u, v) = coords(x, y)
      let t = v / cellW
      let k = t.rounded(.down)
      let frac = t - k
      let edge = min(frac, 1 - frac) * cellW
      let boundary = expf(-edge * edge / 0.6)
      let f = fibril.sample(u / (7 * s), v / (0.9 * s))
      let tone = 0.8 + 0.4 * shade.sample(u / (20 * s) + 3 * k, k * 7.3)
      e[p] = base * tone * (0.8 + 0.35 * f) * (1 - cleft * boundary) * (1 + 0.08 * g[p])
      h[p] = 0.04
    }
    // Nuclei in cell centres, spaced along the fibres.
    let reach = n * 0.75
    let k0 = Int((-reach / cellW).rounded(.down))
    let k1 = Int((reach / cellW).rounded(.up))
    for k in k0...k1 {
      var u = -reach + rng.float(0, 20) * s
      while u < reach {
        let v = (Float(k) + 0.5) * cellW + rng.float(-0.12, 0.12) * cellW
        let x0 = n / 2 + u * c - v * sn
        let y0 = n / 2 + u * sn + v * c
        let w = warpAmp * (warp.sample(x0 * warpScale, y0 * warpScale) - 0.5)
        let x = x0 + w * sn
        let y = y0 - w * c
        let a = rng.float(4.5, 7.5) * s
        let b = rng.float(0.9, 1.3) * s
        let blob = Blob(x: x, y: y, a: a, b: b, angle: theta, h2: -0.08, h3: rng.float(0, 0.04))
        var halo = blob
        halo.a *= 1.35
        halo.b *= 1.5
        cv.paint(halo, h: 0.02, e: base * 0.45)
        cv.nucleus(blob, density: rng.float(1.0, 1.4), chromatin: 0.12, vesicular: 0.15)
        u += rng.float(16, 34) * s
      }
    }
  }

  /// Lymphocytes: densely packed small round dark nuclei with scant cytoplasm, in sheets with a
  /// few looser areas and occasional larger paler cells.
  static func lymphocytes(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let back = rng.float(0.08, 0.18)
    let bg = ValueNoise<Float>(&rng)
    let gaps = ValueNoise<Float>(&rng)
    let h = cv.h
    let e = cv.e
    cv.forEachPixel { p, x, y in
      e[p] = back * (0.6 + 0.8 * bg.sample(x / (6 * s), y / (6 * s)))
      h[p] = 0.05
    }
    let spacing = rng.float(4.8, 5.8) * s
    let thinning = rng.float(0.15, 0.4)
    for q in jitteredLattice(size: cv.size, spacing: spacing, jitter: 0.4, margin: 4 * s, rng: &rng)
    {
      let gap = gaps.fbm(q.x / (12 * s), q.y / (12 * s))
      if gap < thinning + 0.2 * rng.nextFloat() { continue }
      if rng.bernoulli(0.08) {
        let r = rng.float(2.6, 3.4) * s
        cv.nucleus(
          Blob(x: q.x, y: q.y, a: r, b: r * rng.float(0.75, 0.95), angle: rng.angle()),
          density: rng.float(0.8, 1.1), chromatin: 0.3, vesicular: 0.4)
      } else {
        let r = rng.float(1.7, 2.3) * s
        cv.nucleus(
          Blob(
            x: q.x, y: q.y, a: r, b: r * rng.float(0.85, 1), angle: rng.angle(),
            h2: rng.float(0, 0.06), p2: rng.angle()),
          density: rng.float(1.4, 1.9), chromatin: 0.2, vesicular: 0.05)
      }
    }
  }

  /// Tumour epithelium: crowded, large, pleomorphic vesicular nuclei with nucleoli in solid or
  /// cribriform sheets of amphophilic cytoplasm, punched-out lumina and thin stromal strands.
  static func tumour(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let cyto = rng.float(0.25, 0.4)
    let bg = ValueNoise<Float>(&rng)
    let strands = ValueNoise<Float>(&rng)
    let strandLevel = rng.float(0.62, 0.8)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    // Stromal strands; recomputed at nucleus centres below (the same arithmetic as for the pixel
    // the centre falls in), so the decision is also defined beyond a rectangular canvas.
    @inline(__always) func isStrand(_ x: Float, _ y: Float) -> Bool {
      strands.fbm(x / (16 * s), y / (16 * s)) > strandLevel
    }
    cv.forEachPixel { p, x, y in
      if isStrand(x, y) {
        e[p] = 0.45 * (1 + 0.2 * g[p])
        h[p] = 0.02
      } else {
        e[p] = cyto * (0.7 + 0.6 * bg.sample(x / (5 * s), y / (5 * s)))
        h[p] = 0.12
      }
    }
    let n = cv.size
    let spacing = rng.float(7.5, 9.5) * s
    let align = rng.angle()
    let alignment = rng.float(0, 0.7)
    for q in jitteredLattice(size: n, spacing: spacing, jitter: 0.35, margin: 8 * s, rng: &rng) {
      let xi = Int(q.x)
      let yi = Int(q.y)
      if xi >= 0, yi >= 0, xi < n, yi < n, isStrand(Float(xi) + 0.5, Float(yi) + 0.5) { continue }
      let a = rng.float(3.8, 6.5) * s
      let angle = rng.bernoulli(Double(alignment)) ? align + rng.float(-0.4, 0.4) : rng.angle()
      let blob = Blob(
        x: q.x, y: q.y, a: a, b: a * rng.float(0.5, 0.85), angle: angle,
        h2: rng.float(0.04, 0.16), p2: rng.angle(), h3: rng.float(0.03, 0.12), p3: rng.angle())
      cv.nucleus(
        blob, density: rng.float(0.8, 1.5), chromatin: 0.35, vesicular: rng.float(0.2, 0.5))
      if rng.bernoulli(0.5) {
        let r = rng.float(0.7, 1.2) * s
        cv.add(
          Blob(x: q.x + rng.float(-1, 1) * s, y: q.y + rng.float(-1, 1) * s, a: r, b: r),
          h: 0.6, e: 0.1)
      }
    }
    // Cribriform lumina: clear holes with a slightly denser rim.
    let lumens = scatterPoints(
      size: n, density: rng.float(0.3, 1.2) / (900 * s * s), margin: 0, rng: &rng)
    for q in lumens {
      let r = rng.float(2.5, 6) * s
      let blob = Blob(
        x: q.x, y: q.y, a: r, b: r * rng.float(0.7, 1), angle: rng.angle(),
        h2: 0.05, p2: rng.angle())
      cv.paint(blob, h: 0.01, e: rng.float(0.0, 0.06))
    }
  }

  /// Normal colonic mucosa: regular crypts in cross-section (clear lumen, pale mucinous goblet
  /// cytoplasm, a ring of small basal nuclei with long axes radial, a thin basement membrane) in
  /// a lamina propria with scattered small round cells.
  static func normalMucosa(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let n = cv.size
    let lp = rng.float(0.25, 0.4)
    let bg = ValueNoise<Float>(&rng)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    cv.forEachPixel { p, x, y in
      e[p] = lp * (0.6 + 0.8 * bg.fbm(x / (5 * s), y / (5 * s))) * (1 + 0.15 * g[p])
      h[p] = 0.04
    }
    for q in scatterPoints(size: n, density: 1 / (60 * s * s), margin: 3 * s, rng: &rng) {
      let r = rng.float(1.5, 2.2) * s
      cv.nucleus(
        Blob(x: q.x, y: q.y, a: r, b: r * rng.float(0.8, 1), angle: rng.angle()),
        density: rng.float(1.1, 1.6), chromatin: 0.2, vesicular: 0.1)
    }
    let spacing = rng.float(28, 36) * s
    let mucin = rng.float(0.08, 0.16)
    for c in jitteredLattice(size: n, spacing: spacing, jitter: 0.12, margin: spacing, rng: &rng) {
      let R = spacing * rng.float(0.36, 0.42)
      let lumen = R * rng.float(0.22, 0.38)
      let ratio = rng.float(0.75, 1)
      let tilt = rng.angle()
      let ct = cosf(tilt)
      let st = sinf(tilt)
      let x0 = max(0, Int(c.x - R - 2))
      let x1 = min(cv.width - 1, Int(c.x + R + 2))
      let y0 = max(0, Int(c.y - R - 2))
      let y1 = min(cv.height - 1, Int(c.y + R + 2))
      if x0 <= x1 && y0 <= y1 {
        for y in y0...y1 {
          for x in x0...x1 {
            let dx = Float(x) + 0.5 - c.x
            let dy = Float(y) + 0.5 - c.y
            let u = dx * ct + dy * st
            let v = (dy * ct - dx * st) / ratio
            let d = (u * u + v * v).squareRoot()
            let p = y * cv.width + x
            let inside = min(1, max(0, R - d + 0.5))
            let bm = expf(-(d - R) * (d - R) / 0.5)
            let lum = min(1, max(0, lumen - d + 0.5))
            let epiH: Float = mucin * (1 - lum)
            let epiE: Float = 0.07 * (1 - lum)
            h[p] += (epiH - h[p]) * inside
            e[p] += (epiE * (1 + 0.3 * g[p]) - e[p]) * inside + 0.25 * bm
          }
        }
      }
      // Goblet vacuoles: clearer ovals in the epithelial ring.
      let goblets = Int(2 * Float.pi * R / (5 * s))
      for _ in 0..<goblets {
        let phi = rng.angle()
        let rr = rng.float(lumen + 1.2 * s, R - 3 * s)
        let gx = c.x + rr * cosf(phi) * ct * 1 - rr * sinf(phi) * ratio * st
        let gy = c.y + rr * cosf(phi) * st + rr * sinf(phi) * ratio * ct
        let r = rng.float(1.2, 2) * s
        cv.paint(Blob(x: gx, y: gy, a: r, b: r), h: mucin * 0.5, e: 0.02)
      }
      // Basal nuclei.
      let count = Int(2 * Float.pi * R / (3.3 * s))
      let phase = rng.angle()
      for k in 0..<count {
        let phi = phase + 2 * Float.pi * Float(k) / Float(count) + rng.float(-0.05, 0.05)
        let rr = R - rng.float(1.8, 2.6) * s
        let lu = rr * cosf(phi)
        let lv = rr * sinf(phi) * ratio
        let x = c.x + lu * ct - lv * st
        let y = c.y + lu * st + lv * ct
        let radial = atan2f(y - c.y, x - c.x)
        cv.nucleus(
          Blob(x: x, y: y, a: rng.float(2.2, 3) * s, b: rng.float(1.0, 1.3) * s, angle: radial),
          density: rng.float(1.1, 1.5), chromatin: 0.15, vesicular: 0.1, cut: 0.9)
      }
    }
  }

  /// Mucus: pale, wispy, streaming bluish-grey to pink mucin with a few floating cells.
  static func mucus(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let theta = rng.angle()
    let c = cosf(theta)
    let sn = sinf(theta)
    let period = rng.float(8, 16) * s
    let warpAmp = rng.float(10, 20) * s
    let warpScale = 1 / (rng.float(14, 24) * s)
    let warp = ValueNoise<Float>(&rng)
    let cloud = ValueNoise<Float>(&rng)
    let fine = ValueNoise<Float>(&rng)
    let hLevel = rng.float(0.15, 0.3)
    let eLevel = rng.float(0.08, 0.2)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    cv.forEachPixel { p, x, y in
      let v = y * c - x * sn + warpAmp * (warp.fbm(x * warpScale, y * warpScale) - 0.5)
      let u = x * c + y * sn
      let wisp = 0.5 + 0.5 * cosf(2 * Float.pi * v / period)
      let strand = fine.sample(u / (10 * s), v / (1.5 * s))
      let cl = cloud.fbm(x / (18 * s), y / (18 * s))
      let m = (0.3 + 0.7 * wisp * strand) * (0.4 + 1.2 * cl) * (1 + 0.1 * g[p])
      h[p] = hLevel * m
      e[p] = eLevel * m * (0.5 + cl)
    }
    let n = cv.size
    for q in scatterPoints(
      size: n, density: rng.float(0.3, 1.5) / (400 * s * s), margin: 3 * s, rng: &rng)
    {
      if rng.bernoulli(0.4) {
        // Signet-ring cell: a clear mucin vacuole pushing a crescent nucleus aside.
        let r = rng.float(2.5, 4) * s
        let phi = rng.angle()
        cv.paint(Blob(x: q.x, y: q.y, a: r, b: r), h: hLevel * 0.3, e: 0.12)
        cv.nucleus(
          Blob(
            x: q.x + r * cosf(phi), y: q.y + r * sinf(phi), a: r * 0.7, b: 0.9 * s,
            angle: phi + Float.pi / 2, h2: -0.1),
          density: rng.float(1.1, 1.5), chromatin: 0.1, vesicular: 0.1)
      } else {
        let r = rng.float(1.6, 2.6) * s
        cv.nucleus(
          Blob(x: q.x, y: q.y, a: r, b: r * rng.float(0.7, 1), angle: rng.angle(), h2: 0.08),
          density: rng.float(0.9, 1.4), chromatin: 0.2, vesicular: 0.2)
      }
    }
  }

  /// Debris / necrosis: blotchy pink amorphous material with clefts, clustered nuclear dust
  /// (karyorrhexis), shrunken dark pyknotic nuclei, lobated neutrophil fragments, ghost cells.
  static func debris(_ cv: TissueCanvas, s: Float, rng: inout RandomGenerator) {
    let n = cv.size
    let blot = ValueNoise<Float>(&rng)
    let holes = ValueNoise<Float>(&rng)
    let eLevel = rng.float(0.3, 0.5)
    let hLevel = rng.float(0.06, 0.16)
    let holeLevel = rng.float(0.3, 0.45)
    let h = cv.h
    let e = cv.e
    let g = cv.grain
    cv.forEachPixel { p, x, y in
      let b = blot.fbm(x / (7 * s), y / (7 * s))
      let o = min(1, max(0, (holes.fbm(x / (9 * s), y / (9 * s)) - holeLevel) * 6 + 0.5))
      e[p] = eLevel * (0.3 + 1.4 * b) * o * (1 + 0.25 * g[p])
      h[p] = hLevel * (1.6 - b) * o
    }
    // Ghost cells: pale round outlines of dead cells.
    for q in scatterPoints(size: n, density: 1 / (250 * s * s), margin: 4 * s, rng: &rng) {
      let r = rng.float(3, 5) * s
      cv.paint(
        Blob(x: q.x, y: q.y, a: r, b: r * 0.85, angle: rng.angle()), h: 0.03, e: eLevel * 0.5)
    }
    // Clusters of nuclear dust.
    for q in scatterPoints(
      size: n, density: rng.float(0.6, 1.4) / (250 * s * s), margin: 4 * s, rng: &rng)
    {
      let k = 3 + rng.nextInt(below: 8)
      let spread = rng.float(2, 5) * s
      for _ in 0..<k {
        let r = rng.float(0.45, 1.3) * s
        cv.nucleus(
          Blob(
            x: q.x + rng.float(-1, 1) * spread, y: q.y + rng.float(-1, 1) * spread,
            a: r, b: r * rng.float(0.6, 1), angle: rng.angle(), h2: 0.15, p2: rng.angle()),
          density: rng.float(1.3, 2.0), chromatin: 0.1, vesicular: 0, cut: 0.3)
      }
    }
    // Scattered dust and pyknotic nuclei.
    for q in scatterPoints(
      size: n, density: rng.float(0.5, 1.5) / (60 * s * s), margin: 2 * s, rng: &rng)
    {
      let pyknotic = rng.bernoulli(0.2)
      let r = (pyknotic ? rng.float(1.3, 2.1) : rng.float(0.4, 1.1)) * s
      cv.nucleus(
        Blob(
          x: q.x, y: q.y, a: r, b: r * rng.float(0.6, 1), angle: rng.angle(),
          h2: pyknotic ? 0.05 : 0.2, p2: rng.angle(), h3: 0.1, p3: rng.angle()),
        density: rng.float(1.4, 2.1), chromatin: 0.1, vesicular: 0, cut: 0.4)
    }
  }
}

import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension SyntheticSlideLayout {
  /// Background tissue classes of the section patchwork and their weights (stroma, normal
  /// mucosa, muscle, adipose, mucus); lymphocytes, debris and tumour are kept for the rare foci
  /// and the lesions so that they appear nowhere else.
  static let patchClasses: [(tissueClass: Int, weight: Double)] = [(1, 0.3), (4, 0.25), (7, 0.2), (0, 0.15), (5, 0.1)]

  /// A random layout of a `width × height` slide.
  ///
  /// - Sections: 1–3 (probabilities 0.35 / 0.45 / 0.2) star-shaped blobs, one per equal cell
  ///   along the slide's long side, filling 56–78% of the cell's half-extents (≈ 20–25% of the
  ///   slide is tissue, as on many lymph-node slides); each is tiled by `⌈area / 0.8 Mpx²⌉` (≥ 2) patches of background classes.
  /// - Tumour (`tumour == true`): with probability `parameters.macroFraction` a macro-metastasis
  ///   (a shrunken, re-perturbed copy of one section's outline holding 12–50% of that section)
  ///   plus 0–2 satellite nests; otherwise 1–3 micro-metastatic nests holding together a
  ///   log-uniform 0.5–4% of the tissue (each at least 90 px in radius, 45 µm at 0.5 µm/px, so
  ///   the smallest cover less than half a 256² tile). Camelyon16's positive slides likewise
  ///   range from large lesions to a few percent of tissue or less.
  /// - Rare foci: 2–4 (uniform) blobs of radius 200–300 px whose kinds follow `group`; in
  ///   `both` the number of lymphoid aggregates is uniform in `1…k−1`. In `near` and `far` (the
  ///   proximity design) one lymphoid aggregate and one necrotic focus, `group.fociGap` apart.
  /// - Blur: with probability `parameters.blurredSlideFraction`, 1–2 blobs of radius 280–520 px
  ///   with σ uniform in `parameters.blurSigma`, away from tumour and rare foci.
  ///
  /// `sections`: given (a matched design block's, `SyntheticSlides.Parameters.matchedBlocks`),
  /// their outlines and patch centres are kept and each patch's class is drawn afresh from `rng`;
  /// nil draws them from `rng` as above.
  ///
  /// A pure function of the arguments and the generator's state.
  public static func random(
    width: Int, height: Int, tumour: Bool, group: RelationalGroup, parameters: SyntheticSlides.Parameters,
    sections given: [Section]? = nil, using rng: inout RandomGenerator
  ) -> SyntheticSlideLayout {
    let base = Int(rng.uniform(236...246))
    let background = [
      UInt8(base + rng.nextInt(below: 3) - 1), UInt8(base - rng.nextInt(below: 3)), UInt8(base + rng.nextInt(below: 4)),
    ]
    let sections: [Section]
    if var given {
      for s in given.indices {
        for p in given[s].patches.indices { given[s].patches[p].tissueClass = pick(patchClasses, rng: &rng) }
      }
      sections = given
    } else {
      sections = makeSections(width: width, height: height, rng: &rng)
    }
    let warp = Warp(amplitude: 140, wavelength: 420, key: rng.next())
    var placer = Placer(sections: sections.map(\.outline))
    var tumours: [Polygon] = []
    if tumour { tumours = placeTumour(&placer, sections: sections, parameters: parameters, rng: &rng) }
    let rare = placeRare(&placer, group: group, rng: &rng)
    var blur: [BlurRegion] = []
    if rng.bernoulli(parameters.blurredSlideFraction) {
      for _ in 0..<(1 + rng.nextInt(below: 2)) {
        let r = rng.uniform(280...520)
        let sigma = rng.uniform(parameters.blurSigma)
        if let outline = placer.place(radius: r, roughness: 0.15, gap: 48, inside: false, rng: &rng) {
          blur.append(BlurRegion(outline: outline, sigma: sigma))
        }
      }
    }
    return SyntheticSlideLayout(
      width: width, height: height, background: background, sections: sections, warp: warp, tumours: tumours,
      rareRegions: rare, blurRegions: blur)
  }

  static func makeSections(width: Int, height: Int, rng: inout RandomGenerator) -> [Section] {
    let u = rng.nextDouble()
    let count = u < 0.35 ? 1 : (u < 0.8 ? 2 : 3)
    let horizontal = width >= height
    let margin = 96.0
    var sections: [Section] = []
    for i in 0..<count {
      let (x0, y0, w, h): (Double, Double, Double, Double) =
        horizontal
        ? (Double(width * i / count), 0, Double(width / count), Double(height))
        : (0, Double(height * i / count), Double(width), Double(height / count))
      let center = SlidePoint(
        x: x0 + w / 2 + rng.uniform(-0.06...0.06) * w, y: y0 + h / 2 + rng.uniform(-0.06...0.06) * h)
      let hx = min(center.x - x0, x0 + w - center.x) - margin
      let hy = min(center.y - y0, y0 + h - center.y) - margin
      let outline = blob(
        center: center, rx: hx * rng.uniform(0.56...0.78), ry: hy * rng.uniform(0.56...0.78), rotation: 0,
        roughness: 0.18, vertices: 160, rng: &rng)
      // Patch centres: spread inside the outline, about 0.6 of the mean spacing apart.
      let area = outline.area
      let k = max(2, Int((area / 800_000).rounded(.up)))
      let spacing = 0.6 * (area / Double(k)).squareRoot()
      var patches: [Patch] = []
      let box = outline.boundingBox
      var tries = 0
      while patches.count < k {
        tries += 1
        let p = SlidePoint(x: rng.uniform(box.minX...box.maxX), y: rng.uniform(box.minY...box.maxY))
        guard outline.contains(p) else { continue }
        if tries < 400, patches.contains(where: { hypot($0.center.x - p.x, $0.center.y - p.y) < spacing }) { continue }
        patches.append(Patch(center: p, tissueClass: pick(patchClasses, rng: &rng)))
      }
      sections.append(Section(outline: outline, center: center, patches: patches))
    }
    return sections
  }

  static func pick(_ options: [(tissueClass: Int, weight: Double)], rng: inout RandomGenerator) -> Int {
    var u = rng.nextDouble() * options.reduce(0) { $0 + $1.weight }
    for option in options {
      u -= option.weight
      if u < 0 { return option.tissueClass }
    }
    return options[options.count - 1].tissueClass
  }

  static func placeTumour(
    _ placer: inout Placer, sections: [Section], parameters: SyntheticSlides.Parameters, rng: inout RandomGenerator
  ) -> [Polygon] {
    var out: [Polygon] = []
    if rng.bernoulli(parameters.macroFraction) {
      // A macro-metastasis: the section outline shrunk towards its centre by √f and perturbed by
      // harmonics normalised to at most 1, so it stays inside the section (radial scaling of a
      // star-shaped polygon about its centre).
      let areas = sections.map(\.outline.area)
      var u = rng.nextDouble() * areas.reduce(0, +)
      var s = 0
      while s < areas.count - 1 && u >= areas[s] {
        u -= areas[s]
        s += 1
      }
      let section = sections[s]
      let share = rng.uniform(0.12...0.5)
      let harmonics = randomHarmonics(roughness: 0.25, rng: &rng)
      let c = section.center
      let scale = share.squareRoot()
      let ring = section.outline.outer.map { v -> SlidePoint in
        let theta = atan2(v.y - c.y, v.x - c.x)
        let f = scale * harmonics.factor(theta)
        return SlidePoint(x: c.x + f * (v.x - c.x), y: c.y + f * (v.y - c.y))
      }
      let lesion = Polygon(outer: ring)
      placer.occupy(lesion)
      out.append(lesion)
      for _ in 0..<rng.nextInt(below: 3) {
        if let nest = placer.place(radius: rng.uniform(100...180), roughness: 0.2, gap: 48, inside: true, rng: &rng) {
          out.append(nest)
        }
      }
    } else {
      let tissue = sections.reduce(0) { $0 + $1.outline.area }
      let fraction = exp(rng.uniform(log(0.005)...log(0.04)))
      let nests = 1 + rng.nextInt(below: 3)
      let weights = (0..<nests).map { _ in rng.uniform(0.5...1.5) }
      let total = weights.reduce(0, +)
      for w in weights {
        var radius = max(90, (fraction * tissue * w / total / Double.pi).squareRoot())
        for _ in 0..<10 {
          if let nest = placer.place(radius: radius, roughness: 0.2, gap: 48, inside: true, rng: &rng) {
            out.append(nest)
            break
          }
          radius = max(60, radius * 0.85)
        }
      }
    }
    return out
  }

  static func placeRare(_ placer: inout Placer, group: RelationalGroup, rng: inout RandomGenerator) -> [RareRegion] {
    if let gap = group.fociGap { return placePair(&placer, gap: gap, rng: &rng) }
    let k = 2 + rng.nextInt(below: 3)
    var kinds: [RareStructure]
    switch group {
    case .lymphoidOnly: kinds = Array(repeating: .lymphoidAggregate, count: k)
    case .necrosisOnly: kinds = Array(repeating: .necrosis, count: k)
    case .both, .near, .far:
      let lymphoid = 1 + rng.nextInt(below: k - 1)
      kinds = Array(repeating: .lymphoidAggregate, count: lymphoid) + Array(repeating: .necrosis, count: k - lymphoid)
    }
    kinds = rng.permutation(kinds.count).map { kinds[$0] }
    var out: [RareRegion] = []
    for kind in kinds {
      var radius = rng.uniform(200...300)
      for _ in 0..<12 {
        if let outline = placer.place(radius: radius, roughness: 0.2, gap: 64, inside: true, rng: &rng) {
          out.append(RareRegion(structure: kind, outline: outline))
          break
        }
        radius *= 0.85
      }
    }
    return out
  }

  /// The proximity design's two foci: a lymphoid aggregate placed as any rare focus, then a
  /// necrotic focus whose outline lies `gap` from it (and 64 px from everything else). Each
  /// attempt draws both radii (200–300 px, shrunk by 0.85 every 10 attempts) and places the pair
  /// afresh, so an aggregate with no room at the right distance is moved rather than kept; empty
  /// after 40 attempts (the label then follows what the layout holds).
  static func placePair(
    _ placer: inout Placer, gap: ClosedRange<Double>, rng: inout RandomGenerator
  ) -> [RareRegion] {
    let start = placer
    for attempt in 0..<40 {
      placer = start
      let shrink = pow(0.85, Double(attempt / 10))
      let (r1, r2) = (rng.uniform(200...300) * shrink, rng.uniform(200...300) * shrink)
      guard let lymphoid = placer.place(radius: r1, roughness: 0.2, gap: 64, inside: true, rng: &rng) else { continue }
      let necrosis = placer.place(radius: r2, roughness: 0.2, gap: 64, inside: true, rng: &rng) {
        gap.contains(SyntheticSlideLayout.distance($0, lymphoid))
      }
      if let necrosis {
        return [RareRegion(structure: .lymphoidAggregate, outline: lymphoid), RareRegion(structure: .necrosis, outline: necrosis)]
      }
    }
    placer = start
    return []
  }

  /// Harmonic perturbation `1 + Σₖ aₖ cos(kθ + φₖ)` for k = 2…7, `aₖ ~ U(0, roughness / k)`,
  /// normalised by `1 + Σ aₖ` so that it never exceeds 1.
  struct Harmonics {
    var amplitudes: [Double]
    var phases: [Double]

    func factor(_ theta: Double) -> Double {
      var f = 1.0
      for (i, (a, p)) in zip(amplitudes, phases).enumerated() { f += a * cos(Double(i + 2) * theta + p) }
      return f / (1 + amplitudes.reduce(0, +))
    }
  }

  static func randomHarmonics(roughness: Double, rng: inout RandomGenerator) -> Harmonics {
    var amplitudes: [Double] = []
    var phases: [Double] = []
    for k in 2...7 {
      amplitudes.append(rng.uniform(0...(roughness / Double(k))))
      phases.append(rng.uniform(0...(2 * Double.pi)))
    }
    return Harmonics(amplitudes: amplitudes, phases: phases)
  }

  /// An irregular star-shaped blob: vertex `c + R(rotation)·(rx·f(θ) cos θ, ry·f(θ) sin θ)` at
  /// `vertices` equally spaced angles, with `f` from `randomHarmonics` (so `f ≤ 1`: the blob
  /// lies inside the rotated `rx × ry` ellipse).
  static func blob(
    center: SlidePoint, rx: Double, ry: Double, rotation: Double, roughness: Double, vertices: Int,
    rng: inout RandomGenerator
  ) -> Polygon {
    let harmonics = randomHarmonics(roughness: roughness, rng: &rng)
    let c = cos(rotation)
    let s = sin(rotation)
    var ring: [SlidePoint] = []
    ring.reserveCapacity(vertices)
    for i in 0..<vertices {
      let theta = 2 * Double.pi * Double(i) / Double(vertices)
      let f = harmonics.factor(theta)
      let u = rx * f * cos(theta)
      let v = ry * f * sin(theta)
      ring.append(SlidePoint(x: center.x + u * c - v * s, y: center.y + u * s + v * c))
    }
    return Polygon(outer: ring)
  }

  /// Places blobs inside the sections without overlaps.
  struct Placer {
    let sections: [Polygon]
    let areas: [Double]
    var occupied: [Polygon] = []

    init(sections: [Polygon]) {
      self.sections = sections
      areas = sections.map(\.area)
    }

    mutating func occupy(_ polygon: Polygon) { occupied.append(polygon) }

    /// A blob of mean radius `radius` (axes `radius·a` and `radius/a`, `a ∈ [0.8, 1.25]`, random
    /// rotation) whose centre lies in a section (chosen by area) and that keeps `gap` pixels
    /// from every occupied blob; with `inside`, every vertex also lies in that section at least
    /// 24 px from its border, and `accept` holds for it. Nil after 300 failed tries.
    mutating func place(
      radius: Double, roughness: Double, gap: Double, inside: Bool, rng: inout RandomGenerator,
      accept: (Polygon) -> Bool = { _ in true }
    ) -> Polygon? {
      let total = areas.reduce(0, +)
      for _ in 0..<300 {
        var u = rng.nextDouble() * total
        var s = 0
        while s < areas.count - 1 && u >= areas[s] {
          u -= areas[s]
          s += 1
        }
        let box = sections[s].boundingBox
        let center = SlidePoint(x: rng.uniform(box.minX...box.maxX), y: rng.uniform(box.minY...box.maxY))
        guard sections[s].contains(center) else { continue }
        let aspect = rng.uniform(0.8...1.25)
        let candidate = SyntheticSlideLayout.blob(
          center: center, rx: radius * aspect, ry: radius / aspect, rotation: rng.uniform(0...Double.pi),
          roughness: roughness, vertices: 64, rng: &rng)
        if inside {
          let ok = candidate.outer.allSatisfy {
            sections[s].contains($0) && sections[s].distanceToOuterBoundary($0) >= 24
          }
          guard ok else { continue }
        }
        guard occupied.allSatisfy({ Placer.apart(candidate, $0, gap: gap) }), accept(candidate) else { continue }
        occupied.append(candidate)
        return candidate
      }
      return nil
    }

    /// Whether `a` and `b` are at least `gap` apart (bounding boxes, then vertices against the
    /// other's interior and edges; vertices are dense enough on these smooth blobs).
    static func apart(_ a: Polygon, _ b: Polygon, gap: Double) -> Bool {
      let ba = a.boundingBox
      let bb = b.boundingBox
      if ba.maxX + gap <= bb.minX || bb.maxX + gap <= ba.minX || ba.maxY + gap <= bb.minY || bb.maxY + gap <= ba.minY {
        return true
      }
      for p in a.outer where b.contains(p) || b.distanceToOuterBoundary(p) < gap { return false }
      for p in b.outer where a.contains(p) { return false }
      return true
    }
  }
}

import Engine
import Vision

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Draws a `SyntheticSlideLayout` as a level-0 RGB image.
///
/// Every region gets a `TissueTexture` canvas of its class covering its bounding box (so
/// textures run continuously across a region), painted `textureDownsample` times coarser than
/// level 0 (at scale `objectScale / textureDownsample`) and enlarged bilinearly, which keeps the
/// painting affordable (it is most of the cost; 2 paints at 1 µm/px for a 0.5 µm/px slide), and
/// pulled part-way towards slide-wide stain
/// amounts (`c ← c · clamp((t / mean c)^0.35, ½, 2)`, half the strength `synthetic-tissue`
/// uses per image, so classes keep some of their natural tone) and turned into RGB with one
/// slide-wide `StainStyle` (Beer–Lambert, with sensor noise). Pixels belong to a region when
/// their centres lie inside its polygon (`Polygon.spans`); a section's patchwork is decided on
/// a 2-pixel grid. Sensor noise and the Beer–Lambert step are per level-0 pixel. Blur regions
/// are Gaussian-blurred last, inside their outlines only.
///
/// Determinism: the image is a pure function of the layout, `objectScale` and `seed`: each
/// region draws from its own child stream of `RandomGenerator(seed:)`.
public enum SyntheticSlideRenderer {
  /// Patchwork grid step in level-0 pixels.
  static let patchGrid = 2

  /// Renders `layout`; `objectScale` is the texture scale at level 0 (`TissueTexture.render`),
  /// `textureDownsample` (≥ 1) how much coarser textures are painted.
  public static func render(
    _ layout: SyntheticSlideLayout, objectScale: Float, textureDownsample: Int = 2, seed: UInt64
  ) -> RGBImage {
    precondition(textureDownsample >= 1, "render: textureDownsample \(textureDownsample) must be ≥ 1")
    let root = RandomGenerator(seed: seed)
    var stainRNG = root.split("stain")
    let style = StainStyle.random(jitter: 1, using: &stainRNG)
    let targets = (
      h: Float(exp(stainRNG.uniform(log(0.15)...log(0.4)))), e: Float(exp(stainRNG.uniform(log(0.12)...log(0.32))))
    )
    let w = layout.width
    let h = layout.height
    let bg = layout.background
    var image = RGBImage(width: w, height: h, fill: (bg[0], bg[1], bg[2]))
    image.pixels.withUnsafeMutableBufferPointer { out in
      guard let base = out.baseAddress else { return }
      let canvas = Canvas(
        pixels: base, width: w, height: h, style: style, targets: targets, scale: objectScale,
        downsample: textureDownsample)
      for (s, section) in layout.sections.enumerated() {
        drawSection(section, warp: layout.warp, on: canvas, rng: root.split("section").split(UInt64(s)))
      }
      for (i, region) in layout.rareRegions.enumerated() {
        canvas.fill(region.outline, tissueClass: region.structure.tissueClass, rng: root.split("rare").split(UInt64(i)))
      }
      for (i, tumour) in layout.tumours.enumerated() {
        canvas.fill(tumour, tissueClass: 3, rng: root.split("tumour").split(UInt64(i)))
      }
    }
    for region in layout.blurRegions { blur(&image, inside: region.outline, sigma: region.sigma) }
    return image
  }

  /// The level-0 pixels being drawn, with the slide's stain.
  struct Canvas {
    let pixels: UnsafeMutablePointer<UInt8>
    let width: Int
    let height: Int
    let style: StainStyle
    let targets: (h: Float, e: Float)
    let scale: Float
    let downsample: Int

    /// A texture of `tissueClass` covering `box` (level-0 pixel bounds), stain-balanced.
    func texture(
      tissueClass: Int, box: (x0: Int, y0: Int, x1: Int, y1: Int), rng: inout RandomGenerator
    ) -> StainMaps {
      let w = max(8, box.x1 - box.x0)
      let h = max(8, box.y1 - box.y0)
      let coarseW = max(8, (w + downsample - 1) / downsample + 1)
      let coarseH = max(8, (h + downsample - 1) / downsample + 1)
      var maps = TissueTexture.render(
        label: tissueClass, width: coarseW, height: coarseH, scale: scale / Float(downsample), using: &rng)
      let (mh, me) = maps.means()
      let beta: Float = 0.35
      let kh = min(2, max(0.5, powf(targets.h / max(mh, 1e-3), beta)))
      let ke = min(2, max(0.5, powf(targets.e / max(me, 1e-3), beta)))
      maps.scale(hematoxylin: kh, eosin: ke)
      return maps.upsampled(by: downsample, width: w, height: h)
    }

    /// Composes pixels `xs` of row `y` from `maps` whose top-left lies at (`ox`, `oy`).
    func compose(_ maps: StainMaps, ox: Int, oy: Int, y: Int, xs: Range<Int>, rng: inout RandomGenerator) {
      let offset = (y - oy) * maps.width + (xs.lowerBound - ox)
      maps.hematoxylin.withUnsafeBufferPointer { hp in
        maps.eosin.withUnsafeBufferPointer { ep in
          guard let hBase = hp.baseAddress, let eBase = ep.baseAddress else { return }
          style.compose(
            h: hBase + offset, e: eBase + offset, count: xs.count, into: pixels + 3 * (y * width + xs.lowerBound),
            using: &rng)
        }
      }
    }

    /// Fills `polygon` with a texture of `tissueClass`.
    func fill(_ polygon: Polygon, tissueClass: Int, rng: RandomGenerator) {
      var rng = rng
      let b = polygon.boundingBox
      let box = (
        x0: max(0, Int(b.minX.rounded(.down))), y0: max(0, Int(b.minY.rounded(.down))),
        x1: min(width, Int(b.maxX.rounded(.up)) + 1), y1: min(height, Int(b.maxY.rounded(.up)) + 1)
      )
      guard box.x1 > box.x0, box.y1 > box.y0 else { return }
      var textureRNG = rng.split("texture")
      let maps = texture(tissueClass: tissueClass, box: box, rng: &textureRNG)
      polygon.forEachSpan(width: width, height: height) { y, span in
        let xs = max(span.lowerBound, box.x0)..<min(span.upperBound, box.x1)
        if !xs.isEmpty, y >= box.y0, y < box.y1 { compose(maps, ox: box.x0, oy: box.y0, y: y, xs: xs, rng: &rng) }
      }
    }
  }

  /// Draws a section's patchwork: every pixel inside the outline takes the texture of the patch
  /// whose centre is nearest to the pixel's warped position (decided per `patchGrid` cell).
  static func drawSection(
    _ section: SyntheticSlideLayout.Section, warp: SyntheticSlideLayout.Warp, on canvas: Canvas,
    rng: RandomGenerator
  ) {
    let b = section.outline.boundingBox
    let x0 = max(0, Int(b.minX.rounded(.down)))
    let y0 = max(0, Int(b.minY.rounded(.down)))
    let x1 = min(canvas.width, Int(b.maxX.rounded(.up)) + 1)
    let y1 = min(canvas.height, Int(b.maxY.rounded(.up)) + 1)
    guard x1 > x0, y1 > y0 else { return }
    let g = patchGrid
    let cw = (x1 - x0 + g - 1) / g
    let ch = (y1 - y0 + g - 1) / g
    let field = WarpField(warp: warp, x0: x0, y0: y0, x1: x1, y1: y1)
    let centres = section.patches.map(\.center)
    var ids = [UInt8](repeating: 0, count: cw * ch)
    for cy in 0..<ch {
      let py = Double(y0 + cy * g) + Double(g) / 2
      for cx in 0..<cw {
        let px = Double(x0 + cx * g) + Double(g) / 2
        let (dx, dy) = field.displacement(px, py)
        let qx = px + dx
        let qy = py + dy
        var best = 0
        var bestD = Double.infinity
        for (k, c) in centres.enumerated() {
          let d = (qx - c.x) * (qx - c.x) + (qy - c.y) * (qy - c.y)
          if d < bestD {
            bestD = d
            best = k
          }
        }
        ids[cy * cw + cx] = UInt8(best)
      }
    }
    // Spans of every row, and each patch's bounding box within the outline.
    var rows: [[Range<Int>]] = []
    rows.reserveCapacity(y1 - y0)
    var boxes = [(x0: Int, y0: Int, x1: Int, y1: Int)](repeating: (Int.max, Int.max, Int.min, Int.min), count: centres.count)
    for y in y0..<y1 {
      let spans = section.outline.spans(row: y, width: canvas.width).map { max($0.lowerBound, x0)..<min($0.upperBound, x1) }
        .filter { !$0.isEmpty }
      rows.append(spans)
      let cy = (y - y0) / g
      for span in spans {
        var x = span.lowerBound
        while x < span.upperBound {
          let cx = (x - x0) / g
          let next = min(span.upperBound, x0 + (cx + 1) * g)
          let id = Int(ids[cy * cw + cx])
          boxes[id] = (min(boxes[id].x0, x), min(boxes[id].y0, y), max(boxes[id].x1, next), max(boxes[id].y1, y + 1))
          x = next
        }
      }
    }
    for (k, patch) in section.patches.enumerated() where boxes[k].x1 > boxes[k].x0 {
      let box = boxes[k]
      var textureRNG = rng.split("texture").split(UInt64(k))
      let maps = canvas.texture(tissueClass: patch.tissueClass, box: box, rng: &textureRNG)
      var noiseRNG = rng.split("noise").split(UInt64(k))
      for y in box.y0..<box.y1 {
        let cy = (y - y0) / g
        for span in rows[y - y0] {
          var x = max(span.lowerBound, box.x0)
          let end = min(span.upperBound, box.x1)
          while x < end {
            // A run of pixels in this patch: whole grid cells with this id.
            guard Int(ids[cy * cw + (x - x0) / g]) == k else {
              x = min(end, x0 + ((x - x0) / g + 1) * g)
              continue
            }
            var stop = min(end, x0 + ((x - x0) / g + 1) * g)
            while stop < end && Int(ids[cy * cw + (stop - x0) / g]) == k { stop = min(end, stop + g) }
            canvas.compose(maps, ox: box.x0, oy: box.y0, y: y, xs: x..<stop, rng: &noiseRNG)
            x = stop
          }
        }
      }
    }
  }

  /// Gaussian-blurs the pixels of `image` inside `outline` (the blur reads the neighbourhood
  /// outside too, as a defocused lens would).
  static func blur(_ image: inout RGBImage, inside outline: Polygon, sigma: Double) {
    let b = outline.boundingBox
    let margin = Int((3 * sigma).rounded(.up)) + 1
    let x0 = max(0, Int(b.minX.rounded(.down)) - margin)
    let y0 = max(0, Int(b.minY.rounded(.down)) - margin)
    let x1 = min(image.width, Int(b.maxX.rounded(.up)) + 1 + margin)
    let y1 = min(image.height, Int(b.maxY.rounded(.up)) + 1 + margin)
    guard x1 > x0, y1 > y0 else { return }
    let blurred = image.cropped(x: x0, y: y0, width: x1 - x0, height: y1 - y0).gaussianBlur(sigma: sigma)
    let w = image.width
    image.pixels.withUnsafeMutableBufferPointer { out in
      blurred.pixels.withUnsafeBufferPointer { src in
        outline.forEachSpan(width: w, height: image.height) { y, span in
          guard y >= y0, y < y1 else { return }
          for x in max(span.lowerBound, x0)..<min(span.upperBound, x1) {
            let s = 3 * ((y - y0) * blurred.width + (x - x0))
            let d = 3 * (y * w + x)
            out[d] = src[s]
            out[d + 1] = src[s + 1]
            out[d + 2] = src[s + 2]
          }
        }
      }
    }
  }
}

/// The patch-border warp sampled every `step` level-0 pixels over a box and interpolated
/// bilinearly in between (the noise is smooth on the scale of its 420-px wavelength, so this
/// changes borders by a small fraction of a pixel and saves two noise evaluations per cell).
struct WarpField {
  static let step = 16
  let x0: Int
  let y0: Int
  let columns: Int
  let dx: [Double]
  let dy: [Double]

  init(warp: SyntheticSlideLayout.Warp, x0: Int, y0: Int, x1: Int, y1: Int) {
    let noiseX = ValueNoise<Double>(key: warp.key)
    let noiseY = ValueNoise<Double>(key: warp.key ^ 0x5851_F42D_4C95_7F2D)
    let s = Self.step
    columns = (x1 - x0) / s + 2
    let rows = (y1 - y0) / s + 2
    var dx = [Double](repeating: 0, count: columns * rows)
    var dy = dx
    for j in 0..<rows {
      for i in 0..<columns {
        let u = Double(x0 + i * s) / warp.wavelength
        let v = Double(y0 + j * s) / warp.wavelength
        dx[j * columns + i] = warp.amplitude * (2 * noiseX.sample(u, v) - 1)
        dy[j * columns + i] = warp.amplitude * (2 * noiseY.sample(u, v) - 1)
      }
    }
    self.x0 = x0
    self.y0 = y0
    self.dx = dx
    self.dy = dy
  }

  /// The displacement at level-0 position (`x`, `y`) inside the box.
  @inline(__always)
  func displacement(_ x: Double, _ y: Double) -> (Double, Double) {
    let u = (x - Double(x0)) / Double(Self.step)
    let v = (y - Double(y0)) / Double(Self.step)
    let i = max(0, min(columns - 2, Int(u)))
    let rows = dx.count / columns
    let j = max(0, min(rows - 2, Int(v)))
    let fu = u - Double(i)
    let fv = v - Double(j)
    let a = j * columns + i
    let b = a + columns
    func lerp(_ m: [Double]) -> Double {
      let top = m[a] + (m[a + 1] - m[a]) * fu
      let bottom = m[b] + (m[b + 1] - m[b]) * fu
      return top + (bottom - top) * fv
    }
    return (lerp(dx), lerp(dy))
  }
}

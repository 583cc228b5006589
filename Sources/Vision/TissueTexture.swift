import Engine

/// Hematoxylin and eosin concentration maps of a rectangular patch, before any optics: what the
/// `synthetic-tissue` class painters draw, in optical-density units per unit stain vector.
///
/// Shapes: `hematoxylin` and `eosin` are `height × width`, row-major.
public struct StainMaps: Sendable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// Hematoxylin concentration per pixel, row-major.
  public var hematoxylin: [Float]
  /// Eosin concentration per pixel, row-major.
  public var eosin: [Float]

  /// Wraps maps. - Precondition: both hold `width · height` values.
  public init(width: Int, height: Int, hematoxylin: [Float], eosin: [Float]) {
    precondition(
      hematoxylin.count == width * height && eosin.count == width * height,
      "StainMaps: \(hematoxylin.count) and \(eosin.count) values for \(width)×\(height)")
    self.width = width
    self.height = height
    self.hematoxylin = hematoxylin
    self.eosin = eosin
  }

  /// Mean concentrations over all pixels.
  public func means() -> (hematoxylin: Float, eosin: Float) {
    let n = width * height
    guard n > 0 else { return (0, 0) }
    var sh: Double = 0
    var se: Double = 0
    for p in 0..<n {
      sh += Double(hematoxylin[p])
      se += Double(eosin[p])
    }
    return (Float(sh / Double(n)), Float(se / Double(n)))
  }

  /// The maps enlarged `factor` times by bilinear interpolation, cropped to `outWidth × outHeight`.
  ///
  /// Output pixel `(x, y)` samples the input at `((x + ½) / factor − ½, (y + ½) / factor − ½)`
  /// (pixel centres aligned, coordinates clamped to the input), as `cv2.resize(INTER_LINEAR)`.
  /// - Precondition: `factor ≥ 1`, `outWidth ≤ width · factor`, `outHeight ≤ height · factor`.
  public func upsampled(by factor: Int, width outWidth: Int, height outHeight: Int) -> StainMaps {
    precondition(
      factor >= 1 && outWidth >= 1 && outHeight >= 1 && outWidth <= width * factor && outHeight <= height * factor,
      "upsampled: \(width)×\(height) × \(factor) → \(outWidth)×\(outHeight)")
    if factor == 1 && outWidth == width && outHeight == height { return self }
    func taps(_ count: Int, input: Int) -> (index: [Int], next: [Int], weight: [Float]) {
      var index = [Int](repeating: 0, count: count)
      var next = [Int](repeating: 0, count: count)
      var weight = [Float](repeating: 0, count: count)
      for x in 0..<count {
        let u = max(0, min(Float(input - 1), (Float(x) + 0.5) / Float(factor) - 0.5))
        let i = min(Int(u), input - 1)
        index[x] = i
        next[x] = min(i + 1, input - 1)
        weight[x] = u - Float(i)
      }
      return (index, next, weight)
    }
    let tx = taps(outWidth, input: width)
    let ty = taps(outHeight, input: height)
    var h = [Float](repeating: 0, count: outWidth * outHeight)
    var e = [Float](repeating: 0, count: outWidth * outHeight)
    let w = width
    hematoxylin.withUnsafeBufferPointer { sh in
      eosin.withUnsafeBufferPointer { se in
        h.withUnsafeMutableBufferPointer { dh in
          e.withUnsafeMutableBufferPointer { de in
            for y in 0..<outHeight {
              let r0 = ty.index[y] * w
              let r1 = ty.next[y] * w
              let wy = ty.weight[y]
              let o = y * outWidth
              for x in 0..<outWidth {
                let i0 = tx.index[x]
                let i1 = tx.next[x]
                let wx = tx.weight[x]
                let top = sh[r0 + i0] + (sh[r0 + i1] - sh[r0 + i0]) * wx
                let bottom = sh[r1 + i0] + (sh[r1 + i1] - sh[r1 + i0]) * wx
                dh[o + x] = top + (bottom - top) * wy
                let topE = se[r0 + i0] + (se[r0 + i1] - se[r0 + i0]) * wx
                let bottomE = se[r1 + i0] + (se[r1 + i1] - se[r1 + i0]) * wx
                de[o + x] = topE + (bottomE - topE) * wy
              }
            }
          }
        }
      }
    }
    return StainMaps(width: outWidth, height: outHeight, hematoxylin: h, eosin: e)
  }

  /// Multiplies the maps by `h` and `e` and adds `hazeH`, `hazeE` everywhere.
  public mutating func scale(hematoxylin h: Float, eosin e: Float, hazeH: Float = 0, hazeE: Float = 0) {
    for p in hematoxylin.indices {
      hematoxylin[p] = hematoxylin[p] * h + hazeH
      eosin[p] = eosin[p] * e + hazeE
    }
  }
}

/// The `synthetic-tissue` class textures on canvases of any size: the same eight painters
/// (`SyntheticTissue.classNames`), without the per-image colour balance, stain and focus steps,
/// so a caller (the synthetic whole-slide generator) can paint large regions and apply one
/// slide-wide stain (`StainStyle`).
///
/// Lengths scale with `scale` as in `SyntheticTissue` (1 ≈ 1.6 µm per pixel; 3 gives life-size
/// cells at 0.5 µm per pixel: a lymphocyte nucleus ≈ 12 px ≈ 6 µm). A rectangular canvas shows
/// the top-left `width × height` part of what the painters lay out on the `max(width, height)`
/// square, so a square canvas equals `SyntheticTissue`'s before its colour steps. A texture is a
/// pure function of `(label, width, height, scale)` and the generator's state.
public enum TissueTexture {
  /// Renders class `label` on a `width × height` canvas.
  /// - Precondition: `0 <= label < 8`, `width, height >= 8`, `scale > 0`.
  public static func render(
    label: Int, width: Int, height: Int, scale: Float, using generator: inout RandomGenerator
  ) -> StainMaps {
    precondition(label >= 0 && label < SyntheticTissue.classNames.count, "TissueTexture: label \(label) not in 0..<8")
    precondition(
      width >= 8 && height >= 8 && scale > 0, "TissueTexture: size \(width)×\(height) must be ≥ 8, scale \(scale) > 0")
    let canvas = TissueCanvas(width: width, height: height, rng: &generator)
    TissuePainter.paint(label, canvas, s: scale, rng: &generator)
    let n = width * height
    return StainMaps(
      width: width, height: height, hematoxylin: Array(UnsafeBufferPointer(start: canvas.h, count: n)),
      eosin: Array(UnsafeBufferPointer(start: canvas.e, count: n)))
  }
}

import Engine

/// Randomly changes brightness, contrast, saturation and hue, in a random order per image
/// (torchvision `ColorJitter(brightness, contrast, saturation, hue)`).
///
/// Draws per image (torchvision `ColorJitter.get_params`): a random permutation of the four
/// adjustments, then the factors `b, c, s ~ U[max(0, 1 − x), 1 + x]` for `x` = brightness,
/// contrast, saturation and `h ~ U[−hue, hue]`; an adjustment whose strength is 0 is skipped
/// (torchvision passes `None`), but its factor is still drawn so the stream does not depend on
/// which strengths are zero. Each adjustment is torchvision's tensor functional:
/// - brightness: `clamp(b · x, 0, 1)`;
/// - contrast: `clamp(c · x + (1 − c) · m, 0, 1)`, `m` the mean luma of the whole image;
/// - saturation: `clamp(s · x + (1 − s) · L, 0, 1)`, `L` the pixel's luma;
/// - hue: RGB → HSV (`_rgb2hsv`), `H ← (H + h) mod 1`, HSV → RGB (`_hsv2rgb`).
///
/// SimCLR's colour distortion at strength `s` is `ColorJitter(0.8s, 0.8s, 0.8s, 0.2s)` (its TF
/// code has its own HSV routines; we use torchvision's throughout).
public struct ColorJitter: ImageAugmentation {
  public var brightness: Double
  public var contrast: Double
  public var saturation: Double
  /// Maximum hue shift as a fraction of the colour circle. - Precondition: `0 ≤ hue ≤ 0.5`.
  public var hue: Double

  public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
    precondition(
      brightness >= 0 && contrast >= 0 && saturation >= 0,
      "ColorJitter: negative strength (\(brightness), \(contrast), \(saturation))")
    precondition((0...0.5).contains(hue), "ColorJitter: hue \(hue) outside [0, 0.5]")
    self.brightness = brightness
    self.contrast = contrast
    self.saturation = saturation
    self.hue = hue
  }

  /// The four factors and their order as drawn for one image.
  public struct Parameters: Sendable, Equatable {
    /// Order of application: 0 brightness, 1 contrast, 2 saturation, 3 hue.
    public var order: [Int]
    public var brightness: Double
    public var contrast: Double
    public var saturation: Double
    public var hue: Double
  }

  /// Draws the order and factors (torchvision `get_params`).
  public func parameters(using generator: inout RandomGenerator) -> Parameters {
    let order = generator.permutation(4)
    let b = generator.uniform(max(0, 1 - brightness)...(1 + brightness))
    let c = generator.uniform(max(0, 1 - contrast)...(1 + contrast))
    let s = generator.uniform(max(0, 1 - saturation)...(1 + saturation))
    let h = generator.uniform(-hue...hue)
    return Parameters(order: order, brightness: b, contrast: c, saturation: s, hue: h)
  }

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    let p = parameters(using: &generator)
    for step in p.order {
      switch step {
      case 0: if brightness > 0 { image.adjustBrightness(Float(p.brightness)) }
      case 1: if contrast > 0 { image.adjustContrast(Float(p.contrast)) }
      case 2: if saturation > 0 { image.adjustSaturation(Float(p.saturation)) }
      default: if hue > 0 { image.adjustHue(Float(p.hue)) }
      }
    }
  }

  public var description: String {
    "ColorJitter(brightness: \(brightness), contrast: \(contrast), saturation: \(saturation), hue: \(hue))"
  }
}

extension FloatImage {
  /// `x ← clamp(f·x, 0, 1)` (torchvision `adjust_brightness`: a blend with black).
  public mutating func adjustBrightness(_ factor: Float) {
    pixels.withUnsafeMutableBufferPointer { p in
      for i in p.indices { p[i] = clampUnit(factor * p[i]) }
    }
  }

  /// `x ← clamp(f·x + (1 − f)·m, 0, 1)` with `m` the mean luma over the image (torchvision
  /// `adjust_contrast`).
  public mutating func adjustContrast(_ factor: Float) {
    let l = luma()
    var sum: Double = 0
    for v in l { sum += Double(v) }
    let mean = Float(sum / Double(Swift.max(l.count, 1)))
    let offset = (1 - factor) * mean
    pixels.withUnsafeMutableBufferPointer { p in
      for i in p.indices { p[i] = clampUnit(factor * p[i] + offset) }
    }
  }

  /// `x ← clamp(f·x + (1 − f)·L, 0, 1)` with `L` each pixel's luma (torchvision
  /// `adjust_saturation`: a blend with the grey image).
  public mutating func adjustSaturation(_ factor: Float) {
    let n = planeSize
    let g = 1 - factor
    pixels.withUnsafeMutableBufferPointer { p in
      for i in 0..<n {
        let l = g * (lumaR * p[i] + lumaG * p[n + i] + lumaB * p[2 * n + i])
        p[i] = clampUnit(factor * p[i] + l)
        p[n + i] = clampUnit(factor * p[n + i] + l)
        p[2 * n + i] = clampUnit(factor * p[2 * n + i] + l)
      }
    }
  }

  /// Rotates the hue by `shift` turns (torchvision `adjust_hue`, `shift ∈ [−0.5, 0.5]`): per
  /// pixel `_rgb2hsv`, `H ← (H + shift) mod 1`, `_hsv2rgb`. Greys (R = G = B) are unchanged.
  public mutating func adjustHue(_ shift: Float) {
    let n = planeSize
    pixels.withUnsafeMutableBufferPointer { p in
      for i in 0..<n {
        let (h, s, v) = rgbToHSV(p[i], p[n + i], p[2 * n + i])
        // torch `(h + shift) % 1.0`; h + shift ∈ (−0.5, 1.5), so one ±1 is exact remainder.
        var hh = h + shift
        if hh < 0 { hh += 1 } else if hh >= 1 { hh -= 1 }
        let (r, g, b) = hsvToRGB(hh, s, v)
        p[i] = r
        p[n + i] = g
        p[2 * n + i] = b
      }
    }
  }
}

/// torchvision `_rgb2hsv` for one pixel (after Pillow's `Convert.c`): `V = max`, `S = (max −
/// min) / max`, and `H` from the channel that holds the maximum (red wins ties, then green).
@inline(__always)
func rgbToHSV(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
  let maxc = Swift.max(r, Swift.max(g, b))
  let minc = Swift.min(r, Swift.min(g, b))
  let eqc = maxc == minc
  let cr = maxc - minc
  let s = cr / (eqc ? 1 : maxc)
  let d = eqc ? 1 : cr
  let rc = (maxc - r) / d
  let gc = (maxc - g) / d
  let bc = (maxc - b) / d
  var h: Float
  if maxc == r {
    h = bc - gc
  } else if maxc == g {
    h = 2 + rc - bc
  } else {
    h = 4 + gc - rc
  }
  h = h / 6 + 1
  if h >= 1 { h -= 1 }  // torch.fmod(h, 1): h ∈ [5/6, 11/6] here, and h − 1 is exact
  return (h, s, maxc)
}

/// torchvision `_hsv2rgb` for one pixel: sector `i = ⌊6H⌋ mod 6`, `f = 6H − ⌊6H⌋`,
/// `p = v(1 − s)`, `q = v(1 − sf)`, `t = v(1 − s(1 − f))` (each clamped to [0, 1]).
@inline(__always)
func hsvToRGB(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
  let h6 = h * 6
  let sector = Int(h6)  // ⌊6H⌋: H ∈ [0, 1], so truncation is the floor
  let f = h6 - Float(sector)
  let p = clampUnit(v * (1 - s))
  let q = clampUnit(v * (1 - s * f))
  let t = clampUnit(v * (1 - s * (1 - f)))
  switch sector % 6 {
  case 0: return (v, t, p)
  case 1: return (q, v, p)
  case 2: return (p, v, t)
  case 3: return (p, q, v)
  case 4: return (t, p, v)
  default: return (v, p, q)
  }
}

@inline(__always)
func clampUnit(_ x: Float) -> Float { Swift.min(Swift.max(x, 0), 1) }

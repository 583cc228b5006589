import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A crop window in source pixels: rows `top ..< top + height`, columns `left ..< left + width`.
public struct CropBox: Sendable, Equatable, CustomStringConvertible {
  public var top: Int
  public var left: Int
  public var height: Int
  public var width: Int

  public init(top: Int, left: Int, height: Int, width: Int) {
    self.top = top
    self.left = left
    self.height = height
    self.width = width
  }

  public var description: String { "CropBox(top: \(top), left: \(left), \(height)×\(width))" }
}

/// Crops a random window of random area and aspect ratio and resizes it to `width × height`
/// (Szegedy et al. 2015's "Inception crop"; torchvision `RandomResizedCrop`), reading the 8-bit
/// source and writing Float32 CHW in [0, 1] (`ToTensor` folded in).
///
/// Window (torchvision `RandomResizedCrop.get_params`, v0.28): up to 10 attempts of
/// `area' = A · U(scale)`, `r = exp(U(log ratio.lower, log ratio.upper))` (log-uniform ratio),
/// `w = round(√(area'·r))`, `h = round(√(area'/r))` with Python's round-half-to-even; the first
/// `0 < w ≤ W, 0 < h ≤ H` is placed uniformly (`top ∈ 0…H−h`, `left ∈ 0…W−w`). When all 10 fail,
/// the central crop of the whole image clipped to the ratio range (`w = W, h = round(W / r_min)`
/// when `W/H < r_min`; `h = H, w = round(H · r_max)` when `W/H > r_max`; else the whole image).
///
/// Resize: bilinear, `align_corners = False` (pixel centres aligned), with torchvision-on-tensor
/// semantics. `antialias = false` (the brief's reference, `F.resized_crop(…, antialias=False)`)
/// samples at `u = max(0, (x + ½)·s − ½)`, `s = n_in / n_out`, with the two neighbours
/// `⌊u⌋, min(⌊u⌋ + 1, n_in − 1)` inside the crop; `antialias = true` (torchvision's default since
/// 0.17, and close to the papers' PIL resize) widens the triangle filter to `s` input pixels when
/// shrinking (`_upsample_bilinear2d_aa`). The two agree when an axis is enlarged or kept. Both are
/// applied separably (rows, then columns), the same products as torch's kernels; the committed
/// fixture matches torch to ~1e-7.
///
/// Random draws per call: 2 uniforms and 2 integers per attempt until one fits (none for the
/// fallback). Shape: `RGBImage` `H × W` → `FloatImage` `3 × height × width`.
public struct RandomResizedCrop: Sendable, CustomStringConvertible {
  /// Output width in pixels.
  public var width: Int
  /// Output height in pixels.
  public var height: Int
  /// Range of the crop's area as a fraction of the image's area.
  public var scale: ClosedRange<Double>
  /// Range of the crop's aspect ratio `w / h` (sampled log-uniformly).
  public var ratio: ClosedRange<Double>
  /// Antialiased (PIL-like) resizing when shrinking; false = plain bilinear.
  public var antialias: Bool

  /// - Precondition: positive size; `0 < scale.lowerBound`, `scale.upperBound ≤ 1` is not
  ///   required (torchvision allows larger), `0 < ratio.lowerBound`.
  public init(
    width: Int, height: Int, scale: ClosedRange<Double> = 0.08...1,
    ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0), antialias: Bool = false
  ) {
    precondition(width > 0 && height > 0, "RandomResizedCrop: size \(width)×\(height)")
    precondition(scale.lowerBound > 0, "RandomResizedCrop: scale \(scale) must be positive")
    precondition(ratio.lowerBound > 0, "RandomResizedCrop: ratio \(ratio) must be positive")
    self.width = width
    self.height = height
    self.scale = scale
    self.ratio = ratio
    self.antialias = antialias
  }

  /// A square output of side `size`.
  public init(
    size: Int, scale: ClosedRange<Double> = 0.08...1,
    ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0), antialias: Bool = false
  ) {
    self.init(width: size, height: size, scale: scale, ratio: ratio, antialias: antialias)
  }

  /// The random window for an image of `imageWidth × imageHeight` (torchvision `get_params`).
  public func window(imageWidth: Int, imageHeight: Int, using generator: inout RandomGenerator) -> CropBox {
    let area = Double(imageWidth * imageHeight)
    let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
    for _ in 0..<10 {
      let targetArea = area * generator.uniform(scale)
      let aspect = exp(generator.uniform(logRatio))
      let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
      let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
      if w > 0 && w <= imageWidth && h > 0 && h <= imageHeight {
        let top = generator.nextInt(below: imageHeight - h + 1)
        let left = generator.nextInt(below: imageWidth - w + 1)
        return CropBox(top: top, left: left, height: h, width: w)
      }
    }
    return Self.centralWindow(imageWidth: imageWidth, imageHeight: imageHeight, ratio: ratio)
  }

  /// torchvision's fallback: the whole image, clipped to the ratio range, centred.
  public static func centralWindow(imageWidth: Int, imageHeight: Int, ratio: ClosedRange<Double>) -> CropBox {
    let inRatio = Double(imageWidth) / Double(imageHeight)
    var (w, h) = (imageWidth, imageHeight)
    if inRatio < ratio.lowerBound {
      h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
    } else if inRatio > ratio.upperBound {
      w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
    }
    return CropBox(top: (imageHeight - h) / 2, left: (imageWidth - w) / 2, height: h, width: w)
  }

  /// A random window of `image`, resized to the output size.
  public func apply(to image: RGBImage, using generator: inout RandomGenerator) -> FloatImage {
    let box = window(imageWidth: image.width, imageHeight: image.height, using: &generator)
    return image.resizedCrop(box, width: width, height: height, antialias: antialias)
  }

  public var description: String {
    "RandomResizedCrop(\(height)×\(width), scale: \(scale.lowerBound)…\(scale.upperBound), "
      + "ratio: \(fmt(ratio.lowerBound))…\(fmt(ratio.upperBound))\(antialias ? ", antialias" : ""))"
  }
}

private func fmt(_ v: Double) -> String {
  let r = (v * 1000).rounded() / 1000
  return "\(r)"
}

extension RGBImage {
  /// The window `box` resized to `width × height` by bilinear interpolation, as Float32 CHW in
  /// [0, 1] (torchvision `F.resized_crop(to_tensor(image), top, left, h, w, [height, width],
  /// antialias=…)`; see `RandomResizedCrop` for the sampling rule).
  /// - Precondition: the window lies inside the image and is not empty.
  public func resizedCrop(_ box: CropBox, width outW: Int, height outH: Int, antialias: Bool = false) -> FloatImage {
    precondition(
      box.top >= 0 && box.left >= 0 && box.width > 0 && box.height > 0 && box.top + box.height <= height
        && box.left + box.width <= width,
      "resizedCrop: \(box) outside \(width)×\(height)")
    precondition(outW > 0 && outH > 0, "resizedCrop: output \(outW)×\(outH)")
    let tx = ResampleTaps(start: box.left, inputSize: box.width, outputSize: outW, antialias: antialias)
    let ty = ResampleTaps(start: 0, inputSize: box.height, outputSize: outH, antialias: antialias)
    let rows = box.height
    let plane = outW * outH
    // Rows pass: tmp[r][c][x] = Σₜ wₓₜ · src[top + r][idxₓₜ][c] / 255, shape [rows, 3, outW].
    var tmp = [Float](repeating: 0, count: rows * 3 * outW)
    var out = [Float](repeating: 0, count: 3 * plane)
    let srcWidth = width
    pixels.withUnsafeBufferPointer { src in
      byteToUnit.withUnsafeBufferPointer { lut in
        tmp.withUnsafeMutableBufferPointer { mid in
          tx.index.withUnsafeBufferPointer { ix in
            tx.weight.withUnsafeBufferPointer { wx in
              let k = tx.taps
              for r in 0..<rows {
                let rowBase = 3 * (box.top + r) * srcWidth
                let dst = r * 3 * outW
                for x in 0..<outW {
                  var a: Float = 0
                  var b: Float = 0
                  var c: Float = 0
                  for t in 0..<k {
                    let o = rowBase + 3 * ix[x * k + t]
                    let w = wx[x * k + t]
                    a += w * lut[Int(src[o])]
                    b += w * lut[Int(src[o + 1])]
                    c += w * lut[Int(src[o + 2])]
                  }
                  mid[dst + x] = a
                  mid[dst + outW + x] = b
                  mid[dst + 2 * outW + x] = c
                }
              }
            }
          }
        }
      }
    }
    // Columns pass: out[c][y][x] = Σₜ w_yₜ · tmp[idx_yₜ][c][x].
    tmp.withUnsafeBufferPointer { mid in
      out.withUnsafeMutableBufferPointer { dst in
        ty.index.withUnsafeBufferPointer { iy in
          ty.weight.withUnsafeBufferPointer { wy in
            let k = ty.taps
            for y in 0..<outH {
              for c in 0..<3 {
                let d = c * plane + y * outW
                let w0 = wy[y * k]
                let s0 = (iy[y * k] * 3 + c) * outW
                for x in 0..<outW { dst[d + x] = w0 * mid[s0 + x] }
                for t in 1..<Swift.max(k, 1) {
                  let w = wy[y * k + t]
                  let s = (iy[y * k + t] * 3 + c) * outW
                  for x in 0..<outW { dst[d + x] += w * mid[s + x] }
                }
              }
            }
          }
        }
      }
    }
    return FloatImage(width: outW, height: outH, pixels: out)
  }
}

/// Interpolation taps along one axis: output `o` reads input `index[o·taps + t]` (offset by
/// `start`) with weight `weight[o·taps + t]`; unused taps carry weight 0.
struct ResampleTaps {
  let taps: Int
  var index: [Int]
  var weight: [Float]

  /// Bilinear taps as torch's `upsample_bilinear2d` (align_corners = False), or with
  /// `antialias` as `_upsample_bilinear2d_aa` (triangle filter of support `max(s, 1)`).
  init(start: Int, inputSize n: Int, outputSize m: Int, antialias: Bool) {
    let scale = Float(n) / Float(m)
    if !antialias || scale <= 1 {
      // aten/src/ATen/native/UpSample.h: area_pixel_compute_source_index, guard_index_and_lambda.
      taps = 2
      index = [Int](repeating: 0, count: 2 * m)
      weight = [Float](repeating: 0, count: 2 * m)
      for o in 0..<m {
        let u = Swift.max(scale * (Float(o) + 0.5) - 0.5, 0)
        let i0 = Swift.min(Int(u.rounded(.down)), n - 1)
        let lambda = Swift.min(Swift.max(u - Float(i0), 0), 1)
        let i1 = i0 + (i0 < n - 1 ? 1 : 0)
        index[2 * o] = start + i0
        index[2 * o + 1] = start + i1
        weight[2 * o] = 1 - lambda
        weight[2 * o + 1] = lambda
      }
      return
    }
    // aten/src/ATen/native/cpu/UpSampleKernel.cpp: _compute_index_ranges_weights, interp_size 2.
    let support = scale  // (interp_size / 2) · scale, scale ≥ 1
    let invScale = 1 / scale
    var ranges: [(Int, [Float])] = []
    var most = 1
    for o in 0..<m {
      let center = scale * (Float(o) + 0.5)
      let xmin = Swift.max(Int(center - support + 0.5), 0)
      let xsize = Swift.min(Int(center + support + 0.5), n) - xmin
      var w = [Float](repeating: 0, count: Swift.max(xsize, 0))
      var total: Float = 0
      for j in 0..<Swift.max(xsize, 0) {
        let d = abs((Float(j + xmin) - center + 0.5) * invScale)
        w[j] = d < 1 ? 1 - d : 0
        total += w[j]
      }
      if total != 0 { for j in w.indices { w[j] /= total } }
      ranges.append((xmin, w))
      most = Swift.max(most, w.count)
    }
    taps = most
    index = [Int](repeating: start, count: most * m)
    weight = [Float](repeating: 0, count: most * m)
    for (o, (xmin, w)) in ranges.enumerated() {
      for j in 0..<most {
        index[o * most + j] = start + (j < w.count ? xmin + j : xmin)
        weight[o * most + j] = j < w.count ? w[j] : 0
      }
    }
  }
}

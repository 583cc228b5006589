#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Linear filters and geometric resampling on 8-bit RGB images. All work is done in Float32 on
// unsafe buffers and rounded back to UInt8 (round half up, clamped to 0…255) at the end.

extension RGBImage {
  /// Gaussian blur (a model of optical defocus / scanner softness), separable.
  ///
  /// Maths: `out = round(K ⊛ in)` per channel, with the 2-D kernel `K = k kᵀ`,
  /// `k[i] = exp(−i² / (2σ²)) / Σⱼ exp(−j² / (2σ²))` for `i ∈ −r…r`. The radius follows OpenCV's
  /// `getGaussianKernel` size for 8-bit images, `r = ⌊(round(6σ + 1) | 1) / 2⌋` (≈ 3σ). Borders
  /// are reflected without repeating the edge pixel (`BORDER_REFLECT_101`: `… 2 1 | 0 1 2 …`),
  /// OpenCV's default, so results match `cv2.GaussianBlur(img, (0, 0), σ)` to ±2 grey levels
  /// (mean |Δ| ≈ 0.1; OpenCV rounds through fixed-point arithmetic).
  ///
  /// - Parameter sigma: standard deviation in pixels; `σ ≤ 0` returns the image unchanged.
  /// - Returns: an image of the same size. Cost `O(W·H·(2r + 1))` per channel.
  ///
  /// Source: OpenCV 4 `cv::GaussianBlur`, `cv::getGaussianKernel`, `cv::borderInterpolate`.
  public func gaussianBlur(sigma: Double) -> RGBImage {
    guard sigma > 0, width > 0, height > 0 else { return self }
    let r = Int(lround(6 * sigma + 1) | 1) / 2
    if r == 0 { return self }
    var k = [Float](repeating: 0, count: 2 * r + 1)
    var sum = 0.0
    for i in -r...r {
      let v = exp(-Double(i * i) / (2 * sigma * sigma))
      k[i + r] = Float(v)
      sum += v
    }
    for i in k.indices { k[i] = Float(Double(k[i]) / sum) }
    return separableFilter(kernelX: k, kernelY: k)
  }

  /// Defocus blur with a uniform disk ("pillbox") kernel, the geometric-optics point-spread
  /// function of an out-of-focus lens.
  ///
  /// Maths: `out = round(D ⊛ in)` with `D(dx, dy) ∝ clamp(R + ½ − √(dx² + dy²), 0, 1)`, i.e. a
  /// disk of radius `R` whose edge pixels are weighted by (approximately) their covered area,
  /// normalised to `Σ D = 1`; its support holds about `πR²` pixels. Borders reflect-101.
  ///
  /// - Parameter radius: disk radius `R` in pixels; `R ≤ 0` returns the image unchanged.
  /// - Returns: an image of the same size. Cost `O(W·H·πR²)`.
  ///
  /// Source: Hopkins, "The frequency response of a defocused optical system" (1955); the
  /// anti-aliased disk is what `skimage.morphology.disk` approximates.
  public func defocusBlur(radius: Double) -> RGBImage {
    guard radius > 0, width > 0, height > 0 else { return self }
    let r = Int((radius + 0.5).rounded(.up))
    var taps: [(dx: Int, dy: Int, w: Float)] = []
    var sum: Float = 0
    for dy in -r...r {
      for dx in -r...r {
        let w = Float(min(1, max(0, radius + 0.5 - (Double(dx * dx + dy * dy)).squareRoot())))
        if w > 0 {
          taps.append((dx, dy, w))
          sum += w
        }
      }
    }
    let mapX = reflect101Table(count: width, margin: r)
    let mapY = reflect101Table(count: height, margin: r)
    let w = width
    let h = height
    var out = [UInt8](repeating: 0, count: w * h * 3)
    pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for y in 0..<h {
          for x in 0..<w {
            var a: Float = 0
            var b: Float = 0
            var c: Float = 0
            for t in taps {
              let o = 3 * (mapY[y + r + t.dy] * w + mapX[x + r + t.dx])
              a += t.w * Float(src[o])
              b += t.w * Float(src[o + 1])
              c += t.w * Float(src[o + 2])
            }
            let o = 3 * (y * w + x)
            dst[o] = roundToByte(a / sum)
            dst[o + 1] = roundToByte(b / sum)
            dst[o + 2] = roundToByte(c / sum)
          }
        }
      }
    }
    return RGBImage(width: w, height: h, pixels: out)
  }

  /// Resamples to `width × height`, per axis: area averaging when that axis shrinks, bilinear
  /// interpolation when it grows or stays.
  ///
  /// Maths (one axis, scale `s = n_in / n_out`): bilinear samples the input at
  /// `u = (x + ½)·s − ½` (pixel centres aligned, edge-clamped) with weights `1 − frac(u)` and
  /// `frac(u)`; area gives output pixel `x` the mean of input interval `[x·s, (x + 1)·s)`, each
  /// input pixel weighted by its overlap. The two axes are applied separably, which is exact for
  /// both rules. When both axes shrink this equals `cv2.resize(…, INTER_AREA)` exactly; when
  /// both grow it equals `INTER_LINEAR` to ±1 (mixed cases have no single OpenCV equivalent).
  ///
  /// - Precondition: `width > 0 && height > 0`.
  /// Source: OpenCV 4 `cv::resize`.
  public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
    precondition(newWidth > 0 && newHeight > 0, "resized: size \(newWidth)×\(newHeight)")
    if newWidth == width && newHeight == height { return self }
    let wx = resampleWeights(from: width, to: newWidth)
    let wy = resampleWeights(from: height, to: newHeight)
    return separableResample(wx: wx, wy: wy, outWidth: newWidth, outHeight: newHeight)
  }

  /// The `width × height` window whose top-left pixel is `(x, y)`.
  /// - Precondition: the window lies inside the image.
  public func cropped(x: Int, y: Int, width cw: Int, height ch: Int) -> RGBImage {
    precondition(
      x >= 0 && y >= 0 && cw >= 0 && ch >= 0 && x + cw <= width && y + ch <= height,
      "cropped: window (\(x), \(y), \(cw)×\(ch)) outside \(width)×\(height)")
    var out = [UInt8](repeating: 0, count: cw * ch * 3)
    for row in 0..<ch {
      let s = 3 * ((y + row) * width + x)
      let d = 3 * row * cw
      for i in 0..<(3 * cw) { out[d + i] = pixels[s + i] }
    }
    return RGBImage(width: cw, height: ch, pixels: out)
  }

  // MARK: - Internals

  /// Correlates with `kernelX` along rows, then `kernelY` along columns (odd lengths, centred).
  func separableFilter(kernelX: [Float], kernelY: [Float]) -> RGBImage {
    let w = width
    let h = height
    let rx = kernelX.count / 2
    let ry = kernelY.count / 2
    let mapX = reflect101Table(count: w, margin: rx)
    let mapY = reflect101Table(count: h, margin: ry)
    var tmp = [Float](repeating: 0, count: w * h * 3)
    var out = [UInt8](repeating: 0, count: w * h * 3)
    pixels.withUnsafeBufferPointer { src in
      tmp.withUnsafeMutableBufferPointer { mid in
        kernelX.withUnsafeBufferPointer { kx in
          mapX.withUnsafeBufferPointer { mx in
            for y in 0..<h {
              let row = 3 * y * w
              for x in 0..<w {
                var a: Float = 0
                var b: Float = 0
                var c: Float = 0
                for i in 0..<kx.count {
                  let o = row + 3 * mx[x + i]
                  let k = kx[i]
                  a += k * Float(src[o])
                  b += k * Float(src[o + 1])
                  c += k * Float(src[o + 2])
                }
                let d = row + 3 * x
                mid[d] = a
                mid[d + 1] = b
                mid[d + 2] = c
              }
            }
          }
        }
      }
    }
    tmp.withUnsafeBufferPointer { mid in
      out.withUnsafeMutableBufferPointer { dst in
        kernelY.withUnsafeBufferPointer { ky in
          mapY.withUnsafeBufferPointer { my in
            let stride = 3 * w
            var acc = [Float](repeating: 0, count: stride)
            acc.withUnsafeMutableBufferPointer { acc in
              for y in 0..<h {
                for i in 0..<stride { acc[i] = 0 }
                for j in 0..<ky.count {
                  let k = ky[j]
                  let s = my[y + j] * stride
                  for i in 0..<stride { acc[i] += k * mid[s + i] }
                }
                let d = y * stride
                for i in 0..<stride { dst[d + i] = roundToByte(acc[i]) }
              }
            }
          }
        }
      }
    }
    return RGBImage(width: w, height: h, pixels: out)
  }

  private func separableResample(
    wx: [[(Int, Float)]], wy: [[(Int, Float)]], outWidth: Int, outHeight: Int
  ) -> RGBImage {
    let h = height
    var tmp = [Float](repeating: 0, count: outWidth * h * 3)
    pixels.withUnsafeBufferPointer { src in
      tmp.withUnsafeMutableBufferPointer { mid in
        for y in 0..<h {
          for x in 0..<outWidth {
            var a: Float = 0
            var b: Float = 0
            var c: Float = 0
            for (i, k) in wx[x] {
              let o = 3 * (y * width + i)
              a += k * Float(src[o])
              b += k * Float(src[o + 1])
              c += k * Float(src[o + 2])
            }
            let d = 3 * (y * outWidth + x)
            mid[d] = a
            mid[d + 1] = b
            mid[d + 2] = c
          }
        }
      }
    }
    var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
    tmp.withUnsafeBufferPointer { mid in
      out.withUnsafeMutableBufferPointer { dst in
        let stride = 3 * outWidth
        for y in 0..<outHeight {
          for i in 0..<stride {
            var acc: Float = 0
            for (j, k) in wy[y] { acc += k * mid[j * stride + i] }
            dst[y * stride + i] = roundToByte(acc)
          }
        }
      }
    }
    return RGBImage(width: outWidth, height: outHeight, pixels: out)
  }
}

/// Index table for reflect-101 borders: entry `i` is the source index of position `i − margin`,
/// for `i ∈ 0 ..< count + 2·margin`; reflects repeatedly when `margin ≥ count`.
func reflect101Table(count: Int, margin: Int) -> [Int] {
  var table = [Int](repeating: 0, count: count + 2 * margin)
  if count == 1 { return table }
  let period = 2 * (count - 1)
  for i in table.indices {
    var p = (i - margin) % period
    if p < 0 { p += period }
    table[i] = p < count ? p : period - p
  }
  return table
}

/// Per-output-pixel taps `(input index, weight)` for one axis: area when shrinking, else bilinear.
func resampleWeights(from n: Int, to m: Int) -> [[(Int, Float)]] {
  let s = Double(n) / Double(m)
  var result: [[(Int, Float)]] = []
  result.reserveCapacity(m)
  for x in 0..<m {
    if m < n {
      let lo = Double(x) * s
      let hi = min(Double(n), Double(x + 1) * s)
      var taps: [(Int, Float)] = []
      var i = Int(lo)
      while Double(i) < hi && i < n {
        let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
        if overlap > 1e-9 { taps.append((i, Float(overlap / s))) }
        i += 1
      }
      result.append(taps)
    } else {
      let u = max(0, (Double(x) + 0.5) * s - 0.5)
      let i0 = min(Int(u), n - 1)
      let i1 = min(i0 + 1, n - 1)
      let f = Float(u - Double(i0))
      result.append(i0 == i1 ? [(i0, Float(1))] : [(i0, 1 - f), (i1, f)])
    }
  }
  return result
}

/// Rounds half up and clamps to 0…255.
@inline(__always)
func roundToByte(_ v: Float) -> UInt8 {
  let r = (v + 0.5).rounded(.down)
  return r <= 0 ? 0 : (r >= 255 ? 255 : UInt8(r))
}

// 2-D convolution by im2col + GEMM (cblas_sgemm), with stride, padding, dilation and groups
// (depthwise included), and 1-D convolution along a sequence as its special case.

/// The geometry of one convolution.
struct ConvGeometry {
  let batch, channels, height, width: Int
  let outChannels, kernelH, kernelW: Int
  let strideH, strideW, padH, padW, dilationH, dilationW, groups: Int
  var outH: Int { (height + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1 }
  var outW: Int { (width + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1 }
  var groupChannels: Int { channels / groups }
  var groupOut: Int { outChannels / groups }
  /// Rows of a group's column matrix: `C/g · kh · kw`.
  var colRows: Int { groupChannels * kernelH * kernelW }
  var colCols: Int { outH * outW }
  /// A 1×1, stride-1, unpadded, ungrouped convolution: the input already is the column matrix.
  var isPointwise: Bool {
    kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 && groups == 1
  }
  /// One output channel per input channel and group: the direct depthwise kernel applies.
  var isDepthwise: Bool { groups == channels && outChannels == channels && groups > 1 }

  /// The output columns `ox` whose input column `ox·s − p + kj·d` lies inside the image.
  @inline(__always)
  func validColumns(kj: Int) -> Range<Int> {
    let shift = kj * dilationW - padW  // ix = ox·s + shift
    let lo = shift >= 0 ? 0 : (-shift + strideW - 1) / strideW
    let hiIncl = width - 1 - shift < 0 ? -1 : (width - 1 - shift) / strideW
    let hi = Swift.min(outW, hiIncl + 1)
    return lo < hi ? lo..<hi : 0..<0
  }

  /// Unfolds one image's group into the column matrix: row `(c·kh + ki)·kw + kj`, columns
  /// `column ..< column + outH·outW` of a matrix with leading dimension `ld` (zeros where padding).
  func im2col(
    _ x: UnsafePointer<Float>, image n: Int, group g: Int, into cols: UnsafeMutablePointer<Float>, ld: Int,
    column: Int
  ) {
    let oh = outH, ow = outW
    for c in 0..<groupChannels {
      let plane = x + ((n * channels + g * groupChannels + c) * height * width)
      for ki in 0..<kernelH {
        for kj in 0..<kernelW {
          let row = cols + ((c * kernelH + ki) * kernelW + kj) * ld + column
          let valid = validColumns(kj: kj)
          let shift = kj * dilationW - padW
          for oy in 0..<oh {
            let iy = oy * strideH - padH + ki * dilationH
            let dst = row + oy * ow
            if iy < 0 || iy >= height || valid.isEmpty {
              dst.update(repeating: 0, count: ow)
              continue
            }
            let src = plane + iy * width
            if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
            if strideW == 1 {
              (dst + valid.lowerBound).update(from: src + valid.lowerBound + shift, count: valid.count)
            } else {
              for ox in valid { dst[ox] = src[ox * strideW + shift] }
            }
            if valid.upperBound < ow { (dst + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound) }
          }
        }
      }
    }
  }

  /// The adjoint of `im2col`: adds the column matrix back into one image's gradient.
  func col2im(
    _ cols: UnsafePointer<Float>, ld: Int, column: Int, image n: Int, group g: Int,
    into dx: UnsafeMutablePointer<Float>
  ) {
    let oh = outH, ow = outW
    for c in 0..<groupChannels {
      let plane = dx + ((n * channels + g * groupChannels + c) * height * width)
      for ki in 0..<kernelH {
        for kj in 0..<kernelW {
          let row = cols + ((c * kernelH + ki) * kernelW + kj) * ld + column
          let valid = validColumns(kj: kj)
          let shift = kj * dilationW - padW
          for oy in 0..<oh {
            let iy = oy * strideH - padH + ki * dilationH
            if iy < 0 || iy >= height { continue }
            let src = row + oy * ow, dst = plane + iy * width
            if strideW == 1 {
              let d = dst + shift
              for ox in valid { d[ox] += src[ox] }
            } else {
              for ox in valid { dst[ox * strideW + shift] += src[ox] }
            }
          }
        }
      }
    }
  }

  /// Images per GEMM: as many as keep the column matrix near 8 Mi floats (32 MiB).
  var imagesPerChunk: Int { Swift.max(1, Swift.min(batch, (8 << 20) / Swift.max(colRows * colCols, 1))) }
}

extension Tensor {
  /// 2-D convolution (cross-correlation, as PyTorch).
  ///
  /// Shape: input `[n, c, h, w]`, weight `[o, c/groups, kh, kw]`, bias `[o]` →
  /// `[n, o, (h + 2p − d(kh−1) − 1)/s + 1, …]`.
  ///
  /// Dense convolutions unfold a chunk of images into one column matrix and make one GEMM per
  /// chunk and group (`Y = W · cols`); depthwise convolutions (groups = channels = outputs) use a
  /// direct kernel. VJPs: `∂W = Σ ∂Y·colsᵀ`, `∂cols = Wᵀ·∂Y` folded back by col2im, `∂b = Σ ∂Y`.
  /// Planes of at least 256 outputs go image by image (see `ConvKernels.perImageMinimumPlane`).
  /// Every output element and every `∂x` element is computed by one thread in a fixed order, and
  /// `∂W` on the image-by-image path adds one partial per fixed range of images (at most
  /// `ConvKernels.backwardParts`, cut by the batch size alone) in range order, so no result
  /// depends on the thread count (`ThreadInvarianceTests`).
  public func conv2d(
    weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
    dilation: (Int, Int) = (1, 1), groups: Int = 1
  ) -> Tensor {
    precondition(rank == 4 && weight.rank == 4, "conv2d: input \(shape), weight \(weight.shape); expected rank 4")
    let geo = ConvGeometry(
      batch: shape[0], channels: shape[1], height: shape[2], width: shape[3], outChannels: weight.shape[0],
      kernelH: weight.shape[2], kernelW: weight.shape[3], strideH: stride.0, strideW: stride.1, padH: padding.0,
      padW: padding.1, dilationH: dilation.0, dilationW: dilation.1, groups: groups)
    precondition(
      groups >= 1 && geo.channels % groups == 0 && geo.outChannels % groups == 0
        && weight.shape[1] == geo.groupChannels,
      "conv2d: input \(shape), weight \(weight.shape), groups \(groups) do not fit")
    precondition(geo.outH > 0 && geo.outW > 0, "conv2d: output would be empty for input \(shape)")
    if let bias { precondition(bias.shape == [geo.outChannels], "conv2d: bias \(bias.shape) for \(geo.outChannels) outputs") }
    let outShape = [geo.batch, geo.outChannels, geo.outH, geo.outW]
    let biasValues = bias?.data
    let out = [Float](unsafeUninitializedCapacity: outShape.reduce(1, *)) { buffer, initialized in
      initialized = buffer.count
      guard let yb = buffer.baseAddress else { return }
      data.withUnsafeBufferPointer { x in
        weight.data.withUnsafeBufferPointer { w in
          guard let xb = x.baseAddress, let wb = w.baseAddress else { return }
          if geo.isDepthwise {
            ConvKernels.depthwiseForward(geo, x: xb, w: wb, bias: biasValues, y: yb)
          } else {
            ConvKernels.denseForward(geo, x: xb, w: wb, bias: biasValues, y: yb)
          }
        }
      }
    }
    let inputs = [self, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(Tensor(shape: outShape, data: out), inputs) { [self] gy in
      var dx: [Float]? = self.requiresGrad ? [Float](repeating: 0, count: self.count) : nil
      var dw: [Float]? = weight.requiresGrad ? [Float](repeating: 0, count: weight.count) : nil
      gy.data.withUnsafeBufferPointer { gp in
        self.data.withUnsafeBufferPointer { x in
          weight.data.withUnsafeBufferPointer { w in
            guard let gb = gp.baseAddress, let xb = x.baseAddress, let wb = w.baseAddress else { return }
            Tensor.withOptionalPointer(&dx) { dxp in
              Tensor.withOptionalPointer(&dw) { dwp in
                if geo.isDepthwise {
                  ConvKernels.depthwiseBackward(geo, x: xb, w: wb, gy: gb, dx: dxp, dw: dwp)
                } else {
                  ConvKernels.denseBackward(geo, x: xb, w: wb, gy: gb, dx: dxp, dw: dwp)
                }
              }
            }
          }
        }
      }
      var grads: [Tensor?] = [
        dx.map { Tensor(shape: self.shape, data: $0) }, dw.map { Tensor(shape: weight.shape, data: $0) },
      ]
      if let bias {
        let hw = geo.colCols
        var db = [Float](repeating: 0, count: bias.count)
        gy.data.withUnsafeBufferPointer { gp in
          for n in 0..<geo.batch {
            for o in 0..<geo.outChannels {
              db[o] += Vectorized.sum(gp.baseAddress! + (n * geo.outChannels + o) * hw, hw)
            }
          }
        }
        grads.append(Tensor(shape: bias.shape, data: db))
      }
      return grads
    }
  }

  /// Calls `body` with the array's base address, or nil when there is no array.
  static func withOptionalPointer<R>(_ array: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    guard array != nil else { return body(nil) }
    return array!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
  }

  /// 1-D convolution along a sequence: input `[n, c, length]`, weight `[o, c/groups, k]`.
  public func conv1d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1)
    -> Tensor
  {
    precondition(rank == 3 && weight.rank == 3, "conv1d: input \(shape), weight \(weight.shape); expected rank 3")
    let y = reshaped([shape[0], shape[1], 1, shape[2]]).conv2d(
      weight: weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2]]), bias: bias,
      stride: (1, stride), padding: (0, padding), dilation: (1, dilation), groups: groups)
    return y.reshaped([y.shape[0], y.shape[1], y.shape[3]])
  }

  /// Max pooling over `kernel` windows (padding counts as −∞, as PyTorch).
  /// Shape: `[n, c, h, w]` → `[n, c, (h + 2p − k)/s + 1, …]`. VJP: to the arg-max of each window.
  public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
    pool2d(kernel: kernel, stride: stride ?? kernel, padding: padding, average: false)
  }

  /// Average pooling (padding counted in the divisor, PyTorch's `count_include_pad=True`).
  public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
    pool2d(kernel: kernel, stride: stride ?? kernel, padding: padding, average: true)
  }

  /// Adaptive average pooling to 1×1 (global average pooling): `[n, c, h, w]` → `[n, c, 1, 1]`.
  public func globalAveragePool2d() -> Tensor { mean(axes: [2, 3], keepDims: true) }

  private func pool2d(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), average: Bool) -> Tensor {
    precondition(rank == 4, "pool2d: input \(shape); expected [n, c, h, w]")
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / stride.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
    precondition(oh > 0 && ow > 0, "pool2d: output would be empty for input \(shape)")
    var out = [Float](repeating: 0, count: n * c * oh * ow)
    var arg = [Int](repeating: -1, count: average ? 0 : out.count)
    let area = Float(kernel.0 * kernel.1)
    for plane in 0..<(n * c) {
      let base = plane * h * w
      for oy in 0..<oh {
        for ox in 0..<ow {
          var best = -Float.infinity, bestIndex = -1, total: Float = 0
          for ki in 0..<kernel.0 {
            let iy = oy * stride.0 - padding.0 + ki
            if iy < 0 || iy >= h { continue }
            for kj in 0..<kernel.1 {
              let ix = ox * stride.1 - padding.1 + kj
              if ix < 0 || ix >= w { continue }
              let v = data[base + iy * w + ix]
              total += v
              if v > best || bestIndex < 0 { best = v; bestIndex = base + iy * w + ix }
            }
          }
          let o = (plane * oh + oy) * ow + ox
          if average { out[o] = total / area } else { out[o] = best; arg[o] = bestIndex }
        }
      }
    }
    return Tensor.record(Tensor(shape: [n, c, oh, ow], data: out), [self]) { [shape] g in
      var d = [Float](repeating: 0, count: shape.reduce(1, *))
      if !average {
        for o in 0..<g.count where arg[o] >= 0 { d[arg[o]] += g.data[o] }
        return [Tensor(shape: shape, data: d)]
      }
      for plane in 0..<(n * c) {
        let base = plane * h * w
        for oy in 0..<oh {
          for ox in 0..<ow {
            let share = g.data[(plane * oh + oy) * ow + ox] / area
            for ki in 0..<kernel.0 {
              let iy = oy * stride.0 - padding.0 + ki
              if iy < 0 || iy >= h { continue }
              for kj in 0..<kernel.1 {
                let ix = ox * stride.1 - padding.1 + kj
                if ix >= 0 && ix < w { d[base + iy * w + ix] += share }
              }
            }
          }
        }
      }
      return [Tensor(shape: shape, data: d)]
    }
  }
}

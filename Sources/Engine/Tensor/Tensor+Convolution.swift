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

  /// Unfolds one image's group into `cols` `[colRows, outH·outW]` (zeros where padding).
  func im2col(_ x: UnsafePointer<Float>, image n: Int, group g: Int, into cols: UnsafeMutablePointer<Float>) {
    let oh = outH, ow = outW
    for c in 0..<groupChannels {
      let plane = x + ((n * channels + g * groupChannels + c) * height * width)
      for ki in 0..<kernelH {
        for kj in 0..<kernelW {
          let row = cols + ((c * kernelH + ki) * kernelW + kj) * oh * ow
          for oy in 0..<oh {
            let iy = oy * strideH - padH + ki * dilationH
            let dst = row + oy * ow
            if iy < 0 || iy >= height {
              for ox in 0..<ow { dst[ox] = 0 }
              continue
            }
            let src = plane + iy * width
            for ox in 0..<ow {
              let ix = ox * strideW - padW + kj * dilationW
              dst[ox] = ix >= 0 && ix < width ? src[ix] : 0
            }
          }
        }
      }
    }
  }

  /// The adjoint of `im2col`: adds `cols` back into the image gradient.
  func col2im(_ cols: UnsafePointer<Float>, image n: Int, group g: Int, into dx: UnsafeMutablePointer<Float>) {
    let oh = outH, ow = outW
    for c in 0..<groupChannels {
      let plane = dx + ((n * channels + g * groupChannels + c) * height * width)
      for ki in 0..<kernelH {
        for kj in 0..<kernelW {
          let row = cols + ((c * kernelH + ki) * kernelW + kj) * oh * ow
          for oy in 0..<oh {
            let iy = oy * strideH - padH + ki * dilationH
            if iy < 0 || iy >= height { continue }
            for ox in 0..<ow {
              let ix = ox * strideW - padW + kj * dilationW
              if ix >= 0 && ix < width { plane[iy * width + ix] += row[oy * ow + ox] }
            }
          }
        }
      }
    }
  }
}

extension Tensor {
  /// 2-D convolution (cross-correlation, as PyTorch).
  ///
  /// Shape: input `[n, c, h, w]`, weight `[o, c/groups, kh, kw]`, bias `[o]` →
  /// `[n, o, (h + 2p − d(kh−1) − 1)/s + 1, …]`.
  /// VJPs: `∂W = Σₙ ∂Y·colsᵀ`, `∂cols = Wᵀ·∂Y` folded back by col2im, `∂b = Σ ∂Y`.
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
    let outShape = [geo.batch, geo.outChannels, geo.outH, geo.outW]
    var out = [Float](repeating: 0, count: outShape.reduce(1, *))
    var cols = [Float](repeating: 0, count: geo.colRows * geo.colCols)
    let hw = geo.colCols
    data.withUnsafeBufferPointer { x in
      guard let xb = x.baseAddress else { return }
      weight.data.withUnsafeBufferPointer { w in
        guard let wb = w.baseAddress else { return }
        out.withUnsafeMutableBufferPointer { y in
          guard let yb = y.baseAddress else { return }
          cols.withUnsafeMutableBufferPointer { cb in
            guard let cp = cb.baseAddress else { return }
            for n in 0..<geo.batch {
              for g in 0..<groups {
                geo.im2col(xb, image: n, group: g, into: cp)
                BLAS.gemm(
                  m: geo.groupOut, n: hw, k: geo.colRows, a: wb + g * geo.groupOut * geo.colRows, lda: geo.colRows,
                  b: cp, ldb: hw, c: yb + (n * geo.outChannels + g * geo.groupOut) * hw, ldc: hw)
              }
            }
          }
        }
      }
    }
    if let bias {
      for n in 0..<geo.batch {
        for o in 0..<geo.outChannels {
          let base = (n * geo.outChannels + o) * hw
          for i in 0..<hw { out[base + i] += bias.data[o] }
        }
      }
    }
    let inputs = [self, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record(Tensor(shape: outShape, data: out), inputs) { [self] gy in
      var dx = [Float](repeating: 0, count: self.count)
      var dw = [Float](repeating: 0, count: weight.count)
      var cols = [Float](repeating: 0, count: geo.colRows * geo.colCols)
      var dcols = cols
      gy.data.withUnsafeBufferPointer { gp in
        guard let gb = gp.baseAddress else { return }
        self.data.withUnsafeBufferPointer { x in
          guard let xb = x.baseAddress else { return }
          weight.data.withUnsafeBufferPointer { w in
            guard let wb = w.baseAddress else { return }
            cols.withUnsafeMutableBufferPointer { cb in
              dcols.withUnsafeMutableBufferPointer { db in
                dx.withUnsafeMutableBufferPointer { dxb in
                  dw.withUnsafeMutableBufferPointer { dwb in
                    guard let cp = cb.baseAddress, let dp = db.baseAddress, let dxp = dxb.baseAddress,
                      let dwp = dwb.baseAddress
                    else { return }
                    for n in 0..<geo.batch {
                      for g in 0..<groups {
                        let gyBlock = gb + (n * geo.outChannels + g * geo.groupOut) * hw
                        if weight.requiresGrad {
                          geo.im2col(xb, image: n, group: g, into: cp)
                          // ∂W_g += ∂Y_g [o/g, hw] · colsᵀ [hw, colRows]
                          BLAS.gemm(
                            transB: true, m: geo.groupOut, n: geo.colRows, k: hw, a: gyBlock, lda: hw, b: cp,
                            ldb: hw, beta: 1, c: dwp + g * geo.groupOut * geo.colRows, ldc: geo.colRows)
                        }
                        if self.requiresGrad {
                          // ∂cols = W_gᵀ [colRows, o/g] · ∂Y_g [o/g, hw]
                          BLAS.gemm(
                            transA: true, m: geo.colRows, n: hw, k: geo.groupOut,
                            a: wb + g * geo.groupOut * geo.colRows, lda: geo.colRows, b: gyBlock, ldb: hw, c: dp,
                            ldc: hw)
                          geo.col2im(dp, image: n, group: g, into: dxp)
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
      var grads: [Tensor?] = [
        self.requiresGrad ? Tensor(shape: self.shape, data: dx) : nil,
        weight.requiresGrad ? Tensor(shape: weight.shape, data: dw) : nil,
      ]
      if let bias {
        var db = [Float](repeating: 0, count: bias.count)
        for n in 0..<geo.batch {
          for o in 0..<geo.outChannels {
            let base = (n * geo.outChannels + o) * hw
            var s: Float = 0
            for i in 0..<hw { s += gy.data[base + i] }
            db[o] += s
          }
        }
        grads.append(Tensor(shape: bias.shape, data: db))
      }
      return grads
    }
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

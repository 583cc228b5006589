// The kernels behind `conv2d`: dense convolution as im2col + one GEMM per chunk of images, and
// a direct depthwise kernel (a GEMM with one row per group would waste the BLAS call).

enum ConvKernels {
  /// Output planes at least this large (32×32 with the default) go image by image: each image's
  /// column matrix is unfolded, multiplied and (in the backward pass) folded back while it is
  /// still in cache, and the GEMM writes straight into `y`. Smaller planes are batched into one
  /// GEMM per chunk of images, since a GEMM over 16 or 64 columns would waste the kernel.
  static let perImageMinimumPlane = 256

  /// Image ranges of the per-image backward pass: at most this many, whatever the thread count.
  static let backwardParts = 16

  /// The images of `0..<batch` split into `parts` contiguous ranges.
  static func imageRanges(_ batch: Int, parts: Int) -> [Range<Int>] {
    let parts = Swift.max(1, Swift.min(parts, batch))
    return (0..<parts).map { batch * $0 / parts..<batch * ($0 + 1) / parts }
  }

  /// `y = W ∗ x (+ b)` for a dense or grouped convolution.
  static func denseForward(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: [Float]?,
    y: UnsafeMutablePointer<Float>
  ) {
    if geo.colCols >= perImageMinimumPlane {
      denseForwardPerImage(geo, x: x, w: w, bias: bias, y: y)
      return
    }
    let hw = geo.colCols, chunk = geo.imagesPerChunk
    let (outC, groupOut, colRows) = (geo.outChannels, geo.groupOut, geo.colRows)
    let cols = UnsafeMutablePointer<Float>.allocate(capacity: colRows * chunk * hw)
    let product = UnsafeMutablePointer<Float>.allocate(capacity: groupOut * chunk * hw)
    defer {
      cols.deallocate()
      product.deallocate()
    }
    for start in stride(from: 0, to: geo.batch, by: chunk) {
      let b = Swift.min(chunk, geo.batch - start)
      let ld = b * hw
      for g in 0..<geo.groups {
        let wg = w + g * groupOut * colRows
        if b == 1 {
          forwardImageGroup(geo, x: x, w: w, image: start, group: g, cols: cols, y: y, threads: nil)
        } else {
          Parallel.forEach(b) { i in geo.im2col(x, image: start + i, group: g, into: cols, ld: ld, column: i * hw) }
          BLAS.gemm(m: groupOut, n: ld, k: colRows, a: wg, lda: colRows, b: cols, ldb: ld, c: product, ldc: ld)
          Parallel.forEach(b) { i in
            for o in 0..<groupOut {
              (y + ((start + i) * outC + g * groupOut + o) * hw).update(from: product + o * ld + i * hw, count: hw)
            }
          }
        }
      }
      if let bias { Parallel.forEach(b) { i in addBias(bias, geo, image: start + i, y: y) } }
    }
  }

  /// One image's group: unfolded into `cols` (a 1×1 convolution reads x as it is), then one GEMM
  /// straight into y.
  @inline(__always)
  static func forwardImageGroup(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, image i: Int, group g: Int,
    cols: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, threads: Int?
  ) {
    let (hw, groupOut, colRows) = (geo.colCols, geo.groupOut, geo.colRows)
    let source: UnsafePointer<Float>
    if geo.isPointwise {
      source = x + i * geo.channels * hw
    } else {
      geo.im2col(x, image: i, group: g, into: cols, ld: hw, column: 0)
      source = UnsafePointer(cols)
    }
    BLAS.gemm(
      m: groupOut, n: hw, k: colRows, a: w + g * groupOut * colRows, lda: colRows, b: source, ldb: hw,
      c: y + (i * geo.outChannels + g * groupOut) * hw, ldc: hw, threads: threads)
  }

  /// Adds `bias[o]` to every output of channel o of one image.
  @inline(__always)
  static func addBias(_ bias: [Float], _ geo: ConvGeometry, image i: Int, y: UnsafeMutablePointer<Float>) {
    let hw = geo.colCols
    for o in 0..<geo.outChannels {
      let row = y + (i * geo.outChannels + o) * hw
      let v = bias[o]
      for j in 0..<hw { row[j] += v }
    }
  }

  /// `denseForward` image by image, the images spread over the engine's threads.
  static func denseForwardPerImage(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: [Float]?,
    y: UnsafeMutablePointer<Float>
  ) {
    // Each image is independent here, so the split may follow the thread count.
    let ranges = imageRanges(geo.batch, parts: Parallel.threadCount)
    Parallel.forEach(ranges.count) { part in
      let cols = UnsafeMutablePointer<Float>.allocate(capacity: geo.isPointwise ? 1 : geo.colRows * geo.colCols)
      defer { cols.deallocate() }
      for i in ranges[part] {
        for g in 0..<geo.groups {
          forwardImageGroup(geo, x: x, w: w, image: i, group: g, cols: cols, y: y, threads: 1)
        }
        if let bias { addBias(bias, geo, image: i, y: y) }
      }
    }
  }

  /// `denseBackward` image by image: the batch is cut into `backwardParts` contiguous ranges,
  /// fixed by the batch size alone; the threads take whole ranges, unfold one image at a time,
  /// add its `∂W` into the range's own partial (summed in range order at the end) and fold
  /// `∂cols` back into its images' `∂x`. Cutting by the thread count instead (as this did until
  /// 2026-12) made `∂W`'s summation order, and so every SSL run's bits, depend on `--threads`.
  static func denseBackwardPerImage(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?
  ) {
    let hw = geo.colCols
    let (outC, groupOut, colRows) = (geo.outChannels, geo.groupOut, geo.colRows)
    let ranges = imageRanges(geo.batch, parts: backwardParts)
    let weightCount = outC * colRows
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: dw == nil ? 1 : ranges.count * weightCount)
    defer { partials.deallocate() }
    if dw != nil { partials.initialize(repeating: 0, count: ranges.count * weightCount) }
    Parallel.forEach(ranges.count) { part in
      let cols = UnsafeMutablePointer<Float>.allocate(capacity: colRows * hw)
      defer { cols.deallocate() }
      let partial = partials + part * weightCount
      for i in ranges[part] {
        for g in 0..<geo.groups {
          let gyi = gy + (i * outC + g * groupOut) * hw
          if dw != nil {
            geo.im2col(x, image: i, group: g, into: cols, ld: hw, column: 0)
            // ∂W_g += ∂Y_i [o/g, hw] · cols_iᵀ [hw, colRows]
            BLAS.gemm(
              transB: true, m: groupOut, n: colRows, k: hw, a: gyi, lda: hw, b: cols, ldb: hw, beta: 1,
              c: partial + g * groupOut * colRows, ldc: colRows, threads: 1)
          }
          if let dx {
            BLAS.gemm(
              transA: true, m: colRows, n: hw, k: groupOut, a: w + g * groupOut * colRows, lda: colRows, b: gyi,
              ldb: hw, c: cols, ldc: hw, threads: 1)
            geo.col2im(cols, ld: hw, column: 0, image: i, group: g, into: dx)
          }
        }
      }
    }
    if let dw {
      for part in 0..<ranges.count {
        let partial = partials + part * weightCount
        for j in 0..<weightCount { dw[j] += partial[j] }
      }
    }
  }

  /// Gradients of a dense or grouped convolution: `∂x` (when `dx` is given) and `∂W` (added
  /// into `dw` when given). Chunks are fixed by the geometry, not the thread count.
  static func denseBackward(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?
  ) {
    if geo.colCols >= perImageMinimumPlane {
      denseBackwardPerImage(geo, x: x, w: w, gy: gy, dx: dx, dw: dw)
      return
    }
    let hw = geo.colCols, chunk = geo.imagesPerChunk
    let (outC, groupOut, colRows) = (geo.outChannels, geo.groupOut, geo.colRows)
    let cols = UnsafeMutablePointer<Float>.allocate(capacity: colRows * chunk * hw)
    let gathered = UnsafeMutablePointer<Float>.allocate(capacity: groupOut * chunk * hw)
    defer {
      cols.deallocate()
      gathered.deallocate()
    }
    for start in stride(from: 0, to: geo.batch, by: chunk) {
      let b = Swift.min(chunk, geo.batch - start)
      let ld = b * hw
      for g in 0..<geo.groups {
        // ∂Y of the chunk and group as one [o/g, b·hw] matrix.
        let gyc: UnsafePointer<Float>
        if b == 1 {
          gyc = gy + (start * outC + g * groupOut) * hw
        } else {
          Parallel.forEach(b) { i in
            for o in 0..<groupOut {
              (gathered + o * ld + i * hw).update(from: gy + ((start + i) * outC + g * groupOut + o) * hw, count: hw)
            }
          }
          gyc = UnsafePointer(gathered)
        }
        if let dw {
          Parallel.forEach(b) { i in geo.im2col(x, image: start + i, group: g, into: cols, ld: ld, column: i * hw) }
          // ∂W_g += ∂Y_g [o/g, b·hw] · colsᵀ [b·hw, colRows]
          BLAS.gemm(
            transB: true, m: groupOut, n: colRows, k: ld, a: gyc, lda: ld, b: cols, ldb: ld, beta: 1,
            c: dw + g * groupOut * colRows, ldc: colRows)
        }
        if let dx {
          // ∂cols = W_gᵀ [colRows, o/g] · ∂Y_g [o/g, b·hw], folded back image by image.
          BLAS.gemm(
            transA: true, m: colRows, n: ld, k: groupOut, a: w + g * groupOut * colRows, lda: colRows, b: gyc,
            ldb: ld, c: cols, ldc: ld)
          Parallel.forEach(b) { i in
            geo.col2im(cols, ld: ld, column: i * hw, image: start + i, group: g, into: dx)
          }
        }
      }
    }
  }

  /// Depthwise convolution (one filter per channel), computed directly, plane by plane.
  static func depthwiseForward(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: [Float]?,
    y: UnsafeMutablePointer<Float>
  ) {
    let (c, h, wd, oh, ow) = (geo.channels, geo.height, geo.width, geo.outH, geo.outW)
    let taps = geo.kernelH * geo.kernelW
    Parallel.forEach(geo.batch * c) { plane in
      let ch = plane % c
      let src = x + plane * h * wd, dst = y + plane * oh * ow
      dst.update(repeating: bias?[ch] ?? 0, count: oh * ow)
      for ki in 0..<geo.kernelH {
        for kj in 0..<geo.kernelW {
          let wv = w[ch * taps + ki * geo.kernelW + kj]
          let valid = geo.validColumns(kj: kj)
          let shift = kj * geo.dilationW - geo.padW
          for oy in 0..<oh {
            let iy = oy * geo.strideH - geo.padH + ki * geo.dilationH
            if iy < 0 || iy >= h { continue }
            let row = src + iy * wd, out = dst + oy * ow
            if geo.strideW == 1 {
              let r = row + shift
              for ox in valid { out[ox] += wv * r[ox] }
            } else {
              for ox in valid { out[ox] += wv * row[ox * geo.strideW + shift] }
            }
          }
        }
      }
    }
  }

  /// Gradients of a depthwise convolution; each thread owns whole channels (their `∂x` planes
  /// over the batch and their filter's `∂W`).
  static func depthwiseBackward(
    _ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?
  ) {
    let (c, h, wd, oh, ow) = (geo.channels, geo.height, geo.width, geo.outH, geo.outW)
    let taps = geo.kernelH * geo.kernelW
    Parallel.forEach(c) { ch in
      for n in 0..<geo.batch {
        let plane = n * c + ch
        let src = x + plane * h * wd, g = gy + plane * oh * ow
        for ki in 0..<geo.kernelH {
          for kj in 0..<geo.kernelW {
            let tap = ch * taps + ki * geo.kernelW + kj
            let wv = w[tap]
            let valid = geo.validColumns(kj: kj)
            let shift = kj * geo.dilationW - geo.padW
            var acc: Float = 0
            for oy in 0..<oh {
              let iy = oy * geo.strideH - geo.padH + ki * geo.dilationH
              if iy < 0 || iy >= h { continue }
              let grow = g + oy * ow
              let xrow = src + iy * wd
              // Wrapping index arithmetic: `valid` keeps every index in range, and the checked
              // multiply-add per element doubled this kernel's time in the -O build (6.8 % vs
              // 3.3 % of a TransMIL N=1000 step, `perf`, PPEG's 7×7/5×5/3×3 depthwise convs).
              // The summation order is the same, so the bits are too.
              let stride = geo.strideW, lo = valid.lowerBound, hi = valid.upperBound
              if dw != nil {
                var s: Float = 0
                var ox = lo
                while ox < hi {
                  s += grow[ox] * xrow[ox &* stride &+ shift]
                  ox &+= 1
                }
                acc += s
              }
              if let dx {
                let drow = dx + plane * h * wd + iy * wd
                var ox = lo
                while ox < hi {
                  drow[ox &* stride &+ shift] += wv * grow[ox]
                  ox &+= 1
                }
              }
            }
            if let dw { dw[tap] += acc }
          }
        }
      }
    }
  }
}

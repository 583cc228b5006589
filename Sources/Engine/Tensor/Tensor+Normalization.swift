// Batch and layer normalisation as fused primitives: one pass for the statistics, one for the
// output, and a hand-written VJP that keeps only the per-channel (per-row) statistics instead of
// five full-size intermediates. Statistics accumulate in Double.

extension Tensor {
  /// Batch normalisation over every axis but 1 (the channels) of `[n, c, …]`.
  ///
  /// With `statistics` nil (training), the batch mean and biased variance are used and returned;
  /// otherwise the given ones (evaluation with running statistics).
  /// `y = γ (x − μ) / √(σ² + ε) + β`; γ and β `[c]` may be nil (`affine: false`).
  ///
  /// VJP (batch statistics, m = n·∏rest, x̂ the normalised input, s = 1/√(σ² + ε)):
  /// `∂β = Σ g`, `∂γ = Σ g x̂`, `∂x = γ s / m · (m g − Σ g − x̂ Σ g x̂)`;
  /// with given statistics `∂x = γ s g`.
  public func batchNormalized(
    weight: Tensor?, bias: Tensor?, statistics: (mean: [Float], variance: [Float])? = nil, epsilon: Float
  ) -> (output: Tensor, mean: [Float], variance: [Float]) {
    precondition(rank >= 2, "batchNorm: input \(shape); expected [n, c, …]")
    let (n, c) = (shape[0], shape[1])
    let inner = shape[2...].reduce(1, *)
    let m = n * inner
    var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c)
    if let statistics {
      mean = statistics.mean
      variance = statistics.variance
    } else {
      data.withUnsafeBufferPointer { xb in
        mean.withUnsafeMutableBufferPointer { mb in
          variance.withUnsafeMutableBufferPointer { vb in
            guard let x = xb.baseAddress, let mp = mb.baseAddress, let vp = vb.baseAddress else { return }
            Parallel.forEach(c) { ch in
              var total = 0.0
              for i in 0..<n { total += Double(Vectorized.sum(x + (i * c + ch) * inner, inner)) }
              let mu = total / Double(Swift.max(m, 1))
              let muF = Float(mu)
              var sq = 0.0
              for i in 0..<n {
                sq += Double(Vectorized.sumOfSquaredDeviations(x + (i * c + ch) * inner, inner, from: muF))
              }
              mp[ch] = muF
              vp[ch] = Float(sq / Double(Swift.max(m, 1)))
            }
          }
        }
      }
    }
    let invStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
    let gamma = weight?.data, beta = bias?.data
    let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = count
      guard let op = buffer.baseAddress else { return }
      data.withUnsafeBufferPointer { xb in
        guard let x = xb.baseAddress else { return }
        Parallel.forEach(n * c) { row in
          let ch = row % c
          let scale = invStd[ch] * (gamma?[ch] ?? 1)
          let shift = (beta?[ch] ?? 0) - mean[ch] * scale
          let src = x + row * inner, dst = op + row * inner
          for j in 0..<inner { dst[j] = src[j] * scale + shift }
        }
      }
    }
    let usesBatch = statistics == nil
    let inputs = [self] + [weight, bias].compactMap { $0 }
    let result = Tensor.record(Tensor(shape: shape, data: out), inputs) { [self] g in
      // Per channel: Σ g and Σ g x̂.
      var sumG = [Float](repeating: 0, count: c), sumGX = [Float](repeating: 0, count: c)
      g.data.withUnsafeBufferPointer { gb in
        self.data.withUnsafeBufferPointer { xb in
          guard let gp = gb.baseAddress, let x = xb.baseAddress else { return }
          sumG.withUnsafeMutableBufferPointer { sg in
            sumGX.withUnsafeMutableBufferPointer { sgx in
              Parallel.forEach(c) { ch in
                var a = 0.0, b = 0.0
                let mu = mean[ch]
                for i in 0..<n {
                  let off = (i * c + ch) * inner
                  let (s1, s2) = Vectorized.sumAndCenteredDot(gp + off, x + off, inner, mu: mu)
                  a += Double(s1)
                  b += Double(s2)
                }
                sg[ch] = Float(a)
                sgx[ch] = Float(b) * invStd[ch]
              }
            }
          }
        }
      }
      var dx: Tensor? = nil
      if self.requiresGrad {
        let d = [Float](unsafeUninitializedCapacity: self.count) { buffer, initialized in
          initialized = self.count
          guard let dp = buffer.baseAddress else { return }
          g.data.withUnsafeBufferPointer { gb in
            self.data.withUnsafeBufferPointer { xb in
              guard let gp = gb.baseAddress, let x = xb.baseAddress else { return }
              Parallel.forEach(n * c) { row in
                let ch = row % c
                let s = invStd[ch], gam = gamma?[ch] ?? 1, mu = mean[ch]
                let off = row * inner
                if usesBatch {
                  let k = gam * s / Float(m)
                  let meanG = sumG[ch], meanGX = sumGX[ch]
                  for j in 0..<inner {
                    let xhat = (x[off + j] - mu) * s
                    dp[off + j] = k * (Float(m) * gp[off + j] - meanG - xhat * meanGX)
                  }
                } else {
                  let k = gam * s
                  for j in 0..<inner { dp[off + j] = k * gp[off + j] }
                }
              }
            }
          }
        }
        dx = Tensor(shape: self.shape, data: d)
      }
      var grads: [Tensor?] = [dx]
      if weight != nil { grads.append(Tensor(shape: [c], data: sumGX)) }
      if bias != nil { grads.append(Tensor(shape: [c], data: sumG)) }
      return grads
    }
    return (result, mean, variance)
  }

  /// Layer normalisation over the last axis: `y = γ (x − μ) / √(σ² + ε) + β` with the row's
  /// mean and biased variance; γ, β `[d]` (PyTorch `F.layer_norm(x, (d,))`).
  ///
  /// VJP (s = 1/√(σ² + ε), ĝ = g γ): `∂x = s / d · (d ĝ − Σ ĝ − x̂ Σ ĝ x̂)`, `∂γ = Σ_rows g x̂`,
  /// `∂β = Σ_rows g`. The row sums for ∂γ and ∂β are taken over fixed blocks of rows and then
  /// added in block order, so they do not depend on the thread count.
  public func layerNormalized(weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
    let d = shape[rank - 1]
    precondition(weight.shape == [d] && bias.shape == [d], "layerNorm: input \(shape), weight \(weight.shape)")
    let rows = count / Swift.max(d, 1)
    var mean = [Float](repeating: 0, count: rows), invStd = [Float](repeating: 0, count: rows)
    let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = count
      guard let op = buffer.baseAddress else { return }
      data.withUnsafeBufferPointer { xb in
        weight.data.withUnsafeBufferPointer { wb in
          bias.data.withUnsafeBufferPointer { bb in
            mean.withUnsafeMutableBufferPointer { mb in
              invStd.withUnsafeMutableBufferPointer { sb in
                guard let x = xb.baseAddress, let w = wb.baseAddress, let b = bb.baseAddress,
                  let mp = mb.baseAddress, let sp = sb.baseAddress
                else { return }
                Parallel.forEachChunk(rows, minimumChunk: Swift.max(1, 8192 / Swift.max(d, 1))) { range in
                  for r in range {
                    let p = x + r * d
                    let mu = Float(Double(Vectorized.sum(p, d)) / Double(d))
                    let q = Double(Vectorized.sumOfSquaredDeviations(p, d, from: mu))
                    let inv = 1 / (Float(q / Double(d)) + epsilon).squareRoot()
                    mp[r] = mu
                    sp[r] = inv
                    let dst = op + r * d
                    for j in 0..<d { dst[j] = (p[j] - mu) * inv * w[j] + b[j] }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Tensor.record(Tensor(shape: shape, data: out), [self, weight, bias]) { [self] g in
      let blockRows = 64
      let blocks = (rows + blockRows - 1) / blockRows
      var partialW = [Float](repeating: 0, count: blocks * d), partialB = [Float](repeating: 0, count: blocks * d)
      let dx = [Float](unsafeUninitializedCapacity: self.count) { buffer, initialized in
        initialized = self.count
        guard let dp = buffer.baseAddress else { return }
        g.data.withUnsafeBufferPointer { gb in
          self.data.withUnsafeBufferPointer { xb in
            weight.data.withUnsafeBufferPointer { wb in
              partialW.withUnsafeMutableBufferPointer { pwb in
                partialB.withUnsafeMutableBufferPointer { pbb in
                  guard let gp = gb.baseAddress, let x = xb.baseAddress, let w = wb.baseAddress,
                    let pw = pwb.baseAddress, let pb = pbb.baseAddress
                  else { return }
                  Parallel.forEach(blocks) { block in
                    let accW = pw + block * d, accB = pb + block * d
                    for r in (block * blockRows)..<Swift.min(rows, (block + 1) * blockRows) {
                      let xr = x + r * d, gr = gp + r * d, dr = dp + r * d
                      let mu = mean[r], s = invStd[r]
                      // Σ ĝ and Σ ĝ x̂ in 8 lanes; ∂γ and ∂β partials element-wise.
                      var laneG = SIMD8<Float>(), laneGX = SIMD8<Float>()
                      let muV = SIMD8<Float>(repeating: mu), sV = SIMD8<Float>(repeating: s)
                      var j = 0
                      while j + 8 <= d {
                        let xhat = (Vectorized.load(xr, j) - muV) * sV
                        let gv = Vectorized.load(gr, j)
                        let gh = gv * Vectorized.load(w, j)
                        laneG += gh
                        laneGX += gh * xhat
                        Vectorized.store(Vectorized.load(accW, j) + gv * xhat, accW, j)
                        Vectorized.store(Vectorized.load(accB, j) + gv, accB, j)
                        j += 8
                      }
                      var sumG = laneG.sum(), sumGX = laneGX.sum()
                      while j < d {
                        let xhat = (xr[j] - mu) * s
                        let gh = gr[j] * w[j]
                        sumG += gh
                        sumGX += gh * xhat
                        accW[j] += gr[j] * xhat
                        accB[j] += gr[j]
                        j += 1
                      }
                      let k = s / Float(d)
                      for j in 0..<d {
                        let xhat = (xr[j] - mu) * s
                        dr[j] = k * (Float(d) * gr[j] * w[j] - sumG - xhat * sumGX)
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
      var dw = [Float](repeating: 0, count: d), db = [Float](repeating: 0, count: d)
      for block in 0..<blocks {
        for j in 0..<d {
          dw[j] += partialW[block * d + j]
          db[j] += partialB[block * d + j]
        }
      }
      return [Tensor(shape: self.shape, data: dx), Tensor(shape: [d], data: dw), Tensor(shape: [d], data: db)]
    }
  }
}

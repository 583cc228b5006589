import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Gaussian blur with a standard deviation drawn per image, `σ ~ U(sigma)` (MoCo v2's
/// `GaussianBlur([.1, 2.])`, SimCLR's blur, SwAV's `PILRandomGaussianBlur`, BYOL/MoCo v3).
///
/// Kernel: torchvision's `_get_gaussian_kernel1d`, `k[i] ∝ exp(−½ (i/σ)²)` for
/// `i = −r…r`, normalised to sum 1, applied separably (rows then columns) with reflect-101 borders
/// (`torch.nn.functional.pad(mode="reflect")`, as `F.gaussian_blur`). The radius `r` follows
/// `kernel` (see `GaussianBlur.KernelSize`). σ is in pixels of the view being blurred; the
/// caller scales the papers' range to its view size (`AugmentationRecipe`).
///
/// Random draws per call: one uniform (σ).
public struct GaussianBlur: ImageAugmentation {
  /// How the kernel's radius is chosen.
  public enum KernelSize: Sendable, Equatable, CustomStringConvertible {
    /// `r = ⌈m·σ⌉` (at least 1): a kernel wide enough that the cut tails are negligible
    /// (m = 3 keeps 99.7% of the mass). This stands in for PIL's `GaussianBlur(radius=σ)` used
    /// by MoCo v2, MoCo v3 and SwAV, which approximates an untruncated Gaussian of standard
    /// deviation σ by repeated box blurs.
    case sigmaMultiple(Double)
    /// SimCLR's rule (`data_util.py`, `kernel_size = image_size // 10`; `radius = kernel_size
    /// // 2`): `r = ⌊⌊f·S⌋ / 2⌋` for a view of side `S = min(width, height)` (f = 0.1: 7 taps at
    /// 64², 3 at 32², 23 at 224²). The kernel is the same for every σ, so large σ are truncated.
    case fractionOfSize(Double)
    /// A fixed odd kernel size (torchvision `GaussianBlur(kernel_size)`).
    case fixed(Int)

    /// The radius for a given σ and view size.
    public func radius(sigma: Double, width: Int, height: Int) -> Int {
      switch self {
      case .sigmaMultiple(let m): return Swift.max(1, Int((m * sigma).rounded(.up)))
      case .fractionOfSize(let f): return Int((f * Double(Swift.min(width, height))).rounded(.down)) / 2
      case .fixed(let k): return k / 2
      }
    }

    public var description: String {
      switch self {
      case .sigmaMultiple(let m): return "radius ⌈\(m)σ⌉"
      case .fractionOfSize(let f): return "kernel \(f)·size"
      case .fixed(let k): return "kernel \(k)"
      }
    }
  }

  /// Range of σ in pixels.
  public var sigma: ClosedRange<Double>
  /// Kernel radius rule.
  public var kernel: KernelSize

  /// - Precondition: `sigma.lowerBound > 0`; a fixed kernel size is odd and positive.
  public init(sigma: ClosedRange<Double> = 0.1...2.0, kernel: KernelSize = .sigmaMultiple(3)) {
    precondition(sigma.lowerBound > 0, "GaussianBlur: σ range \(sigma) must be positive")
    if case .fixed(let k) = kernel { precondition(k > 0 && k % 2 == 1, "GaussianBlur: kernel size \(k) must be odd") }
    self.sigma = sigma
    self.kernel = kernel
  }

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    let s = generator.uniform(sigma)
    image.gaussianBlur(sigma: s, radius: kernel.radius(sigma: s, width: image.width, height: image.height))
  }

  public var description: String { "GaussianBlur(σ: \(sigma.lowerBound)…\(sigma.upperBound), \(kernel))" }
}

extension FloatImage {
  /// Separable Gaussian blur in place with a `2r + 1` kernel, reflect-101 borders (torchvision
  /// `F.gaussian_blur(img, [2r+1, 2r+1], [σ, σ])` on a float tensor). `r = 0` does nothing.
  public mutating func gaussianBlur(sigma: Double, radius r: Int) {
    guard r > 0, width > 0, height > 0 else { return }
    var k = [Float](repeating: 0, count: 2 * r + 1)
    var sum: Float = 0
    for i in 0...(2 * r) {
      let x = Double(i - r) / sigma
      k[i] = Float(exp(-0.5 * x * x))
      sum += k[i]
    }
    for i in k.indices { k[i] /= sum }
    let (w, h) = (width, height)
    let mapX = reflect101Table(count: w, margin: r)
    let mapY = reflect101Table(count: h, margin: r)
    var row = [Float](repeating: 0, count: w + 2 * r)
    var column = [Float](repeating: 0, count: w)
    pixels.withUnsafeMutableBufferPointer { p in
      k.withUnsafeBufferPointer { k in
        row.withUnsafeMutableBufferPointer { row in
          column.withUnsafeMutableBufferPointer { acc in
            var tmp = [Float](repeating: 0, count: w * h)
            tmp.withUnsafeMutableBufferPointer { tmp in
              for c in 0..<3 {
                let base = c * w * h
                // Rows: out[y][x] = Σᵢ k[i] · in[y][reflect(x + i − r)].
                for y in 0..<h {
                  let s = base + y * w
                  for i in 0..<(w + 2 * r) { row[i] = p[s + mapX[i]] }
                  // Taps outer, pixels inner (vectorises); each sum still adds taps in order.
                  for x in 0..<w { acc[x] = 0 }
                  for i in 0...(2 * r) {
                    let kk = k[i]
                    for x in 0..<w { acc[x] += kk * row[x + i] }
                  }
                  for x in 0..<w { tmp[y * w + x] = acc[x] }
                }
                // Columns: out[y][x] = Σᵢ k[i] · tmp[reflect(y + i − r)][x].
                for y in 0..<h {
                  for x in 0..<w { acc[x] = 0 }
                  for i in 0...(2 * r) {
                    let kk = k[i]
                    let s = mapY[y + i] * w
                    for x in 0..<w { acc[x] += kk * tmp[s + x] }
                  }
                  let d = base + y * w
                  for x in 0..<w { p[d + x] = acc[x] }
                }
              }
            }
          }
        }
      }
    }
  }
}

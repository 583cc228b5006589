import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Initializer {
  /// timm's `trunc_normal_(tensor, mean, std, a=-2, b=2)`: `N(mean, σ²)` restricted to `bounds`.
  ///
  /// The bounds are absolute values, not multiples of σ (timm's defaults ±2 cut nothing in
  /// practice at σ = 0.02). timm samples by the inverse CDF; here values outside the bounds are
  /// redrawn, which gives the same distribution. Normals come in Box–Muller pairs
  /// (`r cos θ`, `r sin θ` from two uniforms of `generator`), both used, in row-major order:
  /// Swin-T draws 28 M of them.
  /// - Precondition: `bounds` holds `mean` (otherwise rejection could take very long).
  public static func truncatedNormal(
    _ shape: [Int], mean: Float = 0, standardDeviation: Float, bounds: ClosedRange<Float> = -2...2,
    using generator: inout RandomGenerator
  ) -> Tensor {
    precondition(bounds.contains(mean), "truncatedNormal: mean \(mean) outside \(bounds)")
    let n = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: n)
    var filled = 0
    while filled < n {
      let u1 = Swift.max(generator.nextDouble(), 1e-300), u2 = generator.nextDouble()
      let r = (-2 * log(u1)).squareRoot(), theta = 2 * Double.pi * u2
      let first = mean + standardDeviation * Float(r * cos(theta))
      let second = mean + standardDeviation * Float(r * sin(theta))
      if bounds.contains(first) {
        values[filled] = first
        filled += 1
      }
      if filled < n && bounds.contains(second) {
        values[filled] = second
        filled += 1
      }
    }
    return Tensor(shape: shape, data: values, requiresGrad: true)
  }
}

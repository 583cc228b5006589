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
  /// redrawn, which gives the same distribution. Normals come in pairs from Marsaglia's polar
  /// method (no trigonometry; Swin-T draws 28 M of them), uniforms from `generator`, values in
  /// row-major order.
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
      // Marsaglia's polar method: (u, v) uniform in the unit disc gives two independent normals.
      let u = 2 * generator.nextDouble() - 1, v = 2 * generator.nextDouble() - 1
      let s = u * u + v * v
      if s >= 1 || s == 0 { continue }
      let factor = (-2 * log(s) / s).squareRoot()
      let first = mean + standardDeviation * Float(u * factor)
      let second = mean + standardDeviation * Float(v * factor)
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

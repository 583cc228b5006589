import Engine
import Foundation
import Testing

/// GELU's eight-lane Φ and φ (Vectorized.normalCDFAndDensity) against the scalar libm formula
/// `½x(1 + erf(x/√2))` in Double, on a grid over [−10, 10] that also covers the zero-padded
/// last block (the count is not a multiple of 8).
@Suite struct GELUTests {
  static func reference(_ x: Double) -> (value: Double, derivative: Double) {
    let cdf = 0.5 * erfc(-x / 2.0.squareRoot())
    return (x * cdf, cdf + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot())
  }

  @Test func matchesTheErfFormula() {
    let xs = (0..<4003).map { Float(-10 + 20 * Double($0) / 4002) } + [0, -0, 1e-4, -1e-4, 30, -30]
    let x = Tensor(shape: [xs.count], data: xs, requiresGrad: true)
    let y = x.gelu()
    y.sum().backward()
    let grad = x.grad?.data ?? []
    var worstValue = 0.0, worstDerivative = 0.0
    for (i, v) in xs.enumerated() {
      let (value, derivative) = Self.reference(Double(v))
      // Absolute error against max(1, |y|): A&S 7.1.26 is good to 1.5e-7 on Φ.
      worstValue = max(worstValue, abs(Double(y.data[i]) - value) / max(1, abs(value)))
      worstDerivative = max(worstDerivative, abs(Double(grad[i]) - derivative))
    }
    #expect(worstValue < 1e-6, "worst GELU error \(worstValue)")
    #expect(worstDerivative < 1e-6, "worst GELU derivative error \(worstDerivative)")
    print("GELU vs erf: value \(worstValue), derivative \(worstDerivative)")
  }

  @Test func tailsAreExact() {
    let y = Tensor(shape: [4], data: [-30, -10, 10, 30]).gelu()
    #expect(y.data[0] == 0 || abs(y.data[0]) < 1e-30)
    #expect(abs(y.data[1]) < 1e-20)
    #expect(y.data[2] == 10 && y.data[3] == 30)
  }
}

import Basics
import Engine
import Foundation
import Testing

/// Helpers shared by the test targets (not part of the product).
public enum TestSupport {
  /// The checkout's root (this file is Sources/_TestSupport/TestSupport.swift).
  public static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The committed JUnit schema the reports are validated against.
  public static var junitSchema: String {
    projectRoot.appendingPathComponent("Tests/ResultsTests/Fixtures/junit-10.xsd").path
  }

  /// Runs a program found on PATH and returns its exit status and combined output.
  public static func runTool(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    Shell.run(program, arguments)
  }
}

/// Central finite-difference gradient checks for the engine's operations.
public enum GradientCheck {
  /// The largest relative error between autograd's gradient of `Σ w ⊙ f(inputs)` (w fixed random
  /// weights, so every output element matters) and central differences `(L(x+ε) − L(x−ε)) / 2ε`,
  /// over every element of every input that requires gradients.
  ///
  /// Relative error is `|a − n| / max(|a| + |n|, floor)`; with Float32 and ε = 1e-2 on smooth
  /// functions of O(1) inputs, a correct derivative gives about 1e-3.
  public static func maxRelativeError(
    of f: ([Tensor]) -> Tensor, at inputs: [Tensor], epsilon: Float = 1e-2, floor: Float = 1e-2, seed: UInt64 = 99
  ) -> Float {
    var g = RandomGenerator(seed: seed)
    let probe = f(inputs)
    let weights = Tensor.randomUniform(probe.shape, in: 0.5...1.5, using: &g)
    func loss() -> Double {
      let out = Tensor.withoutGrad { f(inputs) }
      return zip(out.data, weights.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    for x in inputs { x.zeroGrad() }
    (f(inputs) * weights).sum().backward()
    var worst: Float = 0
    for x in inputs where x.requiresGrad {
      let analytic = x.grad?.data ?? [Float](repeating: 0, count: x.count)
      for i in 0..<x.count {
        let original = x.data[i]
        x.update { $0[i] = original + epsilon }
        let up = loss()
        x.update { $0[i] = original - epsilon }
        let down = loss()
        x.update { $0[i] = original }
        let numeric = Float((up - down) / (2 * Double(epsilon)))
        let error = abs(analytic[i] - numeric) / Swift.max(abs(analytic[i]) + abs(numeric), floor)
        worst = Swift.max(worst, error)
      }
    }
    return worst
  }
}

/// Records a test issue unless `|actual − expected| ≤ atol + rtol·|expected|` (numpy's `isclose`
/// rule), naming both values and the tolerance. Non-finite values must match exactly.
public func expectClose(
  _ actual: Double, _ expected: Double, rtol: Double = 1e-6, atol: Double = 0, _ comment: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let ok =
    actual.isFinite && expected.isFinite
    ? abs(actual - expected) <= atol + rtol * abs(expected)
    : actual == expected || (actual.isNaN && expected.isNaN)
  if !ok {
    var message = "\(actual) is not close to \(expected) (rtol \(rtol), atol \(atol); off by \(abs(actual - expected)))"
    if !comment.isEmpty { message += ": " + comment }
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }
}

/// `expectClose` element by element; the shapes (counts) must agree.
public func expectClose(
  _ actual: [Float], _ expected: [Float], rtol: Double = 1e-6, atol: Double = 0, _ comment: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.count == expected.count else {
    Issue.record(Comment(rawValue: "\(actual.count) values, expected \(expected.count)"), sourceLocation: sourceLocation)
    return
  }
  for (i, (a, e)) in zip(actual, expected).enumerated() {
    let where_ = comment.isEmpty ? "index \(i)" : "index \(i), \(comment)"
    expectClose(Double(a), Double(e), rtol: rtol, atol: atol, where_, sourceLocation: sourceLocation)
  }
}

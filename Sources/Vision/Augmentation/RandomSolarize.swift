import Engine

/// Inverts every value at or above `threshold` (`x ← 1 − x` where `x ≥ threshold`) with
/// probability `probability` (torchvision `RandomSolarize(threshold, p)`; BYOL's and MoCo v3's
/// second view use p = 0.2).
///
/// MoCo v3 and BYOL solarize 8-bit PIL images with `ImageOps.solarize` (threshold 128: grey
/// levels ≥ 128 are inverted), which is `threshold = 128/255` here (the default).
/// Random draws per call: one uniform.
public struct RandomSolarize: ImageAugmentation {
  /// Values `≥ threshold` are inverted.
  public var threshold: Float
  /// Probability of solarizing.
  public var probability: Double

  /// - Precondition: `0 ≤ probability ≤ 1`.
  public init(threshold: Float = 128.0 / 255.0, probability: Double) {
    precondition((0...1).contains(probability), "RandomSolarize: probability \(probability) outside [0, 1]")
    self.threshold = threshold
    self.probability = probability
  }

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    if generator.nextDouble() < probability { image.solarize(threshold: threshold) }
  }

  public var description: String { "RandomSolarize(threshold: \(threshold), p: \(probability))" }
}

extension FloatImage {
  /// `x ← x ≥ t ? 1 − x : x` (torchvision `F.solarize` on a float image).
  public mutating func solarize(threshold t: Float) {
    pixels.withUnsafeMutableBufferPointer { p in
      for i in p.indices where p[i] >= t { p[i] = 1 - p[i] }
    }
  }
}

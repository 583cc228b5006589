import Engine

/// Mirrors the image left–right with probability `probability` (torchvision
/// `RandomHorizontalFlip(p)`; one uniform draw per image: flipped when `U < p`).
public struct RandomHorizontalFlip: ImageAugmentation {
  /// Probability of flipping.
  public var probability: Double

  /// - Precondition: `0 ≤ probability ≤ 1`.
  public init(probability: Double = 0.5) {
    precondition((0...1).contains(probability), "RandomHorizontalFlip: probability \(probability) outside [0, 1]")
    self.probability = probability
  }

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    if generator.nextDouble() < probability { image.flipHorizontally() }
  }

  public var description: String { "RandomHorizontalFlip(p: \(probability))" }
}

extension FloatImage {
  /// Reverses every row in place: `out[c][y][x] = in[c][y][W − 1 − x]` (torchvision `F.hflip`).
  public mutating func flipHorizontally() {
    let w = width
    let rows = 3 * height
    pixels.withUnsafeMutableBufferPointer { p in
      for r in 0..<rows {
        var i = r * w
        var j = i + w - 1
        while i < j {
          p.swapAt(i, j)
          i += 1
          j -= 1
        }
      }
    }
  }
}

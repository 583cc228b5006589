import Engine

/// Replaces the image by its luma in all three channels with probability `probability`
/// (torchvision `RandomGrayscale(p)`; one uniform draw per image: converted when `U < p`).
public struct RandomGrayscale: ImageAugmentation {
  /// Probability of converting.
  public var probability: Double

  /// - Precondition: `0 ≤ probability ≤ 1`.
  public init(probability: Double) {
    precondition((0...1).contains(probability), "RandomGrayscale: probability \(probability) outside [0, 1]")
    self.probability = probability
  }

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    if generator.nextDouble() < probability { image.convertToGrayscale() }
  }

  public var description: String { "RandomGrayscale(p: \(probability))" }
}

extension FloatImage {
  /// ITU-R BT.601 luma with torchvision's tensor coefficients, `L = 0.2989 R + 0.587 G + 0.114 B`
  /// (`_functional_tensor.rgb_to_grayscale`; PIL's `convert("L")` uses 0.299 and rounds to
  /// 8 bits), one value per pixel.
  public func luma() -> [Float] {
    let n = planeSize
    var out = [Float](repeating: 0, count: n)
    pixels.withUnsafeBufferPointer { p in
      out.withUnsafeMutableBufferPointer { l in
        for i in 0..<n { l[i] = lumaR * p[i] + lumaG * p[n + i] + lumaB * p[2 * n + i] }
      }
    }
    return out
  }

  /// Sets all three channels to the luma (torchvision `rgb_to_grayscale(img, 3)`).
  public mutating func convertToGrayscale() {
    let n = planeSize
    pixels.withUnsafeMutableBufferPointer { p in
      for i in 0..<n {
        let l = lumaR * p[i] + lumaG * p[n + i] + lumaB * p[2 * n + i]
        p[i] = l
        p[n + i] = l
        p[2 * n + i] = l
      }
    }
  }
}

/// torchvision's luma weights (`rgb_to_grayscale`, following TensorFlow's `rgb_to_grayscale`).
let lumaR: Float = 0.2989
let lumaG: Float = 0.587
let lumaB: Float = 0.114

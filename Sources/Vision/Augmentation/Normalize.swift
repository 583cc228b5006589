import Engine

/// Per-channel standardisation `x ← (x − mean_c) / std_c` (torchvision `Normalize`), the last
/// step of every recipe.
public struct Normalize: ImageAugmentation, Equatable {
  public var mean: [Float]
  public var std: [Float]

  /// - Precondition: three means and three positive standard deviations.
  public init(mean: [Float], std: [Float]) {
    precondition(mean.count == 3 && std.count == 3, "Normalize: expected 3 means and 3 stds, got \(mean), \(std)")
    precondition(std.allSatisfy { $0 > 0 }, "Normalize: std \(std) must be positive")
    self.mean = mean
    self.std = std
  }

  /// ImageNet statistics (torchvision's reference scripts; MoCo, SimCLR ports, InstDisc).
  public static let imageNet = Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
  /// SwAV's constants (`src/multicropdataset.py`: std 0.228 for red).
  public static let swav = Normalize(mean: [0.485, 0.456, 0.406], std: [0.228, 0.224, 0.225])
  /// CIFAR-10 statistics as the MoCo CIFAR-10 demo writes them.
  public static let cifar10 = Normalize(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010])

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    apply(to: &image)
  }

  /// Deterministic form (no draws).
  public func apply(to image: inout FloatImage) {
    let n = image.planeSize
    image.pixels.withUnsafeMutableBufferPointer { p in
      for c in 0..<3 {
        let (m, s) = (mean[c], std[c])
        for i in (c * n)..<((c + 1) * n) { p[i] = (p[i] - m) / s }
      }
    }
  }

  public var description: String { "Normalize(mean: \(mean), std: \(std))" }
}

import Engine

/// A (possibly random) transform of a Float32 CHW image, applied in place.
///
/// Every random choice is drawn from the `generator` passed in, so an image's augmentation is a
/// pure function of the image and the generator's state (no global randomness; see
/// `RandomGenerator`). Implementations are value types and `Sendable`, so one pipeline is shared
/// by the threads that augment a batch. `description` prints the transform as torchvision's
/// `__repr__` would name it, with our parameter names.
public protocol ImageAugmentation: Sendable, CustomStringConvertible {
  /// Transforms `image` in place, drawing any randomness from `generator`.
  func apply(to image: inout FloatImage, using generator: inout RandomGenerator)
}

/// Applies `transforms` in order with probability `probability`, else nothing
/// (torchvision `RandomApply(transforms, p)`: one draw `p < U[0,1)` decides for the whole list).
///
/// Random draws: one uniform, then the transforms' own draws only when applied.
public struct RandomApply: ImageAugmentation {
  /// Probability of applying the transforms.
  public var probability: Double
  /// The transforms, in order.
  public var transforms: [any ImageAugmentation]

  /// - Precondition: `0 ≤ probability ≤ 1`.
  public init(_ transforms: [any ImageAugmentation], probability: Double) {
    precondition((0...1).contains(probability), "RandomApply: probability \(probability) outside [0, 1]")
    self.transforms = transforms
    self.probability = probability
  }

  /// A single transform applied with `probability`.
  public init(_ transform: any ImageAugmentation, probability: Double) {
    self.init([transform], probability: probability)
  }

  public func apply(to image: inout FloatImage, using generator: inout RandomGenerator) {
    // torchvision: `if self.p < torch.rand(1): return img` (applied when U < p).
    guard generator.nextDouble() < probability else { return }
    for t in transforms { t.apply(to: &image, using: &generator) }
  }

  public var description: String {
    "RandomApply(p: \(probability), [\(transforms.map(\.description).joined(separator: ", "))])"
  }
}

/// One view of an image: a random resized crop from the 8-bit source, then Float32 transforms in
/// order (the torchvision `Compose([RandomResizedCrop, …, ToTensor, Normalize])` of one view).
///
/// `ToTensor` (÷255) happens inside the crop, which reads the 8-bit source and writes Float32.
/// The papers put the horizontal flip at different places in the chain (after the crop in
/// SimCLR/SwAV, after the blur in MoCo); it commutes with every colour transform and with the
/// symmetric blur, so only the order of random draws depends on where it sits.
public struct ViewTransform: Sendable, CustomStringConvertible {
  /// The crop (output size, scale and ratio ranges, interpolation).
  public var crop: RandomResizedCrop
  /// Transforms after the crop, in order.
  public var transforms: [any ImageAugmentation]

  public init(crop: RandomResizedCrop, transforms: [any ImageAugmentation]) {
    self.crop = crop
    self.transforms = transforms
  }

  /// Output width and height.
  public var size: (width: Int, height: Int) { (crop.width, crop.height) }

  /// The augmented view of `image`. Draws: the crop's, then each transform's in order.
  public func apply(to image: RGBImage, using generator: inout RandomGenerator) -> FloatImage {
    var view = crop.apply(to: image, using: &generator)
    for t in transforms { t.apply(to: &view, using: &generator) }
    return view
  }

  public var description: String {
    ([crop.description] + transforms.map(\.description)).joined(separator: " → ")
  }
}

import Engine

/// A three-channel Float32 image in CHW layout (planes R, G, B, each row-major), the form every
/// augmentation works on and the layout of one item of a `[batch, 3, height, width]` tensor.
///
/// Values are nominally in [0, 1] (as torchvision's `to_tensor`: `uint8 / 255`) until `Normalize`
/// shifts them. Working in Float32 from the crop onwards, instead of round-tripping through 8-bit
/// images after every step as the papers' PIL pipelines do, follows torchvision's tensor
/// functionals (`torchvision.transforms._functional_tensor`); the differences are the PIL
/// pipelines' quantisation steps (at most ½ grey level per step).
///
/// Shape: `pixels.count == 3 · height · width`; value of channel `c` at column `x`, row `y` is
/// `pixels[(c · height + y) · width + x]`.
public struct FloatImage: Sendable, Equatable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// `3 · height · width` values, CHW.
  public var pixels: [Float]

  /// Wraps existing CHW values. - Precondition: `pixels.count == 3 · width · height`.
  public init(width: Int, height: Int, pixels: [Float]) {
    precondition(width >= 0 && height >= 0, "FloatImage: negative size \(width)×\(height)")
    precondition(
      pixels.count == 3 * width * height, "FloatImage: \(pixels.count) values for 3×\(height)×\(width)")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// An image of zeros.
  public init(width: Int, height: Int) {
    self.init(width: width, height: height, pixels: [Float](repeating: 0, count: 3 * width * height))
  }

  /// `uint8 / 255` of an 8-bit image, HWC → CHW (torchvision `to_tensor`/`ToTensor`).
  public init(_ image: RGBImage) {
    let plane = image.width * image.height
    var out = [Float](repeating: 0, count: 3 * plane)
    image.pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for i in 0..<plane {
          dst[i] = byteToUnit[Int(src[3 * i])]
          dst[plane + i] = byteToUnit[Int(src[3 * i + 1])]
          dst[2 * plane + i] = byteToUnit[Int(src[3 * i + 2])]
        }
      }
    }
    self.init(width: image.width, height: image.height, pixels: out)
  }

  /// Number of pixels per channel.
  public var planeSize: Int { width * height }

  /// Channel `c` at column `x`, row `y`.
  @inlinable
  public subscript(c: Int, x: Int, y: Int) -> Float {
    get { pixels[(c * height + y) * width + x] }
    set { pixels[(c * height + y) * width + x] = newValue }
  }

  /// Back to 8 bits: `round(255 · clamp(v, 0, 1))` per value, CHW → HWC (for viewing augmented
  /// views; torchvision's `to_pil_image` truncates instead of rounding).
  public func rgbImage() -> RGBImage {
    let plane = planeSize
    var out = [UInt8](repeating: 0, count: 3 * plane)
    for c in 0..<3 {
      for i in 0..<plane {
        let v = Swift.min(Swift.max(pixels[c * plane + i], 0), 1) * 255
        out[3 * i + c] = UInt8((v + 0.5).rounded(.down))
      }
    }
    return RGBImage(width: width, height: height, pixels: out)
  }

  /// The images as one `[count, 3, height, width]` tensor (no augmentation: the evaluation
  /// transform `ToTensor` followed by an optional `Normalize`).
  /// - Precondition: all images have the same size.
  public static func batch(_ images: [RGBImage], normalize: Normalize? = nil) -> Tensor {
    guard let first = images.first else { return Tensor(shape: [0, 3, 0, 0], data: []) }
    let (w, h) = (first.width, first.height)
    let size = 3 * w * h
    var data = [Float](repeating: 0, count: images.count * size)
    for (b, image) in images.enumerated() {
      precondition(
        image.width == w && image.height == h,
        "FloatImage.batch: image \(b) is \(image.width)×\(image.height), expected \(w)×\(h)")
      var f = FloatImage(image)
      normalize?.apply(to: &f)
      data.withUnsafeMutableBufferPointer { dst in
        f.pixels.withUnsafeBufferPointer { src in
          guard let d = dst.baseAddress, let s = src.baseAddress else { return }
          (d + b * size).update(from: s, count: size)
        }
      }
    }
    return Tensor(shape: [images.count, 3, h, w], data: data)
  }
}

/// `Float(i) / 255` for every byte, correctly rounded as torchvision's `img.float().div(255)`.
let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }

import Vision

extension RGBImage {
  /// The HSV saturation channel as 8-bit grey, bit-exact with OpenCV's
  /// `cvtColor(image, COLOR_RGB2HSV)[..., 1]` (checked on every (max, min) pair).
  ///
  /// Maths: `V = max(R, G, B)`, `S = 255 · (V − min(R, G, B)) / V` (0 when `V = 0`), computed in
  /// OpenCV's fixed point: `S = ((V − min) · round(255·2¹² / V) + 2¹¹) >> 12`.
  /// Source: OpenCV 4 `modules/imgproc/src/color_hsv.simd.hpp` (`RGB2HSV_b`, `hsv_shift = 12`).
  public func saturation() -> GrayImage {
    let n = width * height
    var table = [Int](repeating: 0, count: 256)
    for v in 1..<256 { table[v] = Int((Double(255 << 12) / Double(v)).rounded(.toNearestOrEven)) }
    var out = [UInt8](repeating: 0, count: n)
    pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for i in 0..<n {
          let r = Int(src[3 * i])
          let g = Int(src[3 * i + 1])
          let b = Int(src[3 * i + 2])
          let v = max(r, max(g, b))
          let mn = min(r, min(g, b))
          dst[i] = UInt8(((v - mn) * table[v] + (1 << 11)) >> 12)
        }
      }
    }
    return GrayImage(width: width, height: height, pixels: out)
  }
}

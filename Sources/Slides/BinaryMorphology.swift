/// Morphology and connected components on binary masks (`[UInt8]`, row-major, 0 or 1).
///
/// The structuring element is a `k × k` square with OpenCV's anchor `a = k / 2`: dilation
/// takes the maximum over offsets `−a … k−1−a`, and erosion the minimum over the reflected
/// offsets `−(k−1−a) … a`, so that closing (dilate, then erode) contains its input and, for odd
/// `k`, equals `cv2.morphologyEx(…, MORPH_CLOSE, ones((k, k)))`. (For even `k` OpenCV erodes
/// with the unreflected element, which shifts the closed mask by one pixel down-right; we do
/// not copy that.) Outside the image dilation sees 0 and erosion sees 1, as OpenCV's default
/// border value does, so closing never eats into the image edge.
public enum BinaryMorphology {
  /// Closing with a `kernel × kernel` square (0 or 1: the mask unchanged).
  public static func closed(_ mask: [UInt8], width: Int, height: Int, kernel: Int) -> [UInt8] {
    precondition(mask.count == width * height, "closed: \(mask.count) values for \(width)×\(height)")
    precondition(kernel >= 0, "closed: kernel \(kernel)")
    guard kernel > 1 else { return mask }
    let a = kernel / 2
    let dilated = extremum(mask, width: width, height: height, low: -a, high: kernel - 1 - a, dilate: true)
    return extremum(dilated, width: width, height: height, low: -(kernel - 1 - a), high: a, dilate: false)
  }

  /// Separable max (dilate) or min (erode) over offsets `low…high` on both axes.
  static func extremum(
    _ mask: [UInt8], width w: Int, height h: Int, low: Int, high: Int, dilate: Bool
  ) -> [UInt8] {
    let outside: UInt8 = dilate ? 0 : 1
    var rows = [UInt8](repeating: 0, count: w * h)
    for y in 0..<h {
      for x in 0..<w {
        var value: UInt8 = dilate ? 0 : 1
        for d in low...high {
          let xx = x + d
          let v = xx >= 0 && xx < w ? mask[y * w + xx] : outside
          value = dilate ? max(value, v) : min(value, v)
        }
        rows[y * w + x] = value
      }
    }
    var out = [UInt8](repeating: 0, count: w * h)
    for y in 0..<h {
      for x in 0..<w {
        var value: UInt8 = dilate ? 0 : 1
        for d in low...high {
          let yy = y + d
          let v = yy >= 0 && yy < h ? rows[yy * w + x] : outside
          value = dilate ? max(value, v) : min(value, v)
        }
        out[y * w + x] = value
      }
    }
    return out
  }

  /// Connected components of the pixels equal to `value`.
  public struct Components: Sendable {
    /// Per pixel: component index, or −1 for pixels not equal to `value`.
    public var labels: [Int32]
    /// Pixel count of each component.
    public var sizes: [Int]
    /// Whether each component touches the image border.
    public var touchesBorder: [Bool]
    /// Index of each component's first pixel in row-major order (its top-most, then left-most).
    public var firstPixel: [Int]
  }

  /// Labels the components of pixels equal to `value`, 8-connected (`eightConnected`) or
  /// 4-connected, numbered in row-major order of their first pixel.
  public static func components(
    _ mask: [UInt8], width w: Int, height h: Int, value: UInt8, eightConnected: Bool
  ) -> Components {
    precondition(mask.count == w * h, "components: \(mask.count) values for \(w)×\(h)")
    var labels = [Int32](repeating: -1, count: w * h)
    var sizes: [Int] = []
    var border: [Bool] = []
    var first: [Int] = []
    var stack: [Int] = []
    let neighbours: [(Int, Int)] =
      eightConnected
      ? [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)]
      : [(0, -1), (-1, 0), (1, 0), (0, 1)]
    for start in 0..<(w * h) where mask[start] == value && labels[start] < 0 {
      let label = Int32(sizes.count)
      var size = 0
      var touches = false
      labels[start] = label
      stack.append(start)
      while let p = stack.popLast() {
        size += 1
        let x = p % w
        let y = p / w
        if x == 0 || y == 0 || x == w - 1 || y == h - 1 { touches = true }
        for (dx, dy) in neighbours {
          let nx = x + dx
          let ny = y + dy
          guard nx >= 0, ny >= 0, nx < w, ny < h else { continue }
          let q = ny * w + nx
          if mask[q] == value && labels[q] < 0 {
            labels[q] = label
            stack.append(q)
          }
        }
      }
      sizes.append(size)
      border.append(touches)
      first.append(start)
    }
    return Components(labels: labels, sizes: sizes, touchesBorder: border, firstPixel: first)
  }
}

import Vision

extension GrayImage {
  /// Median filter over a `kernel × kernel` square, edges replicated: equal to OpenCV's
  /// `cv2.medianBlur(image, kernel)` on 8-bit images (which uses `BORDER_REPLICATE`).
  ///
  /// Maths: out(x, y) = the ⌈k²/2⌉-th smallest value of the window centred on (x, y), with
  /// coordinates outside the image clamped to the nearest edge. Implemented with a sliding
  /// two-level histogram (16 coarse × 16 fine bins; Perreault & Hébert 2007, "Median filtering
  /// in constant time", IEEE TIP 16(9)), so the cost per pixel is O(k + 32).
  ///
  /// - Precondition: `kernel` is odd and ≥ 1 (1 returns the image unchanged).
  public func medianBlurred(kernel: Int) -> GrayImage {
    precondition(kernel >= 1 && kernel % 2 == 1, "medianBlurred: kernel \(kernel) must be odd and ≥ 1")
    guard kernel > 1, width > 0, height > 0 else { return self }
    let r = kernel / 2
    let rank = kernel * kernel / 2  // 0-based rank of the median
    let w = width
    let h = height
    var out = [UInt8](repeating: 0, count: w * h)
    pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        var fine = [Int](repeating: 0, count: 256)
        var coarse = [Int](repeating: 0, count: 16)
        func clampX(_ x: Int) -> Int { min(max(x, 0), w - 1) }
        func clampY(_ y: Int) -> Int { min(max(y, 0), h - 1) }
        for y in 0..<h {
          for i in 0..<256 { fine[i] = 0 }
          for i in 0..<16 { coarse[i] = 0 }
          // Window at x = 0: columns −r…r (clamped), rows y−r…y+r (clamped).
          for dy in -r...r {
            let row = clampY(y + dy) * w
            for dx in -r...r {
              let v = Int(src[row + clampX(dx)])
              fine[v] += 1
              coarse[v >> 4] += 1
            }
          }
          for x in 0..<w {
            if x > 0 {
              let leaving = clampX(x - r - 1)
              let entering = clampX(x + r)
              for dy in -r...r {
                let row = clampY(y + dy) * w
                let a = Int(src[row + leaving])
                let b = Int(src[row + entering])
                fine[a] -= 1
                coarse[a >> 4] -= 1
                fine[b] += 1
                coarse[b >> 4] += 1
              }
            }
            var seen = 0
            var block = 0
            while seen + coarse[block] <= rank {
              seen += coarse[block]
              block += 1
            }
            var value = block << 4
            while seen + fine[value] <= rank {
              seen += fine[value]
              value += 1
            }
            dst[y * w + x] = UInt8(value)
          }
        }
      }
    }
    return GrayImage(width: w, height: h, pixels: out)
  }
}

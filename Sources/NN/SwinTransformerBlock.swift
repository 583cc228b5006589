import Engine

/// One Swin Transformer v1 block (Liu et al. 2021, Eq. 3; timm 0.5.4 `SwinTransformerBlock`):
///
///     x ← x + DropPath(reverse-shift(merge(W-MSA(partition(shift(LN₁(x)))))))
///     x ← x + DropPath(MLP(LN₂(x)))
///
/// `shift` is the cyclic shift `torch.roll(x, (−s, −s), dims=(1, 2))` and the attention of a
/// shifted block adds timm's mask: −100 between tokens that come from different regions of the
/// unshifted map, so no token attends across the wrapped boundary. As in timm, when the map is no
/// larger than the window (`min(H, W) ≤ w`) the window shrinks to `min(H, W)` and the shift is
/// dropped. Windows are not padded (timm 0.5.4 requires `w` to divide H and W).
///
/// Stochastic depth (`dropPath`, timm `DropPath`): in training each sample's residual branch is
/// kept with probability `1 − p` and scaled by `1/(1 − p)`; its mask is drawn from the generator
/// passed to `callAsFunction(_:using:)`. The default p = 0 (and evaluation mode) make the block
/// deterministic, and then `callAsFunction(_:)` needs no generator.
///
/// Shape: `[batch, H·W, d]` → `[batch, H·W, d]`, tokens row-major over (H, W).
/// State-dict names (timm 0.5.4 order): `attn_mask` (shifted blocks only; a buffer
/// `[windowsPerImage, w², w²]`), `norm1.*`, `attn.*` (see `WindowAttention`), `norm2.*`,
/// `mlp.fc1.*`, `mlp.fc2.*`. LayerNorm ε = 1e-5 (PyTorch's default, as timm's Swin).
public final class SwinTransformerBlock: Module {
  public let norm1: LayerNorm
  public let attn: WindowAttention
  public let norm2: LayerNorm
  public let mlp: TransformerMLP
  /// The additive shifted-window mask, nil for unshifted blocks.
  public let attnMask: Tensor?
  public let inputResolution: (height: Int, width: Int)
  /// The window size after timm's adjustment to small maps.
  public let windowSize: Int
  /// The cyclic shift after timm's adjustment (0: a W-MSA block).
  public let shiftSize: Int
  /// Stochastic-depth rate of both residual branches.
  public let dropPath: Float
  public var isTraining = true {
    didSet { for m in [norm1, attn, norm2, mlp] as [any Module] { m.isTraining = isTraining } }
  }

  /// - Parameters:
  ///   - windowSize: w before adjustment (7 in Swin-T).
  ///   - shiftSize: s before adjustment (0, or ⌊w/2⌋ for every second block).
  public init(
    dimension: Int, inputResolution: (height: Int, width: Int), heads: Int, windowSize: Int = 7,
    shiftSize: Int = 0, mlpRatio: Int = 4, qkvBias: Bool = true, dropPath: Float = 0,
    using generator: inout RandomGenerator
  ) {
    let (h, w) = inputResolution
    var window = windowSize, shift = shiftSize
    if Swift.min(h, w) <= window {  // timm: no partition when the window covers the map
      window = Swift.min(h, w)
      shift = 0
    }
    precondition(shift >= 0 && shift < window, "SwinTransformerBlock: shift \(shift) outside 0..<\(window)")
    precondition(
      h % window == 0 && w % window == 0, "SwinTransformerBlock: window \(window) does not divide \(h)×\(w)")
    precondition(dropPath >= 0 && dropPath < 1, "SwinTransformerBlock: drop path \(dropPath) outside [0, 1)")
    self.inputResolution = inputResolution
    self.windowSize = window
    self.shiftSize = shift
    self.dropPath = dropPath
    norm1 = LayerNorm(features: dimension)
    attn = WindowAttention(dimension: dimension, windowSize: window, heads: heads, qkvBias: qkvBias, using: &generator)
    norm2 = LayerNorm(features: dimension)
    mlp = TransformerMLP(
      dimension: dimension, hidden: mlpRatio * dimension, weightInit: .truncatedNormal(standardDeviation: 0.02),
      using: &generator)
    attnMask = shift > 0 ? Self.shiftedWindowMask(height: h, width: w, windowSize: window, shiftSize: shift) : nil
  }

  /// timm's `attn_mask`, `[windowsPerImage, w², w²]`: the shifted map is cut into 3 × 3 regions
  /// (rows `[0, H−w)`, `[H−w, H−s)`, `[H−s, H)`, likewise columns); entry `[win, i, j]` is 0 when
  /// tokens i and j of window `win` lie in the same region and −100 otherwise.
  public static func shiftedWindowMask(height: Int, width: Int, windowSize w: Int, shiftSize s: Int) -> Tensor {
    func region(_ i: Int, _ size: Int) -> Int { i < size - w ? 0 : (i < size - s ? 1 : 2) }
    let (rows, columns, n) = (height / w, width / w, w * w)
    var mask = [Float](repeating: 0, count: rows * columns * n * n)
    for wy in 0..<rows {
      for wx in 0..<columns {
        let win = wy * columns + wx
        let labels = (0..<n).map { t in region(wy * w + t / w, height) * 3 + region(wx * w + t % w, width) }
        for i in 0..<n {
          for j in 0..<n where labels[i] != labels[j] { mask[(win * n + i) * n + j] = -100 }
        }
      }
    }
    return Tensor(shape: [rows * columns, n, n], data: mask)
  }

  /// timm's `window_partition`: `[b, H, W, c]` → `[b · (H/w)(W/w), w², c]`, windows row-major.
  public static func windowPartition(_ x: Tensor, windowSize w: Int) -> Tensor {
    let (b, h, width, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.reshaped([b, h / w, w, width / w, w, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, w * w, c])
  }

  /// timm's `window_reverse`: `[b · (H/w)(W/w), w², c]` → `[b, H, W, c]`.
  public static func windowReverse(_ windows: Tensor, windowSize w: Int, height: Int, width: Int) -> Tensor {
    let c = windows.shape[2]
    return windows.reshaped([-1, height / w, width / w, w, w, c]).permuted([0, 1, 3, 2, 4, 5])
      .reshaped([-1, height, width, c])
  }

  /// The block in evaluation mode, or in training without stochastic depth.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(
      !isTraining || dropPath == 0,
      "SwinTransformerBlock: drop path \(dropPath) in training needs a generator: call block(x, using: &generator)")
    var unused = RandomGenerator(seed: 0)
    return self(x, using: &unused)
  }

  /// The block; the stochastic-depth masks (training, `dropPath > 0`) come from `generator`.
  public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor {
    let (h, w) = inputResolution
    let (b, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(l == h * w, "SwinTransformerBlock: \(l) tokens for a \(h)×\(w) map")
    var y = norm1(x).reshaped([b, h, w, c])
    if shiftSize > 0 { y = y.rolled(by: -shiftSize, axis: 1).rolled(by: -shiftSize, axis: 2) }
    let windows = Self.windowPartition(y, windowSize: windowSize)  // [b·nW, w², c]
    y = Self.windowReverse(attn(windows, mask: attnMask), windowSize: windowSize, height: h, width: w)
    if shiftSize > 0 { y = y.rolled(by: shiftSize, axis: 1).rolled(by: shiftSize, axis: 2) }
    let rate = isTraining ? dropPath : 0
    let x1 = x + y.reshaped([b, l, c]).droppingPaths(rate, using: &generator)
    return x1 + mlp(norm2(x1)).droppingPaths(rate, using: &generator)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    (attnMask.map { [("attn_mask", $0)] } ?? []) + prefixed("norm1", norm1) + prefixed("attn", attn)
      + prefixed("norm2", norm2) + prefixed("mlp", mlp)
  }
}

extension Tensor {
  /// `torch.roll(x, shift, dims=axis)`: `out[i] = x[(i − shift) mod n]`, by slicing and joining.
  /// - Precondition: `axis` is non-negative.
  func rolled(by shift: Int, axis: Int) -> Tensor {
    let n = shape[axis]
    let k = ((shift % n) + n) % n
    if k == 0 { return self }
    return Tensor.concatenate(
      [narrowed(axis: axis, start: n - k, length: k), narrowed(axis: axis, start: 0, length: n - k)], axis: axis)
  }

  /// timm's `drop_path`: each sample (index along axis 0) is zeroed with probability p, the rest
  /// scaled by `1/(1 − p)`. Identity when p = 0 (nothing is drawn).
  func droppingPaths(_ p: Float, using generator: inout RandomGenerator) -> Tensor {
    if p == 0 { return self }
    let keep = 1 - p
    let mask = (0..<shape[0]).map { _ in generator.nextFloat() < keep ? 1 / keep : 0 }
    return self * Tensor(shape: [shape[0]] + [Int](repeating: 1, count: rank - 1), data: mask)
  }
}

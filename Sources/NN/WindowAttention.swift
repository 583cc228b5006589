import Engine

/// Window multi-head self-attention with a relative position bias: the W-MSA / SW-MSA of Swin
/// Transformer v1 (Liu et al. 2021, Eq. 4), as timm 0.5.4's `WindowAttention` (the timm that
/// CTransPath is built on) computes it.
///
/// Within each window of N = w² tokens and for each of h heads of size d/h,
/// `Attention(q, k, v) = softmax(q kᵀ / √(d/h) + B + M) v`, where
/// `B[i, j] = table[index[i, j], head]` looks up a learned `(2w − 1)² × h` table by the relative
/// offset of tokens i and j, and M is the optional additive shifted-window mask (0 or −100).
/// Then `proj = Linear(d, d)` as in `Attention`.
///
/// Shape: `[windows, w², d]` → `[windows, w², d]`, windows ordered batch-major
/// (`b · windowsPerImage + window`, timm's `window_partition`).
/// State-dict names (timm 0.5.4 order): `relative_position_bias_table` `[(2w − 1)², h]`,
/// `relative_position_index` `[w², w²]` (a buffer: saved and loaded, never trained),
/// `qkv.weight`, `qkv.bias`, `proj.weight`, `proj.bias`.
/// Initialisation as timm: the table and both weights `trunc_normal_(std: 0.02)`, biases 0.
public final class WindowAttention: Module {
  public let relativePositionBiasTable: Tensor
  /// Integer offsets stored as Float (a loaded checkpoint's int64 buffer converts exactly).
  public let relativePositionIndex: Tensor
  public let qkv: Linear
  public let proj: Linear
  public let heads: Int
  public let windowSize: Int
  public var isTraining = true

  public init(
    dimension: Int, windowSize: Int, heads: Int, qkvBias: Bool = true, using generator: inout RandomGenerator
  ) {
    precondition(dimension % heads == 0, "WindowAttention: dimension \(dimension) not divisible by \(heads) heads")
    precondition(windowSize >= 1, "WindowAttention: window size \(windowSize)")
    let init02 = Linear.WeightInit.truncatedNormal(standardDeviation: 0.02)
    qkv = Linear(inputSize: dimension, outputSize: 3 * dimension, bias: qkvBias, weightInit: init02, using: &generator)
    proj = Linear(inputSize: dimension, outputSize: dimension, weightInit: init02, using: &generator)
    let span = 2 * windowSize - 1
    relativePositionBiasTable = Initializer.truncatedNormal([span * span, heads], standardDeviation: 0.02, using: &generator)
    let n = windowSize * windowSize
    relativePositionIndex = Tensor(
      shape: [n, n], data: Self.relativePositionIndex(windowSize: windowSize).map(Float.init))
    self.heads = heads
    self.windowSize = windowSize
  }

  /// timm's `relative_position_index`, row-major `[w², w²]`: for tokens i = (yᵢ, xᵢ) and
  /// j = (yⱼ, xⱼ) of a window (row-major), `(yᵢ − yⱼ + w − 1) · (2w − 1) + (xᵢ − xⱼ + w − 1)`.
  public static func relativePositionIndex(windowSize w: Int) -> [Int] {
    let n = w * w
    var index = [Int](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        index[i * n + j] = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1)
      }
    }
    return index
  }

  /// The bias B of every head, `[h, w², w²]`, gathered from the table (gradients flow back to it).
  public func relativePositionBias() -> Tensor {
    let n = windowSize * windowSize
    let index = relativePositionIndex.data.map { Int($0) }
    return relativePositionBiasTable.indexSelect(axis: 0, index).reshaped([n, n, heads]).permuted([2, 0, 1])
  }

  /// - Parameters:
  ///   - x: `[windows, w², d]`.
  ///   - mask: additive `[windowsPerImage, w², w²]` (shifted windows), broadcast over the batch
  ///     and the heads; `windows` must be a multiple of `windowsPerImage`.
  public func callAsFunction(_ x: Tensor, mask: Tensor? = nil) -> Tensor {
    let (bw, n, d) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(n == windowSize * windowSize, "WindowAttention: \(n) tokens for window \(windowSize)")
    let headSize = d / heads
    // [bw, n, 3, h, hd] → [3, bw, h, n, hd]
    let parts = qkv(x).reshaped([bw, n, 3, heads, headSize]).permuted([2, 0, 3, 1, 4])
    let q = parts.narrowed(axis: 0, start: 0, length: 1).reshaped([bw * heads, n, headSize])
      * (1 / Float(headSize).squareRoot())
    let k = parts.narrowed(axis: 0, start: 1, length: 1).reshaped([bw * heads, n, headSize])
    let v = parts.narrowed(axis: 0, start: 2, length: 1).reshaped([bw * heads, n, headSize])
    var scores = q.matmul(k.transposed()).reshaped([bw, heads, n, n]) + relativePositionBias()
    if let mask {
      let perImage = mask.shape[0]
      precondition(
        bw % perImage == 0 && mask.shape == [perImage, n, n],
        "WindowAttention: mask \(mask.shape) for \(bw) windows of \(n) tokens")
      scores = (scores.reshaped([bw / perImage, perImage, heads, n, n]) + mask.reshaped([1, perImage, 1, n, n]))
        .reshaped([bw, heads, n, n])
    }
    let mixed = scores.softmax(axis: -1).reshaped([bw * heads, n, n]).matmul(v)  // [bw·h, n, hd]
    let merged = mixed.reshaped([bw, heads, n, headSize]).permuted([0, 2, 1, 3]).reshaped([bw, n, d])
    return proj(merged)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("relative_position_bias_table", relativePositionBiasTable), ("relative_position_index", relativePositionIndex)]
      + prefixed("qkv", qkv) + prefixed("proj", proj)
  }
}

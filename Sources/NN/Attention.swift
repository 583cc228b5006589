import Engine

/// Multi-head self-attention as timm's `Attention` (the ViT blocks of MoCo v3 and DeiT):
/// `qkv = Linear(d, 3d)`, heads of size d/h, `softmax(q kᵀ / √(d/h)) v`, then `proj = Linear(d, d)`.
///
/// Shape: `[batch, tokens, d]` → `[batch, tokens, d]`. State-dict names `qkv.weight`, `qkv.bias`,
/// `proj.weight`, `proj.bias`.
public final class Attention: Module {
  public let qkv: Linear
  public let proj: Linear
  public let heads: Int
  public var isTraining = true

  public init(dimension: Int, heads: Int, qkvBias: Bool = true, using generator: inout RandomGenerator) {
    precondition(dimension % heads == 0, "Attention: dimension \(dimension) not divisible by \(heads) heads")
    qkv = Linear(inputSize: dimension, outputSize: 3 * dimension, bias: qkvBias, using: &generator)
    proj = Linear(inputSize: dimension, outputSize: dimension, using: &generator)
    self.heads = heads
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
    let headSize = d / heads
    // [b, n, 3, h, hd] → [3, b, h, n, hd]
    let parts = qkv(x).reshaped([b, n, 3, heads, headSize]).permuted([2, 0, 3, 1, 4])
    let q = parts.narrowed(axis: 0, start: 0, length: 1).reshaped([b * heads, n, headSize])
    let k = parts.narrowed(axis: 0, start: 1, length: 1).reshaped([b * heads, n, headSize])
    let v = parts.narrowed(axis: 0, start: 2, length: 1).reshaped([b * heads, n, headSize])
    let scores = q.matmul(k, transposeOther: true) * (1 / Float(headSize).squareRoot())  // [b·h, n, n]
    let mixed = scores.softmax(axis: -1).matmul(v)  // [b·h, n, hd]
    let merged = mixed.reshaped([b, heads, n, headSize]).permuted([0, 2, 1, 3]).reshaped([b, n, d])
    return proj(merged)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] { prefixed("qkv", qkv) + prefixed("proj", proj) }
}

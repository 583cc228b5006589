import Engine

/// A self-attention layer that maps a sequence `[b, n, d]` to `[b, n, d]`: what a transformer
/// layer such as TransMIL's `TransLayer` holds, whichever attention it uses.
public protocol SelfAttentionLayer: Module {
  /// The attended sequence; `generator` draws dropout masks in training mode.
  func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor
}

extension NystromAttention: SelfAttentionLayer {}

/// Self-attention as PyTorch's `nn.MultiheadAttention(d, heads, dropout: p, batch_first=True)`
/// called as `attention(x, x, x)` (Vaswani et al. 2017):
///
/// `q, k, v = x·W_inᵀ + b_in` split into `heads` heads of size `e = d/heads`;
/// per head `softmax(q kᵀ / √e)`, dropout `p` **on the attention weights** in training mode,
/// times `v`; heads merged and `out_proj`. Initialisation as torch's `_reset_parameters`:
/// `in_proj_weight` Xavier-uniform over its `[3d, d]` shape (bound `√(6/(4d))`), `in_proj_bias`
/// and `out_proj.bias` 0, `out_proj.weight` nn.Linear's default `U(±1/√d)`.
///
/// Unlike `NystromAttention` it has q/k/v biases, no value convolution and no output dropout:
/// TransMIL's `attention: multihead` experiment (README, "Nyström, not the engine").
///
/// State-dict names: `in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias`.
public final class MultiheadSelfAttention: SelfAttentionLayer {
  public let inProjWeight: Tensor
  public let inProjBias: Tensor
  public let outProjWeight: Tensor
  public let outProjBias: Tensor
  public let heads: Int
  /// Dropout probability on the attention weights (training mode only).
  public let dropout: Float
  public var isTraining = true

  public init(dimension: Int, heads: Int, dropout: Float = 0, using generator: inout RandomGenerator) {
    precondition(dimension % heads == 0, "MultiheadSelfAttention: dimension \(dimension) not divisible by \(heads) heads")
    let xavier = (6 / Float(dimension + 3 * dimension)).squareRoot()
    inProjWeight = Tensor.randomUniform([3 * dimension, dimension], in: -xavier...xavier, using: &generator, requiresGrad: true)
    inProjBias = Tensor.zeros([3 * dimension], requiresGrad: true)
    outProjWeight = Initializer.pytorchDefault([dimension, dimension], fanIn: dimension, using: &generator)
    outProjBias = Tensor.zeros([dimension], requiresGrad: true)
    self.heads = heads
    self.dropout = dropout
  }

  public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor {
    precondition(x.rank == 3, "MultiheadSelfAttention: input \(x.shape); expected [b, n, d]")
    let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
    let (h, e) = (heads, d / heads)
    // [b, n, 3d] → [3, b, h, n, e]: torch's in_proj rows are q, then k, then v, each head-major.
    let qkv = x.linear(weight: inProjWeight, bias: inProjBias).reshaped([b, n, 3, h, e]).permuted([2, 0, 3, 1, 4])
    let q = qkv.narrowed(axis: 0, start: 0, length: 1).reshaped([b * h, n, e]) * (1 / Float(e).squareRoot())
    let k = qkv.narrowed(axis: 0, start: 1, length: 1).reshaped([b * h, n, e])
    let v = qkv.narrowed(axis: 0, start: 2, length: 1).reshaped([b * h, n, e])
    var weights = q.matmul(k, transposeOther: true).softmax(axis: -1)  // [b·h, n, n]
    if isTraining && dropout > 0 { weights = weights.dropout(dropout, using: &generator) }
    let merged = weights.matmul(v).reshaped([b, h, n, e]).permuted([0, 2, 1, 3]).reshaped([b, n, d])
    return merged.linear(weight: outProjWeight, bias: outProjBias)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("in_proj_weight", inProjWeight), ("in_proj_bias", inProjBias), ("out_proj.weight", outProjWeight),
     ("out_proj.bias", outProjBias)]
  }
}

import Engine

/// Nyström self-attention exactly as `nystrom-attention` ≥ 0.0.10 (lucidrains), the attention of
/// TransMIL (Xiong et al. 2021, "Nyströmformer", AAAI; TransMIL, Shao et al. 2021).
///
/// For `x` `[b, n, d]` with m landmarks: the sequence is zero-padded **at the front** to a multiple
/// of m; `q, k, v = to_qkv(x)` split into h heads of size e, `q ← q·e^(−1/2)`; landmarks are the
/// means of consecutive segments of length `l = ⌈n/m⌉` (pad rows included, no mask);
/// `out = softmax(q k̃ᵀ) · pinv(softmax(q̃ k̃ᵀ)) · (softmax(q̃ kᵀ) v)`, pinv by 6 Moore–Penrose
/// iterations `z ← ¼ z (13I − xz(15I − xz(7I − xz)))` from `z₀ = xᵀ / (max rowsum|x| · max colsum|x|)`
/// (maxima over the whole batch and all heads); plus a depthwise `(33, 1)` convolution of v along
/// the sequence; heads merged, `to_out` Linear, and the last n rows kept (`out[:, -n:]`).
/// `legacyOutputSlice` keeps the first n rows instead, as v0.0.9 did (TransMIL pins that version).
///
/// `exact: true` replaces the Nyström approximation by full softmax attention, `softmax(q kᵀ) v`,
/// over the n rows without padding, with the same parameters (and the same residual convolution
/// when it is on). It is not nystrom-attention's code: TransMIL's `attention: exact` experiment.
/// The official width 512 has 256 landmarks, so on a bag of fewer than 256 tokens every landmark
/// is one (zero-padded) token and the Nyström product is close to this exact attention.
///
/// State-dict names: `to_qkv.weight`, `to_out.0.weight`, `to_out.0.bias`, `res_conv.weight`.
public final class NystromAttention: Module {
  public let toQKV: Linear
  public let toOut: Linear
  public let residualConv: Tensor?
  public let heads: Int
  public let headSize: Int
  public let landmarks: Int
  public let pinvIterations: Int
  public let dropout: Float
  public var legacyOutputSlice: Bool
  /// Full softmax attention instead of the Nyström approximation (same parameters).
  public let exact: Bool
  public var isTraining = true

  public init(
    dimension: Int, headSize: Int = 64, heads: Int = 8, landmarks: Int = 256, pinvIterations: Int = 6,
    residual: Bool = true, residualKernel: Int = 33, dropout: Float = 0, legacyOutputSlice: Bool = false,
    exact: Bool = false, using generator: inout RandomGenerator
  ) {
    let inner = heads * headSize
    toQKV = Linear(inputSize: dimension, outputSize: 3 * inner, bias: false, using: &generator)
    toOut = Linear(inputSize: inner, outputSize: dimension, using: &generator)
    residualConv =
      residual
      ? Initializer.pytorchDefault([heads, 1, residualKernel, 1], fanIn: residualKernel, using: &generator) : nil
    self.heads = heads
    self.headSize = headSize
    self.landmarks = landmarks
    self.pinvIterations = pinvIterations
    self.dropout = dropout
    self.legacyOutputSlice = legacyOutputSlice
    self.exact = exact
  }

  /// Applies attention; `generator` draws the output dropout mask in training mode.
  public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor {
    let (b, n) = (x.shape[0], x.shape[1])
    let m = landmarks
    var input = x
    let remainder = n % m
    if !exact && remainder > 0 { input = x.padded([(0, 0), (m - remainder, 0), (0, 0)]) }  // front padding
    let padded = input.shape[1]
    let (h, e) = (heads, headSize)
    // [b, N, 3·h·e] → [3, b, h, N, e]
    let qkv = toQKV(input).reshaped([b, padded, 3, h, e]).permuted([2, 0, 3, 1, 4])
    let q = qkv.narrowed(axis: 0, start: 0, length: 1).reshaped([b * h, padded, e]) * (1 / Float(e).squareRoot())
    let k = qkv.narrowed(axis: 0, start: 1, length: 1).reshaped([b * h, padded, e])
    let v = qkv.narrowed(axis: 0, start: 2, length: 1).reshaped([b * h, padded, e])
    var out: Tensor
    if exact {
      out = q.matmul(k, transposeOther: true).softmax(axis: -1).matmul(v)  // [b·h, n, e]
    } else {
      let l = (n + m - 1) / m  // segment length ⌈n/m⌉; padded = m·l
      let qLandmarks = q.reshaped([b * h, m, l, e]).sum(axes: [2]) * (1 / Float(l))  // [b·h, m, e]
      let kLandmarks = k.reshaped([b * h, m, l, e]).sum(axes: [2]) * (1 / Float(l))
      let attn1 = q.matmul(kLandmarks, transposeOther: true).softmax(axis: -1)  // [b·h, N, m]
      let attn2 = qLandmarks.matmul(kLandmarks, transposeOther: true).softmax(axis: -1)  // [b·h, m, m]
      let attn3 = qLandmarks.matmul(k, transposeOther: true).softmax(axis: -1)  // [b·h, m, N]
      let pinv = Self.moorePenroseInverse(attn2.reshaped([b, h, m, m]), iterations: pinvIterations)
        .reshaped([b * h, m, m])
      out = attn1.matmul(pinv).matmul(attn3.matmul(v))  // [b·h, N, e]
    }
    if let residualConv {
      // Depthwise conv of v along the sequence: channels = heads, image N × e.
      let conv = v.reshaped([b, h, padded, e]).conv2d(
        weight: residualConv, padding: (residualConv.shape[2] / 2, 0), groups: h)
      out = out + conv.reshaped([b * h, padded, e])
    }
    var merged = toOut(out.reshaped([b, h, padded, e]).permuted([0, 2, 1, 3]).reshaped([b, padded, h * e]))
    if isTraining && dropout > 0 { merged = merged.dropout(dropout, using: &generator) }
    return legacyOutputSlice
      ? merged.narrowed(axis: 1, start: 0, length: n) : merged.narrowed(axis: 1, start: padded - n, length: n)
  }

  /// Iterative Moore–Penrose pseudo-inverse of `x` `[..., m, m]` (Razavi et al. 2014), as
  /// nystrom-attention's `moore_penrose_iter_pinv`.
  public static func moorePenroseInverse(_ x: Tensor, iterations: Int) -> Tensor {
    let m = x.shape[x.rank - 1]
    let absX = x.abs()
    let rowSums = absX.sum(axes: [-1]), colSums = absX.sum(axes: [-2])
    var z = x.transposed() / (rowSums.maxAll() * colSums.maxAll())
    var identity = [Float](repeating: 0, count: m * m)
    for i in 0..<m { identity[i * m + i] = 1 }
    let eye = Tensor(shape: [m, m], data: identity)
    for _ in 0..<iterations {
      let xz = x.matmul(z)
      z = 0.25 * z.matmul(13 * eye - xz.matmul(15 * eye - xz.matmul(7 * eye - xz)))
    }
    return z
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out = prefixed("to_qkv", toQKV) + prefixed("to_out.0", toOut)
    if let residualConv { out.append(("res_conv.weight", residualConv)) }
    return out
  }
}

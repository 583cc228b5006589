import Engine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The MLP of a transformer block: `fc2(GELU(fc1(x)))` (timm `Mlp`).
public final class TransformerMLP: Module {
  public let fc1: Linear
  public let fc2: Linear
  public var isTraining = true

  /// - Parameter weightInit: how both linear layers are initialised (timm's Swin uses
  ///   `.truncatedNormal(standardDeviation: 0.02)`).
  public init(
    dimension: Int, hidden: Int, weightInit: Linear.WeightInit = .pytorchDefault,
    using generator: inout RandomGenerator
  ) {
    fc1 = Linear(inputSize: dimension, outputSize: hidden, weightInit: weightInit, using: &generator)
    fc2 = Linear(inputSize: hidden, outputSize: dimension, weightInit: weightInit, using: &generator)
  }

  public func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).gelu()) }

  public var namedParameters: [(name: String, tensor: Tensor)] { prefixed("fc1", fc1) + prefixed("fc2", fc2) }
}

/// A pre-norm transformer block (timm `Block`): `x + attn(norm1(x))`, then `x + mlp(norm2(x))`.
public final class TransformerBlock: Module {
  public let norm1: LayerNorm
  public let attn: Attention
  public let norm2: LayerNorm
  public let mlp: TransformerMLP
  public var isTraining = true

  public init(dimension: Int, heads: Int, mlpRatio: Int = 4, epsilon: Float = 1e-6, using generator: inout RandomGenerator) {
    norm1 = LayerNorm(features: dimension, epsilon: epsilon)
    attn = Attention(dimension: dimension, heads: heads, using: &generator)
    norm2 = LayerNorm(features: dimension, epsilon: epsilon)
    mlp = TransformerMLP(dimension: dimension, hidden: mlpRatio * dimension, using: &generator)
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    let y = x + attn(norm1(x))
    return y + mlp(norm2(y))
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("norm1", norm1) + prefixed("attn", attn) + prefixed("norm2", norm2) + prefixed("mlp", mlp)
  }
}

/// Vision Transformer as MoCo v3's `vits.py` builds it on timm: patch embedding (a strided
/// convolution), a class token, a fixed 2-D sine-cosine position embedding, pre-norm blocks with
/// LayerNorm ε = 1e-6, a final norm, and an optional linear head on the class token.
///
/// Shape: `[n, 3, s, s]` → `[n, classes]`, or the class-token feature `[n, d]` without a head.
/// State-dict names follow timm: `cls_token`, `pos_embed`, `patch_embed.proj.*`, `blocks.i.*`,
/// `norm.*`, `head.*`. Initialisation is PyTorch's default for now (MoCo v3's ViT-specific
/// initialisation, e.g. its qkv uniform bound, is the SSL family's to add).
public final class VisionTransformer: Module {
  public let patchEmbed: Conv2d
  public let clsToken: Tensor
  public let posEmbed: Tensor
  public let blocks: [TransformerBlock]
  public let norm: LayerNorm
  public let head: Linear?
  public let patchSize: Int
  public var isTraining = true {
    didSet { for b in blocks { b.isTraining = isTraining } }
  }

  /// - Parameter freezePatchProjection: MoCo v3's stability trick: a random, fixed patch projection.
  public init(
    imageSize: Int, patchSize: Int, dimension: Int, depth: Int, heads: Int, mlpRatio: Int = 4, classes: Int? = nil,
    freezePatchProjection: Bool = false, using generator: inout RandomGenerator
  ) {
    precondition(imageSize % patchSize == 0, "VisionTransformer: image \(imageSize) not divisible by patch \(patchSize)")
    precondition(dimension % 4 == 0, "VisionTransformer: sin-cos embedding needs a dimension divisible by 4")
    self.patchSize = patchSize
    patchEmbed = Conv2d(
      inputChannels: 3, outputChannels: dimension, kernelSize: (patchSize, patchSize), stride: (patchSize, patchSize),
      using: &generator)
    if freezePatchProjection {
      patchEmbed.weight.requiringGrad(false)
      patchEmbed.bias?.requiringGrad(false)
    }
    clsToken = Tensor.randomNormal([1, 1, dimension], standardDeviation: 1e-6, using: &generator, requiresGrad: true)
    let grid = imageSize / patchSize
    posEmbed = Self.sinCosPositionEmbedding(grid: grid, dimension: dimension)
    blocks = (0..<depth).map { _ in TransformerBlock(dimension: dimension, heads: heads, mlpRatio: mlpRatio, using: &generator) }
    norm = LayerNorm(features: dimension, epsilon: 1e-6)
    head = classes.map { Linear(inputSize: dimension, outputSize: $0, using: &generator) }
  }

  /// MoCo v3's `build_2d_sincos_position_embedding` (temperature 10⁴): with ω_k = 10⁴^(−k/(d/4)),
  /// token m (row-major over `torch.meshgrid(w, h)`, so its w-coordinate is ⌊m/grid⌋ and its
  /// h-coordinate m mod grid) gets `[sin(w ω), cos(w ω), sin(h ω), cos(h ω)]`; the class token gets
  /// zeros. Shape `[1, 1 + grid², d]`, not trainable.
  public static func sinCosPositionEmbedding(grid: Int, dimension: Int) -> Tensor {
    let quarter = dimension / 4
    var values = [Float](repeating: 0, count: (1 + grid * grid) * dimension)
    for m in 0..<(grid * grid) {
      let w = Double(m / grid), h = Double(m % grid)
      for k in 0..<quarter {
        let omega = 1 / pow(10_000.0, Double(k) / Double(quarter))
        let base = (1 + m) * dimension
        values[base + k] = Float(sin(w * omega))
        values[base + quarter + k] = Float(cos(w * omega))
        values[base + 2 * quarter + k] = Float(sin(h * omega))
        values[base + 3 * quarter + k] = Float(cos(h * omega))
      }
    }
    return Tensor(shape: [1, 1 + grid * grid, dimension], data: values)
  }

  public func callAsFunction(_ images: Tensor) -> Tensor {
    let n = images.shape[0]
    let patches = patchEmbed(images)  // [n, d, g, g]
    let d = patches.shape[1]
    let tokens = patches.reshaped([n, d, -1]).transposed()  // [n, g², d]
    let cls = clsToken + Tensor.zeros([n, 1, d])  // broadcast to the batch
    var x = Tensor.concatenate([cls, tokens], axis: 1) + posEmbed  // [n, 1 + g², d]
    for block in blocks { x = block(x) }
    let feature = norm(x).narrowed(axis: 1, start: 0, length: 1).reshaped([n, d])  // class token
    return head.map { $0(feature) } ?? feature
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out: [(name: String, tensor: Tensor)] = [("cls_token", clsToken), ("pos_embed", posEmbed)]
    out += prefixed("patch_embed.proj", patchEmbed)
    for (i, b) in blocks.enumerated() { out += prefixed("blocks.\(i)", b) }
    out += prefixed("norm", norm)
    if let head { out += prefixed("head", head) }
    return out
  }

  /// ViT-tiny as in DeiT/MoCo v3 (d = 192, depth 12, 3 heads).
  public static func tiny(imageSize: Int = 224, patchSize: Int = 16, classes: Int? = nil, freezePatchProjection: Bool = false, using generator: inout RandomGenerator) -> VisionTransformer {
    VisionTransformer(imageSize: imageSize, patchSize: patchSize, dimension: 192, depth: 12, heads: 3, classes: classes, freezePatchProjection: freezePatchProjection, using: &generator)
  }

  /// ViT-small as in MoCo v3 (d = 384, depth 12, 12 heads: MoCo v3 uses 12, not DeiT's 6).
  public static func small(imageSize: Int = 224, patchSize: Int = 16, classes: Int? = nil, freezePatchProjection: Bool = false, using generator: inout RandomGenerator) -> VisionTransformer {
    VisionTransformer(imageSize: imageSize, patchSize: patchSize, dimension: 384, depth: 12, heads: 12, classes: classes, freezePatchProjection: freezePatchProjection, using: &generator)
  }
}

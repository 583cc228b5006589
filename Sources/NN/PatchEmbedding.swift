import Engine

/// A layer that turns images into a row-major sequence of patch tokens (Swin's `patch_embed`).
///
/// Shape: `[n, channels, H, W]` → `[n, (H/p)(W/p), d]` for patch size p.
public protocol PatchEmbeddingLayer: Module {
  /// Token width d.
  var dimension: Int { get }
  /// Tokens of `images`.
  func callAsFunction(_ images: Tensor) -> Tensor
}

/// timm's `PatchEmbed` with a norm (Swin's default stem): a p × p convolution of stride p, the
/// map flattened to tokens, then LayerNorm (ε = 1e-5).
///
/// Shape: `[n, inputChannels, H, W]` → `[n, (H/p)(W/p), d]`.
/// State-dict names: `proj.weight`, `proj.bias`, `norm.weight`, `norm.bias`. The convolution keeps
/// PyTorch's default initialisation (timm's Swin init touches only Linear and LayerNorm).
public final class PatchEmbedding: PatchEmbeddingLayer {
  public let proj: Conv2d
  /// timm's `patch_norm` (true in every Swin config here).
  public let norm: LayerNorm?
  public let dimension: Int
  public var isTraining = true

  public init(
    patchSize: Int = 4, inputChannels: Int = 3, dimension: Int, normalize: Bool = true,
    using generator: inout RandomGenerator
  ) {
    proj = Conv2d(
      inputChannels: inputChannels, outputChannels: dimension, kernelSize: (patchSize, patchSize),
      stride: (patchSize, patchSize), using: &generator)
    norm = normalize ? LayerNorm(features: dimension) : nil
    self.dimension = dimension
  }

  public func callAsFunction(_ images: Tensor) -> Tensor {
    let map = proj(images)  // [n, d, H/p, W/p]
    let tokens = map.reshaped([map.shape[0], dimension, -1]).transposed()  // [n, L, d]
    return norm.map { $0(tokens) } ?? tokens
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("proj", proj) + (norm.map { prefixed("norm", $0) } ?? [])
  }
}

/// CTransPath's convolutional stem (`ConvStem` in `ctran.py` of Xiyue-Wang/TransPath; Wang et al.
/// 2022), which replaces Swin's 4 × 4 patch projection:
///
///     proj = Sequential(Conv3×3/2(3 → d/8, no bias), BN, ReLU,
///                       Conv3×3/2(d/8 → d/4, no bias), BN, ReLU,
///                       Conv1×1(d/4 → d, bias))
///
/// then flatten to tokens and LayerNorm(d) (the Swin passes its `norm_layer`, as for `PatchEmbed`).
/// Two stride-2 convolutions give the patch size 4 that `ConvStem` asserts.
///
/// Shape: `[n, 3, H, W]` → `[n, (H/4)(W/4), d]`. - Precondition: d divisible by 8.
/// State-dict names follow the `nn.Sequential` indices (ReLUs at 2 and 5 hold nothing):
/// `proj.0.weight`, `proj.1.{weight, bias, running_mean, running_var, num_batches_tracked}`,
/// `proj.3.weight`, `proj.4.*`, `proj.6.weight`, `proj.6.bias`, `norm.weight`, `norm.bias`.
/// Convolutions keep PyTorch's default initialisation, BatchNorm γ = 1, β = 0.
public final class ConvStem: PatchEmbeddingLayer {
  public let conv1: Conv2d
  public let bn1: BatchNorm
  public let conv2: Conv2d
  public let bn2: BatchNorm
  public let conv3: Conv2d
  public let norm: LayerNorm
  public let dimension: Int
  public var isTraining = true {
    didSet { for m in [conv1, bn1, conv2, bn2, conv3, norm] as [any Module] { m.isTraining = isTraining } }
  }

  public init(inputChannels: Int = 3, dimension: Int, using generator: inout RandomGenerator) {
    precondition(dimension % 8 == 0, "ConvStem: dimension \(dimension) not divisible by 8")
    let (c1, c2) = (dimension / 8, dimension / 4)
    conv1 = Conv2d(
      inputChannels: inputChannels, outputChannels: c1, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1),
      bias: false, using: &generator)
    bn1 = BatchNorm(features: c1)
    conv2 = Conv2d(
      inputChannels: c1, outputChannels: c2, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), bias: false,
      using: &generator)
    bn2 = BatchNorm(features: c2)
    conv3 = Conv2d(inputChannels: c2, outputChannels: dimension, kernelSize: (1, 1), using: &generator)
    norm = LayerNorm(features: dimension)
    self.dimension = dimension
  }

  public func callAsFunction(_ images: Tensor) -> Tensor {
    let map = conv3(bn2(conv2(bn1(conv1(images)).relu())).relu())  // [n, d, H/4, W/4]
    return norm(map.reshaped([map.shape[0], dimension, -1]).transposed())  // [n, L, d]
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("proj.0", conv1) + prefixed("proj.1", bn1) + prefixed("proj.3", conv2) + prefixed("proj.4", bn2)
      + prefixed("proj.6", conv3) + prefixed("norm", norm)
  }
}

import Engine

/// Swin's patch merging (timm 0.5.4 `PatchMerging`): each 2 × 2 neighbourhood of the map becomes
/// one token, the four neighbours concatenated as `[x₀, x₁, x₂, x₃]` with
/// `x₀ = x[0::2, 0::2]`, `x₁ = x[1::2, 0::2]`, `x₂ = x[0::2, 1::2]`, `x₃ = x[1::2, 1::2]`
/// (row, column), then `reduction(norm(·))` with LayerNorm(4c) and Linear(4c → 2c, no bias).
///
/// Shape: `[b, H·W, c]` → `[b, (H/2)(W/2), 2c]`. - Precondition: H and W even.
/// State-dict names (timm order): `reduction.weight`, `norm.weight`, `norm.bias`.
public final class PatchMerging: Module {
  public let reduction: Linear
  public let norm: LayerNorm
  public let inputResolution: (height: Int, width: Int)
  public var isTraining = true

  public init(inputResolution: (height: Int, width: Int), dimension: Int, using generator: inout RandomGenerator) {
    precondition(
      inputResolution.height % 2 == 0 && inputResolution.width % 2 == 0,
      "PatchMerging: map \(inputResolution.height)×\(inputResolution.width) is not even")
    reduction = Linear(
      inputSize: 4 * dimension, outputSize: 2 * dimension, bias: false,
      weightInit: .truncatedNormal(standardDeviation: 0.02), using: &generator)
    norm = LayerNorm(features: 4 * dimension)
    self.inputResolution = inputResolution
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    let (h, w) = inputResolution
    let (b, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(l == h * w, "PatchMerging: \(l) tokens for a \(h)×\(w) map")
    // [b, H/2, rowParity, W/2, columnParity, c] → [b, H/2, W/2, columnParity, rowParity, c]:
    // slot 2·columnParity + rowParity is timm's x₀…x₃ order.
    let merged = x.reshaped([b, h / 2, 2, w / 2, 2, c]).permuted([0, 1, 3, 4, 2, 5]).reshaped([b, -1, 4 * c])
    return reduction(norm(merged))
  }

  public var namedParameters: [(name: String, tensor: Tensor)] { prefixed("reduction", reduction) + prefixed("norm", norm) }
}

/// One Swin stage (timm 0.5.4 `BasicLayer`): blocks alternating unshifted and shifted windows
/// (shift ⌊w/2⌋ on odd blocks), then an optional patch merging at the end of the stage.
///
/// Shape: `[b, H·W, c]` → `[b, H·W, c]`, or `[b, (H/2)(W/2), 2c]` with a downsample.
/// State-dict names: `blocks.i.*`, `downsample.*` (timm ≤ 0.5.4 places the merging at the end of
/// a stage; timm ≥ 0.9 moved it to the start of the next one and renamed it).
public final class SwinStage: Module {
  public let blocks: [SwinTransformerBlock]
  public let downsample: PatchMerging?
  public var isTraining = true {
    didSet {
      for b in blocks { b.isTraining = isTraining }
      downsample?.isTraining = isTraining
    }
  }

  /// - Parameter dropPath: one stochastic-depth rate per block (its count is the depth).
  public init(
    dimension: Int, inputResolution: (height: Int, width: Int), heads: Int, windowSize: Int,
    dropPath: [Float], mlpRatio: Int = 4, qkvBias: Bool = true, downsample: Bool,
    using generator: inout RandomGenerator
  ) {
    blocks = dropPath.enumerated().map { i, rate in
      SwinTransformerBlock(
        dimension: dimension, inputResolution: inputResolution, heads: heads, windowSize: windowSize,
        shiftSize: i % 2 == 0 ? 0 : windowSize / 2, mlpRatio: mlpRatio, qkvBias: qkvBias, dropPath: rate,
        using: &generator)
    }
    self.downsample = downsample
      ? PatchMerging(inputResolution: inputResolution, dimension: dimension, using: &generator) : nil
  }

  /// The stage in evaluation mode, or in training without stochastic depth.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    var unused = RandomGenerator(seed: 0)
    for block in blocks {
      precondition(
        !isTraining || block.dropPath == 0,
        "SwinStage: drop path in training needs a generator: call stage(x, using: &generator)")
    }
    return self(x, using: &unused)
  }

  /// The stage; stochastic-depth masks (training, drop path > 0) come from `generator`.
  public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor {
    var y = x
    for block in blocks { y = block(y, using: &generator) }
    return downsample.map { $0(y) } ?? y
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out: [(name: String, tensor: Tensor)] = []
    for (i, b) in blocks.enumerated() { out += prefixed("blocks.\(i)", b) }
    if let downsample { out += prefixed("downsample", downsample) }
    return out
  }
}

/// Swin Transformer v1 (Liu et al. 2021, "Swin Transformer: Hierarchical Vision Transformer using
/// Shifted Windows", ICCV) as timm 0.5.4's `SwinTransformer` builds it, the version CTransPath
/// (Wang et al. 2022, MedIA 81:102559) is trained with.
///
/// Patch embedding (a 4 × 4 patch projection, or CTransPath's `ConvStem`), stages of window /
/// shifted-window blocks with patch merging between them, a final LayerNorm, the mean over tokens
/// (timm's `AdaptiveAvgPool1d(1)`), and an optional linear head. No absolute position embedding
/// (timm's `ape=False`, as in Swin-T and CTransPath), no dropout (rates 0 in both).
///
/// Shape: `[n, 3, s, s]` → `[n, classes]`, or the pooled feature `[n, d·2^(stages−1)]` without a
/// head; s must be the configured image size (timm fixes the resolution, and the shift masks with
/// it). State-dict names are timm 0.5.4's (CTransPath's checkpoint layout):
/// `patch_embed.proj.weight`, `layers.0.blocks.1.attn_mask`,
/// `layers.0.blocks.0.attn.relative_position_bias_table`, `layers.0.downsample.reduction.weight`,
/// `norm.weight`, `head.weight`, ….
/// Initialisation as timm: Linear weights and the bias tables `trunc_normal_(std: 0.02)` with zero
/// biases (the head included: timm 0.5.4 applies `_init_vit_weights` without module names),
/// LayerNorm 1/0, convolutions PyTorch's default. Everything is drawn from the explicit generator.
///
/// Stochastic depth: `dropPathRate` r gives block k of K the rate `r·k/(K−1)` (timm's
/// `torch.linspace(0, r, K)`); the default 0 switches it off. With r > 0, training forwards need
/// a generator (`callAsFunction(_:using:)`); evaluation never drops.
public final class SwinTransformer: Module {
  /// The patch embedding.
  public enum Stem: String, Sendable, Codable {
    /// timm's `PatchEmbed`: a p × p convolution of stride p, then LayerNorm.
    case patch
    /// CTransPath's `ConvStem` (patch size 4).
    case convolutional
  }

  /// Sizes of a Swin Transformer.
  public struct Configuration: Sendable, Equatable {
    public var imageSize: Int
    public var patchSize = 4
    public var inputChannels = 3
    /// Token width of the first stage; stage i has `embedDimension · 2^i`.
    public var embedDimension: Int
    /// Blocks per stage.
    public var depths: [Int]
    /// Attention heads per stage.
    public var heads: [Int]
    public var windowSize: Int
    public var mlpRatio = 4
    public var qkvBias = true
    public var stem = Stem.patch
    /// Width of the linear head; nil for none (timm `num_classes=0`, CTransPath's `nn.Identity`).
    public var classes: Int?
    public var dropPathRate: Float = 0

    public init(
      imageSize: Int, patchSize: Int = 4, inputChannels: Int = 3, embedDimension: Int, depths: [Int],
      heads: [Int], windowSize: Int, mlpRatio: Int = 4, qkvBias: Bool = true, stem: Stem = .patch,
      classes: Int? = nil, dropPathRate: Float = 0
    ) {
      self.imageSize = imageSize
      self.patchSize = patchSize
      self.inputChannels = inputChannels
      self.embedDimension = embedDimension
      self.depths = depths
      self.heads = heads
      self.windowSize = windowSize
      self.mlpRatio = mlpRatio
      self.qkvBias = qkvBias
      self.stem = stem
      self.classes = classes
      self.dropPathRate = dropPathRate
    }

    /// Width of the pooled feature, `embedDimension · 2^(stages − 1)`.
    public var featureDimension: Int { embedDimension << (depths.count - 1) }

    /// The width of each stage's tokens, first to last (`d·2^i`).
    public var stageWidths: [Int] { depths.indices.map { embedDimension << $0 } }

    /// Side of stage i's token map.
    public func resolution(ofStage i: Int) -> Int { (imageSize / patchSize) >> i }

    /// Swin-T (timm `swin_tiny_patch4_window7_224`): d = 96, depths 2-2-6-2, heads 3-6-12-24,
    /// window 7, 224² input; 28,288,354 parameters with the 1000-class head.
    public static func swinT(imageSize: Int = 224, classes: Int? = 1000, stem: Stem = .patch) -> Configuration {
      Configuration(
        imageSize: imageSize, embedDimension: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], windowSize: 7,
        stem: stem, classes: classes)
    }

    /// CTransPath: Swin-T with the convolutional stem and no head (`model.head = nn.Identity()`),
    /// 768-d features of 224² tiles.
    public static func ctransPath(imageSize: Int = 224) -> Configuration {
      swinT(imageSize: imageSize, classes: nil, stem: .convolutional)
    }

    /// A small Swin for small synthetic tiles (64²–224²), for the data-efficiency study's "tiny
    /// Swin with a convolutional stem" at CPU scale: d = 48 (half of Swin-T, divisible by 8 for
    /// the ConvStem), depths 2-2-2-2 (each stage keeps one W-MSA and one SW-MSA block), heads
    /// 3-6-12-24 as Swin-T (heads of size 16), 5,113,464 parameters without a head (with the ConvStem).
    ///
    /// The window is the largest w ≤ 7 such that each stage's map side r is either a multiple of
    /// w or at most w (timm then shrinks the window to r and drops the shift): 7 at 224², 6 at
    /// 96² and 192², 5 at 160², 4 at 64² and 128². - Precondition: the image side is a multiple
    /// of 32 (4 × 4 patches, then three 2 × 2 merges).
    public static func micro(imageSize: Int = 64, classes: Int? = nil, stem: Stem = .convolutional) -> Configuration {
      precondition(imageSize % 32 == 0, "SwinTransformer.micro: image size \(imageSize) is not a multiple of 32")
      let sides = (0..<4).map { (imageSize / 4) >> $0 }
      let window = (2...7).reversed().first { w in sides.allSatisfy { $0 <= w || $0 % w == 0 } } ?? 2
      return Configuration(
        imageSize: imageSize, embedDimension: 48, depths: [2, 2, 2, 2], heads: [3, 6, 12, 24], windowSize: window,
        stem: stem, classes: classes)
    }
  }

  public let configuration: Configuration
  public let patchEmbed: any PatchEmbeddingLayer
  public let layers: [SwinStage]
  public let norm: LayerNorm
  public let head: Linear?
  public var isTraining = true {
    didSet {
      patchEmbed.isTraining = isTraining
      for stage in layers { stage.isTraining = isTraining }
    }
  }

  public init(_ configuration: Configuration, using generator: inout RandomGenerator) {
    let c = configuration
    precondition(
      c.depths.count == c.heads.count && !c.depths.isEmpty,
      "SwinTransformer: \(c.depths.count) depths for \(c.heads.count) head counts")
    precondition(
      c.imageSize % (c.patchSize << (c.depths.count - 1)) == 0,
      "SwinTransformer: image size \(c.imageSize) not divisible by patch \(c.patchSize) · 2^\(c.depths.count - 1)")
    self.configuration = c
    switch c.stem {
    case .patch:
      patchEmbed = PatchEmbedding(
        patchSize: c.patchSize, inputChannels: c.inputChannels, dimension: c.embedDimension, using: &generator)
    case .convolutional:
      precondition(c.patchSize == 4, "SwinTransformer: the convolutional stem has patch size 4, not \(c.patchSize)")
      patchEmbed = ConvStem(inputChannels: c.inputChannels, dimension: c.embedDimension, using: &generator)
    }
    let total = c.depths.reduce(0, +)
    let rates = (0..<total).map { total > 1 ? c.dropPathRate * Float($0) / Float(total - 1) : 0 }
    var first = 0
    var stages: [SwinStage] = []
    for (i, depth) in c.depths.enumerated() {
      let side = c.resolution(ofStage: i)
      stages.append(
        SwinStage(
          dimension: c.embedDimension << i, inputResolution: (side, side), heads: c.heads[i],
          windowSize: c.windowSize, dropPath: Array(rates[first..<(first + depth)]), mlpRatio: c.mlpRatio,
          qkvBias: c.qkvBias, downsample: i < c.depths.count - 1, using: &generator))
      first += depth
    }
    layers = stages
    norm = LayerNorm(features: c.featureDimension)
    head = c.classes.map {
      Linear(
        inputSize: c.featureDimension, outputSize: $0, weightInit: .truncatedNormal(standardDeviation: 0.02),
        using: &generator)
    }
  }

  /// The pooled feature `[n, featureDimension]` (timm's `forward_features`); stochastic-depth
  /// masks come from `generator`.
  public func features(_ images: Tensor, using generator: inout RandomGenerator) -> Tensor {
    let s = configuration.imageSize
    precondition(
      images.rank == 4 && images.shape[2] == s && images.shape[3] == s,
      "SwinTransformer: input \(images.shape); expected [n, \(configuration.inputChannels), \(s), \(s)]")
    var x = patchEmbed(images)  // [n, (s/4)², d]
    for stage in layers { x = stage(x, using: &generator) }
    return norm(x).mean(axes: [1])  // [n, d·2^(stages−1)]
  }

  /// The pooled feature, in evaluation mode or without stochastic depth.
  public func features(_ images: Tensor) -> Tensor {
    precondition(
      !isTraining || configuration.dropPathRate == 0,
      "SwinTransformer: drop path in training needs a generator: call features(x, using: &generator)")
    var unused = RandomGenerator(seed: 0)
    return features(images, using: &unused)
  }

  /// The pooled feature of every stage, `[n, d·2^i]` for stage i, in evaluation mode or without
  /// stochastic depth: the mean over tokens of the stage's blocks' output, taken before the
  /// patch merging that ends the stage in timm 0.5.4 (where timm ≥ 0.9 places it at the start
  /// of the next stage, so these are its stage outputs too); the last stage's passes through the
  /// final LayerNorm first, so it equals `features(_:)`. The data-efficiency study's feature
  /// stages (Lenz et al. 2024) are read from here.
  public func stageFeatures(_ images: Tensor) -> [Tensor] {
    precondition(
      !isTraining || configuration.dropPathRate == 0,
      "SwinTransformer: drop path in training needs a generator")
    let s = configuration.imageSize
    precondition(
      images.rank == 4 && images.shape[2] == s && images.shape[3] == s,
      "SwinTransformer: input \(images.shape); expected [n, \(configuration.inputChannels), \(s), \(s)]")
    var unused = RandomGenerator(seed: 0)
    var x = patchEmbed(images)
    var out: [Tensor] = []
    for (i, stage) in layers.enumerated() {
      for block in stage.blocks { x = block(x, using: &unused) }
      out.append((i == layers.count - 1 ? norm(x) : x).mean(axes: [1]))
      if let merge = stage.downsample { x = merge(x) }
    }
    return out
  }

  /// Logits (or the pooled feature without a head); stochastic-depth masks come from `generator`.
  public func callAsFunction(_ images: Tensor, using generator: inout RandomGenerator) -> Tensor {
    let f = features(images, using: &generator)
    return head.map { $0(f) } ?? f
  }

  /// Logits (or the pooled feature without a head), in evaluation mode or without stochastic depth.
  public func callAsFunction(_ images: Tensor) -> Tensor {
    let f = features(images)
    return head.map { $0(f) } ?? f
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out = prefixed("patch_embed", patchEmbed)
    for (i, stage) in layers.enumerated() { out += prefixed("layers.\(i)", stage) }
    out += prefixed("norm", norm)
    if let head { out += prefixed("head", head) }
    return out
  }
}

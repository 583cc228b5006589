import Engine
import NN

/// TransMIL (Shao et al. 2021, NeurIPS), exactly as the official model file
/// (szc19990412/TransMIL `models/TransMIL.py`):
///
/// `h = ReLU(fc1(x))` (1024 → 512); the sequence is squared to `⌈√N⌉²` by appending copies of its
/// **first** tokens; a class token goes first; `h = layer1(h)`; PPEG on the 2-D grid; `h =
/// layer2(h)`; LayerNorm; the class token's row goes to the linear head. Each `TransLayer` is
/// `x + NystromAttention(LayerNorm(x))` (8 heads × dim/8, dim/2 landmarks, 6 pseudo-inverse
/// iterations, residual kernel 33, dropout 0.1) and has no feed-forward block.
///
/// State-dict names equal the official ones (`cls_token`, `pos_layer.proj.weight`,
/// `_fc1.0.weight`, `layer1.norm.weight`, `layer1.attn.to_qkv.weight`, `norm.weight`,
/// `_fc2.weight`, …), so a converted official checkpoint loads unchanged.
///
/// Shape: `[b, N, inputDimension]` → logits `[b, classes]`.
public final class TransMIL: Module {
  /// The attention of both layers: the official Nyström approximation, or one of two experiments.
  public enum Attention: String, Sendable, CaseIterable {
    /// `NystromAttention` with width/2 landmarks (the official model).
    case nystrom
    /// Full softmax attention with the Nyström layer's parameters and names (`NystromAttention.exact`).
    case exact
    /// PyTorch's `nn.MultiheadAttention` (q/k/v biases, dropout on the attention weights, no value
    /// convolution; `MultiheadSelfAttention`), names `attn.in_proj_weight`, `attn.out_proj.weight`, ….
    case multihead
  }


  /// One transformer layer of TransMIL: pre-norm Nyström attention with a residual.
  public final class TransLayer: Module {
    public let norm: LayerNorm
    public let attn: any SelfAttentionLayer
    public var isTraining = true {
      didSet { attn.isTraining = isTraining }
    }

    public init(
      dimension: Int, dropout: Float, legacyOutputSlice: Bool, valueResidual: Bool = true,
      attention: Attention = .nystrom, using generator: inout RandomGenerator
    ) {
      norm = LayerNorm(features: dimension)
      switch attention {
      case .nystrom, .exact:
        attn = NystromAttention(
          dimension: dimension, headSize: dimension / 8, heads: 8, landmarks: dimension / 2, pinvIterations: 6,
          residual: valueResidual, residualKernel: 33, dropout: dropout, legacyOutputSlice: legacyOutputSlice,
          exact: attention == .exact, using: &generator)
      case .multihead:
        attn = MultiheadSelfAttention(dimension: dimension, heads: 8, dropout: dropout, using: &generator)
      }
    }

    public func callAsFunction(_ x: Tensor, using generator: inout RandomGenerator) -> Tensor {
      x + attn(norm(x), using: &generator)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] { prefixed("norm", norm) + prefixed("attn", attn) }
  }

  /// Pyramid position encoding generator: depthwise 7×7, 5×5 and 3×3 convolutions of the token
  /// grid plus the identity; the class token passes through unchanged.
  public final class PPEG: Module {
    public let proj: Conv2d
    public let proj1: Conv2d
    public let proj2: Conv2d
    public var isTraining = true

    public init(dimension: Int, using generator: inout RandomGenerator) {
      func depthwise(_ k: Int, _ generator: inout RandomGenerator) -> Conv2d {
        Conv2d(
          inputChannels: dimension, outputChannels: dimension, kernelSize: (k, k), padding: (k / 2, k / 2),
          groups: dimension, using: &generator)
      }
      proj = depthwise(7, &generator)
      proj1 = depthwise(5, &generator)
      proj2 = depthwise(3, &generator)
    }

    /// `x` `[1, 1 + N, c]` (class token first) with token `i` at `positions[i]` of the slide's tile
    /// grid → the same shape: the tokens are placed on a zero grid of the positions' extent, the
    /// three convolutions and the identity mix that grid (empty cells read as zero, as the
    /// convolutions' own padding does), and each token reads its cell back.
    public func callAsFunction(_ x: Tensor, positions: [GridPosition]) -> Tensor {
      let (n, c) = (x.shape[1] - 1, x.shape[2])
      precondition(x.shape[0] == 1 && positions.count == n, "PPEG: \(positions.count) positions for input \(x.shape)")
      let height = (positions.map(\.row).max() ?? 0) + 1
      let width = (positions.map(\.column).max() ?? 0) + 1
      let cells = positions.map { $0.row * width + $0.column }
      let cls = x.narrowed(axis: 1, start: 0, length: 1)
      let tokens = x.narrowed(axis: 1, start: 1, length: n).reshaped([n, c])
      let grid = Tensor.scatterAdd(tokens, axis: 0, indices: cells, into: [height * width, c])
        .reshaped([1, height * width, c]).transposed().reshaped([1, c, height, width])
      let mixed = proj(grid) + grid + proj1(grid) + proj2(grid)
      let back = mixed.reshaped([1, c, height * width]).transposed().reshaped([height * width, c])
        .indexSelect(axis: 0, cells).reshaped([1, n, c])
      return Tensor.concatenate([cls, back], axis: 1)
    }

    /// `x` `[b, 1 + H·W, c]` (class token first) → the same shape.
    public func callAsFunction(_ x: Tensor, height: Int, width: Int) -> Tensor {
      let (b, c) = (x.shape[0], x.shape[2])
      let cls = x.narrowed(axis: 1, start: 0, length: 1)
      // [b, HW, c] → [b, c, H, W]
      let grid = x.narrowed(axis: 1, start: 1, length: height * width).transposed().reshaped([b, c, height, width])
      let mixed = proj(grid) + grid + proj1(grid) + proj2(grid)
      return Tensor.concatenate([cls, mixed.reshaped([b, c, height * width]).transposed()], axis: 1)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
      prefixed("proj", proj) + prefixed("proj1", proj1) + prefixed("proj2", proj2)
    }
  }

  /// Where PPEG puts the tokens.
  public enum TokenLayout: String, Sendable, CaseIterable {
    /// The official model: the bag in its given order, squared to `⌈√N⌉²` by copies of its first
    /// tokens and folded row by row, so PPEG's neighbours are neighbours in the bag's order.
    case sequence
    /// An experiment, not the paper's model: each token at its tile's cell of the slide's tile
    /// grid (`classify(_:positions:using:)`), no padding tokens, so PPEG's neighbours are the
    /// tile's neighbours on the slide.
    case slideGrid = "slide-grid"
  }

  public let clsToken: Tensor
  public let posLayer: PPEG
  public let fc1: Linear
  public let layer1: TransLayer
  public let layer2: TransLayer
  public let norm: LayerNorm
  public let fc2: Linear
  /// Whether PPEG runs (the paper's ablation turns it off; the official model always has it).
  public let usesPPEG: Bool
  /// Where PPEG puts the tokens (`.sequence`: the official model).
  public let tokenLayout: TokenLayout
  public var isTraining = true {
    didSet {
      layer1.isTraining = isTraining
      layer2.isTraining = isTraining
    }
  }

  /// - Parameters:
  ///   - inputDimension: feature size of each instance (1024 for the official ResNet-50 features).
  ///   - dimension: model width (512 in the official code).
  ///   - dropout: dropout after each attention's output projection (0.1 official).
  ///   - legacyOutputSlice: `nystrom-attention` 0.0.9's output slicing (keeps the first N rows
  ///     of the front-padded sequence); the authors pinned that version. Default: ≥ 0.0.10.
  ///   - usesPPEG: false for the "without PPEG" ablation.
  ///   - valueResidual: the Nyström attention's depthwise convolution of the values (kernel 33,
  ///     `residual=True` in the official file); false drops it (an experiment, not the paper's model:
  ///     its state dict then lacks `attn.res_conv.weight`).
  ///   - attention: `.nystrom` (official), or the experiments `.exact` (full softmax attention with
  ///     the same parameters and names) and `.multihead` (torch's multi-head attention; `valueResidual`
  ///     and `legacyOutputSlice` do not apply, `dropout` falls on the attention weights).
  public init(
    inputDimension: Int = 1024, dimension: Int = 512, classes: Int = 2, dropout: Float = 0.1,
    legacyOutputSlice: Bool = false, usesPPEG: Bool = true, valueResidual: Bool = true, attention: Attention = .nystrom,
    tokenLayout: TokenLayout = .sequence, using generator: inout RandomGenerator
  ) {
    precondition(dimension % 8 == 0, "TransMIL: dimension \(dimension) must be divisible by 8 heads")
    // Registration order of the official __init__: pos_layer, _fc1, cls_token, layer1, layer2, norm, _fc2.
    posLayer = PPEG(dimension: dimension, using: &generator)
    fc1 = Linear(inputSize: inputDimension, outputSize: dimension, using: &generator)
    clsToken = Tensor.randomNormal([1, 1, dimension], using: &generator, requiresGrad: true)
    layer1 = TransLayer(
      dimension: dimension, dropout: dropout, legacyOutputSlice: legacyOutputSlice, valueResidual: valueResidual,
      attention: attention, using: &generator)
    layer2 = TransLayer(
      dimension: dimension, dropout: dropout, legacyOutputSlice: legacyOutputSlice, valueResidual: valueResidual,
      attention: attention, using: &generator)
    norm = LayerNorm(features: dimension)
    fc2 = Linear(inputSize: dimension, outputSize: classes, using: &generator)
    self.usesPPEG = usesPPEG
    self.tokenLayout = tokenLayout
  }

  /// Logits `[1, classes]` of one bag `[1, N, d]` whose token `i` lies at `positions[i]` of the
  /// slide's tile grid. With `tokenLayout == .slideGrid` PPEG mixes the tokens on that grid and no
  /// padding tokens are added; with `.sequence` the positions are ignored (the official model).
  public func callAsFunction(
    _ bags: Tensor, positions: [GridPosition]?, using generator: inout RandomGenerator
  ) -> Tensor {
    guard tokenLayout == .slideGrid else { return self(bags, using: &generator) }
    guard let positions else { preconditionFailure("TransMIL: the slide-grid layout needs each instance's grid position") }
    precondition(
      bags.rank == 3 && bags.shape[0] == 1 && bags.shape[1] == positions.count,
      "TransMIL: input \(bags.shape) with \(positions.count) positions; expected [1, N, d] and N positions")
    return classHead(tokens: fc1(bags).relu(), using: &generator) { posLayer($0, positions: positions) }
  }

  /// The part both layouts share: the class token first, `layer1`, PPEG (`mix`, when `usesPPEG`),
  /// `layer2`, LayerNorm and the head on the class token's row. `tokens` `[b, T, d]` → `[b, classes]`.
  func classHead(tokens: Tensor, using generator: inout RandomGenerator, mix: (Tensor) -> Tensor) -> Tensor {
    let (b, d) = (tokens.shape[0], tokens.shape[2])
    let cls = clsToken + Tensor.zeros([b, 1, d])  // expand to the batch
    var h = Tensor.concatenate([cls, tokens], axis: 1)
    h = layer1(h, using: &generator)
    if usesPPEG { h = mix(h) }
    h = layer2(h, using: &generator)
    return fc2(norm(h).narrowed(axis: 1, start: 0, length: 1).reshaped([b, d]))
  }

  /// Logits `[b, classes]`; `generator` draws the attention dropout masks in training mode.
  public func callAsFunction(_ bags: Tensor, using generator: inout RandomGenerator) -> Tensor {
    precondition(bags.rank == 3 && bags.shape[1] > 0, "TransMIL: input \(bags.shape); expected [b, N, d]")
    precondition(tokenLayout == .sequence, "TransMIL: the slide-grid layout needs each instance's grid position")
    var h = fc1(bags).relu()  // [b, N, 512]
    let n = h.shape[1]
    let side = Self.gridSide(n)
    let extra = side * side - n
    if extra > 0 { h = Tensor.concatenate([h, h.narrowed(axis: 1, start: 0, length: extra)], axis: 1) }
    return classHead(tokens: h, using: &generator) { posLayer($0, height: side, width: side) }  // 1 + side² tokens
  }

  /// `⌈√N⌉`, computed in integers. `⌈√N⌉² − N ≤ N` for every N ≥ 1, so the first rows always
  /// suffice for the padding, as in the official `h[:, :add_length]`.
  public static func gridSide(_ n: Int) -> Int {
    var s = Int(Double(n).squareRoot().rounded(.up))
    while s * s < n { s += 1 }
    while s > 1 && (s - 1) * (s - 1) >= n { s -= 1 }
    return s
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("cls_token", clsToken)] + prefixed("pos_layer", posLayer) + prefixed("_fc1.0", fc1) + prefixed("layer1", layer1)
      + prefixed("layer2", layer2) + prefixed("norm", norm) + prefixed("_fc2", fc2)
  }
}

extension TransMIL: MILClassifier {
  /// The bag as a batch of one (`[1, N, D]`); TransMIL has no instance scores.
  public func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?) {
    (self(bag.reshaped([1, bag.shape[0], bag.shape[1]]), using: &generator), nil)
  }

  /// With `.slideGrid`, PPEG reads the positions; with `.sequence` they are ignored.
  public func classify(
    _ bag: Tensor, positions: [GridPosition]?, using generator: inout RandomGenerator
  ) -> (logits: Tensor, instanceScores: Tensor?) {
    (self(bag.reshaped([1, bag.shape[0], bag.shape[1]]), positions: positions, using: &generator), nil)
  }
}

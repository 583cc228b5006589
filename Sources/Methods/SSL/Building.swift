import Engine
import NN

/// The backbones the SSL targets train, built from the engine's models.
public enum BackboneKind: Sendable, Equatable {
  /// `ResNet.small` (BasicBlock, CIFAR stem) with these widths, one block per stage.
  case resnetSmall(widths: [Int])
  /// ResNet-18 with the CIFAR stem (3×3 conv, no max-pool), as the MoCo CIFAR demo.
  case resnet18
  /// ViT-tiny (d 192, depth 12, 3 heads) on `imageSize`² with `patchSize`² patches; MoCo v3's
  /// frozen random patch projection when `freezePatchProjection`.
  case vitTiny(imageSize: Int, patchSize: Int, freezePatchProjection: Bool)
  /// The micro Swin with CTransPath's convolutional stem (`SwinTransformer.Configuration.micro`:
  /// d 48, depths 2-2-2-2, 5.1 M parameters) on `imageSize`² views, a multiple of 32: the
  /// data-efficiency study's "tiny Swin with a convolutional stem" at CPU scale.
  case swinMicro(imageSize: Int)

  /// The names `named(_:imageSize:)` accepts, in the order help texts list them.
  public static let names = ["resnet-small", "resnet-small-wide", "resnet18", "vit-tiny", "swin-micro"]

  /// Whether the backbone is a transformer: MoCo v3 then uses the official ViT head layout
  /// (a 3-layer projector, a predictor ending in BN).
  public var isTransformer: Bool {
    switch self {
    case .vitTiny, .swinMicro: true
    case .resnetSmall, .resnet18: false
    }
  }

  /// What is wrong with using this backbone on `imageSize`² views, or nil.
  public static func problem(name: String, imageSize: Int) -> String? {
    guard names.contains(name) else {
      return "expected " + names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
    if name == "swin-micro" && (imageSize % 32 != 0 || imageSize < 32) {
      return "swin-micro needs views whose side is a multiple of 32 (4 × 4 patches, three 2 × 2 merges); imageSize is \(imageSize)"
    }
    return nil
  }

  /// Parses a config value: `resnet-small`, `resnet18`, `vit-tiny`, `swin-micro`.
  public static func named(_ name: String, imageSize: Int) -> BackboneKind? {
    switch name {
    case "resnet-small": return .resnetSmall(widths: [16, 32, 64, 128])
    case "resnet-small-wide": return .resnetSmall(widths: [32, 64, 128, 256])
    case "resnet18": return .resnet18
    case "vit-tiny": return .vitTiny(imageSize: imageSize, patchSize: imageSize / 8, freezePatchProjection: true)
    case "swin-micro": return imageSize % 32 == 0 && imageSize >= 32 ? .swinMicro(imageSize: imageSize) : nil
    default: return nil
    }
  }

  public func make(using generator: inout RandomGenerator) -> Backbone {
    switch self {
    case .resnetSmall(let widths):
      return Backbone(resnet: ResNet.small(widths: widths, numClasses: nil, using: &generator))
    case .resnet18:
      return Backbone(resnet: ResNet.resnet18(numClasses: nil, stem: .cifar, using: &generator))
    case .vitTiny(let size, let patch, let freeze):
      return Backbone(
        vit: VisionTransformer.tiny(
          imageSize: size, patchSize: patch, freezePatchProjection: freeze, using: &generator))
    case .swinMicro(let size):
      return Backbone(swin: SwinTransformer(.micro(imageSize: size, classes: nil, stem: .convolutional), using: &generator))
    }
  }
}

/// An encoder without its classifier: images `[n, 3, h, w]` → features `[n, featureDimension]`.
public final class Backbone: Module {
  let resnet: ResNet?
  let vit: VisionTransformer?
  let swin: SwinTransformer?
  public let featureDimension: Int
  public var isTraining = true {
    didSet {
      resnet?.isTraining = isTraining
      vit?.isTraining = isTraining
      swin?.isTraining = isTraining
    }
  }

  init(resnet: ResNet) {
    self.resnet = resnet
    vit = nil
    swin = nil
    featureDimension = resnet.featureDimension
  }

  init(vit: VisionTransformer) {
    resnet = nil
    self.vit = vit
    swin = nil
    featureDimension = vit.norm.weight.shape[0]
  }

  /// A Swin without stochastic depth (its forward needs no generator).
  init(swin: SwinTransformer) {
    precondition(swin.configuration.dropPathRate == 0, "Backbone: the SSL Swin has no stochastic depth")
    resnet = nil
    vit = nil
    self.swin = swin
    featureDimension = swin.configuration.featureDimension
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    if let resnet { return resnet(x) }
    if let swin { return swin.features(x) }
    return vit!(x)
  }

  /// Splits every batch norm's batch into `splits` groups (see `BatchNorm.splits`): the
  /// single-process stand-in for MoCo's per-GPU BN / Shuffle-BN, as the official CIFAR demo does.
  public func setBatchNormSplits(_ splits: Int) {
    for bn in batchNorms { bn.splits = splits }
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    resnet?.namedParameters ?? swin?.namedParameters ?? vit!.namedParameters
  }

  /// Every batch norm of the encoder: the ResNet's, the Swin's convolutional stem's two; none for
  /// the ViT, which has layer norms only.
  public var batchNorms: [BatchNorm] {
    if let resnet { return resnet.batchNorms }
    if let stem = swin?.patchEmbed as? ConvStem { return [stem.bn1, stem.bn2] }
    return []
  }

  /// Refits the running statistics of every batch norm on `images` `[n, 3, h, w]` in batches of
  /// `batchSize` (`BatchNorm.refitStatistics`), weights unchanged; the backbone ends in evaluation
  /// mode. The no-learning control of the SSL targets.
  public func refitBatchNormStatistics(_ images: Tensor, batchSize: Int) {
    let n = images.shape[0], size = Swift.max(1, batchSize)
    let starts = Array(stride(from: 0, to: n, by: size))
    let norms = batchNorms
    guard !norms.isEmpty else {
      isTraining = false
      return
    }
    BatchNorm.refitStatistics(norms, batches: starts.count) { i in
      _ = self(images.narrowed(axis: 0, start: starts[i], length: Swift.min(size, n - starts[i])))
    }
    isTraining = false
  }
}

/// A multi-layer perceptron head with PyTorch `nn.Sequential` indices as state-dict names.
///
/// Each layer is `Linear` (optionally without bias), then optionally `BatchNorm1d` and `ReLU`;
/// the indices count every module as `nn.Sequential` does (Linear 0, BN 1, ReLU 2, Linear 3 …).
public final class MLPHead: Module {
  public struct Layer: Sendable {
    public var output: Int
    public var bias: Bool
    public var batchNorm: Bool
    /// `affine: false` on this layer's BN (MoCo v3's last BN).
    public var affine: Bool
    /// `center: false`: this layer's BN has a scale but no shift (SimCLR's last BN).
    public var center: Bool
    public var relu: Bool

    public init(
      output: Int, bias: Bool = true, batchNorm: Bool = false, affine: Bool = true, center: Bool = true,
      relu: Bool = false
    ) {
      self.output = output
      self.bias = bias
      self.batchNorm = batchNorm
      self.affine = affine
      self.center = center
      self.relu = relu
    }
  }

  let linears: [Linear]
  let norms: [BatchNorm?]
  let layers: [Layer]
  /// Sequential index of each layer's Linear and BN.
  let indices: [(linear: Int, norm: Int?)]
  public var isTraining = true {
    didSet { for case let n? in norms { n.isTraining = isTraining } }
  }

  public init(input: Int, layers: [Layer], using generator: inout RandomGenerator) {
    var inSize = input
    var linears: [Linear] = []
    var norms: [BatchNorm?] = []
    var indices: [(Int, Int?)] = []
    var index = 0
    for layer in layers {
      linears.append(Linear(inputSize: inSize, outputSize: layer.output, bias: layer.bias, using: &generator))
      let linearIndex = index
      index += 1
      var normIndex: Int? = nil
      if layer.batchNorm {
        norms.append(BatchNorm(features: layer.output, affine: layer.affine, center: layer.center))
        normIndex = index
        index += 1
      } else {
        norms.append(nil)
      }
      if layer.relu { index += 1 }
      indices.append((linearIndex, normIndex))
      inSize = layer.output
    }
    self.linears = linears
    self.norms = norms
    self.layers = layers
    self.indices = indices
  }

  /// MoCo v2's head: `Linear(d, d) → ReLU → Linear(d, out)` (no BN).
  public static func mocoV2(input: Int, output: Int, using generator: inout RandomGenerator) -> MLPHead {
    MLPHead(input: input, layers: [Layer(output: input, relu: true), Layer(output: output)], using: &generator)
  }

  /// MoCo v3's `_build_mlp(num_layers, in, hidden, out, last_bn)`: bias-free Linears, BN + ReLU
  /// after hidden layers, an affine-free BN after the last when `lastBatchNorm`.
  public static func mocoV3(
    layers count: Int, input: Int, hidden: Int, output: Int, lastBatchNorm: Bool, using generator: inout RandomGenerator
  ) -> MLPHead {
    var spec: [Layer] = []
    for l in 0..<count {
      let last = l == count - 1
      spec.append(
        last
          ? Layer(output: output, bias: false, batchNorm: lastBatchNorm, affine: false)
          : Layer(output: hidden, bias: false, batchNorm: true, relu: true))
    }
    return MLPHead(input: input, layers: spec, using: &generator)
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    var h = x
    for (i, layer) in layers.enumerated() {
      h = linears[i](h)
      if let bn = norms[i] { h = bn(h) }
      if layer.relu { h = h.relu() }
    }
    return h
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out: [(name: String, tensor: Tensor)] = []
    for (i, (li, ni)) in indices.enumerated() {
      out += prefixed("\(li)", linears[i])
      if let ni, let bn = norms[i] { out += prefixed("\(ni)", bn) }
    }
    return out
  }
}

/// MoCo's queue of keys (`moco/builder.py`): `[K, d]` rows (the official buffer is `[d, K]`),
/// initialised with normalised Gaussian rows, written first-in first-out at a pointer.
public struct KeyQueue {
  public private(set) var keys: Tensor
  public private(set) var pointer = 0
  public var count: Int { keys.shape[0] }

  public init(size: Int, dimension: Int, using generator: inout RandomGenerator) {
    keys = Tensor.randomNormal([size, dimension], using: &generator).l2Normalized(axis: 1).detached()
  }

  /// Writes `batch` `[b, d]` at the pointer and advances it (wrapping; the official code asserts
  /// K % b == 0, here a batch that crosses the end wraps around).
  public mutating func enqueue(_ batch: Tensor) {
    let (b, d) = (batch.shape[0], batch.shape[1])
    precondition(d == keys.shape[1], "KeyQueue: keys of size \(d) for a queue of \(keys.shape[1])")
    let values = batch.data
    let k = count
    var p = pointer
    keys.update { q in
      for i in 0..<b {
        let row = (p + i) % k
        for j in 0..<d { q[row * d + j] = values[i * d + j] }
      }
    }
    p = (p + b) % k
    pointer = p
  }

  /// Sets the write position (restoring a checkpoint; the keys are restored in place).
  /// - Throws: `TrainingStateError.badValue` unless `0 <= pointer < count`.
  mutating func restorePointer(_ value: Float, name: String = "queue.pointer") throws {
    guard value >= 0, value < Float(count), value.rounded() == value else {
      throw TrainingStateError.badValue(name: name, reason: "\(value) is not a row of a queue of \(count)")
    }
    pointer = Int(value)
  }
}

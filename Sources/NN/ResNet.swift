import Engine

// ResNet (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016) as
// torchvision builds it (`torchvision/models/resnet.py`, v1.5: a bottleneck's stride is on its
// 3×3 conv), with the CIFAR stem of kuangliu/pytorch-cifar and the MoCo CIFAR demo as an option.
// State-dict names, their order and every shape match torchvision's `state_dict()`.

/// A residual block that a `ResNet` stage is made of (`BasicBlock` or `Bottleneck`).
public protocol ResidualBlock: Module {
  /// Output channels per `planes` (1 for `BasicBlock`, 4 for `Bottleneck`).
  static var expansion: Int { get }
  /// Creates a block taking `inputChannels` to `planes · expansion` channels, `stride` on the
  /// spatial conv (and on the 1×1 shortcut, which exists when the stride or the width changes).
  init(inputChannels: Int, planes: Int, stride: Int, using generator: inout RandomGenerator)
  /// `[n, inputChannels, h, w]` → `[n, planes · expansion, ⌈h/stride⌉, ⌈w/stride⌉]`.
  func callAsFunction(_ x: Tensor) -> Tensor
  /// Every batch norm of the block, shortcut included.
  var batchNorms: [BatchNorm] { get }
}

extension ResidualBlock {
  /// The batch norms among `modules` and inside the shortcut.
  func collectBatchNorms(_ modules: [BatchNorm], downsample: Sequential?) -> [BatchNorm] {
    modules + (downsample?.layers.compactMap { $0 as? BatchNorm } ?? [])
  }
}

/// A bias-free convolution initialised as torchvision's ResNet does:
/// `kaiming_normal_(mode='fan_out', nonlinearity='relu')`, i.e. `N(0, 2 / fan_out)` with
/// `fan_out = out · kh · kw`, drawn from `generator` in row-major order.
func kaimingConv(
  _ input: Int, _ output: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
  using generator: inout RandomGenerator
) -> Conv2d {
  Conv2d(
    inputChannels: input, outputChannels: output, kernelSize: (kernel, kernel),
    stride: (stride, stride), padding: (padding, padding), bias: false,
    weightInit: .kaimingNormalFanOut, using: &generator)
}

/// torchvision's shortcut projection `downsample`: `0` a 1×1 conv with `stride`, no bias, and
/// `1` a BatchNorm; nil when the stride is 1 and the width does not change (identity shortcut).
func shortcut(
  _ input: Int, _ output: Int, stride: Int, using generator: inout RandomGenerator
) -> Sequential? {
  guard stride != 1 || input != output else { return nil }
  let conv = kaimingConv(input, output, kernel: 1, stride: stride, using: &generator)
  let bn = BatchNorm(features: output)
  return Sequential([(conv, { conv($0) }), (bn, { bn($0) })])
}

/// ResNet-18/34's block (torchvision `BasicBlock`): two 3×3 convs, the first with the stride,
/// and `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
///
/// State-dict names: `conv1`, `bn1`, `conv2`, `bn2`, then `downsample.0` (conv) and
/// `downsample.1` (BatchNorm) when there is a projection.
public final class BasicBlock: ResidualBlock {
  public static let expansion = 1
  public let conv1: Conv2d
  public let bn1: BatchNorm
  public let conv2: Conv2d
  public let bn2: BatchNorm
  public let downsample: Sequential?
  public var isTraining = true {
    didSet { for child in children { child.isTraining = isTraining } }
  }

  public init(
    inputChannels: Int, planes: Int, stride: Int = 1, using generator: inout RandomGenerator
  ) {
    conv1 = kaimingConv(
      inputChannels, planes, kernel: 3, stride: stride, padding: 1, using: &generator)
    bn1 = BatchNorm(features: planes)
    conv2 = kaimingConv(planes, planes, kernel: 3, padding: 1, using: &generator)
    bn2 = BatchNorm(features: planes)
    downsample = shortcut(inputChannels, planes, stride: stride, using: &generator)
  }

  var children: [any Module] { [conv1, bn1, conv2, bn2] + (downsample.map { [$0] } ?? []) }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    let out = bn1(conv1(x)).relu()  // [n, planes, h/s, w/s]
    let residual = bn2(conv2(out))  // [n, planes, h/s, w/s]
    return (residual + (downsample.map { $0(x) } ?? x)).relu()
  }

  public var batchNorms: [BatchNorm] { collectBatchNorms([bn1, bn2], downsample: downsample) }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("conv1", conv1) + prefixed("bn1", bn1) + prefixed("conv2", conv2)
      + prefixed("bn2", bn2) + (downsample.map { prefixed("downsample", $0) } ?? [])
  }
}

/// ResNet-50/101/152's block (torchvision `Bottleneck`, v1.5): 1×1 reduce to `planes`, 3×3 with
/// the stride, 1×1 expand to `4 · planes`, then `relu(bn3(…) + shortcut(x))`.
///
/// State-dict names: `conv1`, `bn1`, `conv2`, `bn2`, `conv3`, `bn3`, then `downsample.0/1`.
public final class Bottleneck: ResidualBlock {
  public static let expansion = 4
  public let conv1: Conv2d
  public let bn1: BatchNorm
  public let conv2: Conv2d
  public let bn2: BatchNorm
  public let conv3: Conv2d
  public let bn3: BatchNorm
  public let downsample: Sequential?
  public var isTraining = true {
    didSet { for child in children { child.isTraining = isTraining } }
  }

  public init(
    inputChannels: Int, planes: Int, stride: Int = 1, using generator: inout RandomGenerator
  ) {
    let output = planes * Self.expansion
    conv1 = kaimingConv(inputChannels, planes, kernel: 1, using: &generator)
    bn1 = BatchNorm(features: planes)
    conv2 = kaimingConv(planes, planes, kernel: 3, stride: stride, padding: 1, using: &generator)
    bn2 = BatchNorm(features: planes)
    conv3 = kaimingConv(planes, output, kernel: 1, using: &generator)
    bn3 = BatchNorm(features: output)
    downsample = shortcut(inputChannels, output, stride: stride, using: &generator)
  }

  var children: [any Module] {
    [conv1, bn1, conv2, bn2, conv3, bn3] + (downsample.map { [$0] } ?? [])
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    let a = bn1(conv1(x)).relu()  // [n, planes, h, w]
    let b = bn2(conv2(a)).relu()  // [n, planes, h/s, w/s]
    let residual = bn3(conv3(b))  // [n, 4·planes, h/s, w/s]
    return (residual + (downsample.map { $0(x) } ?? x)).relu()
  }

  public var batchNorms: [BatchNorm] { collectBatchNorms([bn1, bn2, bn3], downsample: downsample) }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    prefixed("conv1", conv1) + prefixed("bn1", bn1) + prefixed("conv2", conv2)
      + prefixed("bn2", bn2) + prefixed("conv3", conv3) + prefixed("bn3", bn3)
      + (downsample.map { prefixed("downsample", $0) } ?? [])
  }
}

/// A residual network as torchvision's `ResNet`: stem, stages `layer1…layerK` (the first at
/// stride 1, the others halving the resolution in their first block), global average pooling,
/// and an optional linear classifier `fc`.
///
/// Shapes for `resnet18` with the ImageNet stem on `[n, 3, 224, 224]`: stem `[n, 64, 56, 56]`,
/// `layer1` `[n, 64, 56, 56]`, `layer2` `[n, 128, 28, 28]`, `layer3` `[n, 256, 14, 14]`, `layer4`
/// `[n, 512, 7, 7]`, pooled `[n, 512]`, `fc` `[n, numClasses]`. The CIFAR stem keeps the input
/// resolution (`[n, 3, 32, 32]` → stem `[n, 64, 32, 32]` → `layer4` `[n, 512, 4, 4]`).
///
/// Initialisation as torchvision (`zero_init_residual=False`): convs Kaiming-normal (fan out),
/// BatchNorm weight 1 and bias 0, `fc` PyTorch's default `U(±1/√fan_in)`; all from `generator`.
/// State-dict names and order equal torchvision's (`conv1.weight`, `bn1.*`,
/// `layer1.0.conv1.weight`, …, `fc.weight`, `fc.bias`); `numClasses: nil` omits `fc` (a feature
/// encoder, as SSL methods use).
public final class ResNet: Module {
  /// The input stem.
  public enum Stem: Sendable, Equatable {
    /// 7×7 conv, stride 2, padding 3; BN; ReLU; 3×3 max-pool, stride 2, padding 1 (÷4).
    case imagenet
    /// 3×3 conv, stride 1, padding 1; BN; ReLU; no max-pool (kuangliu/pytorch-cifar, MoCo CIFAR).
    case cifar
  }

  public let stem: Stem
  public let conv1: Conv2d
  public let bn1: BatchNorm
  /// `stages[i]` is `layer{i+1}`; its blocks are named `0`, `1`, ….
  public let stages: [[any ResidualBlock]]
  /// The classifier, or nil for a feature encoder.
  public let fc: Linear?
  /// Channels after global pooling (512 for ResNet-18/34, 2048 for ResNet-50): the input of `fc`.
  public let featureDimension: Int
  public var isTraining = true {
    didSet {
      conv1.isTraining = isTraining
      bn1.isTraining = isTraining
      for block in stages.joined() { block.isTraining = isTraining }
      fc?.isTraining = isTraining
    }
  }

  /// - Parameters:
  ///   - block: `BasicBlock.self` or `Bottleneck.self`.
  ///   - blocksPerStage: blocks in each stage (`[2, 2, 2, 2]` for ResNet-18).
  ///   - widths: `planes` of each stage (torchvision: `[64, 128, 256, 512]`); the stem has
  ///     `widths[0]` channels.
  ///   - numClasses: outputs of `fc`; nil for no classifier.
  public init(
    block: any ResidualBlock.Type, blocksPerStage: [Int], widths: [Int] = [64, 128, 256, 512],
    stem: Stem = .imagenet, numClasses: Int? = 1000, using generator: inout RandomGenerator
  ) {
    precondition(
      !widths.isEmpty && widths.count == blocksPerStage.count
        && blocksPerStage.allSatisfy { $0 > 0 },
      "ResNet: \(blocksPerStage.count) stage sizes for \(widths.count) widths")
    self.stem = stem
    conv1 =
      stem == .imagenet
      ? kaimingConv(3, widths[0], kernel: 7, stride: 2, padding: 3, using: &generator)
      : kaimingConv(3, widths[0], kernel: 3, stride: 1, padding: 1, using: &generator)
    bn1 = BatchNorm(features: widths[0])
    var channels = widths[0]
    var stages: [[any ResidualBlock]] = []
    for (i, (planes, count)) in zip(widths, blocksPerStage).enumerated() {
      var stage: [any ResidualBlock] = []
      for j in 0..<count {
        let stride = i > 0 && j == 0 ? 2 : 1
        stage.append(
          block.init(inputChannels: channels, planes: planes, stride: stride, using: &generator))
        channels = planes * block.expansion
      }
      stages.append(stage)
    }
    self.stages = stages
    featureDimension = channels
    fc = numClasses.map { Linear(inputSize: channels, outputSize: $0, using: &generator) }
  }

  /// ResNet-18: `BasicBlock`, `[2, 2, 2, 2]`, widths 64-128-256-512 (11.7M parameters with a
  /// 1000-way `fc`); features 512-d.
  public static func resnet18(
    numClasses: Int? = 1000, stem: Stem = .imagenet, using generator: inout RandomGenerator
  ) -> ResNet {
    ResNet(
      block: BasicBlock.self, blocksPerStage: [2, 2, 2, 2], stem: stem, numClasses: numClasses,
      using: &generator)
  }

  /// ResNet-50 (v1.5): `Bottleneck`, `[3, 4, 6, 3]`, widths 64-128-256-512 (25.6M parameters
  /// with a 1000-way `fc`); features 2048-d.
  public static func resnet50(
    numClasses: Int? = 1000, stem: Stem = .imagenet, using generator: inout RandomGenerator
  ) -> ResNet {
    ResNet(
      block: Bottleneck.self, blocksPerStage: [3, 4, 6, 3], stem: stem, numClasses: numClasses,
      using: &generator)
  }

  /// A narrow `BasicBlock` ResNet for tests and small experiments (default widths 16-32-64-128,
  /// one block per stage).
  public static func small(
    widths: [Int] = [16, 32, 64, 128], blocksPerStage: Int = 1, numClasses: Int? = 10,
    stem: Stem = .cifar, using generator: inout RandomGenerator
  ) -> ResNet {
    ResNet(
      block: BasicBlock.self, blocksPerStage: Array(repeating: blocksPerStage, count: widths.count),
      widths: widths, stem: stem, numClasses: numClasses, using: &generator)
  }

  /// The pooled features: `[n, 3, h, w]` → `[n, featureDimension]` (the input of `fc`).
  public func features(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4 && x.shape[1] == 3, "ResNet: input \(x.shape); expected [n, 3, h, w]")
    var h = bn1(conv1(x)).relu()  // imagenet: [n, 64, h/2, w/2]; cifar: [n, 64, h, w]
    if stem == .imagenet {
      h = h.maxPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1))  // [n, 64, h/4, w/4]
    }
    for stage in stages {
      for block in stage { h = block(h) }
    }
    // [n, c, h', w'] → [n, c, 1, 1] → [n, c]
    return h.globalAveragePool2d().reshaped([h.shape[0], h.shape[1]])
  }

  /// Logits `[n, numClasses]`, or the features `[n, featureDimension]` when there is no `fc`.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    let f = features(x)
    return fc.map { $0(f) } ?? f
  }

  /// Every batch norm of the network, stem first.
  public var batchNorms: [BatchNorm] { [bn1] + stages.joined().flatMap(\.batchNorms) }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    var out = prefixed("conv1", conv1) + prefixed("bn1", bn1)
    for (i, stage) in stages.enumerated() {
      for (j, block) in stage.enumerated() { out += prefixed("layer\(i + 1).\(j)", block) }
    }
    return out + (fc.map { prefixed("fc", $0) } ?? [])
  }
}

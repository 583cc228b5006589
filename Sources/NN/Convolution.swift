import Engine

/// 2-D convolution layer (PyTorch `nn.Conv2d`): weight `[out, in/groups, kh, kw]`, optional
/// bias `[out]`, both initialised `U(−1/√fan_in, 1/√fan_in)` with `fan_in = in/groups · kh · kw`.
///
/// Shape: `[n, in, h, w]` → `[n, out, h', w']`.
public final class Conv2d: Module, CustomStringConvertible {
  /// How the weight is initialised.
  public enum WeightInit: Sendable {
    /// PyTorch's `nn.Conv2d` default: `U(−1/√fan_in, 1/√fan_in)`.
    case pytorchDefault
    /// torchvision ResNet's `kaiming_normal_(mode="fan_out", nonlinearity="relu")`:
    /// `N(0, √(2/fan_out))`, `fan_out = out · kh · kw`.
    case kaimingNormalFanOut
  }

  public let weight: Tensor
  public let bias: Tensor?
  public let stride: (Int, Int)
  public let padding: (Int, Int)
  public let dilation: (Int, Int)
  public let groups: Int
  public var isTraining = true

  public init(
    inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
    weightInit: WeightInit = .pytorchDefault, using generator: inout RandomGenerator
  ) {
    precondition(inputChannels % groups == 0 && outputChannels % groups == 0, "Conv2d: channels not divisible by groups \(groups)")
    let fanIn = inputChannels / groups * kernelSize.0 * kernelSize.1
    let shape = [outputChannels, inputChannels / groups, kernelSize.0, kernelSize.1]
    switch weightInit {
    case .pytorchDefault:
      weight = Initializer.pytorchDefault(shape, fanIn: fanIn, using: &generator)
    case .kaimingNormalFanOut:
      let std = (2 / Float(outputChannels * kernelSize.0 * kernelSize.1)).squareRoot()
      weight = Tensor.randomNormal(shape, standardDeviation: std, using: &generator, requiresGrad: true)
    }
    self.bias = bias ? Initializer.pytorchDefault([outputChannels], fanIn: fanIn, using: &generator) : nil
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  public var description: String {
    "Conv2d(\(weight.shape[1] * groups), \(weight.shape[0]), kernelSize: (\(weight.shape[2]), \(weight.shape[3])), "
      + "stride: \(stride), padding: \(padding), groups: \(groups), bias: \(bias != nil))"
  }
}

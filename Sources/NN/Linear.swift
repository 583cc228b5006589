import Engine

/// `y = x Wᵀ + b` (PyTorch `nn.Linear`).
///
/// Shape: input `[..., inputSize]` → output `[..., outputSize]`. Parameters `weight`
/// `[outputSize, inputSize]` and `bias` `[outputSize]`, initialised as PyTorch does unless
/// `weightInit` says otherwise.
public final class Linear: Module, CustomStringConvertible {
  /// How the weight and bias are initialised.
  public enum WeightInit: Sendable {
    /// PyTorch's `nn.Linear` default: weight and bias `U(−1/√fan_in, 1/√fan_in)`.
    case pytorchDefault
    /// timm's ViT/Swin `_init_vit_weights`: weight `trunc_normal_(std: σ)` (cut at ±2, absolute),
    /// bias 0.
    case truncatedNormal(standardDeviation: Float)
  }

  public let weight: Tensor
  public let bias: Tensor?
  public var isTraining = true

  public init(
    inputSize: Int, outputSize: Int, bias: Bool = true, weightInit: WeightInit = .pytorchDefault,
    using generator: inout RandomGenerator
  ) {
    switch weightInit {
    case .pytorchDefault:
      weight = Initializer.pytorchDefault([outputSize, inputSize], fanIn: inputSize, using: &generator)
      self.bias = bias ? Initializer.pytorchDefault([outputSize], fanIn: inputSize, using: &generator) : nil
    case .truncatedNormal(let std):
      weight = Initializer.truncatedNormal([outputSize, inputSize], standardDeviation: std, using: &generator)
      self.bias = bias ? Tensor.zeros([outputSize], requiresGrad: true) : nil
    }
  }

  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.linear(weight: weight, bias: bias)
  }

  public var namedParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  public var description: String {
    "Linear(inputSize: \(weight.shape[1]), outputSize: \(weight.shape[0]), bias: \(bias != nil))"
  }
}

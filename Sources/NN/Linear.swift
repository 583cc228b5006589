import Engine

/// `y = x Wᵀ + b` (PyTorch `nn.Linear`).
///
/// Shape: input `[..., inputSize]` → output `[..., outputSize]`. Parameters `weight`
/// `[outputSize, inputSize]` and `bias` `[outputSize]`, initialised as PyTorch does.
public final class Linear: Module, CustomStringConvertible {
  public let weight: Tensor
  public let bias: Tensor?
  public var isTraining = true

  public init(inputSize: Int, outputSize: Int, bias: Bool = true, using generator: inout RandomGenerator) {
    weight = Initializer.pytorchDefault([outputSize, inputSize], fanIn: inputSize, using: &generator)
    self.bias = bias ? Initializer.pytorchDefault([outputSize], fanIn: inputSize, using: &generator) : nil
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

import Engine

/// A layer or model: parameters with PyTorch `state_dict` names, and a train/eval switch.
///
/// Containers list their children's parameters under a prefix (`layer1.0.conv1.weight`), so a
/// state dict saved from the official PyTorch model loads without renaming.
public protocol Module: AnyObject {
  /// Trainable parameters and buffers by state-dict name, in PyTorch's registration order.
  var namedParameters: [(name: String, tensor: Tensor)] { get }
  /// Training mode (dropout active, batch statistics) or evaluation mode.
  var isTraining: Bool { get set }
}

extension Module {
  /// The trainable tensors (those that require gradients).
  public var parameters: [Tensor] { namedParameters.map(\.tensor).filter(\.requiresGrad) }

  /// Clears every parameter's gradient.
  public func zeroGrad() { for p in parameters { p.zeroGrad() } }

  /// Number of trainable scalars.
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

  /// The parameters of `child` with `prefix.` before their names.
  public func prefixed(_ prefix: String, _ child: Module) -> [(name: String, tensor: Tensor)] {
    child.namedParameters.map { ("\(prefix).\($0.name)", $0.tensor) }
  }
}

/// PyTorch's default initialisers, drawn from an explicit generator.
public enum Initializer {
  /// `U(−b, b)` with `b = 1/√fan_in`: what `nn.Linear`/`nn.Conv2d` give weights
  /// (`kaiming_uniform_(a=√5)`) and biases.
  public static func pytorchDefault(_ shape: [Int], fanIn: Int, using generator: inout RandomGenerator) -> Tensor {
    let bound = 1 / Float(Swift.max(fanIn, 1)).squareRoot()
    return Tensor.randomUniform(shape, in: -bound...bound, using: &generator, requiresGrad: true)
  }
}

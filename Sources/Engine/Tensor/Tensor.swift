/// A Float32 tensor: contiguous row-major storage with a shape, and reverse-mode autograd.
///
/// Storage is a Swift array, so tensors that share data (a reshape, a detached copy) share one
/// buffer until one of them is written: copy-on-write. A tensor produced by an operation on inputs
/// that require gradients records its parents and a backward closure written beside its forward
/// (see `Tensor+Autograd.swift`); `backward()` walks that graph in reverse topological order.
///
/// Shapes follow PyTorch: `[]` is a scalar, `[n]` a vector, `[batch, channels, height, width]`
/// for images.
public final class Tensor: @unchecked Sendable {
  /// Sizes of the dimensions, outermost first.
  public let shape: [Int]
  /// Row-major values; `data.count == shape.reduce(1, *)`.
  public internal(set) var data: [Float]
  /// Whether gradients flow to this tensor (parameters, or results of ops on them).
  public internal(set) var requiresGrad: Bool
  /// The accumulated gradient after `backward()` (leaf tensors that require gradients).
  public var grad: Tensor?
  /// How this tensor was computed (nil for leaves and when gradients are off).
  var node: GradNode?

  /// Wraps values. - Precondition: `data.count` equals the product of `shape`.
  public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    precondition(
      data.count == shape.reduce(1, *), "Tensor: \(data.count) values for shape \(shape)")
    self.shape = shape
    self.data = data
    self.requiresGrad = requiresGrad
  }

  /// A scalar.
  public convenience init(_ value: Float, requiresGrad: Bool = false) {
    self.init(shape: [], data: [value], requiresGrad: requiresGrad)
  }

  /// A tensor of one repeated value.
  public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
    self.init(
      shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
  }

  /// Zeros.
  public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
    Tensor(repeating: 0, shape: shape, requiresGrad: requiresGrad)
  }

  /// Ones.
  public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
    Tensor(repeating: 1, shape: shape, requiresGrad: requiresGrad)
  }

  /// Standard-normal samples, drawn from `generator` in row-major order.
  public static func randomNormal(
    _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
    using generator: inout RandomGenerator, requiresGrad: Bool = false
  ) -> Tensor {
    let n = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: n)
    for i in 0..<n { values[i] = mean + standardDeviation * Float(generator.nextGaussian()) }
    return Tensor(shape: shape, data: values, requiresGrad: requiresGrad)
  }

  /// Uniform samples in `range`, drawn from `generator` in row-major order.
  public static func randomUniform(
    _ shape: [Int], in range: ClosedRange<Float>, using generator: inout RandomGenerator,
    requiresGrad: Bool = false
  ) -> Tensor {
    let n = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: n)
    let width = range.upperBound - range.lowerBound
    for i in 0..<n { values[i] = range.lowerBound + width * generator.nextFloat() }
    return Tensor(shape: shape, data: values, requiresGrad: requiresGrad)
  }

  /// Number of elements.
  public var count: Int { data.count }

  /// Number of dimensions.
  public var rank: Int { shape.count }

  /// The value of a one-element tensor.
  public var item: Float {
    precondition(data.count == 1, "item: tensor of shape \(shape) has \(data.count) elements")
    return data[0]
  }

  /// The same values without history: gradients do not flow through the result.
  public func detached() -> Tensor { Tensor(shape: shape, data: data) }

  /// Marks this leaf as a parameter (gradients accumulate into `grad`).
  @discardableResult
  public func requiringGrad(_ flag: Bool = true) -> Tensor {
    precondition(node == nil, "requiringGrad: only leaf tensors can be marked")
    requiresGrad = flag
    return self
  }

  /// Overwrites the values in place (an optimiser step, an EMA update); not recorded by autograd.
  /// - Precondition: `values.count == count`.
  public func assign(_ values: [Float]) {
    precondition(values.count == data.count, "assign: \(values.count) values for shape \(shape)")
    data = values
  }

  /// Applies `update` to the values in place (copy-on-write keeps tensors sharing the buffer intact).
  public func update(_ body: (inout [Float]) -> Void) { body(&data) }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let preview = data.prefix(8).map { String($0) }.joined(separator: ", ")
    return "Tensor(shape: \(shape), [\(preview)\(data.count > 8 ? ", …" : "")]"
      + "\(requiresGrad ? ", requiresGrad" : ""))"
  }
}

/// A recorded operation: its inputs and how to turn the output's gradient into theirs.
final class GradNode {
  let inputs: [Tensor]
  /// Given ∂L/∂output, returns ∂L/∂input for each input (nil where an input needs none).
  let backward: (Tensor) -> [Tensor?]

  init(inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
    self.inputs = inputs
    self.backward = backward
  }
}

/// Whether operations record history (`Tensor.withoutGrad` turns it off). Like PyTorch's grad
/// mode it is per thread (per task), so concurrent work cannot switch it for each other.
public enum GradMode {
  @TaskLocal static var disabled = false

  /// True unless inside `Tensor.withoutGrad`.
  public static var isEnabled: Bool { !disabled }
}

extension Tensor {
  /// Runs `body` without recording history (evaluation, EMA updates, metrics).
  public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$disabled.withValue(true) { try body() }
  }

  /// Records `output` as computed from `inputs` when any input requires gradients.
  /// Every primitive calls this with its backward closure right under its forward.
  @inline(__always)
  static func record(
    _ output: Tensor, _ inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]
  ) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: \.requiresGrad) else { return output }
    output.requiresGrad = true
    output.node = GradNode(inputs: inputs, backward: backward)
    return output
  }

  /// Back-propagates from this tensor, accumulating `∂self/∂leaf` (times `gradient`) into the
  /// `grad` of every leaf that requires gradients.
  /// - Parameter gradient: ∂L/∂self; defaults to 1 for a scalar.
  public func backward(_ gradient: Tensor? = nil) {
    precondition(requiresGrad, "backward: the tensor does not require gradients")
    let seed = gradient ?? {
      precondition(count == 1, "backward: a non-scalar output of shape \(shape) needs a gradient")
      return Tensor.ones(shape)
    }()
    precondition(seed.shape == shape, "backward: gradient shape \(seed.shape) ≠ \(shape)")
    // Reverse topological order by depth-first search (iterative, so deep graphs do not overflow).
    var order: [Tensor] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(Tensor, Bool)] = [(self, false)]
    while let (t, expanded) = stack.popLast() {
      if expanded { order.append(t); continue }
      if !visited.insert(ObjectIdentifier(t)).inserted { continue }
      stack.append((t, true))
      for input in t.node?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
        stack.append((input, false))
      }
    }
    var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
    Tensor.withoutGrad {
      for t in order.reversed() {
        guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
        guard let node = t.node else {
          // A leaf: accumulate.
          t.grad = t.grad.map { Tensor(shape: $0.shape, data: zip($0.data, g.data).map(+)) } ?? g.detached()
          continue
        }
        let inputGrads = node.backward(g)
        for (input, ig) in zip(node.inputs, inputGrads) {
          guard input.requiresGrad, let ig else { continue }
          precondition(ig.shape == input.shape, "backward: gradient \(ig.shape) for input \(input.shape)")
          let key = ObjectIdentifier(input)
          if let existing = grads[key] {
            var sum = existing.data
            ig.data.withUnsafeBufferPointer { src in
              for i in sum.indices { sum[i] += src[i] }
            }
            grads[key] = Tensor(shape: input.shape, data: sum)
          } else {
            grads[key] = ig
          }
        }
      }
    }
  }

  /// Clears the accumulated gradient.
  public func zeroGrad() { grad = nil }
}

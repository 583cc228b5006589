import Engine
import NN

/// One self-supervised method, as the SSL targets drive it: a loss from augmented views, hooks
/// around the optimiser step, and the backbone whose frozen features are evaluated.
public protocol SelfSupervisedMethod: AnyObject {
  /// The encoder whose features kNN and the linear probe evaluate.
  var backbone: Backbone { get }
  /// What the optimiser updates (momentum encoders and memory banks are not in it).
  var trainableParameters: [Tensor] { get }
  /// Train/eval mode of everything with batch norm or dropout.
  func setTraining(_ training: Bool)
  /// The loss of one batch. `views[v]` is view v of the batch `[b, 3, h, w]`; `indices` are the
  /// images' dataset indices (InstDisc's memory bank); `progress` ∈ [0, 1] is the fraction of
  /// training done (momentum schedules). Momentum updates, queue and memory writes happen here,
  /// where the official code does them.
  func loss(views: [Tensor], indices: [Int], progress: Double, using generator: inout RandomGenerator) -> Tensor
  /// After `backward()`, before the optimiser step (SwAV freezes its prototypes here).
  func afterBackward(iteration: Int)
  /// After the optimiser step (SwAV renormalises its prototypes here).
  func afterStep()
  /// Everything training changes, by name: parameters and batch-norm statistics of every encoder
  /// and head (momentum copies included), queues and their pointers, memory banks. Restoring it
  /// into a method built from the same config continues training bit for bit
  /// (`SelfSupervisedMethod+State.swift`).
  var trainingState: [String: Tensor] { get }
  /// Restores a `trainingState` saved from a method of the same config.
  /// - Throws: `TrainingStateError`, changing nothing, when a name is missing or extra or a shape
  ///   differs.
  func restoreTrainingState(_ state: [String: Tensor]) throws
}

extension SelfSupervisedMethod {
  public func afterBackward(iteration: Int) {}
  public func afterStep() {}
}

/// A second copy of some modules updated as an exponential moving average of the first, outside
/// autograd (MoCo's key encoder, MoCo v3's momentum encoder).
public struct MomentumCopy {
  public let online: [Tensor]
  public let target: [Tensor]

  /// `online` and `target` list the same architecture's parameters (trainable ones only; batch
  /// norm running statistics are not averaged, as in the official code). The target starts as a
  /// copy and never requires gradients.
  public init(online: [Tensor], target: [Tensor]) {
    self.online = online
    self.target = target
    for t in target { t.requiringGrad(false) }
    MomentumUpdate.copy(from: online, to: target)
  }

  /// `target ← m·target + (1 − m)·online`.
  public func update(momentum m: Float) { MomentumUpdate.update(target: target, source: online, momentum: m) }

  /// MoCo v3 / BYOL's schedule: m rises from `base` to 1 on a half cosine over training.
  public static func cosineMomentum(base: Float, progress: Double) -> Float {
    Float(1 - 0.5 * (1 + cos(Double.pi * progress)) * Double(1 - base))
  }
}

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

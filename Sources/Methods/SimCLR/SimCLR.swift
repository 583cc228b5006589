import Engine
import NN

/// SimCLR (Chen et al. 2020): one encoder, a projection head, NT-Xent over the 2N views of a
/// batch with the official code's scale (`loss_a + loss_b`). Head as the v1 paper: `Linear(f, f)
/// → BN → ReLU → Linear(f, d) → BN` (BN on every layer as `model_util.py`; the last Linear has no
/// bias and its BN no shift: `linear_layer` builds `BatchNormRelu(center=use_bias)`).
public final class SimCLR: SelfSupervisedMethod {
  public let backbone: Backbone
  public let head: MLPHead
  public let temperature: Float

  public init(
    backbone kind: BackboneKind, dimension: Int = 128, temperature: Float = 0.5, using generator: inout RandomGenerator
  ) {
    backbone = kind.make(using: &generator)
    let f = backbone.featureDimension
    head = MLPHead(
      input: f,
      layers: [
        .init(output: f, bias: true, batchNorm: true, relu: true),
        .init(output: dimension, bias: false, batchNorm: true, center: false),
      ], using: &generator)
    self.temperature = temperature
  }

  public var trainableParameters: [Tensor] { backbone.parameters + head.parameters }

  public func setTraining(_ training: Bool) {
    backbone.isTraining = training
    head.isTraining = training
  }

  public func loss(views: [Tensor], indices: [Int], progress: Double, using generator: inout RandomGenerator) -> Tensor {
    // Both views through the encoder as one batch (global BN over 2N, as `global_bn`).
    let n = views[0].shape[0]
    let z = head(backbone(Tensor.concatenate([views[0], views[1]], axis: 0)))
    return ContrastiveLoss.ntXent(
      z.narrowed(axis: 0, start: 0, length: n), z.narrowed(axis: 0, start: n, length: n), temperature: temperature)
  }
}

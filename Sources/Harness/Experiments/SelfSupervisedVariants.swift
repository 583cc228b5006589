import Engine
import Foundation
import Methods
import Vision

// The six SSL targets' differences from the shared protocol (SelfSupervisedExperiment): method
// keys with the official defaults (each variant's `Config`), augmentation recipe, and the
// comparison arms of the claims.

/// Shared keys of MoCo v1/v2 (`facebookresearch/moco`; CIFAR demo values where the demo differs).
public struct MoCoConfig: MethodConfig, Equatable {
  public var momentum = 0.99
  public var queueSize = 4096
  public var dimension = 128
  public var batchNormSplits = 8
  public var symmetric = false

  public init() {}

  public static let fields: [ConfigField<Self>] = [
    .double("momentum", \.momentum, "key-encoder momentum m (paper 0.999; CIFAR demo 0.99)"),
    .int("queueSize", \.queueSize, "queue length K (paper 65536; CIFAR demo 4096)"),
    .int("dimension", \.dimension, "output dimension of the head"),
    .int("batchNormSplits", \.batchNormSplits, "split batch norm groups (the demo's --bn-splits; 1 = plain BN)"),
    .bool("symmetric", \.symmetric, "the demo's symmetric loss (official: asymmetric)"),
  ]

  func method(_ b: BackboneKind, mlp: Bool, temperature: Double, _ g: inout RandomGenerator) -> MoCo {
    MoCo(
      backbone: b, mlpHead: mlp, dimension: dimension, queueSize: queueSize, momentum: Float(momentum),
      temperature: Float(temperature), symmetric: symmetric, batchNormSplits: batchNormSplits, using: &g)
  }
}

/// MoCo v1's keys: the shared MoCo keys, then the InfoNCE temperature.
public struct MoCoV1Config: MethodConfig, Equatable {
  public var moco = MoCoConfig()
  public var temperature = 0.07
  public var hue = 0.4

  public init() {}

  public static let fields: [ConfigField<Self>] =
    .lifted(MoCoConfig.self, at: \.moco) + [
      .double("temperature", \.temperature, "InfoNCE temperature T"),
      .double(
        "hue", \.hue, "colour-jitter hue strength (official 0.4, as InstDisc; the CIFAR demo and v2 0.1)",
        check: ConfigCheck.hueStrength),
    ]
}

/// MoCo v1: linear head, T = 0.07, the InstDisc augmentation. Arms: m = 0.9 and m = 0.
public enum MoCoV1Variant: SelfSupervisedVariant {
  public typealias Config = MoCoV1Config
  public static let name = "MoCo v1"
  public static func recipe(_ c: Config, size: Int) -> AugmentationRecipe { .mocoV1(size: size, hue: c.hue) }
  public static func make(
    _ c: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using g: inout RandomGenerator
  ) -> SelfSupervisedMethod { c.method.moco.method(backbone, mlp: false, temperature: c.method.temperature, &g) }
  public static func arms(_ c: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)] {
    [("m0_9", c.with { $0.method.moco.momentum = 0.9 }), ("m0", c.with { $0.method.moco.momentum = 0 })]
  }
  /// InfoNCE over the positive and the queue: ln(1 + K).
  public static func chanceLoss(_ c: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double? {
    log(1 + Double(c.method.moco.queueSize))
  }
  public static var derivedMetrics: [MetricInfo] {
    [
      MetricInfo("momentum_gain", .higher, "knn_accuracy (configured m) − knn_accuracy.m0_9"),
      MetricInfo("momentum_zero_gap", .higher, "knn_accuracy − knn_accuracy.m0 (m = 0 should not train)"),
    ]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    var out: [String: Double] = [:]
    if let a = m["knn_accuracy"], let b = m["knn_accuracy.m0_9"] { out["momentum_gain"] = a - b }
    if let a = m["knn_accuracy"], let b = m["knn_accuracy.m0"] { out["momentum_zero_gap"] = a - b }
    return out
  }
}

/// MoCo v2's keys: the shared MoCo keys, then temperature, head and blur.
public struct MoCoV2Config: MethodConfig, Equatable {
  public var moco = MoCoConfig()
  public var temperature = 0.2
  public var mlpHead = true
  public var blurProbability = 0.5

  public init() {}

  public static let fields: [ConfigField<Self>] =
    .lifted(MoCoConfig.self, at: \.moco) + [
      .double("temperature", \.temperature, "InfoNCE temperature T"),
      .bool("mlpHead", \.mlpHead, "MLP head (v2) instead of v1's linear fc"),
      .double(
        "blurProbability", \.blurProbability,
        "probability of aug+'s Gaussian blur, σ ∈ [0.1, 2]·imageSize/224 (0: v1's augmentation)"),
    ]
}

/// MoCo v2: MLP head, T = 0.2, blur in the augmentation, cosine schedule. Arm: v1's recipe
/// (linear head, T = 0.07, no blur) at the same budget.
public enum MoCoV2Variant: SelfSupervisedVariant {
  public typealias Config = MoCoV2Config
  public static let name = "MoCo v2"
  /// aug+ with the blur's σ range scaled to the view: the paper's σ ∈ [0.1, 2] is in pixels of a
  /// 224² view (PIL radius), so a 32² view gets σ ∈ [0.014, 0.29]. Blurring a 32² view with σ up
  /// to 2 px erases most of its texture: with it, the ci profile's MoCo v2 did not beat its
  /// no-learning control in kNN after 480 steps (README, "MoCo v2 at ci").
  public static func recipe(_ c: Config, size: Int) -> AugmentationRecipe {
    let s = Double(size) / 224
    return c.blurProbability > 0
      ? .mocoV2(size: size, blurProbability: c.blurProbability, blurSigma: (0.1 * s)...(2.0 * s)) : .mocoV1(size: size)
  }
  public static func make(
    _ c: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    c.method.moco.method(backbone, mlp: c.method.mlpHead, temperature: c.method.temperature, &g)
  }
  public static func arms(_ c: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)] {
    [
      (
        "v1_recipe",
        c.with {
          $0.method.mlpHead = false
          $0.method.temperature = 0.07
          $0.method.blurProbability = 0
        }
      )
    ]
  }
  /// InfoNCE over the positive and the queue: ln(1 + K).
  public static func chanceLoss(_ c: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double? {
    log(1 + Double(c.method.moco.queueSize))
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("v2_gain_over_v1", .higher, "knn_accuracy − knn_accuracy.v1_recipe")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.v1_recipe"] else { return [:] }
    return ["v2_gain_over_v1": a - b]
  }
}

/// MoCo v3's keys.
public struct MoCoV3Config: MethodConfig, Equatable {
  public var momentum = 0.99
  public var temperature = 0.2
  public var dimension = 256
  public var hidden = 1024
  public var cropMinimumScale = 0.2
  public var sampling = ContrastiveSampling.ops
  public var samplingTopK = 5
  public var samplingWarmupEpochs = 5

  public init() {}

  public static let fields: [ConfigField<Self>] = [
    .double("momentum", \.momentum, "base momentum m₀ (rises to 1 on a cosine)"),
    .double("temperature", \.temperature, "temperature T (official ResNet 1.0, ViT 0.2; solo-learn CIFAR 0.2)"),
    .int("dimension", \.dimension, "output dimension of projector and predictor"),
    .int("hidden", \.hidden, "hidden width of the MLPs (official 4096)"),
    .double("cropMinimumScale", \.cropMinimumScale, "RandomResizedCrop minimum scale (official 0.08; CONFIG.md R50 0.2)"),
    .choice(
      "sampling", \.sampling,
      "positives and negatives of the loss (Lenz et al. 2024's arms; README, \"Sampling rules\"): ops (published), srcl (the nearest keys are extra positives), nsam (the nearest keys leave the negatives)"),
    .int(
      "samplingTopK", \.samplingTopK, "nearest keys per query that srcl / nsam move (CTransPath's SRCL: 5)",
      check: ConfigCheck.nonNegative),
    .int(
      "samplingWarmupEpochs", \.samplingWarmupEpochs, "epochs of plain MoCo v3 before srcl / nsam apply (SRCL: 5)",
      check: ConfigCheck.nonNegative),
  ]
}

/// MoCo v3: projector + predictor, symmetric loss × 2T, momentum m₀ → 1 (cosine), no queue.
/// `--subset 50%` is the data-efficiency check; there is no arm.
public enum MoCoV3Variant: SelfSupervisedVariant {
  public typealias Config = MoCoV3Config
  public static let name = "MoCo v3"
  /// `main_moco.py`: `args.lr = args.lr * args.batch_size / 256`.
  public static let scalesLearningRateWithBatch = true
  /// The BYOL pair with the blur's σ range scaled to the view, as MoCo v2's: the official
  /// σ ∈ [0.1, 2] is in pixels of a 224² view, so a 32² view gets σ ∈ [0.014, 0.29].
  public static func recipe(_ c: Config, size: Int) -> AugmentationRecipe {
    let s = Double(size) / 224
    return .mocoV3(size: size, cropMinimumScale: c.cropMinimumScale, blurSigma: (0.1 * s)...(2.0 * s))
  }
  public static func make(
    _ c: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    let m = c.method
    let model = MoCoV3(
      backbone: backbone, dimension: m.dimension, hidden: m.hidden, baseMomentum: Float(m.momentum),
      temperature: Float(m.temperature), using: &g)
    model.sampling = m.sampling
    model.samplingTopK = m.sampling == .ops ? 0 : m.samplingTopK
    model.samplingStart = c.epochs > 0 ? Double(m.samplingWarmupEpochs) / Double(c.epochs) : 0
    return model
  }
  public static func arms(_ c: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)] {
    [("half_data", c.with { $0.dataFraction = 0.5 * c.dataFraction })]
  }
  /// Two symmetric terms, each cross-entropy over the batch's keys × 2T: 4T·ln(batch).
  public static func chanceLoss(_ c: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double? {
    4 * c.method.temperature * log(Double(batch))
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("half_data_gap", .lower, "knn_accuracy − knn_accuracy.half_data (the pool halved, same epochs)")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.half_data"] else { return [:] }
    return ["half_data_gap": a - b]
  }
}

/// SimCLR's keys.
public struct SimCLRConfig: MethodConfig, Equatable {
  public var temperature = 0.5
  public var dimension = 128
  public var colorStrength = 0.5
  public var blurProbability = 0.0
  public var smallBatch = 32
  public var smallBatchScaling = "linear"

  public init() {}

  /// The small-batch arm's learning rate for a main rate `lr` at batch `batch`: SimCLR's rule
  /// (`learning_rate_scaling` in the official run.py) applied to the ratio of the batches, so the
  /// main model's rate is unchanged: linear lr × b/B (the paper's 0.3 × B/256), sqrt lr × √(b/B),
  /// same: lr.
  public func smallBatchLearningRate(_ lr: Double, batch: Int) -> Double {
    let ratio = Double(smallBatch) / Double(batch)
    switch smallBatchScaling {
    case "sqrt": return lr * ratio.squareRoot()
    case "same": return lr
    default: return lr * ratio
    }
  }

  public static let fields: [ConfigField<Self>] = [
    .double("temperature", \.temperature, "NT-Xent temperature (CIFAR: 0.5)"),
    .int("dimension", \.dimension, "projection dimension"),
    .double("colorStrength", \.colorStrength, "colour-jitter strength s (ImageNet 1.0, CIFAR 0.5)"),
    .double("blurProbability", \.blurProbability, "Gaussian blur probability (ImageNet 0.5, CIFAR 0)"),
    .int("smallBatch", \.smallBatch, "batch of the comparison arm (larger batch helps)"),
    .string(
      "smallBatchScaling", \.smallBatchScaling,
      "the small-batch arm's learning rate from the main one, as SimCLR's learning_rate_scaling: linear (lr × b/B, the paper's Figure 9 rule) | sqrt (lr × √(b/B)) | same",
      check: { v in
        guard case .string(let s) = v, ["linear", "sqrt", "same"].contains(s) else { return "expected linear, sqrt or same" }
        return nil
      }),
  ]
}

/// SimCLR: NT-Xent (official scale), 2-layer head with BN, τ = 0.5 (the CIFAR setting), colour
/// strength 0.5 and no blur on small images as the CIFAR recipe. Arm: a quarter of the batch.
public enum SimCLRVariant: SelfSupervisedVariant {
  public typealias Config = SimCLRConfig
  public static let name = "SimCLR"
  public static func recipe(_ c: Config, size: Int) -> AugmentationRecipe {
    .simCLR(size: size, colorStrength: c.colorStrength, blurProbability: c.blurProbability)
  }
  public static func make(
    _ c: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    SimCLR(backbone: backbone, dimension: c.method.dimension, temperature: Float(c.method.temperature), using: &g)
  }
  public static func arms(_ c: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)] {
    // Same number of images seen: the small batch runs the same epochs (more, smaller steps), at
    // the learning rate SimCLR's scaling rule gives its batch (the paper's Figure 9 protocol).
    [
      ("small_batch", c.with {
        $0.batchSize = c.method.smallBatch
        $0.learningRate = c.method.smallBatchLearningRate(c.learningRate, batch: c.batchSize)
      })
    ]
  }
  /// NT-Xent at the official scale (loss_a + loss_b), each over 2N − 1 candidates: 2·ln(2N − 1).
  public static func chanceLoss(_ c: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double? {
    2 * log(Double(2 * batch - 1))
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("batch_gain", .higher, "knn_accuracy − knn_accuracy.small_batch")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.small_batch"] else { return [:] }
    return ["batch_gain": a - b]
  }
}

/// InstDisc's keys.
public struct InstDiscConfig: MethodConfig, Equatable {
  public var temperature = 0.1
  public var dimension = 128
  public var nceNoise = 0
  public var memoryMomentum = 0.5
  public var parametric = false
  public var hue = 0.4

  public init() {}

  public static let fields: [ConfigField<Self>] = [
    .double("temperature", \.temperature, "softmax temperature τ (CIFAR 0.1)"),
    .int("dimension", \.dimension, "feature dimension (low_dim)"),
    .int("nceNoise", \.nceNoise, "NCE noise samples K; 0 = the full non-parametric softmax"),
    .double("memoryMomentum", \.memoryMomentum, "memory-bank momentum (nce_m)"),
    .bool("parametric", \.parametric, "the parametric-softmax baseline instead"),
    .double(
      "hue", \.hue, "colour-jitter hue strength (official 0.4)", check: ConfigCheck.hueStrength),
  ]

  /// The objective these keys select.
  public var variant: InstDisc.Variant {
    parametric ? .parametric : (nceNoise > 0 ? .nce(noise: nceNoise) : .nonParametric)
  }
}

/// InstDisc: memory bank (m = 0.5), full non-parametric softmax (the CIFAR command, `--nce-k 0`)
/// or NCE with K noise samples; arm: the parametric-softmax baseline.
public enum InstDiscVariant: SelfSupervisedVariant {
  public typealias Config = InstDiscConfig
  public static let name = "InstDisc"
  public static func recipe(_ c: Config, size: Int) -> AugmentationRecipe {
    let r = AugmentationRecipe.instDisc(size: size, flip: false, hue: c.hue)  // CIFAR script: flip commented out
    return AugmentationRecipe(name: r.name, views: [r.views[0]])
  }
  public static func make(
    _ c: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    let m = c.method
    return InstDisc(
      backbone: backbone, dataCount: dataCount, dimension: m.dimension, variant: m.variant,
      temperature: Float(m.temperature), memoryMomentum: Float(m.memoryMomentum), using: &g)
  }
  public static func arms(_ c: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)] {
    c.method.parametric ? [] : [("parametric", c.with { $0.method.parametric = true })]
  }
  /// The (non-)parametric softmax over every instance: ln N; NCE has no such value.
  public static func chanceLoss(_ c: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double? {
    c.method.nceNoise > 0 ? nil : log(Double(dataCount))
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("nonparametric_gain", .higher, "knn_accuracy − knn_accuracy.parametric")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.parametric"] else { return [:] }
    return ["nonparametric_gain": a - b]
  }
}

/// SwAV's keys.
public struct SwAVConfig: MethodConfig, Equatable {
  public var temperature = 0.1
  public var epsilon = 0.05
  public var sinkhornIterations = 3
  public var prototypes = 128
  public var dimension = 128
  public var smallCrops = 4
  public var freezePrototypesEpochs = 1
  public var queueLength = 0
  public var queueStartsEpoch = 15
  public var colorStrength = 1.0
  public var blurProbability = 0.5

  public init() {}

  public static let fields: [ConfigField<Self>] = [
    .double("temperature", \.temperature, "swapped-prediction temperature"),
    .double("epsilon", \.epsilon, "Sinkhorn ε"),
    .int("sinkhornIterations", \.sinkhornIterations, "Sinkhorn iterations"),
    .int("prototypes", \.prototypes, "number of prototypes (ImageNet 3000; lightly CIFAR 512)"),
    .int("dimension", \.dimension, "embedding dimension"),
    .int("smallCrops", \.smallCrops, "small crops V beside the two large ones (ImageNet 6)"),
    .int("freezePrototypesEpochs", \.freezePrototypesEpochs, "epochs with frozen prototypes (official: 1 epoch)"),
    .int("queueLength", \.queueLength, "queue of past embeddings for Sinkhorn (0: none)"),
    .int(
      "queueStartsEpoch", \.queueStartsEpoch, "epoch from which the queue is filled and used (official epoch_queue_starts: 15)",
      check: ConfigCheck.nonNegative),
    .double(
      "colorStrength", \.colorStrength, "colour-jitter strength s: jitter (0.8s, 0.8s, 0.8s, 0.2s) (official 1.0)",
      check: ConfigCheck.between(0, 2.5)),
    .double(
      "blurProbability", \.blurProbability, "Gaussian blur probability on every crop (official 0.5)",
      check: ConfigCheck.between(0, 1)),
  ]
}

/// SwAV: prototypes, Sinkhorn ε = 0.05 × 3, swapped prediction T = 0.1, multi-crop; arm: two
/// crops only.
public enum SwAVVariant: SelfSupervisedVariant {
  public typealias Config = SwAVConfig
  public static let name = "SwAV"
  /// Multi-crop with the blur's σ range scaled by the large view's size over 224 (the official
  /// σ ∈ [0.1, 2] is in pixels of 224² and 96² crops of one image resolution; the small crops
  /// here are resized from the same resolution, so one factor serves both).
  public static func recipe(_ c: Config, size: Int) -> AugmentationRecipe {
    let s = Double(size) / 224
    return .swavMultiCrop(
      large: 2, small: c.smallCrops, sizes: (size, max(8, size / 2)), colorStrength: c.colorStrength,
      blurProbability: c.blurProbability, blurSigma: (0.1 * s)...(2.0 * s))
  }
  public static func make(
    _ c: SelfSupervisedConfig<Config>, backbone: BackboneKind, dataCount: Int, iterations: Int,
    using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    let m = c.method
    let perEpoch = max(1, dataCount / max(1, min(c.batchSize, dataCount)))
    return SwAV(
      backbone: backbone, dimension: m.dimension, prototypeCount: m.prototypes, temperature: Float(m.temperature),
      epsilon: Float(m.epsilon), sinkhornIterations: m.sinkhornIterations,
      freezePrototypesIterations: m.freezePrototypesEpochs * perEpoch, queueLength: m.queueLength,
      queueStartIteration: m.queueStartsEpoch * perEpoch, totalIterations: iterations, using: &g)
  }
  public static func arms(_ c: SelfSupervisedConfig<Config>) -> [(suffix: String, config: SelfSupervisedConfig<Config>)] {
    c.method.smallCrops > 0 ? [("two_crops", c.with { $0.method.smallCrops = 0 })] : []
  }
  /// Swapped prediction of codes over P prototypes: ln P.
  public static func chanceLoss(_ c: SelfSupervisedConfig<Config>, batch: Int, dataCount: Int) -> Double? {
    log(Double(c.method.prototypes))
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("multicrop_gain", .higher, "knn_accuracy − knn_accuracy.two_crops")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.two_crops"] else { return [:] }
    return ["multicrop_gain": a - b]
  }
}

import Engine
import Methods
import Vision

// The six SSL targets' differences from the shared protocol (SelfSupervisedExperiment): method
// keys with the official defaults, augmentation recipe, and the comparison arms of the claims.

private func double(_ name: String, _ value: Double, _ help: String) -> ConfigKey {
  ConfigKey(name, .double, default: .double(value), help)
}

private func int(_ name: String, _ value: Int, _ help: String) -> ConfigKey {
  ConfigKey(name, .int, default: .int(value), help)
}

/// Shared keys of MoCo v1/v2 (`facebookresearch/moco`; CIFAR demo values where the demo differs).
private let mocoKeys: [ConfigKey] = [
  double("momentum", 0.99, "key-encoder momentum m (paper 0.999; CIFAR demo 0.99)"),
  int("queueSize", 4096, "queue length K (paper 65536; CIFAR demo 4096)"),
  int("dimension", 128, "output dimension of the head"),
  int("batchNormSplits", 8, "split batch norm groups (the demo's --bn-splits; 1 = plain BN)"),
  ConfigKey("symmetric", .bool, default: .bool(false), "the demo's symmetric loss (official: asymmetric)"),
]

private func mocoMethod(_ c: ResolvedConfig, _ b: BackboneKind, mlp: Bool, _ g: inout RandomGenerator) -> MoCo {
  MoCo(
    backbone: b, mlpHead: mlp, dimension: c.int("dimension"), queueSize: c.int("queueSize"),
    momentum: Float(c.double("momentum")), temperature: Float(c.double("temperature")),
    symmetric: c.bool("symmetric"), batchNormSplits: c.int("batchNormSplits"), using: &g)
}

/// MoCo v1: linear head, T = 0.07, the InstDisc augmentation. Arms: m = 0.9 and m = 0.
public enum MoCoV1Variant: SelfSupervisedVariant {
  public static let name = "MoCo v1"
  public static var methodSchema: [ConfigKey] { mocoKeys + [double("temperature", 0.07, "InfoNCE temperature T")] }
  public static func recipe(_ c: ResolvedConfig, size: Int) -> AugmentationRecipe { .mocoV1(size: size) }
  public static func make(
    _ c: ResolvedConfig, backbone: BackboneKind, dataCount: Int, iterations: Int, using g: inout RandomGenerator
  ) -> SelfSupervisedMethod { mocoMethod(c, backbone, mlp: false, &g) }
  public static func arms(_ c: ResolvedConfig) -> [(suffix: String, overrides: [String: ConfigValue])] {
    [("m0_9", ["momentum": .double(0.9)]), ("m0", ["momentum": .double(0)])]
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

/// MoCo v2: MLP head, T = 0.2, blur in the augmentation, cosine schedule. Arm: v1's recipe
/// (linear head, T = 0.07, no blur) at the same budget.
public enum MoCoV2Variant: SelfSupervisedVariant {
  public static let name = "MoCo v2"
  public static var methodSchema: [ConfigKey] {
    mocoKeys + [
      double("temperature", 0.2, "InfoNCE temperature T"),
      ConfigKey("mlpHead", .bool, default: .bool(true), "MLP head (v2) instead of v1's linear fc"),
      double("blurProbability", 0.5, "probability of the Gaussian blur (v2's aug+)"),
    ]
  }
  public static func recipe(_ c: ResolvedConfig, size: Int) -> AugmentationRecipe {
    c.double("blurProbability") > 0 ? .mocoV2(size: size, blurProbability: c.double("blurProbability")) : .mocoV1(size: size)
  }
  public static func make(
    _ c: ResolvedConfig, backbone: BackboneKind, dataCount: Int, iterations: Int, using g: inout RandomGenerator
  ) -> SelfSupervisedMethod { mocoMethod(c, backbone, mlp: c.bool("mlpHead"), &g) }
  public static func arms(_ c: ResolvedConfig) -> [(suffix: String, overrides: [String: ConfigValue])] {
    [("v1_recipe", ["mlpHead": .bool(false), "temperature": .double(0.07), "blurProbability": .double(0)])]
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("v2_gain_over_v1", .higher, "knn_accuracy − knn_accuracy.v1_recipe")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.v1_recipe"] else { return [:] }
    return ["v2_gain_over_v1": a - b]
  }
}

/// MoCo v3: projector + predictor, symmetric loss × 2T, momentum m₀ → 1 (cosine), no queue.
/// `--subset 50%` is the data-efficiency check; there is no arm.
public enum MoCoV3Variant: SelfSupervisedVariant {
  public static let name = "MoCo v3"
  public static var methodSchema: [ConfigKey] {
    [
      double("momentum", 0.99, "base momentum m₀ (rises to 1 on a cosine)"),
      double("temperature", 0.2, "temperature T (official ResNet 1.0, ViT 0.2; solo-learn CIFAR 0.2)"),
      int("dimension", 256, "output dimension of projector and predictor"),
      int("hidden", 1024, "hidden width of the MLPs (official 4096)"),
      double("cropMinimumScale", 0.2, "RandomResizedCrop minimum scale (official 0.08; CONFIG.md R50 0.2)"),
    ]
  }
  public static func recipe(_ c: ResolvedConfig, size: Int) -> AugmentationRecipe {
    .mocoV3(size: size, cropMinimumScale: c.double("cropMinimumScale"))
  }
  public static func make(
    _ c: ResolvedConfig, backbone: BackboneKind, dataCount: Int, iterations: Int, using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    MoCoV3(
      backbone: backbone, dimension: c.int("dimension"), hidden: c.int("hidden"),
      baseMomentum: Float(c.double("momentum")), temperature: Float(c.double("temperature")), using: &g)
  }
  public static func arms(_ c: ResolvedConfig) -> [(suffix: String, overrides: [String: ConfigValue])] {
    [("half_data", ["dataFraction": .double(0.5 * c.double("dataFraction"))])]
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("half_data_gap", .lower, "knn_accuracy − knn_accuracy.half_data (the pool halved, same epochs)")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.half_data"] else { return [:] }
    return ["half_data_gap": a - b]
  }
}

/// SimCLR: NT-Xent (official scale), 2-layer head with BN, τ = 0.5 (the CIFAR setting), colour
/// strength 0.5 and no blur on small images as the CIFAR recipe. Arm: a quarter of the batch.
public enum SimCLRVariant: SelfSupervisedVariant {
  public static let name = "SimCLR"
  public static var methodSchema: [ConfigKey] {
    [
      double("temperature", 0.5, "NT-Xent temperature (CIFAR: 0.5)"),
      int("dimension", 128, "projection dimension"),
      double("colorStrength", 0.5, "colour-jitter strength s (ImageNet 1.0, CIFAR 0.5)"),
      double("blurProbability", 0, "Gaussian blur probability (ImageNet 0.5, CIFAR 0)"),
      int("smallBatch", 32, "batch of the comparison arm (larger batch helps)"),
    ]
  }
  public static func recipe(_ c: ResolvedConfig, size: Int) -> AugmentationRecipe {
    .simCLR(size: size, colorStrength: c.double("colorStrength"), blurProbability: c.double("blurProbability"))
  }
  public static func make(
    _ c: ResolvedConfig, backbone: BackboneKind, dataCount: Int, iterations: Int, using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    SimCLR(backbone: backbone, dimension: c.int("dimension"), temperature: Float(c.double("temperature")), using: &g)
  }
  public static func arms(_ c: ResolvedConfig) -> [(suffix: String, overrides: [String: ConfigValue])] {
    // Same number of images seen: the small batch runs the same epochs (more, smaller steps).
    [("small_batch", ["batchSize": .int(c.int("smallBatch"))])]
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("batch_gain", .higher, "knn_accuracy − knn_accuracy.small_batch")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.small_batch"] else { return [:] }
    return ["batch_gain": a - b]
  }
}

/// InstDisc: memory bank (m = 0.5), full non-parametric softmax (the CIFAR command, `--nce-k 0`)
/// or NCE with K noise samples; arm: the parametric-softmax baseline.
public enum InstDiscVariant: SelfSupervisedVariant {
  public static let name = "InstDisc"
  public static var methodSchema: [ConfigKey] {
    [
      double("temperature", 0.1, "softmax temperature τ (CIFAR 0.1)"),
      int("dimension", 128, "feature dimension (low_dim)"),
      int("nceNoise", 0, "NCE noise samples K; 0 = the full non-parametric softmax"),
      double("memoryMomentum", 0.5, "memory-bank momentum (nce_m)"),
      ConfigKey("parametric", .bool, default: .bool(false), "the parametric-softmax baseline instead"),
    ]
  }
  public static func recipe(_ c: ResolvedConfig, size: Int) -> AugmentationRecipe {
    let r = AugmentationRecipe.instDisc(size: size, flip: false)  // CIFAR script: flip commented out
    return AugmentationRecipe(name: r.name, views: [r.views[0]])
  }
  public static func make(
    _ c: ResolvedConfig, backbone: BackboneKind, dataCount: Int, iterations: Int, using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    let variant: InstDisc.Variant =
      c.bool("parametric") ? .parametric : (c.int("nceNoise") > 0 ? .nce(noise: c.int("nceNoise")) : .nonParametric)
    return InstDisc(
      backbone: backbone, dataCount: dataCount, dimension: c.int("dimension"), variant: variant,
      temperature: Float(c.double("temperature")), memoryMomentum: Float(c.double("memoryMomentum")), using: &g)
  }
  public static func arms(_ c: ResolvedConfig) -> [(suffix: String, overrides: [String: ConfigValue])] {
    c.bool("parametric") ? [] : [("parametric", ["parametric": .bool(true)])]
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("nonparametric_gain", .higher, "knn_accuracy − knn_accuracy.parametric")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.parametric"] else { return [:] }
    return ["nonparametric_gain": a - b]
  }
}

/// SwAV: prototypes, Sinkhorn ε = 0.05 × 3, swapped prediction T = 0.1, multi-crop; arm: two
/// crops only.
public enum SwAVVariant: SelfSupervisedVariant {
  public static let name = "SwAV"
  public static var methodSchema: [ConfigKey] {
    [
      double("temperature", 0.1, "swapped-prediction temperature"),
      double("epsilon", 0.05, "Sinkhorn ε"),
      int("sinkhornIterations", 3, "Sinkhorn iterations"),
      int("prototypes", 128, "number of prototypes (ImageNet 3000; lightly CIFAR 512)"),
      int("dimension", 128, "embedding dimension"),
      int("smallCrops", 4, "small crops V beside the two large ones (ImageNet 6)"),
      int("freezePrototypesEpochs", 1, "epochs with frozen prototypes (official: 1 epoch)"),
      int("queueLength", 0, "queue of past embeddings for Sinkhorn (0: none)"),
    ]
  }
  public static func recipe(_ c: ResolvedConfig, size: Int) -> AugmentationRecipe {
    .swavMultiCrop(large: 2, small: c.int("smallCrops"), sizes: (size, max(8, size / 2)))
  }
  public static func make(
    _ c: ResolvedConfig, backbone: BackboneKind, dataCount: Int, iterations: Int, using g: inout RandomGenerator
  ) -> SelfSupervisedMethod {
    let perEpoch = max(1, dataCount / max(1, min(c.int("batchSize"), dataCount)))
    return SwAV(
      backbone: backbone, dimension: c.int("dimension"), prototypeCount: c.int("prototypes"),
      temperature: Float(c.double("temperature")), epsilon: Float(c.double("epsilon")),
      sinkhornIterations: c.int("sinkhornIterations"),
      freezePrototypesIterations: c.int("freezePrototypesEpochs") * perEpoch, queueLength: c.int("queueLength"),
      using: &g)
  }
  public static func arms(_ c: ResolvedConfig) -> [(suffix: String, overrides: [String: ConfigValue])] {
    c.int("smallCrops") > 0 ? [("two_crops", ["smallCrops": .int(0)])] : []
  }
  public static var derivedMetrics: [MetricInfo] {
    [MetricInfo("multicrop_gain", .higher, "knn_accuracy − knn_accuracy.two_crops")]
  }
  public static func derive(_ m: [String: Double]) -> [String: Double] {
    guard let a = m["knn_accuracy"], let b = m["knn_accuracy.two_crops"] else { return [:] }
    return ["multicrop_gain": a - b]
  }
}

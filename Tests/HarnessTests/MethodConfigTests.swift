import Foundation
import Harness
import Testing
import Vision
import _TestSupport

@Suite struct MethodConfigTests {
  @Test func theSchemaIsDerivedFromTheStructsDefaults() {
    let schema = ABMILConfig.schema
    // The shared MIL data keys first, in their order, then ABMIL's own.
    #expect(
      schema.map(\.name) == [
        "encoder", "encoderWeights", "sslEncoder", "encoderInputSize", "encoderStage", "preset", "trainPerClass", "valPerClass", "testPerClass", "slideSide", "matchedBlocks", "proximityDesign", "bootstrap", "permuteLabels",
        "task", "hidden", "attentionDimension", "dropout", "learningRate", "weightDecay", "maxEpochs", "patience", "selectOn",
        "meanPoolingArm", "permutedLabelsArm", "uniformAttention",
      ])
    let byName = Dictionary(uniqueKeysWithValues: schema.map { ($0.name, $0) })
    #expect(byName["hidden"]?.defaultValue == .int(500))
    #expect(byName["learningRate"]?.defaultValue == .double(5e-4))
    #expect(byName["encoder"]?.defaultValue == .string("small"))
    #expect(byName["task"]?.type == .string && byName["dropout"]?.type == .double)
    // A choice's check lists exactly the allowed values.
    #expect(byName["task"]?.check?(.string("survival")) == "expected one of tumour, relational, proximity")
    #expect(byName["encoder"]?.check?(.string("pixels")) == "expected one of small, resnet18, swin-micro, ctranspath")
    #expect(byName["task"]?.check?(.string("relational")) == nil)
  }

  @Test func decodingReadsEveryKeyAndRoundTrips() throws {
    var values = ABMILConfig().resolved.values
    values["hidden"] = .int(7)
    values["learningRate"] = .int(1)  // an integer written for a number reads as that number
    values["task"] = .string("relational")
    values["slideSide"] = .int(512)
    let config = try ABMILConfig(ResolvedConfig(values: values))
    #expect(config.hidden == 7 && config.learningRate == 1.0 && config.task == .relational)
    #expect(config.data.slideSide == 512 && config.data.extraction.slideParameters["minSide"] == "512")
    #expect(try ABMILConfig(config.resolved) == config)
  }

  @Test func errorsNameTheKeyAndTheProperty() {
    var values = ABMILConfig().resolved.values
    values["hidden"] = .string("wide")
    #expect(throws: ConfigDecodingError(key: "hidden", property: "ABMILConfig.hidden", problem: "holds wide, expected an integer")) {
      try ABMILConfig(ResolvedConfig(values: values))
    }
    values = ABMILConfig().resolved.values
    values["bootstrap"] = nil
    #expect(throws: ConfigDecodingError(key: "bootstrap", property: "MILDataConfig.bootstrap", problem: "is missing")) {
      try ABMILConfig(ResolvedConfig(values: values))
    }
    values = ABMILConfig().resolved.values
    values["task"] = .string("survival")  // a valid MILTask, but not one ABMIL classifies
    #expect(throws: ConfigDecodingError.self) { try ABMILConfig(ResolvedConfig(values: values)) }
  }

  // SSL and blur detection: their key tables replaced hand-written schemas, which must read the same.

  /// The resolved config that holds every schema default.
  func schemaDefaults(_ schema: [ConfigKey]) -> ResolvedConfig {
    ResolvedConfig(values: Dictionary(uniqueKeysWithValues: schema.map { ($0.name, $0.defaultValue) }))
  }

  /// The error decoding `values` gives, if any.
  func decodingError<C: MethodConfig>(_: C.Type, _ values: [String: ConfigValue]) -> ConfigDecodingError? {
    do {
      _ = try C(ResolvedConfig(values: values))
      return nil
    } catch {
      return error
    }
  }

  /// The values an arm changes.
  func changed(_ base: ResolvedConfig, _ arm: ResolvedConfig) -> [String: ConfigValue] {
    arm.values.filter { base.values[$0.key] != $0.value }
  }

  @Test func selfSupervisedSchemasListTheCommonKeysThenTheVariants() {
    let common = [
      "backbone", "tileSize", "imageSize", "epochs", "batchSize", "maxTrainImages", "optimizer", "learningRate",
      "weightDecay", "warmupEpochs", "knnK", "knnTemperature", "evalImages", "linearProbe", "dataFraction",
      "identicalViews", "comparisonArms",
    ]
    let moco = ["momentum", "queueSize", "dimension", "batchNormSplits", "symmetric"]
    let expected: [(MethodKind, [String])] = [
      (.mocoV1, common + moco + ["temperature", "hue"]),
      (.mocoV2, common + moco + ["temperature", "mlpHead", "blurProbability"]),
      (.mocoV3, common + ["momentum", "temperature", "dimension", "hidden", "cropMinimumScale", "sampling", "samplingTopK", "samplingWarmupEpochs"]),
      (.simclr, common + ["temperature", "dimension", "colorStrength", "blurProbability", "smallBatch", "smallBatchScaling"]),
      (.instdisc, common + ["temperature", "dimension", "nceNoise", "memoryMomentum", "parametric", "hue"]),
      (
        .swav,
        common + [
          "temperature", "epsilon", "sinkhornIterations", "prototypes", "dimension", "smallCrops",
          "freezePrototypesEpochs", "queueLength", "queueStartsEpoch", "colorStrength", "blurProbability",
        ]
      ),
      (
        .blurDetection,
        ["tiles", "tileSize", "gaussianSigmas", "defocusRadii", "minZero", "edgeThreshold", "bootstrap"]
      ),
    ]
    for (kind, names) in expected { #expect(kind.configSchema.map(\.name) == names, "\(kind)") }

    let v1 = Dictionary(uniqueKeysWithValues: MoCoV1Variant.Config.schema.map { ($0.name, $0) })
    let v2 = Dictionary(uniqueKeysWithValues: SelfSupervisedExperiment<MoCoV2Variant>.schema.map { ($0.name, $0) })
    #expect(v1["temperature"]?.defaultValue == .double(0.07) && v2["temperature"]?.defaultValue == .double(0.2))
    #expect(v2["backbone"]?.defaultValue == .string("resnet-small") && v2["optimizer"]?.defaultValue == .string("sgd"))
    #expect(v2["learningRate"]?.defaultValue == .double(0.06) && v2["dataFraction"]?.defaultValue == .double(1))
    #expect(v2["linearProbe"]?.defaultValue == .bool(true) && v2["queueSize"]?.defaultValue == .int(4096))
    #expect(v2["mlpHead"]?.type == .bool && v2["epochs"]?.type == .int && v2["momentum"]?.type == .double)
    // The checks are the hand-written ones.
    #expect(v2["backbone"]?.check?(.string("vgg")) == "expected resnet-small, resnet-small-wide, resnet18, vit-tiny or swin-micro")
    #expect(v2["backbone"]?.check?(.string("vit-tiny")) == nil)
    #expect(v2["optimizer"]?.check?(.string("adam")) == "expected one of sgd, lars, adamw")
    #expect(v2["dataFraction"]?.check?(.double(0)) == "expected a number in (0, 1]")
    #expect(v2["dataFraction"]?.check?(.int(1)) == nil)
    #expect(v2["epochs"]?.check?(.int(0)) == "expected an integer in 1...100000")

    let blur = Dictionary(uniqueKeysWithValues: BlurDetectionExperiment.schema.map { ($0.name, $0) })
    #expect(blur["gaussianSigmas"]?.defaultValue == .list([0.5, 1, 1.5, 2, 3].map(ConfigValue.double)))
    #expect(blur["defocusRadii"]?.defaultValue == .list([1, 2, 3, 4].map(ConfigValue.double)))
    #expect(blur["edgeThreshold"]?.defaultValue == .double(35) && blur["tiles"]?.defaultValue == .int(64))
    #expect(blur["gaussianSigmas"]?.type == .doubleList)
    #expect(blur["tileSize"]?.check?(.int(8)) == "expected an integer in 16...4096")
    #expect(
      blur["defocusRadii"]?.check?(.list([.double(2), .double(1)])) == "expected positive, strictly increasing numbers")
  }

  @Test func sslAndBlurDefaultsAreTheSchemasDefaults() throws {
    func check<C: MethodConfig & Equatable>(_: C.Type) throws {
      let defaults = schemaDefaults(C.schema)
      #expect(try C(defaults) == C(), "\(C.self)")
      #expect(C().resolved == defaults, "\(C.self)")
    }
    try check(SelfSupervisedConfig<MoCoV1Config>.self)
    try check(SelfSupervisedConfig<MoCoV2Config>.self)
    try check(SelfSupervisedConfig<MoCoV3Config>.self)
    try check(SelfSupervisedConfig<SimCLRConfig>.self)
    try check(SelfSupervisedConfig<InstDiscConfig>.self)
    try check(SelfSupervisedConfig<SwAVConfig>.self)
    try check(BlurDetectionConfig.self)
    // And every value is read into its property.
    var values = SelfSupervisedConfig<SwAVConfig>().resolved.values
    values["optimizer"] = .string("lars")
    values["smallCrops"] = .int(0)
    values["knnTemperature"] = .int(1)  // an integer written for a number reads as that number
    let swav = try SelfSupervisedConfig<SwAVConfig>(ResolvedConfig(values: values))
    #expect(swav.optimizer == .lars && swav.method.smallCrops == 0 && swav.knnTemperature == 1)
    #expect(try BlurDetectionConfig(BlurDetectionConfig().resolved).gaussianSigmas == [0.5, 1, 1.5, 2, 3])
  }

  @Test func sslAndBlurErrorsNameTheKey() {
    typealias V1 = SelfSupervisedConfig<MoCoV1Config>
    var values = V1().resolved.values
    values["epochs"] = .string("ten")
    #expect(
      decodingError(V1.self, values)
        == ConfigDecodingError(
          key: "epochs", property: "SelfSupervisedConfig<MoCoV1Config>.epochs", problem: "holds ten, expected an integer"))
    values = V1().resolved.values
    values["queueSize"] = .double(1.5)  // a lifted key of the shared MoCo group
    #expect(
      decodingError(V1.self, values)
        == ConfigDecodingError(key: "queueSize", property: "MoCoConfig.queueSize", problem: "holds 1.5, expected an integer"))
    values = V1().resolved.values
    values["temperatur"] = values.removeValue(forKey: "temperature")  // a misspelt key leaves the real one missing
    #expect(
      decodingError(V1.self, values)
        == ConfigDecodingError(key: "temperature", property: "MoCoV1Config.temperature", problem: "is missing"))
    values = V1().resolved.values
    values["optimizer"] = .string("adam")
    #expect(decodingError(V1.self, values)?.key == "optimizer")
    var instDisc = SelfSupervisedConfig<InstDiscConfig>().resolved.values
    instDisc["parametric"] = .int(1)
    #expect(decodingError(SelfSupervisedConfig<InstDiscConfig>.self, instDisc)?.property == "InstDiscConfig.parametric")

    values = BlurDetectionConfig().resolved.values
    values["gaussianSigmas"] = .list([.double(1), .string("x")])
    #expect(
      decodingError(BlurDetectionConfig.self, values)
        == ConfigDecodingError(
          key: "gaussianSigmas", property: "BlurDetectionConfig.gaussianSigmas",
          problem: "holds [1.0, x], expected a list of numbers"))
    values = BlurDetectionConfig().resolved.values
    values["tiles"] = nil
    #expect(decodingError(BlurDetectionConfig.self, values)?.key == "tiles")
  }

  /// The arms train the run's config with the values they used to override, and only those.
  @Test func armsChangeOnlyTheirKeys() {
    func arms<V: SelfSupervisedVariant>(_: V.Type, _ change: (inout SelfSupervisedConfig<V.Config>) -> Void = { _ in })
      -> [String: [String: ConfigValue]]
    {
      let base = SelfSupervisedConfig<V.Config>().with(change)
      return Dictionary(uniqueKeysWithValues: V.arms(base).map { ($0.suffix, changed(base.resolved, $0.config.resolved)) })
    }
    #expect(MoCoV1Variant.arms(.init()).map(\.suffix) == ["m0_9", "m0"])
    #expect(arms(MoCoV1Variant.self) == ["m0_9": ["momentum": .double(0.9)], "m0": ["momentum": .double(0)]])
    #expect(
      arms(MoCoV2Variant.self)
        == ["v1_recipe": ["mlpHead": .bool(false), "temperature": .double(0.07), "blurProbability": .double(0)]])
    #expect(arms(MoCoV3Variant.self) == ["half_data": ["dataFraction": .double(0.5)]])
    #expect(arms(MoCoV3Variant.self) { $0.dataFraction = 0.5 } == ["half_data": ["dataFraction": .double(0.25)]])
    // SimCLR's small batch at the paper's linear rule: 0.06 × 32/128 = 0.015; sqrt: 0.06 × √(8/128) = 0.015.
    #expect(arms(SimCLRVariant.self) == ["small_batch": ["batchSize": .int(32), "learningRate": .double(0.015)]])
    #expect(
      arms(SimCLRVariant.self) {
        $0.method.smallBatch = 8
        $0.method.smallBatchScaling = "sqrt"
      } == ["small_batch": ["batchSize": .int(8), "learningRate": .double(0.015)]])
    #expect(arms(SimCLRVariant.self) { $0.method.smallBatchScaling = "same" } == ["small_batch": ["batchSize": .int(32)]])
    #expect(arms(InstDiscVariant.self) == ["parametric": ["parametric": .bool(true)]])
    #expect(arms(InstDiscVariant.self) { $0.method.parametric = true }.isEmpty)
    #expect(arms(SwAVVariant.self) == ["two_crops": ["smallCrops": .int(0)]])
    #expect(arms(SwAVVariant.self) { $0.method.smallCrops = 0 }.isEmpty)
  }

  // MIL: TransMIL, PANTHER and INS replaced hand-written schemas with key tables, which must read the same.

  @Test func milSchemasListTheDataKeysThenTheMethods() {
    let data = [
      "encoder", "encoderWeights", "sslEncoder", "encoderInputSize", "encoderStage", "preset", "trainPerClass", "valPerClass", "testPerClass", "slideSide", "matchedBlocks", "proximityDesign", "bootstrap", "permuteLabels",
    ]
    #expect(
      MethodKind.transmil.configSchema.map(\.name)
        == data + [
          "task", "controlTask", "dimension", "dropout", "legacyOutputSlice", "learningRate", "weightDecay",
          "gradientAccumulation", "maxEpochs", "patience", "selectOn", "arms", "valueResidual", "attention", "ppeg", "tokenLayout",
          "sequenceArm", "abmilHidden", "abmilMLPHidden", "nystromArm", "abmilMaxEpochs", "abmilLearningRate",
          "abmilWeightDecay",
        ])
    #expect(
      MethodKind.panther.configSchema.map(\.name)
        == data + [
          "task", "survival", "prototypes", "armPrototypes", "emSteps", "tau", "priorVariance", "patchesPerPrototype",
          "kmeansIterations", "kmeansRestarts", "epochs", "batchSize", "learningRate", "weightDecay", "warmupEpochs",
          "coxTimes", "timeBins",
        ])
    #expect(
      MethodKind.ins.configSchema.map(\.name)
        == data + [
          "input", "tileSide", "tileEncoder", "tileEncoderInit", "epochs", "warmupEpochs", "batchSize", "learningRate", "momentum",
          "weightDecay", "cosine", "bagWeight", "queueSize", "encoderHidden", "encoderOutput", "lowDimension",
          "keyMomentum", "prototypeMomentum", "temperature", "contrastiveWeight", "viewDropout", "confidenceUpdates", "permutedLabelsArm",
          "abmilArm",
          "abmilEpochs", "abmilPatience",
        ])
    let transmil = Dictionary(uniqueKeysWithValues: TransMILConfig.schema.map { ($0.name, $0) })
    #expect(transmil["task"]?.defaultValue == .string("relational") && transmil["controlTask"]?.defaultValue == .string("tumour"))
    #expect(transmil["dimension"]?.defaultValue == .int(512) && transmil["learningRate"]?.defaultValue == .double(2e-4))
    #expect(transmil["dimension"]?.check?(.int(12)) == "expected a multiple of 8 in 8...4096")
    #expect(transmil["dimension"]?.check?(.int(16)) == nil)
    #expect(transmil["controlTask"]?.check?(.string("survival")) == "expected one of tumour, relational, proximity")
    #expect(transmil["tokenLayout"]?.check?(.string("grid")) == "expected one of sequence, slide-grid")
    let panther = Dictionary(uniqueKeysWithValues: PantherConfig.schema.map { ($0.name, $0) })
    #expect(panther["tau"]?.defaultValue == .double(1) && panther["patchesPerPrototype"]?.defaultValue == .int(100_000))
    #expect(panther["coxTimes"]?.defaultValue == .string("bins") && panther["coxTimes"]?.type == .string)
    #expect(panther["coxTimes"]?.check?(.string("days")) == "expected one of bins, months")
    #expect(panther["armPrototypes"]?.check?(.int(0)) == nil && panther["prototypes"]?.check?(.int(0)) != nil)
    let ins = Dictionary(uniqueKeysWithValues: INSConfig.schema.map { ($0.name, $0) })
    #expect(ins["input"]?.defaultValue == .string("features") && ins["tileEncoder"]?.defaultValue == .string("resnet18"))
    #expect(ins["input"]?.check?(.string("pixels")) == "expected one of features, tiles")
    #expect(ins["tileEncoder"]?.check?(.string("vit-tiny")) != nil && ins["tileEncoder"]?.check?(.string("resnet-small")) == nil)
    #expect(ins["queueSize"]?.defaultValue == .int(8192) && ins["keyMomentum"]?.defaultValue == .double(0.999))
  }

  @Test func milDefaultsAreTheSchemasDefaults() throws {
    func check<C: MethodConfig & Equatable>(_: C.Type) throws {
      let defaults = schemaDefaults(C.schema)
      #expect(try C(defaults) == C(), "\(C.self)")
      #expect(C().resolved == defaults, "\(C.self)")
    }
    try check(TransMILConfig.self)
    try check(PantherConfig.self)
    try check(INSConfig.self)
    // And every value is read into its property.
    var values = PantherConfig().resolved.values
    values["coxTimes"] = .string("months")
    values["tau"] = .int(2)  // an integer written for a number reads as that number
    values["slideSide"] = .int(256)
    let panther = try PantherConfig(ResolvedConfig(values: values))
    #expect(panther.coxTimes == .months && panther.tau == 2 && panther.data.slideSide == 256)
    values = INSConfig().resolved.values
    values["input"] = .string("tiles")
    values["tileEncoder"] = .string("resnet-small")
    let ins = try INSConfig(ResolvedConfig(values: values))
    #expect(ins.input == .tiles && ins.tileEncoder == "resnet-small" && ins.schedule.batchSize == 64)
    values = TransMILConfig().resolved.values
    values["controlTask"] = .string("relational")
    values["arms"] = .bool(false)
    let transmil = try TransMILConfig(ResolvedConfig(values: values))
    #expect(transmil.controlTask == .relational && !transmil.arms && transmil.task == .relational)
    #expect(try TransMILConfig(transmil.resolved) == transmil)
  }

  @Test func milErrorsNameTheKey() {
    var values = TransMILConfig().resolved.values
    values["dimension"] = .string("wide")
    #expect(
      decodingError(TransMILConfig.self, values)
        == ConfigDecodingError(key: "dimension", property: "TransMILConfig.dimension", problem: "holds wide, expected an integer"))
    values = TransMILConfig().resolved.values
    values["controlTask"] = .string("survival")  // a MILTask, but not one the control arms classify
    #expect(decodingError(TransMILConfig.self, values)?.key == "controlTask")
    values = TransMILConfig().resolved.values
    values["abmilHiden"] = values.removeValue(forKey: "abmilHidden")  // a misspelt key leaves the real one missing
    #expect(
      decodingError(TransMILConfig.self, values)
        == ConfigDecodingError(key: "abmilHidden", property: "TransMILConfig.abmilHidden", problem: "is missing"))

    values = PantherConfig().resolved.values
    values["coxTimes"] = .string("days")
    #expect(decodingError(PantherConfig.self, values)?.property == "PantherConfig.coxTimes")
    values = PantherConfig().resolved.values
    values["survival"] = .int(1)
    #expect(
      decodingError(PantherConfig.self, values)
        == ConfigDecodingError(key: "survival", property: "PantherConfig.survival", problem: "holds 1, expected true or false"))
    values = PantherConfig().resolved.values
    values["bootstrap"] = .double(0.5)  // a lifted key of the shared MIL data group
    #expect(decodingError(PantherConfig.self, values)?.property == "MILDataConfig.bootstrap")

    values = INSConfig().resolved.values
    values["queueSize"] = .double(1.5)
    #expect(
      decodingError(INSConfig.self, values)
        == ConfigDecodingError(key: "queueSize", property: "INSConfig.queueSize", problem: "holds 1.5, expected an integer"))
    values = INSConfig().resolved.values
    values["temprature"] = values.removeValue(forKey: "temperature")
    #expect(decodingError(INSConfig.self, values)?.key == "temperature")
    values = INSConfig().resolved.values
    values["input"] = .string("pixels")
    #expect(decodingError(INSConfig.self, values)?.key == "input")
  }
}

@Suite struct SelfSupervisedRecipeTests {
  /// Every step of `recipe`'s views, with `RandomApply` unwrapped.
  func steps(_ recipe: AugmentationRecipe) -> [any ImageAugmentation] {
    recipe.views.flatMap(\.transforms).flatMap { ($0 as? RandomApply)?.transforms ?? [$0] }
  }

  /// The blurs of MoCo v2's aug+ at `size`: σ ranges of every GaussianBlur in its views.
  func blurSigmas(size: Int) -> [ClosedRange<Double>] {
    steps(MoCoV2Variant.recipe(MoCoV2Config(), size: size)).compactMap { ($0 as? GaussianBlur)?.sigma }
  }

  /// The paper's σ ∈ [0.1, 2] is in pixels of a 224² view: MoCo v2 keeps it there and scales it
  /// with the view below (σ up to 2 px on a 32² view erased the texture and stopped learning).
  @Test func mocoV2BlurScalesWithTheView() throws {
    let at224 = blurSigmas(size: 224), at32 = blurSigmas(size: 32)
    #expect(at224.count == 2 && at32.count == 2)
    for s in at224 {
      expectClose(s.lowerBound, 0.1, rtol: 1e-12)
      expectClose(s.upperBound, 2.0, rtol: 1e-12)
    }
    for s in at32 {
      expectClose(s.lowerBound, 0.1 * 32 / 224, rtol: 1e-12)
      expectClose(s.upperBound, 2.0 * 32 / 224, rtol: 1e-12)
    }
  }

  /// The σ ranges of every GaussianBlur in `recipe`'s views.
  func sigmasOf(_ r: AugmentationRecipe) -> [ClosedRange<Double>] { steps(r).compactMap { ($0 as? GaussianBlur)?.sigma } }

  /// MoCo v3 and SwAV scale the blur's σ range to the view as MoCo v2 does: the official range at
  /// 224², 224/32 times smaller at 32² (SwAV's small crops share the large crops' factor).
  @Test func mocoV3AndSwAVBlursScaleWithTheView() {
    for size in [224, 32] {
      let s = Double(size) / 224
      let v3 = sigmasOf(MoCoV3Variant.recipe(MoCoV3Config(), size: size))
      let swav = sigmasOf(SwAVVariant.recipe(SwAVConfig(), size: size))
      #expect(v3.count == 2 && swav.count == 2 + SwAVConfig().smallCrops)
      for r in v3 + swav {
        expectClose(r.lowerBound, 0.1 * s, rtol: 1e-12)
        expectClose(r.upperBound, 2.0 * s, rtol: 1e-12)
      }
    }
  }

  /// SwAV's colour strength and blur probability reach every crop; the defaults are the
  /// official ones (jitter 0.8/0.8/0.8/0.2, blur 0.5), and blur probability 0 drops the blur.
  @Test func swavColourAndBlurKeysReachEveryCrop() throws {
    func jitters(_ r: AugmentationRecipe) -> [ColorJitter] { steps(r).compactMap { $0 as? ColorJitter } }
    func blurProbabilities(_ r: AugmentationRecipe) -> [Double] {
      r.views.flatMap(\.transforms).compactMap { a in
        (a as? RandomApply).flatMap { $0.transforms.contains { $0 is GaussianBlur } ? $0.probability : nil }
      }
    }
    let official = SwAVVariant.recipe(SwAVConfig(), size: 32)
    #expect(jitters(official).count == 6 && jitters(official).allSatisfy { $0.brightness == 0.8 && $0.hue == 0.2 })
    #expect(blurProbabilities(official) == [Double](repeating: 0.5, count: 6))
    var c = SwAVConfig()
    c.colorStrength = 0.5
    c.blurProbability = 0
    let cifar = SwAVVariant.recipe(c, size: 32)
    #expect(jitters(cifar).allSatisfy { $0.brightness == 0.4 && $0.saturation == 0.4 && $0.hue == 0.1 })
    #expect(blurProbabilities(cifar).isEmpty && sigmasOf(cifar).isEmpty)
    // Out-of-range values are refused by the schema's checks, naming the range.
    let keys = Dictionary(uniqueKeysWithValues: SwAVConfig.schema.map { ($0.name, $0) })
    #expect(keys["colorStrength"]?.check?(.double(3)) == "expected a number in [0.0, 2.5]")
    #expect(keys["blurProbability"]?.check?(.double(1.5)) == "expected a number in [0.0, 1.0]")
    #expect(keys["blurProbability"]?.check?(.int(1)) == nil)
  }

  /// The hue strengths of every ColorJitter in `recipe`'s views.
  func hues(_ recipe: AugmentationRecipe) -> [Double] { steps(recipe).compactMap { ($0 as? ColorJitter)?.hue } }

  /// MoCo v1 and InstDisc keep the official hue 0.4 by default; the `hue` key lowers it (their ci
  /// profiles use 0.1: hue 0.4 on stained tissue stopped learning, README "MoCo v1 and InstDisc").
  @Test func hueKeyReachesTheJitter() {
    #expect(hues(MoCoV1Variant.recipe(MoCoV1Config(), size: 32)) == [0.4, 0.4])
    #expect(hues(InstDiscVariant.recipe(InstDiscConfig(), size: 32)) == [0.4])
    var v1 = MoCoV1Config()
    v1.hue = 0.1
    #expect(hues(MoCoV1Variant.recipe(v1, size: 32)) == [0.1, 0.1])
    var id = InstDiscConfig()
    id.hue = 0.1
    #expect(hues(InstDiscVariant.recipe(id, size: 32)) == [0.1])
  }
}

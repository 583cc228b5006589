import Engine
import Evaluation
import Harness
import Methods
import Slides
import Testing
import _TestSupport

/// The generic MIL experiment's bookkeeping: arm metrics kept under their declared names, and the
/// gap metrics derived from the declared gaps.
@Suite struct MILVariantTests {
  @Test func gapsAreDerivedInOrderWhenBothSidesArePresent() {
    var metrics: [String: Double] = ["auc": 0.875, "auc.abmil": 0.625, "control.auc": 0.75, "control.auc.abmil": 0.5]
    MILGap.derive(TransMILVariant.gaps(TransMILConfig()), into: &metrics)
    #expect(metrics["gain_over_abmil"] == 0.25)
    #expect(metrics["control.gain_over_abmil"] == 0.25)
    #expect(metrics["relational_advantage"] == 0)  // a gap of two earlier gaps
    #expect(metrics["ppeg_gain"] == nil)  // no auc.no_ppeg: no gap
    #expect(metrics.count == 7)

    metrics = ["auc": 0.5, "auc.mean_pooling": 0.75]
    MILGap.derive(ABMILVariant.gaps(ABMILConfig()), into: &metrics)
    #expect(metrics["gain_over_mean_pooling"] == -0.25)

    metrics = ["instance_auc": 0.9375, "instance_auc.abmil": 0.6875, "auc": 1]
    MILGap.derive(INSVariant.gaps(INSConfig()), into: &metrics)
    #expect(metrics["instance_auc_gain"] == 0.25)
    #expect(metrics["instance_auc_gain_over_permuted"] == nil)  // no permuted-label arm: no gap
    metrics["instance_auc.permuted_labels"] = 0.9375
    metrics["auc.permuted_labels"] = 0.5
    MILGap.derive(INSVariant.gaps(INSConfig()), into: &metrics)
    #expect(metrics["instance_auc_gain_over_permuted"] == 0 && metrics["auc_gain_over_permuted"] == 0.5)

    // PANTHER's arm suffix follows armPrototypes; the gap names stay those of the claim.
    var panther = PantherConfig()
    panther.armPrototypes = 8
    metrics = ["auc": 0.75, "auc.c8": 0.5, "c_index": 0.625, "c_index.c32": 0.5]
    MILGap.derive(PantherVariant.gaps(panther), into: &metrics)
    #expect(metrics["auc_gap_c16_c32"] == 0.25)
    #expect(metrics["c_index_gap_c16_c32"] == nil)  // c_index.c8 is missing

    metrics = ["a": 3, "b": 1]
    MILGap.derive([MILGap("a_minus_b", "a", minus: "b"), MILGap("twice", "a_minus_b", minus: "b")], into: &metrics)
    #expect(metrics == ["a": 3, "b": 1, "a_minus_b": 2, "twice": 1])
  }

  @Test func armsKeepTheirDeclaredMetricsUnderTheirNames() {
    let outcome: [String: Double] = ["auc": 0.5, "accuracy": 0.75, "epochs": 3]
    // The main model keeps everything under its own name.
    #expect(MILArmPlan.custom("") { MILArm.Outcome(metrics: outcome) }.kept(outcome) == outcome)
    // An arm copies what it declares as <metric>.<label>; a missing one is skipped.
    let arm = MILArmPlan.custom("mean_pooling", copies: ["auc", "instance_auc"]) { MILArm.Outcome(metrics: outcome) }
    #expect(arm.kept(outcome) == ["auc.mean_pooling": 0.5])
    // TransMIL's control arms: a prefix, and a suffix that is not the label.
    let control = MILArmPlan.custom("control.abmil", copies: ["auc"], prefix: "control.", suffix: ".abmil") {
      MILArm.Outcome(metrics: outcome)
    }
    #expect(control.kept(outcome) == ["control.auc.abmil": 0.5])
  }
}

/// Attention weights pooled over bags of different sizes: compared after × N.
@Suite struct InstanceScoreScaleTests {
  /// A 2-instance negative bag at uniform attention and a 4-instance bag whose tumour tile holds
  /// twice the others' weight: the raw weights rank the small bag's tiles first (AUC 0.6), the
  /// weights × N rank the tumour tile first (AUC 1).
  @Test func weightsTimesBagSizeAreComparableAcrossBags() throws {
    let bags = [
      MILBag(slideID: "a", features: Tensor(shape: [2, 1], data: [0, 0]), label: 0, instanceLabels: [0, 0]),
      MILBag(slideID: "b", features: Tensor(shape: [4, 1], data: [0, 0, 0, 0]), label: 1, instanceLabels: [1, 0, 0, 0]),
    ]
    let weights: [[Double]] = [[0.5, 0.5], [0.4, 0.2, 0.2, 0.2]]
    let raw = try #require(MILEvaluation.instanceAUC(scores: weights, bags: bags))
    expectClose(raw, 0.6, rtol: 0, atol: 1e-12)
    let scaled = MILEvaluation.timesBagSize(weights)
    for (actual, expected) in zip(scaled.joined(), [1, 1, 1.6, 0.8, 0.8, 0.8]) {
      expectClose(actual, expected, rtol: 0, atol: 1e-12)
    }
    #expect(MILEvaluation.instanceAUC(scores: scaled, bags: bags) == 1)
    // ABMIL's attention is such a weight; the models without pooling weights keep their scores.
    var g = RandomGenerator(seed: 1)
    #expect(ABMIL(inputDimension: 3, hidden: 4, attentionDimension: 2, using: &g).instanceScoresAreBagWeights)
    #expect(!MeanPoolingMIL(inputDimension: 3, hidden: 4, using: &g).instanceScoresAreBagWeights)
  }
}

/// The tile probe: a linear probe on instance labels, scored on the test instances.
@Suite struct TileProbeTests {
  /// Bags of `n` instances in 4-d, tumour instances shifted by `shift` along the first axis.
  static func bags(_ count: Int, shift: Float, seed: UInt64) -> [MILBag] {
    var g = RandomGenerator(seed: seed)
    return (0..<count).map { b in
      let labels = (0..<12).map { $0 % 3 == 0 ? 1 : 0 }
      let features = labels.flatMap { y in (0..<4).map { j in Float(g.nextGaussian()) + (j == 0 && y == 1 ? shift : 0) } }
      return MILBag(slideID: "s\(b)", features: Tensor(shape: [12, 4], data: features), label: 1, instanceLabels: labels)
    }
  }

  @Test func separableFeaturesScoreNearOneAndNoiseNearChance() throws {
    let separable = try #require(
      MILEvaluation.tileProbeAUC(train: Self.bags(10, shift: 6, seed: 1), test: Self.bags(5, shift: 6, seed: 2)))
    #expect(separable > 0.99)
    let noise = try #require(
      MILEvaluation.tileProbeAUC(train: Self.bags(10, shift: 0, seed: 3), test: Self.bags(5, shift: 0, seed: 4)))
    #expect(abs(noise - 0.5) < 0.15, "\(noise)")
    // The probe finds the direction whatever its sign.
    let flipped = try #require(
      MILEvaluation.tileProbeAUC(train: Self.bags(10, shift: -6, seed: 5), test: Self.bags(5, shift: -6, seed: 6)))
    #expect(flipped > 0.99)
  }

  /// Bags whose instances carry ground-truth kinds: every third a lymphoid aggregate, every
  /// fourth (that is not) necrosis, the rest background. Lymphoid and necrosis tiles are both
  /// shifted along axis 0; `apart` also moves necrosis along axis 1.
  static func kindBags(_ count: Int, apart: Float, seed: UInt64) -> [MILBag] {
    var g = RandomGenerator(seed: seed)
    return (0..<count).map { b in
      let truth = (0..<24).map { i in
        i % 3 == 0 ? TileTruth(tissue: 1, lymphoidAggregate: 0.8) : i % 4 == 0 ? TileTruth(tissue: 1, necrosis: 0.6) : TileTruth(tissue: 1)
      }
      let features = truth.flatMap { t in
        (0..<4).map { j -> Float in
          let rare: Float = t.lymphoidAggregate >= 0.5 || t.necrosis >= 0.5 ? 6 : 0
          return Float(g.nextGaussian()) + (j == 0 ? rare : 0) + (j == 1 && t.necrosis >= 0.5 ? apart : 0)
        }
      }
      return MILBag(
        slideID: "s\(b)", features: Tensor(shape: [24, 4], data: features), label: 1, instanceTruth: truth)
    }
  }

  /// Each kind's probe reads its own instances: lymphoid against necrosis leaves the background
  /// out, so it is at chance when the two look alike even though each stands out from background.
  @Test func kindProbesReadTheGroundTruthKinds() throws {
    let alike = (train: Self.kindBags(12, apart: 0, seed: 11), test: Self.kindBags(6, apart: 0, seed: 12))
    let lymphoid = try #require(MILEvaluation.tileProbeAUC(.lymphoid, train: alike.train, test: alike.test))
    let versus = try #require(MILEvaluation.tileProbeAUC(.lymphoidVsNecrosis, train: alike.train, test: alike.test))
    #expect(lymphoid > 0.65, "\(lymphoid)")
    #expect(abs(versus - 0.5) < 0.15, "\(versus)")
    let apart = (train: Self.kindBags(12, apart: 6, seed: 13), test: Self.kindBags(6, apart: 6, seed: 14))
    for probe in [MILEvaluation.TileProbe.lymphoid, .necrosis, .lymphoidVsNecrosis] {
      let auc = try #require(MILEvaluation.tileProbeAUC(probe, train: apart.train, test: apart.test))
      #expect(auc > 0.99, "\(probe): \(auc)")
    }
    // No instance labels, so no tumour probe; metric names keep the tumour probe's old name.
    #expect(MILEvaluation.tileProbeAUC(.tumour, train: apart.train, test: apart.test) == nil)
    #expect(MILEvaluation.TileProbe.allCases.map(\.metric) == [
      "tile_probe_auc", "tile_probe_auc.lymphoid", "tile_probe_auc.necrosis", "tile_probe_auc.lymphoid_vs_necrosis",
    ])
    // Bags without ground truth (a user's bag folder) have no kind probes.
    #expect(MILEvaluation.tileProbeAUC(.necrosis, train: Self.bags(10, shift: 6, seed: 1), test: Self.bags(5, shift: 6, seed: 2)) == nil)
  }

  /// The task reference reads the probes as the label is made: a slide is relational-positive
  /// only with both kinds, so the rule "min of the two maxima" ranks it, where one kind's maximum
  /// alone cannot; hand-made slides with perfectly separable kinds score 1.
  @Test func probeSlideCeilingReadsTheProbesAsTheLabelIsMade() throws {
    func slide(_ id: String, lymphoid: Bool, necrosis: Bool, seed: UInt64) -> MILBag {
      var g = RandomGenerator(seed: seed)
      var truth = Array(repeating: TileTruth(tissue: 1), count: 20)
      if lymphoid { truth[3] = TileTruth(tissue: 1, lymphoidAggregate: 1) }
      if necrosis { truth[11] = TileTruth(tissue: 1, necrosis: 0.7) }
      var features: [Float] = []
      for t in truth {
        let shift: [Float] = [t.lymphoidAggregate > 0 ? 5 : 0, t.necrosis > 0 ? 5 : 0, 0]
        for j in 0..<3 { features.append(0.3 * Float(g.nextGaussian()) + shift[j]) }
      }
      return MILBag(
        slideID: id, features: Tensor(shape: [20, 3], data: features), label: lymphoid && necrosis ? 1 : 0,
        instanceTruth: truth)
    }
    func set(_ n: Int, seed: UInt64) -> [MILBag] {
      (0..<n).map { (i: Int) -> MILBag in
        let kind = i % 3
        return slide("s\(i)", lymphoid: kind != 1, necrosis: kind != 0, seed: seed &+ UInt64(i))
      }
    }
    let train = set(12, seed: 100), test = set(9, seed: 200)
    #expect(MILEvaluation.probeSlideAUC(task: .relational, train: train, test: test) == 1)
    // One kind's maximum alone: the lymphoid-only slides tie with the positives, so below 1.
    let lymphoid = try #require(MILEvaluation.fitProbe(.lymphoid, on: train))
    let oneKind = try #require(
      Ranking.rocAUC(scores: test.map { lymphoid($0).max() ?? 0 }, positives: test.map { $0.label == 1 }))
    #expect(oneKind < 0.9, "\(oneKind)")
    // Survival has no ceiling rule; bags without ground truth have no relational one.
    #expect(MILEvaluation.probeSlideAUC(task: .survival, train: train, test: test) == nil)
    #expect(MILEvaluation.probeSlideAUC(task: .relational, train: Self.bags(10, shift: 6, seed: 1), test: test) == nil)
    // Tumour: the highest tumour margin per slide (toy bags: every bag positive, so one class: nil).
    #expect(MILEvaluation.probeSlideAUC(task: .tumour, train: Self.bags(10, shift: 6, seed: 1), test: Self.bags(4, shift: 6, seed: 2)) == nil)
  }

  /// Bag size alone: positives with 3 and 5 instances against negatives with 4 and 6 win one of
  /// four pairs, AUC 0.25; one class only gives nil.
  @Test func bagSizeShortcutByHand() {
    func bag(_ n: Int, _ label: Int) -> MILBag {
      MILBag(slideID: "b\(n)", features: Tensor(shape: [n, 1], data: [Float](repeating: 0, count: n)), label: label)
    }
    #expect(MILEvaluation.bagSizeAUC([bag(3, 1), bag(4, 0), bag(5, 1), bag(6, 0)]) == 0.25)
    #expect(MILEvaluation.bagSizeAUC([bag(3, 1), bag(5, 1)]) == nil)
  }

  /// A score that falls as the bag grows correlates −1 with its size whatever the labels; a
  /// constant score, or a single class column, gives nil. By hand: P(1) = 0.9, 0.2, 0.5 for bags
  /// of 3, 6, 4 instances has ranks (3, 1, 2) against (1, 3, 2): ρ = −1.
  @Test func sizeCorrelationByHand() {
    func bag(_ n: Int, _ label: Int) -> MILBag {
      MILBag(slideID: "b\(n)", features: Tensor(shape: [n, 1], data: [Float](repeating: 0, count: n)), label: label)
    }
    let bags = [bag(3, 1), bag(6, 0), bag(4, 1)]
    let falling = [[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]]
    #expect(MILEvaluation.sizeCorrelation(probabilities: falling, bags: bags) == -1)
    #expect(MILEvaluation.sizeCorrelation(probabilities: falling.map { $0.reversed() }, bags: bags) == 1)
    #expect(MILEvaluation.sizeCorrelation(probabilities: Array(repeating: [0.5, 0.5], count: 3), bags: bags) == nil)
    #expect(MILEvaluation.sizeCorrelation(probabilities: [[1], [0], [1]], bags: bags) == nil)
  }

  @Test func noInstanceLabelsOfBothKindsIsNil() {
    var unlabelled = Self.bags(3, shift: 1, seed: 7)
    for i in unlabelled.indices { unlabelled[i].instanceLabels = nil }
    #expect(MILEvaluation.tileProbeAUC(train: unlabelled, test: Self.bags(3, shift: 1, seed: 8)) == nil)
    var negatives = Self.bags(3, shift: 1, seed: 9)
    for i in negatives.indices { negatives[i].instanceLabels = Array(repeating: 0, count: 12) }
    #expect(MILEvaluation.tileProbeAUC(train: Self.bags(3, shift: 1, seed: 10), test: negatives) == nil)
  }
}

import Engine
import Foundation
@testable import Methods
import NN
import Testing
import _TestSupport

/// The SSL losses against hand-computed values, their properties, and a loss-falls check per method.
@Suite struct ContrastiveLossTests {
  let e1 = Tensor(shape: [1, 2], data: [1, 0])

  @Test func infoNCEByHand() {
    // q = k = e₁, one queued key e₂, T = 1: logits [1, 0] → −log(e/(e+1)) = log(1 + e⁻¹).
    let loss = ContrastiveLoss.infoNCE(query: e1, key: e1, queue: Tensor(shape: [1, 2], data: [0, 1]), temperature: 1)
    expectClose(Double(loss.item), Double(Float(log(1 + exp(-1.0)))), rtol: 0, atol: 1e-6)
  }

  @Test func mocoV3ByHand() {
    // q = k = I₂, T = 0.5: logits 2·I, each row −log(e²/(e²+1)), times 2T = 1.
    let i2 = Tensor(shape: [2, 2], data: [1, 0, 0, 1])
    let loss = ContrastiveLoss.mocoV3(query: i2, key: i2, temperature: 0.5)
    expectClose(Double(loss.item), Double(Float(log(1 + exp(-2.0)))), rtol: 0, atol: 1e-6)
  }

  @Test func ntXentByHandAndSymmetric() {
    // Two orthogonal anchors, views equal, T = 1: row logits [1, 0, −10⁹, 0] → log(e + 2) − 1;
    // loss_a + loss_b = 2 (log(e + 2) − 1) (the official code's scale: twice the paper's mean).
    let i2 = Tensor(shape: [2, 2], data: [1, 0, 0, 1])
    let loss = ContrastiveLoss.ntXent(i2, i2, temperature: 1)
    expectClose(Double(loss.item), Double(Float(2 * (log(exp(1.0) + 2) - 1))), rtol: 0, atol: 1e-5)
    // Random inputs against an independent Double reference written as the paper's 2N-row form
    // (SimCLR eq. 1): z = [h₁; h₂] normalised, row i's positive is its other view, every other
    // row a negative; the official code's value is twice the mean over the 2N rows.
    var g = RandomGenerator(seed: 3)
    let a = Tensor.randomNormal([5, 4], using: &g), b = Tensor.randomNormal([5, 4], using: &g)
    expectClose(Double(ContrastiveLoss.ntXent(a, b, temperature: 0.5).item), ntXentReference(a.data, b.data, n: 5, d: 4, t: 0.5), rtol: 1e-5)
    expectClose(Double(ContrastiveLoss.ntXent(b, a, temperature: 0.5).item), ntXentReference(b.data, a.data, n: 5, d: 4, t: 0.5), rtol: 1e-5)
    // MoCo v3 by hand: q = I, k = [[1, 0], [1, 1]] (normalised to [0.7071, 0.7071]), T = 0.5:
    // logits [[2, √2], [0, √2]], CE rows log(1 + e^(√2−2)) and log(1 + e^(−√2)), mean × 2T.
    let v3 = ContrastiveLoss.mocoV3(
      query: Tensor(shape: [2, 2], data: [1, 0, 0, 1]), key: Tensor(shape: [2, 2], data: [1, 0, 1, 1]), temperature: 0.5)
    expectClose(Double(v3.item), 0.330084650060132, rtol: 1e-6)
  }

  @Test func nceByHand() {
    // N = 2 data, K = 1 noise: K·Pn = 0.5. Scores [1, 0.5] → −[log(1/1.5) + log(0.5/1.0)].
    let loss = ContrastiveLoss.nce(scores: Tensor(shape: [1, 2], data: [1, 0.5]), dataCount: 2)
    let expected = -(log(1 / (1.5 + 1e-7)) + log(0.5 / (1.0 + 1e-7)))
    expectClose(Double(loss.item), Double(expected), rtol: 0, atol: 1e-5)
  }

  @Test func nonParametricSoftmaxByHand() {
    // One feature e₁ against a bank [e₁, e₂] with T = 1, own index 0: log(1 + e⁻¹).
    let loss = ContrastiveLoss.nonParametricSoftmax(
      features: e1, memory: Tensor(shape: [2, 2], data: [1, 0, 0, 1]), indices: [0], temperature: 1)
    expectClose(Double(loss.item), Double(Float(log(1 + exp(-1.0)))), rtol: 0, atol: 1e-6)
  }

  @Test func sinkhornMarginals() {
    var g = RandomGenerator(seed: 5)
    let scores = Tensor.randomUniform([6, 4], in: -1...1, using: &g)
    let q = SinkhornKnopp.codes(scores, epsilon: 0.05, iterations: 3)
    // Columns last: every sample's code sums to 1 exactly (rows are only approximate after 3).
    for i in 0..<6 { expectClose(Double((0..<4).reduce(Float(0)) { $0 + q.data[i * 4 + $1] }), 1, rtol: 0, atol: 1e-5) }
    // Many iterations: prototypes get B/K = 1.5 each as well.
    let q200 = SinkhornKnopp.codes(scores, epsilon: 0.05, iterations: 200)
    for j in 0..<4 { expectClose(Double((0..<6).reduce(Float(0)) { $0 + q200.data[$1 * 4 + j] }), 1.5, rtol: 0, atol: 1e-2) }
    // Small ε stays finite (the exponent is shifted by the maximum).
    let sharp = SinkhornKnopp.codes(scores * 40, epsilon: 0.01).data
    #expect(sharp.allSatisfy { $0.isFinite })
  }

  @Test func queueIsFirstInFirstOut() {
    var g = RandomGenerator(seed: 1)
    var queue = KeyQueue(size: 3, dimension: 1, using: &g)
    queue.enqueue(Tensor(shape: [2, 1], data: [10, 11]))
    #expect(queue.pointer == 2 && Array(queue.keys.data[0..<2]) == [10, 11])
    queue.enqueue(Tensor(shape: [2, 1], data: [12, 13]))  // wraps: row 2 then row 0
    #expect(queue.keys.data == [13, 11, 12] && queue.pointer == 1)
  }

  @Test func splitBatchNormEqualsPerGroupBatchNorm() {
    var g = RandomGenerator(seed: 9)
    let x = Tensor.randomNormal([4, 3, 2, 2], using: &g)
    let split = BatchNorm(features: 3)
    split.splits = 2
    let y = split(x)
    // Group 0 = images 0 and 2, group 1 = images 1 and 3 (the demo's view(-1, C·splits, H, W)).
    for group in [[0, 2], [1, 3]] {
      let part = Tensor.concatenate(group.map { x.narrowed(axis: 0, start: $0, length: 1) }, axis: 0)
      let expected = BatchNorm(features: 3)(part)
      for (k, image) in group.enumerated() {
        let got = y.narrowed(axis: 0, start: image, length: 1).data
        let want = expected.narrowed(axis: 0, start: k, length: 1).data
        for (a, b) in zip(got, want) { expectClose(Double(a), Double(b), rtol: 0, atol: 1e-5) }
      }
    }
  }
}

/// Every method's loss falls on a fixed toy problem (16 noisy 16² images, two fixed views).
@Suite struct SelfSupervisedLossFallsTests {
  static let backbone = BackboneKind.resnetSmall(widths: [8, 8, 16, 16])

  func views(_ count: Int, size: Int = 16) -> [Tensor] {
    var g = RandomGenerator(seed: 77)
    let base = Tensor.randomNormal([16, 3, size, size], using: &g)
    return (0..<count).map { _ in base + Tensor.randomNormal([16, 3, size, size], standardDeviation: 0.3, using: &g) }
  }

  func falls(_ method: SelfSupervisedMethod, views: [Tensor], steps: Int = 12, lr: Float = 0.05) -> (Float, Float) {
    let opt = SGD(parameters: method.trainableParameters, learningRate: lr, momentum: 0.9)
    var g = RandomGenerator(seed: 1)
    method.setTraining(true)
    var losses: [Float] = []
    for step in 0..<steps {
      for p in method.trainableParameters { p.zeroGrad() }
      let loss = method.loss(views: views, indices: Array(0..<16), progress: Double(step) / Double(steps), using: &g)
      loss.backward()
      method.afterBackward(iteration: step)
      opt.step()
      method.afterStep()
      losses.append(loss.item)
    }
    let first = losses.prefix(3).reduce(0, +) / 3, last = losses.suffix(3).reduce(0, +) / 3
    return (first, last)
  }

  @Test func mocoV2() {
    var g = RandomGenerator(seed: 2)
    let m = MoCo(backbone: Self.backbone, mlpHead: true, dimension: 16, queueSize: 64, momentum: 0.9, temperature: 0.2, batchNormSplits: 2, using: &g)
    let (a, b) = falls(m, views: views(2))
    #expect(b < a, "MoCo v2 loss \(a) → \(b)")
  }

  @Test func mocoV3() {
    var g = RandomGenerator(seed: 2)
    let m = MoCoV3(backbone: Self.backbone, dimension: 16, hidden: 32, temperature: 0.2, using: &g)
    let (a, b) = falls(m, views: views(2))
    #expect(b < a, "MoCo v3 loss \(a) → \(b)")
  }

  /// The data-efficiency study's backbone: MoCo v3 with the micro Swin (convolutional stem) on
  /// 32² views learns the toy problem too, with the ViT head layout.
  @Test func mocoV3SwinMicro() {
    var g = RandomGenerator(seed: 2)
    let m = MoCoV3(backbone: .swinMicro(imageSize: 32), dimension: 16, hidden: 32, temperature: 0.2, using: &g)
    #expect(m.backbone.featureDimension == 384)
    #expect(m.projector.namedParameters.filter { $0.name.hasSuffix("weight") && $0.tensor.rank == 2 }.count == 3)
    let (a, b) = falls(m, views: views(2, size: 32), steps: 12, lr: 0.02)
    #expect(b < a, "MoCo v3 (swin-micro) loss \(a) → \(b)")
  }

  @Test func simCLR() {
    var g = RandomGenerator(seed: 2)
    let m = SimCLR(backbone: Self.backbone, dimension: 16, temperature: 0.5, using: &g)
    let (a, b) = falls(m, views: views(2))
    #expect(b < a, "SimCLR loss \(a) → \(b)")
  }

  @Test func instDisc() {
    // NCE is left out: with Z fixed on the first batch it approximates the softmax only when the
    // data far outnumber the noise samples (N ≫ K); on 16 images its loss can rise as the
    // features align with the bank. Its value is checked by hand in ContrastiveLossTests.nceByHand.
    for variant in [InstDisc.Variant.nonParametric, .parametric] {
      var g = RandomGenerator(seed: 2)
      let m = InstDisc(backbone: Self.backbone, dataCount: 16, dimension: 16, variant: variant, using: &g)
      let (a, b) = falls(m, views: views(1), lr: 0.01)
      #expect(b < a, "InstDisc \(variant) loss \(a) → \(b)")
    }
  }

  @Test func swav() {
    var g = RandomGenerator(seed: 2)
    let m = SwAV(backbone: Self.backbone, dimension: 16, prototypeCount: 8, freezePrototypesIterations: 2, using: &g)
    let small = views(2, size: 8)
    let (a, b) = falls(m, views: views(2) + small)
    #expect(b < a, "SwAV loss \(a) → \(b)")
    // Prototypes stay unit rows.
    let w = m.prototypes.weight.data
    for r in 0..<8 { expectClose(Double((0..<16).reduce(Float(0)) { $0 + w[r * 16 + $1] * w[r * 16 + $1] }), 1, rtol: 0, atol: 1e-4) }
  }
}

/// NT-Xent in Double over the 2N stacked views, independent of the Tensor code: for row i of
/// z = [h₁; h₂] (rows L2-normalised), ℓᵢ = −log(exp(zᵢ·zⱼ/T) / Σ_{k≠i} exp(zᵢ·z_k/T)) with j the
/// other view of i; returns 2 · mean ℓ (the official code's loss_a + loss_b).
func ntXentReference(_ a: [Float], _ b: [Float], n: Int, d: Int, t: Double) -> Double {
  let rows: [[Double]] = (0..<(2 * n)).map { r in
    let src = r < n ? a : b, o = (r % n) * d
    let v = (0..<d).map { Double(src[o + $0]) }
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
  }
  var total = 0.0
  for i in 0..<(2 * n) {
    let j = i < n ? i + n : i - n
    let sims = (0..<(2 * n)).map { k in zip(rows[i], rows[k]).reduce(0) { $0 + $1.0 * $1.1 } / t }
    let denominator = (0..<(2 * n)).filter { $0 != i }.reduce(0) { $0 + exp(sims[$1]) }
    total += -(sims[j] - log(denominator))
  }
  return 2 * total / Double(2 * n)
}


/// Faithfulness details of the official code that the loss-falls checks cannot see.
@Suite struct SelfSupervisedFaithfulnessTests {
  /// MoCo v3's momentum encoder starts as a copy of every base parameter, the frozen random patch
  /// projection of the ViT included (`param_m.data.copy_(param_b.data)` over all parameters).
  @Test func mocoV3MomentumViTSharesTheFrozenPatchProjection() {
    var g = RandomGenerator(seed: 4)
    let m = MoCoV3(
      backbone: .vitTiny(imageSize: 16, patchSize: 4, freezePatchProjection: true), dimension: 8, hidden: 16,
      temperature: 0.2, using: &g)
    let base = Dictionary(uniqueKeysWithValues: m.backbone.namedParameters.map { ($0.name, $0.tensor.data) })
    let frozen = m.backbone.namedParameters.filter { !$0.tensor.requiresGrad }.map(\.name)
    #expect(frozen.contains("patch_embed.proj.weight"), "frozen: \(frozen)")
    for (name, tensor) in m.momentumBackbone.namedParameters {
      let same = tensor.data == base[name]
      #expect(same, "momentum encoder's \(name) differs from the base encoder's")
    }
  }

  /// The Swin backbone's only batch norms are its convolutional stem's two; the no-learning
  /// control's refit reaches them (their running statistics leave 0/1) and nothing else changes.
  @Test func swinBackboneRefitsItsStemBatchNorms() {
    var g = RandomGenerator(seed: 5)
    let backbone = BackboneKind.swinMicro(imageSize: 32).make(using: &g)
    #expect(backbone.batchNorms.count == 2)
    let weights = backbone.namedParameters.filter { !$0.name.contains("running") && !$0.name.contains("num_batches") }
      .map(\.tensor.data)
    let images = Tensor.randomNormal([6, 3, 32, 32], standardDeviation: 2, using: &g) + 1
    backbone.refitBatchNormStatistics(images, batchSize: 3)
    #expect(!backbone.isTraining)
    for bn in backbone.batchNorms {
      #expect(bn.runningMean.data.contains { abs($0) > 1e-3 } && bn.runningVar.data.contains { abs($0 - 1) > 1e-3 })
    }
    let after = backbone.namedParameters.filter { !$0.name.contains("running") && !$0.name.contains("num_batches") }
      .map(\.tensor.data)
    #expect(after == weights)
  }

  @Test func swinMicroNeedsViewsOfMultiplesOf32() {
    #expect(BackboneKind.named("swin-micro", imageSize: 64) == .swinMicro(imageSize: 64))
    #expect(BackboneKind.named("swin-micro", imageSize: 48) == nil)
    #expect(BackboneKind.problem(name: "swin-micro", imageSize: 48)?.contains("multiple of 32") == true)
    #expect(BackboneKind.problem(name: "swin-micro", imageSize: 32) == nil)
    #expect(BackboneKind.problem(name: "vgg", imageSize: 32)?.contains("swin-micro") == true)
  }

  /// SimCLR's last head BN scales but does not shift (`BatchNormRelu(center=use_bias)` with
  /// `use_bias=False`); the hidden layer's BN has both.
  @Test func simCLRLastBatchNormHasNoShift() {
    var g = RandomGenerator(seed: 4)
    let m = SimCLR(backbone: .resnetSmall(widths: [8, 8, 16, 16]), dimension: 8, using: &g)
    let names = m.head.namedParameters.map(\.name)
    #expect(names.contains("1.weight") && names.contains("1.bias"), "\(names)")
    #expect(names.contains("4.weight") && !names.contains("4.bias"), "\(names)")
  }

  /// SwAV's queue exists only from `epoch_queue_starts` on: before that iteration the batch alone
  /// goes to Sinkhorn and nothing is queued; from it on, embeddings are queued.
  @Test func swavQueueStartsAtItsEpoch() {
    var g = RandomGenerator(seed: 4)
    let m = SwAV(
      backbone: .resnetSmall(widths: [8, 8, 16, 16]), dimension: 8, prototypeCount: 6, freezePrototypesIterations: 0,
      queueLength: 8, queueStartIteration: 2, totalIterations: 4, using: &g)
    var v = RandomGenerator(seed: 5)
    let views = (0..<2).map { _ in Tensor.randomNormal([4, 3, 16, 16], using: &v) }
    for iteration in 0..<4 {
      _ = m.loss(views: views, indices: Array(0..<4), progress: Double(iteration) / 4, using: &g)
      let queued = m.queues.map(\.count).reduce(0, +)
      if iteration < 2 {
        #expect(queued == 0, "iteration \(iteration): \(queued) values queued before the queue starts")
      } else {
        #expect(queued > 0, "iteration \(iteration): nothing queued")
      }
    }
  }

  /// MoCo with split BN computes keys on a shuffled batch (Shuffle-BN, the CIFAR demo's
  /// `_batch_shuffle_single_gpu`). Without the shuffle, split BN puts images i and i + 2k in one
  /// group for 2 splits, so image 0's key never depends on image 1; with it, some permutations
  /// put them in one group. Each key still belongs to its own image (rows come back in order).
  @Test func mocoKeysComeFromAShuffledBatch() {
    var g = RandomGenerator(seed: 4)
    let m = MoCo(
      backbone: .resnetSmall(widths: [8, 8, 16, 16]), mlpHead: true, dimension: 8, queueSize: 16, momentum: 0.99,
      temperature: 0.2, batchNormSplits: 2, using: &g)
    m.setTraining(true)
    var v = RandomGenerator(seed: 5)
    let x = Tensor.randomNormal([8, 3, 16, 16], using: &v)
    var changed = x.data
    for j in (3 * 16 * 16)..<(2 * 3 * 16 * 16) { changed[j] += 1 }  // image 1 only
    let y = Tensor(shape: x.shape, data: changed)
    var imageZeroDependsOnImageOne = false
    for seed in 0..<8 {
      var g1 = RandomGenerator(seed: UInt64(seed)), g2 = RandomGenerator(seed: UInt64(seed))
      let a = m.key(x, using: &g1), b = m.key(y, using: &g2)
      if a.data.prefix(8) != b.data.prefix(8) { imageZeroDependsOnImageOne = true }
    }
    #expect(imageZeroDependsOnImageOne, "image 0's key never saw image 1: the key batch is not shuffled")
    // Rows come back in image order: in evaluation mode (running statistics, no batch effect) the
    // shuffled keys equal the keys of the batch as given, row for row.
    m.setTraining(false)
    var g3 = RandomGenerator(seed: 1)
    let direct = Tensor.withoutGrad { m.keyHead(m.keyBackbone(x)).l2Normalized(axis: 1) }
    expectClose(m.key(x, using: &g3).data, direct.data, rtol: 1e-5, atol: 1e-6)
  }
}


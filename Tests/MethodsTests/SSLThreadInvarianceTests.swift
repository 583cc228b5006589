import Engine
import Methods
import NN
import Testing

/// Same seed and build give the same bits at any thread count, for whole SSL training steps
/// (heads, split batch norm, queues, shuffles): the loss and every gradient after one step, and
/// every parameter after three.
@Suite(.serialized) struct SSLThreadInvarianceTests {
  func bits(threads: Int, _ build: (inout RandomGenerator) -> SelfSupervisedMethod) -> [UInt32] {
    Parallel.setThreadCount(threads)
    BLAS.setThreadCount(threads)
    defer {
      Parallel.setThreadCount(1)
      BLAS.setThreadCount(1)
    }
    var g = RandomGenerator(seed: 21)
    let method = build(&g)
    let base = Tensor.randomNormal([16, 3, 16, 16], using: &g)
    let views = (0..<2).map { _ in base + Tensor.randomNormal([16, 3, 16, 16], standardDeviation: 0.3, using: &g) }
    let opt = SGD(parameters: method.trainableParameters, learningRate: 0.05, momentum: 0.9)
    method.setTraining(true)
    var out: [UInt32] = []
    for step in 0..<3 {
      for p in method.trainableParameters { p.zeroGrad() }
      let loss = method.loss(views: views, indices: Array(0..<16), progress: Double(step) / 3, using: &g)
      loss.backward()
      out.append(loss.item.bitPattern)
      if step == 0 { for p in method.trainableParameters { out += (p.grad?.data ?? []).map(\.bitPattern) } }
      method.afterBackward(iteration: step)
      opt.step()
      method.afterStep()
    }
    for p in method.trainableParameters { out += p.data.map(\.bitPattern) }
    return out
  }

  func expectInvariant(_ name: String, _ build: (inout RandomGenerator) -> SelfSupervisedMethod) {
    let reference = bits(threads: 1, build)
    for threads in [2, 3] {
      let other = bits(threads: threads, build)
      let differing = zip(other, reference).filter { $0 != $1 }.count + abs(other.count - reference.count)
      #expect(differing == 0, "\(name): \(differing) of \(reference.count) values differ at \(threads) threads")
    }
  }

  static let backbone = BackboneKind.resnetSmall(widths: [8, 8, 16, 16])

  @Test func mocoV2() {
    expectInvariant("moco-v2") { g in
      MoCo(backbone: Self.backbone, mlpHead: true, dimension: 16, queueSize: 64, momentum: 0.9, temperature: 0.2, batchNormSplits: 2, using: &g)
    }
  }

  /// The smoke profile's sizes: resnet-small 16-32-64-128, a 128-d head, a queue of 64.
  @Test func mocoV2AtSmokeSizes() {
    expectInvariant("moco-v2 smoke") { g in
      MoCo(backbone: .resnetSmall(widths: [16, 32, 64, 128]), mlpHead: true, dimension: 128, queueSize: 64, momentum: 0.999, temperature: 0.2, batchNormSplits: 2, using: &g)
    }
  }

  @Test func mocoV3() {
    expectInvariant("moco-v3") { g in MoCoV3(backbone: Self.backbone, dimension: 16, hidden: 32, temperature: 0.2, using: &g) }
  }
}

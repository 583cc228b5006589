import Engine
import NN
import Testing

/// Same seed and build give the same bits at any thread count: a training step's loss and every
/// parameter gradient of the networks the SSL and MIL targets train, at 1, 2, 3 and 5 threads.
/// (Until 2026-12 the per-image convolution backward cut the batch by the thread count, so every
/// SSL run's bits depended on `--threads`.)
@Suite(.serialized) struct ThreadInvarianceTests {
  /// The loss's bits and every gradient's bits after one forward/backward at `threads`.
  func step(threads: Int, _ build: (inout RandomGenerator) -> (any Module, (Tensor) -> Tensor), input shape: [Int])
    -> [UInt32]
  {
    Parallel.setThreadCount(threads)
    BLAS.setThreadCount(threads)
    defer {
      Parallel.setThreadCount(1)
      BLAS.setThreadCount(1)
    }
    var g = RandomGenerator(seed: 11)
    let (model, forward) = build(&g)
    let x = Tensor.randomNormal(shape, using: &g)
    let logits = forward(x)
    let labels = (0..<shape[0]).map { $0 % logits.shape[1] }
    let loss = Loss.crossEntropy(logits: logits, labels: labels)
    loss.backward()
    var bits = [loss.item.bitPattern]
    for p in model.parameters { bits += (p.grad?.data ?? []).map(\.bitPattern) }
    return bits
  }

  func expectInvariant(_ name: String, input: [Int], _ build: (inout RandomGenerator) -> (any Module, (Tensor) -> Tensor)) {
    let reference = step(threads: 1, build, input: input)
    #expect(reference.count > 1000, "\(name): gradients were computed")
    for threads in [2, 3, 5] {
      let bits = step(threads: threads, build, input: input)
      let differing = zip(bits, reference).filter { $0 != $1 }.count + abs(bits.count - reference.count)
      #expect(differing == 0, "\(name): \(differing) of \(reference.count) values differ at \(threads) threads")
    }
  }

  @Test func resNetSmallTrainingStep() {
    // 32² planes take the image-by-image convolution path, the later 8² and 4² ones the batched one.
    expectInvariant("resnet-small", input: [20, 3, 32, 32]) { g in
      let net = ResNet.small(numClasses: 10, using: &g)
      return (net, { net($0) })
    }
  }

  @Test func vitTinyTrainingStep() {
    expectInvariant("vit-tiny", input: [6, 3, 32, 32]) { g in
      let net = VisionTransformer.tiny(imageSize: 32, patchSize: 4, classes: 10, using: &g)
      return (net, { net($0) })
    }
  }
}

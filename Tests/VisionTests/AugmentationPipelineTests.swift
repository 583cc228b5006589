import Engine
import Foundation
import Testing

@testable import Vision

@Suite struct PipelineTests {
  let images = (0..<12).map { randomRGB(width: 40, height: 36, seed: UInt64($0)) }

  @Test func recipesHaveThePapersViews() {
    #expect(AugmentationRecipe.mocoV2().views.count == 2)
    #expect(AugmentationRecipe.instDisc().views.count == 1)
    let v3 = AugmentationRecipe.mocoV3()
    #expect(v3.views[0].description.contains("RandomApply(p: 1.0, [GaussianBlur"))
    #expect(v3.views[1].description.contains("RandomApply(p: 0.1, [GaussianBlur"))
    #expect(v3.views[1].description.contains("RandomSolarize(threshold: 0.5019608, p: 0.2)"))
    #expect(!v3.views[0].description.contains("Solarize"))
    let swav = AugmentationRecipe.swavMultiCrop(large: 2, small: 4)
    #expect(swav.views.map(\.crop.width) == [64, 64, 32, 32, 32, 32])
    #expect(swav.views[2].crop.scale == 0.05...0.14)
    let simclr = AugmentationRecipe.simCLR(size: 32, colorStrength: 0.5, blurProbability: 0)
    #expect(simclr.views[0].description.contains("ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)"))
    #expect(!simclr.views[0].description.contains("Blur"))
  }

  @Test func batchShapesFollowTheRecipe() {
    var g = RandomGenerator(seed: 1)
    let pipeline = MultiViewPipeline(recipe: .swavMultiCrop(large: 2, small: 3, sizes: (24, 12)))
    let views = pipeline.batch(images, [3, 1, 4, 1, 5], using: &g)
    #expect(views.map(\.shape) == [[5, 3, 24, 24], [5, 3, 24, 24], [5, 3, 12, 12], [5, 3, 12, 12], [5, 3, 12, 12]])
    let (a, b) = TwoViewPipeline(recipe: .mocoV2(size: 16)).batch(images, [0, 2], using: &g)
    #expect(a.shape == [2, 3, 16, 16] && b.shape == [2, 3, 16, 16])
    #expect(a.data != b.data)
  }

  /// The audit's sabotage: with `identicalViews` a symmetric recipe gives the same pixels in both
  /// views (and the same draws as view 0 of the normal pipeline); without it they differ.
  @Test func identicalViewsRepeatViewZero() {
    var g1 = RandomGenerator(seed: 7), g2 = RandomGenerator(seed: 7)
    let same = MultiViewPipeline(recipe: .mocoV2(size: 16), identicalViews: true).batch(images, [0, 5, 9], using: &g1)
    let normal = MultiViewPipeline(recipe: .mocoV2(size: 16)).batch(images, [0, 5, 9], using: &g2)
    #expect(same[0].data == same[1].data)
    #expect(same[0].data == normal[0].data)
    #expect(normal[0].data != normal[1].data)
  }

  @Test func sameSeedSameBitsAnyThreadCount() {
    for recipe in [AugmentationRecipe.mocoV2(size: 24), .mocoV3(size: 24), .simCLR(size: 24), .mocoV1(size: 24)] {
      var g1 = RandomGenerator(seed: 42)
      var g2 = RandomGenerator(seed: 42)
      var g3 = RandomGenerator(seed: 42)
      let one = MultiViewPipeline(recipe: recipe, threads: 1).batch(images, Array(0..<12), using: &g1)
      let two = MultiViewPipeline(recipe: recipe, threads: 2).batch(images, Array(0..<12), using: &g2)
      let four = MultiViewPipeline(recipe: recipe, threads: 4).batch(images, Array(0..<12), using: &g3)
      #expect(one.map(\.data) == two.map(\.data) && one.map(\.data) == four.map(\.data), "\(recipe.name)")
      // The caller's generator advanced by exactly one draw, identically.
      #expect(g1.next() == g2.next())
      var g4 = RandomGenerator(seed: 43)
      let other = MultiViewPipeline(recipe: recipe, threads: 1).batch(images, Array(0..<12), using: &g4)
      #expect(other[0].data != one[0].data)
    }
  }

  @Test func anImagesViewsDependOnlyOnItsPosition() {
    // Image b's views use split(b): a batch [x, y] and a batch [x, z] share x's views.
    var g1 = RandomGenerator(seed: 7)
    var g2 = RandomGenerator(seed: 7)
    let pipeline = TwoViewPipeline(recipe: .mocoV2(size: 16))
    let (a, _) = pipeline.batch(images, [5, 6], using: &g1)
    let (b, _) = pipeline.batch(images, [5, 9], using: &g2)
    let size = 3 * 16 * 16
    #expect(Array(a.data[0..<size]) == Array(b.data[0..<size]))
    #expect(Array(a.data[size...]) != Array(b.data[size...]))
  }

  @Test func augmentedViewsAreNormalisedImages() {
    var g = RandomGenerator(seed: 3)
    let (v, _) = TwoViewPipeline(recipe: .mocoV2(size: 20)).batch(images, Array(0..<12), using: &g)
    let lo = (0 - 0.485) / 0.229 - 1e-4, hi = (1 - 0.406) / 0.225 + 1e-4
    #expect(v.data.allSatisfy { Double($0) >= lo && Double($0) <= hi })
  }

  @Test func prefetcherYieldsTheSequentialBatchesInOrder() {
    let pipeline = TwoViewPipeline(recipe: .mocoV2(size: 16), threads: 2)
    let batches = [[0, 1, 2], [3, 4], [5, 6, 7, 8], [9], [10, 11]]
    var g = RandomGenerator(seed: 21)
    let expected = batches.map { pipeline.batch(images, $0, using: &g) }
    let prefetched = Array(pipeline.prefetcher(images: images, batches: batches, generator: RandomGenerator(seed: 21), capacity: 1))
    #expect(prefetched.count == batches.count)
    for (p, e) in zip(prefetched, expected) {
      #expect(p.0.data == e.0.data && p.1.data == e.1.data)
    }
  }

  /// Starting at batch k with the state reported after batch k − 1 gives the same batches as the
  /// uninterrupted prefetcher from k on (what resuming a checkpointed run relies on).
  @Test func resumablePrefetcherRestartsMidway() {
    let pipeline = MultiViewPipeline(recipe: .mocoV2(size: 16), threads: 2)
    let batches = [[0, 1, 2], [3, 4], [5, 6, 7, 8], [9], [10, 11]]
    let full = Array(
      pipeline.resumablePrefetcher(images: images, batches: batches, first: 0, generator: RandomGenerator(seed: 5)))
    let plain = Array(pipeline.prefetcher(images: images, batches: batches, generator: RandomGenerator(seed: 5)))
    #expect(full.map { $0.views.map(\.data) } == plain.map { $0.map(\.data) })
    for k in 1...batches.count {
      let rest = Array(
        pipeline.resumablePrefetcher(
          images: images, batches: batches, first: k, generator: full[k - 1].generatorAfter, capacity: 1))
      #expect(rest.count == batches.count - k)
      for (r, f) in zip(rest, full[k...]) {
        #expect(r.views.map(\.data) == f.views.map(\.data))
        #expect(r.generatorAfter.state == f.generatorAfter.state)
      }
    }
  }

  @Test func prefetcherStopsWhenCancelled() {
    let produced = Counter()
    let prefetcher = Prefetcher(count: 1000, capacity: 2) { i -> Int in
      produced.increment()
      return i
    }
    #expect(prefetcher.next() == 0)
    #expect(prefetcher.next() == 1)
    prefetcher.cancel()
    #expect(prefetcher.next() == nil)
    // Wait for the producer to notice.
    for _ in 0..<200 where !prefetcher.isFinished { usleep(5000) }
    #expect(prefetcher.isFinished)
    #expect(produced.value <= 2 + 2 + 1)
  }

  @Test func prefetcherOfNothingEndsAtOnce() {
    let p = Prefetcher<Int>(count: 0) { $0 }
    #expect(p.next() == nil)
  }
}

/// A thread-safe counter for the prefetcher test.
final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  func increment() { lock.withLock { count += 1 } }
  var value: Int { lock.withLock { count } }
}

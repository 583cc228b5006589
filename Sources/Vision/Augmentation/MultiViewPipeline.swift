import Dispatch
import Engine

/// Turns a batch of source images into one `[batch, 3, height, width]` tensor per view of a
/// recipe, augmenting images in parallel.
///
/// Determinism: `batch` draws one 64-bit key from the caller's generator (so consecutive batches
/// differ and the caller's stream advances by exactly one draw), then image `b` of the batch gets
/// `RandomGenerator(seed: key).split(b)` and its view `v` gets that generator's `split(v)`. Each
/// view is a pure function of its source image and its own generator, and lands at its own offset,
/// so the output is the same bits for any thread count or scheduling; a view's randomness does not
/// depend on how many other views the recipe has.
///
/// ```swift
/// let pipeline = MultiViewPipeline(recipe: .swavMultiCrop(large: 2, small: 4))
/// let views = pipeline.batch(images, indices, using: &generator)  // 6 tensors
/// ```
public struct MultiViewPipeline: Sendable {
  /// The per-view transforms.
  public let recipe: AugmentationRecipe
  /// Threads used to augment a batch; nil uses the engine's (`Parallel.threadCount`).
  public var threads: Int?
  /// Every view of an image draws the same random numbers (view 0's): with a symmetric recipe
  /// the views are the same pixels, which switches off what a contrastive method learns from
  /// (an audit's sabotage, never a method's setting). Recipes whose views differ in their
  /// transforms (BYOL's asymmetric blur/solarize, multi-crop sizes) still share crop and colour
  /// draws but keep their own transforms.
  public var identicalViews: Bool

  public init(recipe: AugmentationRecipe, threads: Int? = nil, identicalViews: Bool = false) {
    self.recipe = recipe
    self.threads = threads
    self.identicalViews = identicalViews
  }

  /// Number of views per image.
  public var viewCount: Int { recipe.views.count }

  /// The augmented views of `images[indices[b]]` for every `b`, one tensor per view.
  /// - Returns: `recipe.views.count` tensors, view `v` of shape `[indices.count, 3, h_v, w_v]`.
  /// - Precondition: every index is in `images.indices`.
  public func batch(_ images: [RGBImage], _ indices: [Int], using generator: inout RandomGenerator) -> [Tensor] {
    let key = generator.next()
    for i in indices { precondition(images.indices.contains(i), "MultiViewPipeline.batch: index \(i) outside 0..<\(images.count)") }
    let n = indices.count
    let base = RandomGenerator(seed: key)
    let workers = Swift.max(1, Swift.min(threads ?? Parallel.threadCount, n))
    let identical = identicalViews
    // View by view, each written straight into its tensor's storage (no batch-sized copy).
    return recipe.views.enumerated().map { v, view in
      let size = 3 * view.crop.width * view.crop.height
      let data = [Float](unsafeUninitializedCapacity: n * size) { buffer, initialized in
        guard let out = buffer.baseAddress else { return }
        let target = UncheckedSendable(out)
        let work: @Sendable (Int) -> Void = { b in
          var g = base.split(UInt64(b)).split(UInt64(identical ? 0 : v))
          let pixels = view.apply(to: images[indices[b]], using: &g).pixels
          pixels.withUnsafeBufferPointer { src in
            guard let s = src.baseAddress else { return }
            (target.value + b * size).initialize(from: s, count: size)
          }
        }
        if workers == 1 {
          for b in 0..<n { work(b) }
        } else {
          _ = Parallel.map(n, threads: workers) { b in work(b) }
        }
        initialized = n * size
      }
      return Tensor(shape: [n, 3, view.crop.height, view.crop.width], data: data)
    }
  }

  /// A background producer of the batches `batches[0], batches[1], …` (each a list of image
  /// indices), equal to calling `batch` on them in order with a copy of `generator`.
  /// - Parameter capacity: batches prepared ahead (1–2 is enough to hide augmentation time).
  public func prefetcher(
    images: [RGBImage], batches: [[Int]], generator: RandomGenerator, capacity: Int = 2
  ) -> Prefetcher<[Tensor]> {
    let pipeline = self
    return Prefetcher(count: batches.count, capacity: capacity, state: generator) { i, g in
      pipeline.batch(images, batches[i], using: &g)
    }
  }

  /// A prefetcher that can start at any batch and tells the generator's state after each batch,
  /// so a training loop can checkpoint and later resume with the same augmentations.
  ///
  /// The batches are those of `prefetcher(images:batches:generator:)` from `first` on, provided
  /// `generator` is the state that prefetcher's generator had before batch `first` (the
  /// `generatorAfter` of batch `first − 1`, or the initial generator for `first == 0`); each
  /// element pairs the views with the generator's state after producing them.
  /// - Parameter first: index of the first batch produced, in `0...batches.count`.
  public func resumablePrefetcher(
    images: [RGBImage], batches: [[Int]], first: Int, generator: RandomGenerator, capacity: Int = 2
  ) -> Prefetcher<(views: [Tensor], generatorAfter: RandomGenerator)> {
    let pipeline = self
    return Prefetcher(count: batches.count, first: first, capacity: capacity, state: generator) { i, g in
      (pipeline.batch(images, batches[i], using: &g), g)
    }
  }
}

/// The two-view case (MoCo v1/v2/v3, SimCLR, BYOL-style pairs) with a tuple result.
///
/// ```swift
/// let pipeline = TwoViewPipeline(recipe: .mocoV2(size: 64))
/// let (v1, v2) = pipeline.batch(images, indices, using: &generator)  // [B, 3, 64, 64] each
/// ```
public struct TwoViewPipeline: Sendable {
  /// The underlying pipeline (same determinism rules).
  public let pipeline: MultiViewPipeline

  /// - Precondition: the recipe has exactly two views.
  public init(recipe: AugmentationRecipe, threads: Int? = nil) {
    precondition(recipe.views.count == 2, "TwoViewPipeline: recipe \(recipe.name) has \(recipe.views.count) views")
    pipeline = MultiViewPipeline(recipe: recipe, threads: threads)
  }

  public var recipe: AugmentationRecipe { pipeline.recipe }

  /// Both views of `images[indices[b]]`, each `[indices.count, 3, h, w]`.
  public func batch(_ images: [RGBImage], _ indices: [Int], using generator: inout RandomGenerator) -> (Tensor, Tensor) {
    let views = pipeline.batch(images, indices, using: &generator)
    return (views[0], views[1])
  }

  /// Background production of the pairs for `batches`, equal to calling `batch` in order.
  public func prefetcher(
    images: [RGBImage], batches: [[Int]], generator: RandomGenerator, capacity: Int = 2
  ) -> Prefetcher<(Tensor, Tensor)> {
    let pipeline = self
    return Prefetcher(count: batches.count, capacity: capacity, state: generator) { i, g in
      pipeline.batch(images, batches[i], using: &g)
    }
  }
}

/// Raw pointers to disjoint output regions, handed to the augmentation workers.
struct UncheckedSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

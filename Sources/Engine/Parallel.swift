import CBLAS
import Dispatch
import Synchronization

/// The engine's own multi-threading (element-wise loops, im2col, per-image convolution work);
/// OpenBLAS has its threads set separately through `BLAS.setThreadCount`.
///
/// Work is split into contiguous chunks, and every output element is written by exactly one
/// chunk with the same arithmetic whatever the split, so results do not depend on the thread
/// count. Reductions that combine partial sums (`sum` over a large axis) stay single-threaded
/// for that reason.
public enum Parallel {
  private static let threads = Atomic<Int>(1)

  /// Threads the engine's loops use (1 until set; runs set it from `--threads`).
  public static var threadCount: Int { threads.load(ordering: .relaxed) }

  /// Sets the engine's thread count (≥ 1).
  public static func setThreadCount(_ n: Int) { threads.store(Swift.max(1, n), ordering: .relaxed) }

  /// Calls `body(range)` on disjoint contiguous ranges covering `0..<count`, concurrently when
  /// `count` is at least `2 · minimumChunk` and more than one thread is allowed.
  @inlinable
  public static func forEachChunk(
    _ count: Int, minimumChunk: Int = 1 << 14, _ body: (Range<Int>) -> Void
  ) {
    let t = Swift.min(threadCount, count / Swift.max(minimumChunk, 1))
    if t <= 1 {
      if count > 0 { body(0..<count) }
      return
    }
    withoutActuallyEscaping(body) { body in
      let box = UncheckedBox(body)
      DispatchQueue.concurrentPerform(iterations: t) { i in
        let lo = count * i / t, hi = count * (i + 1) / t
        if lo < hi { box.value(lo..<hi) }
      }
    }
  }

  /// Calls `body(i)` for every `i` in `0..<count`, items spread over the threads (for coarse
  /// items such as images of a batch).
  @inlinable
  public static func forEach(_ count: Int, _ body: (Int) -> Void) {
    forEachChunk(count, minimumChunk: 1) { range in for i in range { body(i) } }
  }
}

/// Lets a non-`Sendable` closure cross into `concurrentPerform`; callers guarantee the chunks
/// touch disjoint memory.
@usableFromInline
struct UncheckedBox<T>: @unchecked Sendable {
  @usableFromInline let value: T
  @usableFromInline init(_ value: T) { self.value = value }
}

/// Process-wide memory settings for the engine.
public enum EngineMemory {
  /// Keeps freed tensor buffers in the process heap instead of returning them to the kernel.
  ///
  /// glibc serves allocations above its mmap threshold with fresh `mmap`s and unmaps them on
  /// free, so every training step would fault in and zero its activations' pages again (a tenth
  /// to a quarter of a ResNet step on this machine, measured with `perf`). Turning mmap off
  /// (`M_MMAP_MAX = 0`) and trimming off makes large buffers come from the heap, which keeps
  /// freed pages for the next step. Call once at start-up; returns whether glibc accepted it.
  @discardableResult
  public static func retainFreedBuffers() -> Bool {
    #if canImport(Glibc)
      return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, Int32.max) == 1
    #else
      return false
    #endif
  }
}

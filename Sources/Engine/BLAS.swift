import CBLAS
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Facts about the BLAS library this process links (recorded with every run).
public enum BLAS {
  /// OpenBLAS's build configuration, for example `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64`.
  public static var configuration: String {
    guard let c = openblas_get_config() else { return "unknown" }
    return String(cString: c).trimmingCharacters(in: " ")
  }

  private static let splitThreads = Atomic<Int>(1)

  /// Threads one GEMM is split over (recorded with the run; part of what determinism depends on).
  public static var threadCount: Int { splitThreads.load(ordering: .relaxed) }

  /// Sets the threads a GEMM is split over. OpenBLAS itself is kept single-threaded: its idle
  /// workers spin in `sched_yield` for about 0.1 s after every call, and on a 2-core machine that
  /// spinning took a quarter of the CPU from the engine's own parallel loops between GEMMs
  /// (`perf`, resnet_small at 2 threads). Instead, `gemm` cuts C into `n` row or column blocks
  /// and runs one single-threaded `cblas_sgemm` per block on the engine's threads, which sleep
  /// when idle.
  public static func setThreadCount(_ n: Int) {
    openblas_set_num_threads(1)
    splitThreads.store(Swift.max(1, n), ordering: .relaxed)
  }
}

extension String {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    var s = Substring(self)
    while s.first == set { s = s.dropFirst() }
    while s.last == set { s = s.dropLast() }
    return String(s)
  }
}

extension BLAS {
  /// `C ← α·op(A)·op(B) + β·C` for row-major Float32 matrices (`cblas_sgemm`).
  ///
  /// - Parameters:
  ///   - transA, transB: whether to use Aᵀ, Bᵀ.
  ///   - m, n, k: op(A) is m×k, op(B) is k×n, C is m×n.
  ///   - a, b, c: row-major storage; leading dimensions are the stored row lengths.
  ///   - threads: threads to split this call over (default `threadCount`); 1 inside loops that
  ///     are already spread over the engine's threads.
  public static func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int? = nil
  ) {
    guard GEMMCounter.isEnabled else {
      split(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
        beta: beta, c: c, ldc: ldc, threads: threads ?? threadCount)
      return
    }
    let start = GEMMCounter.now()
    split(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: c, ldc: ldc, threads: threads ?? threadCount)
    GEMMCounter.add(flops: 2 * m * n * k, nanoseconds: GEMMCounter.now() - start)
  }

  /// OpenBLAS starts with one thread per core; the first GEMM turns that off even when nobody
  /// called `setThreadCount` (tests, tools), so every GEMM takes the same path.
  private static let openBLASSingleThreaded: Void = { openblas_set_num_threads(1) }()

  /// Work below which a GEMM is not split (about 0.1 ms on one core).
  static let splitMinimumFlops = 1 << 22

  /// The most blocks one GEMM is cut into, and the fewest rows (or columns) of C in a block
  /// (each block also does at least 2·`splitMinimumFlops`). Smaller blocks cost OpenBLAS's
  /// kernels efficiency at one thread: against at most 8 blocks of ≥ 32 rows, this cut made a
  /// step 2–4 % faster on resnet_small and vit_tiny and 6–9 % on transmil_1000 at one thread,
  /// 1–6 % at two (`replicate bench engine --cases resnet_small,vit_tiny,transmil_1000 --threads
  /// 1,2 --warmup 2 --steps 5`, two alternating rounds, 2-core EPYC, 2026-12-06).
  static let maximumParts = 4
  static let minimumExtent = 64

  /// The blocks a GEMM of this shape is cut into: a function of (m, n, k) alone, never of the
  /// thread count. OpenBLAS's result for an element of C depends on the shape of the call that
  /// computes it (on its Zen/Haswell kernels, any cut of C changed 10–60 % of the elements by an
  /// ulp or so, measured 2026-12-06 with OpenBLAS 0.3.21), so a cut that followed the thread
  /// count made every run's bits depend on `--threads`. With the cut fixed by the shape, the
  /// threads only decide how many blocks run at once.
  static func parts(m: Int, n: Int, k: Int) -> Int {
    Swift.max(1, Swift.min(maximumParts, Swift.max(m, n) / minimumExtent, m * n * k / splitMinimumFlops))
  }

  /// One `cblas_sgemm`, or one per block of C's rows (when m ≥ n) or columns (`parts(m:n:k:)`
  /// blocks, multiples of 16 rows/columns), spread over `threads` of the engine's threads (1:
  /// one after another, for callers already inside a parallel loop). The blocks, and so the
  /// bits, are the same at any thread count.
  private static func split(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
  ) {
    _ = openBLASSingleThreaded
    let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
    let byRows = m >= n
    let extent = byRows ? m : n
    let parts = parts(m: m, n: n, k: k)
    if parts <= 1 {
      cblas_sgemm(
        CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
      return
    }
    let blocks = (extent + 15) / 16
    let block = { (i: Int) in
      let lo = Swift.min(extent, blocks * i / parts * 16), hi = Swift.min(extent, blocks * (i + 1) / parts * 16)
      guard lo < hi else { return }
      if byRows {
        let aPart = transA ? a + lo : a + lo * lda
        cblas_sgemm(
          CblasRowMajor, ta, tb, Int32(hi - lo), Int32(n), Int32(k), alpha, aPart, Int32(lda), b, Int32(ldb), beta,
          c + lo * ldc, Int32(ldc))
      } else {
        let bPart = transB ? b + lo * ldb : b + lo
        cblas_sgemm(
          CblasRowMajor, ta, tb, Int32(m), Int32(hi - lo), Int32(k), alpha, a, Int32(lda), bPart, Int32(ldb), beta,
          c + lo, Int32(ldc))
      }
    }
    if threads <= 1 {
      for i in 0..<parts { block(i) }
    } else {
      Parallel.forEach(parts) { i in block(i) }
    }
  }
}

/// Counts the floating-point work and the time spent in `cblas_sgemm`, for `replicate bench
/// engine` ("how much of a step is GEMM, and at what rate"). Off by default; when off it costs
/// one relaxed atomic load per GEMM.
public enum GEMMCounter {
  private static let enabled = Atomic<Bool>(false)
  private static let flopCount = Atomic<Int>(0)
  private static let nanos = Atomic<Int>(0)

  public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

  /// Turns counting on or off (counts are kept).
  public static func setEnabled(_ flag: Bool) { enabled.store(flag, ordering: .relaxed) }

  /// Zeroes the counts.
  public static func reset() {
    flopCount.store(0, ordering: .relaxed)
    nanos.store(0, ordering: .relaxed)
  }

  /// Floating-point operations (2mnk per GEMM) and wall nanoseconds inside `cblas_sgemm` since
  /// the last reset.
  public static var totals: (flops: Int, nanoseconds: Int) {
    (flopCount.load(ordering: .relaxed), nanos.load(ordering: .relaxed))
  }

  static func add(flops: Int, nanoseconds: Int) {
    flopCount.add(flops, ordering: .relaxed)
    nanos.add(nanoseconds, ordering: .relaxed)
  }

  static func now() -> Int {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec * 1_000_000_000 + t.tv_nsec
  }
}

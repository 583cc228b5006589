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

  /// Threads OpenBLAS uses for one call.
  public static var threadCount: Int { Int(openblas_get_num_threads()) }

  /// Sets the threads OpenBLAS uses (recorded with the run; part of what determinism depends on).
  public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }
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
  public static func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    guard GEMMCounter.isEnabled else {
      cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
        Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
      return
    }
    let start = GEMMCounter.now()
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
      Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    GEMMCounter.add(flops: 2 * m * n * k, nanoseconds: GEMMCounter.now() - start)
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

import CBLAS

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
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
      Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }
}

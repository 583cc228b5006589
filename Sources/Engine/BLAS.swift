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

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation

/// What a run depends on besides its config: the machine and the process.
public enum HostFacts {
  /// The CPU model from `/proc/cpuinfo` (Linux), or `uname -m`.
  public static var cpuModel: String {
    if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        if let colon = line.firstIndex(of: ":") {
          return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
      }
    }
    return machine
  }

  /// Logical cores the process may use.
  public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

  /// The kernel's machine name (`x86_64`, `arm64`).
  public static var machine: String {
    var u = utsname()
    uname(&u)
    return withUnsafeBytes(of: &u.machine) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  /// The host name.
  public static var hostName: String { ProcessInfo.processInfo.hostName }

  /// Operating system description, for example `Linux 6.1.0 (Debian GNU/Linux 12)`.
  public static var operatingSystem: String {
    var pretty = ""
    if let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
        pretty = String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(
          in: CharacterSet(charactersIn: "\""))
      }
    }
    let version = ProcessInfo.processInfo.operatingSystemVersionString
    return pretty.isEmpty ? version : "\(pretty); \(version)"
  }

  /// Peak resident memory of this process so far, in bytes (`getrusage` maxrss).
  public static var peakMemoryBytes: Int64 {
    var usage = rusage()
    #if os(Linux)
      getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
      getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(Linux)
      return Int64(usage.ru_maxrss) * 1024
    #else
      return Int64(usage.ru_maxrss)
    #endif
  }

  /// Whether a process with this id is alive (used to find runs whose process died).
  public static func isAlive(pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
  }

  /// This process's id.
  public static var pid: Int32 { getpid() }

  /// The build configuration the code was compiled in.
  public static var buildConfiguration: String {
    #if DEBUG
      return "debug"
    #else
      return "release"
    #endif
  }
}

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

  /// Whether a process with this id is alive (used to find runs whose process died). A zombie
  /// (ended, not yet reaped by its parent) is not alive. With `startedBefore`, a live process that
  /// started after that date is a later process that reused the id, so it does not count.
  public static func isAlive(pid: Int32, startedBefore: Date? = nil) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    #if os(Linux)
      guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return true }
      // Fields after "comm)": state is field 3, starttime (clock ticks since boot) field 22.
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 19 else { return true }
      if fields[0] == "Z" || fields[0] == "X" { return false }
      if let startedBefore, let ticks = Double(fields[19]), let boot = bootTime {
        let started = boot.addingTimeInterval(ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
        if started > startedBefore.addingTimeInterval(2) { return false }
      }
    #endif
    return true
  }

  /// When the machine booted (`btime` of `/proc/stat`), or nil off Linux.
  static var bootTime: Date? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
      if let s = Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) {
        return Date(timeIntervalSince1970: s)
      }
    }
    return nil
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

import Foundation

/// What one sweep task asks of a cluster node (`resources:` in target.yaml): CPUs, memory and a
/// wall-time limit per profile. `replicate sweep --slurm` turns them into `#SBATCH` lines.
public struct TaskResources: Codable, Sendable, Hashable {
  /// CPUs per task (`--cpus-per-task`; the task runs with as many threads).
  public var cpus: Int
  /// Memory per task in Slurm's notation (`--mem`): `4G`, `500M`.
  public var memory: String
  /// Wall-time limit in Slurm's notation (`--time`): `HH:MM:SS` or `D-HH:MM:SS`.
  public var time: String

  public init(cpus: Int, memory: String, time: String) {
    self.cpus = cpus
    self.memory = memory
    self.time = time
  }

  /// The limit in seconds (to compare limits and to take the largest).
  public var seconds: Int {
    var days = 0
    var clock = Substring(time)
    if let dash = time.firstIndex(of: "-") {
      days = Int(time[..<dash]) ?? 0
      clock = time[time.index(after: dash)...]
    }
    let parts = clock.split(separator: ":").compactMap { Int($0) }
    guard parts.count == 3 else { return 0 }
    return days * 86_400 + parts[0] * 3_600 + parts[1] * 60 + parts[2]
  }

  /// The memory in megabytes (to take the largest).
  public var megabytes: Int {
    guard let unit = memory.last, let value = Int(memory.dropLast()) ?? Int(memory) else { return 0 }
    switch unit {
    case "K": return max(1, value / 1024)
    case "G": return value * 1024
    case "T": return value * 1024 * 1024
    default: return value  // M, or Slurm's default unit (megabytes) for a bare number
    }
  }

  /// Whether `text` is a wall time Slurm reads: `HH:MM:SS` or `D-HH:MM:SS`.
  static func isTime(_ text: String) -> Bool {
    text.range(of: #"^([0-9]+-)?[0-9]{1,3}:[0-5][0-9]:[0-5][0-9]$"#, options: .regularExpression) != nil
  }

  /// Whether `text` is a memory size Slurm reads: digits with an optional K, M, G or T.
  static func isMemory(_ text: String) -> Bool {
    text.range(of: #"^[1-9][0-9]*[KMGT]?$"#, options: .regularExpression) != nil
  }
}

/// A target's `resources:` block: CPUs and memory per task, and a time limit per profile.
///
/// ```yaml
/// resources:
///   cpus: 2
///   memory: 4G
///   time: {smoke: "00:10:00", ci: "00:30:00"}
/// ```
/// A profile without a time gets `defaultTime`; a target without the block gets 2 CPUs, 4 GB.
public struct ResourceTable: Sendable, Equatable {
  public var cpus: Int
  public var memory: String
  public var times: [String: String]

  /// The limit of a profile the table does not list.
  public static let defaultTime = "04:00:00"

  public init(cpus: Int = 2, memory: String = "4G", times: [String: String] = [:]) {
    self.cpus = cpus
    self.memory = memory
    self.times = times
  }

  /// The resources of one task of `profile`.
  public func task(profile: String) -> TaskResources {
    TaskResources(cpus: cpus, memory: memory, time: times[profile] ?? Self.defaultTime)
  }

  /// Reads the block, checking every value and that each timed profile exists.
  static func read(_ r: inout YAMLReader, profiles: [String]) throws -> ResourceTable {
    var table = ResourceTable()
    if let cpus = try r.optionalDouble("cpus") {
      guard cpus == cpus.rounded(), (1...1024).contains(cpus) else {
        throw r.fail("cpus", "expected a whole number of CPUs in 1...1024")
      }
      table.cpus = Int(cpus)
    }
    if let memory = try r.optionalString("memory") {
      guard TaskResources.isMemory(memory) else {
        throw r.fail("memory", "'\(memory)' is not a Slurm memory size; expected digits with K, M, G or T, such as 4G")
      }
      table.memory = memory
    }
    if var times = try r.optionalChild("time") {
      for name in times.keys {
        guard profiles.contains(name) else {
          throw times.fail(name, "no profile '\(name)' in this target (profiles: \(profiles.joined(separator: ", ")))")
        }
        let value = try times.string(name)
        guard TaskResources.isTime(value) else {
          throw times.fail(name, "'\(value)' is not a Slurm time limit; expected HH:MM:SS or D-HH:MM:SS")
        }
        table.times[name] = value
      }
      try times.finish()
    }
    try r.finish()
    return table
  }
}

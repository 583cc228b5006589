import Basics
import Foundation

/// One task of a sweep: one run of a target's profile with one seed and one subset.
public struct SweepTask: Codable, Sendable, Equatable {
  /// Position in the sweep (the Slurm array index).
  public var index: Int
  public var target: String
  public var profile: String
  public var seed: UInt64
  /// The subset as `--subset` takes it (`50%`).
  public var subset: String
  /// What the task asks of a node (from the target's `resources:`).
  public var resources: TaskResources

  public init(index: Int, target: String, profile: String, seed: UInt64, subset: String, resources: TaskResources) {
    self.index = index
    self.target = target
    self.profile = profile
    self.seed = seed
    self.subset = subset
    self.resources = resources
  }

  /// `task-0003`: the stem of its shard and log.
  public var name: String { "task-" + String(format: "%04d", index) }

  /// `moco-v2 · claims · seed 3 · 50%`.
  public var label: String { "\(target) · \(profile) · seed \(seed) · \(subset)" }

  /// The same run request (resources aside, which a target file may retune).
  func sameRun(as other: SweepTask) -> Bool {
    (index, target, profile, seed, subset) == (other.index, other.target, other.profile, other.seed, other.subset)
  }
}

/// A sweep: targets × profiles × subsets × seeds expanded into tasks, written once as
/// `sweep.json` in the sweep's folder. The task list is the interface: the local runner, the Slurm
/// array and `sweep status` all read it, and a task runs from it alone
/// (`replicate sweep task <folder> --index I`).
///
/// Layout of the folder (`<store folder>/shards/<name>/`):
/// - `sweep.json`: this manifest;
/// - `task-0003.sqlite`: the shard task 3 writes (a results store of its own);
/// - `logs/task-0003.log`: its output;
/// - `sweep-<n>.sbatch`: the Slurm scripts (`--slurm`), `jobs.txt`: the submitted job ids.
public struct Sweep: Codable, Sendable, Equatable {
  public static let manifestName = "sweep.json"

  public var name: String
  /// `--data`: every task runs on this path (absolute), or nil for the targets' embedded data.
  public var data: String?
  /// `--set key=value`: applied to every task, as `replicate run --set` (the runs are not canonical).
  public var overrides: [String]
  public var tasks: [SweepTask]

  public init(name: String, data: String?, overrides: [String] = [], tasks: [SweepTask]) {
    self.name = name
    self.data = data
    self.overrides = overrides
    self.tasks = tasks
  }

  private enum CodingKeys: String, CodingKey { case name, data, overrides, tasks }

  /// Reads a manifest; one written before `overrides` existed has none.
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    data = try c.decodeIfPresent(String.self, forKey: .data)
    overrides = try c.decodeIfPresent([String].self, forKey: .overrides) ?? []
    tasks = try c.decode([SweepTask].self, forKey: .tasks)
  }

  /// Expands a sweep request and checks every task as `replicate run` would (target, profile,
  /// subset, data, overrides), so bad input fails before anything is written.
  ///
  /// Order: target, then profile, then subset, then seed (the order given).
  /// - Parameter name: the sweep's name; nil derives one from the task list, so the same request
  ///   names the same sweep and a re-submission finds its finished tasks.
  /// - Throws: `InputError` (exit 2) naming the first bad argument.
  public static func plan(
    registry: Registry, targets: [String], profiles: [String], seeds: String, subsets: [String], data: String?,
    overrides: [String] = [], name: String?
  ) throws -> Sweep {
    guard !targets.isEmpty else {
      throw InputError.badArgument(option: "targets", value: "", expected: "at least one target (see `replicate list`)")
    }
    guard !profiles.isEmpty else {
      throw InputError.badArgument(option: "--profile", value: "", expected: "at least one profile, such as ci")
    }
    let seedList = try RunArguments.seeds(seeds)
    let subsetKeys = try subsets.map { BandTable.subsetKey(try RunArguments.subset($0)) }
    var absoluteData: String?
    if let data {
      absoluteData = URL(fileURLWithPath: data).standardizedFileURL.path
    }
    var tasks: [SweepTask] = []
    var seen = Set<String>()
    for target in targets {
      for profile in profiles {
        for subset in subsetKeys {
          let key = "\(target)|\(profile)|\(subset)"
          guard seen.insert(key).inserted else { continue }
          let plan = try RunPlan.make(
            registry: registry, target: target, profile: profile, seed: nil, seeds: seeds, subset: subset, data: absoluteData,
            overrides: overrides, threads: 1)
          let resources = plan.target.resources.task(profile: profile)
          for seed in seedList {
            tasks.append(
              SweepTask(index: tasks.count, target: target, profile: profile, seed: seed, subset: subset, resources: resources))
          }
        }
      }
    }
    let sweepName: String
    if let name {
      guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"#, options: .regularExpression) != nil else {
        throw InputError.badArgument(
          option: "--name", value: name, expected: "letters, digits, '.', '_' or '-' (at most 80), starting with a letter or digit")
      }
      sweepName = name
    } else {
      sweepName = defaultName(
        targets: targets, profiles: profiles, tasks: tasks, data: absoluteData, overrides: overrides)
    }
    return Sweep(name: sweepName, data: absoluteData, overrides: overrides, tasks: tasks)
  }

  /// `moco-v2+swav-claims-1a2b3c4d`: the targets and profiles, and a hash of the task list.
  static func defaultName(
    targets: [String], profiles: [String], tasks: [SweepTask], data: String?, overrides: [String] = []
  ) -> String {
    let identity = tasks.map { "\($0.target)|\($0.profile)|\($0.seed)|\($0.subset)" }.joined(separator: "\n")
      + "\ndata=\(data ?? "")" + (overrides.isEmpty ? "" : "\nset=" + overrides.joined(separator: "\n"))
    let hash = String(SHA256Hasher.hex(of: identity).prefix(8))
    let who = targets.count > 2 ? "\(targets[0])+\(targets.count - 1)-more" : targets.joined(separator: "+")
    return "\(who)-\(profiles.joined(separator: "+"))-\(hash)"
  }

  // MARK: Files

  /// The folder of sweep `name` beside the store at `storePath`: `<store folder>/shards/<name>`.
  public static func directory(name: String, storePath: String) -> URL {
    URL(fileURLWithPath: storePath).deletingLastPathComponent().appendingPathComponent("shards")
      .appendingPathComponent(name)
  }

  /// The shard task `task` writes in `directory`.
  public static func shard(_ task: SweepTask, in directory: URL) -> URL {
    directory.appendingPathComponent(task.name + ".sqlite")
  }

  /// The log of task `task` in `directory`.
  public static func log(_ task: SweepTask, in directory: URL) -> URL {
    directory.appendingPathComponent("logs").appendingPathComponent(task.name + ".log")
  }

  /// Reads the manifest of the sweep in `directory`.
  /// - Throws: `InputError` (exit 2) when it is missing or unreadable.
  public static func load(directory: URL) throws -> Sweep {
    let file = directory.appendingPathComponent(manifestName)
    guard let data = FileManager.default.contents(atPath: file.path) else {
      throw InputError.badArgument(
        option: "sweep", value: directory.path, expected: "a sweep folder holding \(manifestName) (written by `replicate sweep`)")
    }
    do { return try JSONDecoder().decode(Sweep.self, from: data) } catch {
      throw InputError.file(path: file.path, key: "", message: "not a sweep manifest (\(error.localizedDescription))")
    }
  }

  /// Writes the manifest into `directory` (created), or checks that the one there describes the
  /// same runs: re-running a sweep command resumes that sweep; a different request under the same
  /// name is refused.
  /// - Throws: `InputError` (exit 2) when the folder holds another sweep.
  public func save(directory: URL) throws {
    let fm = FileManager.default
    let file = directory.appendingPathComponent(Self.manifestName)
    if fm.fileExists(atPath: file.path) {
      let existing = try Self.load(directory: directory)
      guard existing.data == data, existing.overrides == overrides, existing.tasks.count == tasks.count,
        zip(existing.tasks, tasks).allSatisfy({ $0.sameRun(as: $1) })
      else {
        throw InputError.badArgument(
          option: "--name", value: name,
          expected: "a new name: \(directory.path) holds a sweep of other tasks (\(existing.tasks.count) tasks)")
      }
      if existing == self { return }
    }
    try fm.createDirectory(at: directory.appendingPathComponent("logs"), withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try encoder.encode(self).write(to: file, options: .atomic)
  }

  /// The task at `index`.
  /// - Throws: `InputError` (exit 2) for an index outside the sweep.
  public func task(_ index: Int) throws -> SweepTask {
    guard tasks.indices.contains(index) else {
      throw InputError.badArgument(
        option: "--index", value: String(index), expected: "a task index in 0...\(tasks.count - 1) of sweep \(name)")
    }
    return tasks[index]
  }
}

import Foundation

/// The `sbatch` scripts of a sweep: one job array per set of resources, whose array indices are
/// the sweep's task indices, so `$SLURM_ARRAY_TASK_ID` names the task directly.
public enum SlurmScript {
  /// Cluster settings given on the command line.
  public struct Options: Sendable, Equatable {
    /// At most this many tasks of an array run at once (`%M`); nil: as many as Slurm allows.
    public var maxParallel: Int?
    /// `--partition`, `--account`: passed through when given.
    public var partition: String?
    public var account: String?

    public init(maxParallel: Int? = nil, partition: String? = nil, account: String? = nil) {
      self.maxParallel = maxParallel
      self.partition = partition
      self.account = account
    }
  }

  /// Tasks grouped by their resources, each group in task order, groups in order of first task.
  public static func groups(_ tasks: [SweepTask]) -> [(resources: TaskResources, tasks: [SweepTask])] {
    var order: [TaskResources] = []
    var members: [TaskResources: [SweepTask]] = [:]
    for t in tasks {
      if members[t.resources] == nil { order.append(t.resources) }
      members[t.resources, default: []].append(t)
    }
    return order.map { ($0, members[$0] ?? []) }
  }

  /// Slurm's `--array` value: runs of consecutive indices as ranges (`0-3,7,9-11`), then `%M`.
  public static func arraySpec(_ indices: [Int], maxParallel: Int?) -> String {
    var parts: [String] = []
    var i = 0
    let sorted = indices.sorted()
    while i < sorted.count {
      var j = i
      while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
      parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
      i = j + 1
    }
    return parts.joined(separator: ",") + (maxParallel.map { "%\($0)" } ?? "")
  }

  /// The script of one array.
  ///
  /// - Parameters:
  ///   - tasks: the tasks of the array (one resource set).
  ///   - directory: the sweep's folder (shards, logs), on storage every node sees.
  ///   - binary: the `replicate` executable, as every node reaches it.
  ///   - root: the project root (`REPLICATE_ROOT`).
  ///   - cache: the shared cache (`REPLICATE_CACHE`): datasets, encoders and checkpoints, so a
  ///     requeued task resumes from its checkpoint on any node.
  public static func render(
    sweep: Sweep, tasks: [SweepTask], resources: TaskResources, directory: URL, binary: String, root: String,
    cache: String, options: Options
  ) -> String {
    let logPattern = directory.appendingPathComponent("logs").appendingPathComponent("task-%4a.log").path
    var lines = [
      "#!/bin/bash",
      "# Written by `replicate sweep --slurm` for sweep \(sweep.name): \(tasks.count) of its \(sweep.tasks.count) tasks.",
      "# Task i runs `replicate sweep task` on the manifest's task i and writes its own shard,",
      "# \(directory.path)/task-NNNN.sqlite; merge them with `replicate merge \(directory.path)`.",
      "#SBATCH --job-name=\(jobName(sweep))",
      "#SBATCH --array=\(arraySpec(tasks.map(\.index), maxParallel: options.maxParallel))",
      "#SBATCH --cpus-per-task=\(resources.cpus)",
      "#SBATCH --mem=\(resources.memory)",
      "#SBATCH --time=\(resources.time)",
      "#SBATCH --output=\(logPattern)",
      "#SBATCH --open-mode=append",
      "#SBATCH --requeue",
    ]
    if let p = options.partition { lines.append("#SBATCH --partition=\(p)") }
    if let a = options.account { lines.append("#SBATCH --account=\(a)") }
    lines += [
      "set -euo pipefail",
      "export REPLICATE_ROOT=\(quote(root))",
      "export REPLICATE_CACHE=\(quote(cache))",
      "exec \(quote(binary)) sweep task \(quote(directory.path)) --index \"$SLURM_ARRAY_TASK_ID\" "
        + "--threads \"${SLURM_CPUS_PER_TASK:-\(resources.cpus)}\"",
    ]
    return lines.joined(separator: "\n") + "\n"
  }

  /// The jobs' name: `replicate-<sweep>` (what `sweep status` asks `squeue` for).
  public static func jobName(_ sweep: Sweep) -> String { "replicate-\(sweep.name)" }

  /// `text` as one single-quoted shell word.
  static func quote(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}

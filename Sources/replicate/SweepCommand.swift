import ArgumentParser
import Basics
import Foundation
import Harness
import Results

#if canImport(Glibc)
  import Glibc
#endif

/// `replicate sweep`: many runs as one task list, run locally by N processes or as a Slurm array.
struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Expand targets × profiles × subsets × seeds into tasks; run them locally (--local N) or as a Slurm job array (--slurm).",
    discussion: """
      The task list is written once to <store folder>/shards/<name>/sweep.json. Each task is one run \
      (`replicate sweep task`), written to its own results store, task-NNNN.sqlite in that folder, with its \
      log in logs/task-NNNN.log, so no two processes or nodes ever write one SQLite file. Fold the shards \
      into the main store with `replicate merge <folder>`; then calibrate --from-store, report and gate see \
      the runs as if they had run here. Running the same sweep again skips every task whose shard already \
      holds a completed run of the same spec and code version (and so does each task on its own).
      """,
    subcommands: [SweepStartCommand.self, SweepTaskCommand.self, SweepStatusCommand.self],
    defaultSubcommand: SweepStartCommand.self)

  /// A sweep folder given as a path, or as a sweep name under the store's `shards` folder.
  static func folder(_ text: String, store: StoreOptions, registry: Registry) -> URL {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory), isDirectory.boolValue {
      return URL(fileURLWithPath: text).standardizedFileURL
    }
    return Sweep.directory(name: text, storePath: store.path(registry))
  }

  /// The running executable's absolute path (what children and Slurm tasks run).
  static var executablePath: String {
    if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return target }
    return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
  }

  /// The tasks of `sweep` whose shards do not yet hold a completed run of their spec under this
  /// code. One plan per (target, profile, subset) gives every seed's spec.
  static func openTasks(_ sweep: Sweep, directory: URL, registry: Registry) throws -> [SweepTask] {
    let code = registry.codeVersion
    var plans: [String: RunPlan] = [:]
    return try sweep.tasks.filter { task in
      let key = "\(task.target)|\(task.profile)|\(task.subset)"
      let plan: RunPlan
      if let known = plans[key] {
        plan = known
      } else {
        plan = try RunPlan.make(
          registry: registry, target: task.target, profile: task.profile, seed: task.seed, seeds: nil, subset: task.subset,
          data: sweep.data, overrides: sweep.overrides, threads: 1)
        plans[key] = plan
      }
      var spec = plan.specs[0]
      spec.seed = task.seed
      return ResultsStore.completedRunID(
        in: Sweep.shard(task, in: directory).path, spec: spec, dataSource: plan.data.label,
        codeVersion: code.version, codeDirty: code.dirty) == nil
    }
  }
}

/// `replicate sweep <targets…>`: plans the sweep and runs it locally or writes (and submits) its
/// Slurm arrays.
struct SweepStartCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "start",
    abstract: "Plan a sweep and run it (the default: `replicate sweep moco-v2 swav --profile claims --seeds 0-19 --local 2`).")

  @Argument(help: "Target ids (see `replicate list`).")
  var targets: [String]

  @Option(help: "Profiles, comma-separated (for example ci or ci,claims).")
  var profile: String = "ci"

  @Option(help: "Seeds, for example 0-19 or 0,2,5.")
  var seeds: String = "0"

  @Option(help: "Subsets, comma-separated, for example 50%,100%.")
  var subset: String = "100%"

  @Option(help: "Run every task on your own data (a folder, an image or a slide).")
  var data: String?

  @Option(
    name: .customLong("set"),
    help: "Override a config value in every task, key=value (repeatable). The runs are not canonical: the gate and calibrate leave them out.")
  var overrides: [String] = []

  @Option(help: "The sweep's name (its folder under <store folder>/shards). Default: derived from the task list, so the same request resumes the same sweep.")
  var name: String?

  @Option(help: "Run the tasks here with N processes at once.")
  var local: Int?

  @Flag(help: "Write a Slurm job-array script per resource set (from each target.yaml's resources:).")
  var slurm = false

  @Flag(help: "With --slurm: submit the scripts with sbatch and print the job ids.")
  var submit = false

  @Option(help: "With --slurm: at most this many array tasks at once (--array=…%M).")
  var maxParallel: Int?

  @Option(help: "With --slurm: the partition (sbatch --partition).")
  var partition: String?

  @Option(help: "With --slurm: the account (sbatch --account).")
  var account: String?

  @Option(help: "With --slurm: the cache every node shares (datasets, encoders, checkpoints). Default: $REPLICATE_CACHE, else <root>/.cache.")
  var cache: String?

  @Option(help: "With --local: threads per task (default: the cores divided among the N processes).")
  var threads: Int?

  @OptionGroup var store: StoreOptions

  mutating func run() throws {
    let registry = try Registry.locate()
    if local != nil && slurm {
      throw InputError.badArgument(option: "--local", value: String(local ?? 0), expected: "either --local N or --slurm, not both")
    }
    if let local, !(1...256).contains(local) {
      throw InputError.badArgument(option: "--local", value: String(local), expected: "a process count in 1...256")
    }
    if let threads, !(1...256).contains(threads) {
      throw InputError.badArgument(option: "--threads", value: String(threads), expected: "an integer in 1...256")
    }
    if let maxParallel, maxParallel < 1 {
      throw InputError.badArgument(option: "--max-parallel", value: String(maxParallel), expected: "a positive task count")
    }
    if (submit || maxParallel != nil || partition != nil || account != nil || cache != nil) && !slurm {
      throw InputError.badArgument(
        option: "--submit/--max-parallel/--partition/--account/--cache", value: "", expected: "--slurm as well")
    }
    let storePath = store.path(registry)
    try ResultsStore.checkLocation(storePath, create: true)
    let sweep = try Sweep.plan(
      registry: registry, targets: targets, profiles: list(profile), seeds: seeds, subsets: list(subset), data: data,
      overrides: overrides, name: name)
    let directory = Sweep.directory(name: sweep.name, storePath: storePath)
    try sweep.save(directory: directory)
    let open = try SweepCommand.openTasks(sweep, directory: directory, registry: registry)
    let set = sweep.overrides.isEmpty ? "" : " with --set " + sweep.overrides.joined(separator: " ")
    print("sweep \(sweep.name)\(set): \(sweep.tasks.count) tasks, \(sweep.tasks.count - open.count) already done; folder \(directory.path)")
    if let local {
      let failed = try LocalRunner(
        sweep: sweep, directory: directory, processes: local,
        threads: threads ?? max(1, HostFacts.cores / local), root: registry.root.path
      ).run(open)
      print("merge the shards with: replicate merge \(directory.path)")
      if failed > 0 { throw ExitCode(1) }
    } else if slurm {
      try writeSlurm(sweep: sweep, open: open, directory: directory, registry: registry)
    } else {
      print(table(["task", "run", "state"], sweep.tasks.map { t in
        [t.name, t.label, open.contains(where: { $0.index == t.index }) ? "to run" : "done"]
      }))
      print("run it with --local N (processes here) or --slurm [--submit]")
    }
  }

  private func list(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  private func writeSlurm(sweep: Sweep, open: [SweepTask], directory: URL, registry: Registry) throws {
    guard !open.isEmpty else {
      print("nothing to submit: every task is done")
      return
    }
    let cacheRoot = cache.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
      ?? CheckpointStore.cacheRoot(registry).path
    let options = SlurmScript.Options(maxParallel: maxParallel, partition: partition, account: account)
    for (n, group) in SlurmScript.groups(open).enumerated() {
      let script = SlurmScript.render(
        sweep: sweep, tasks: group.tasks, resources: group.resources, directory: directory,
        binary: SweepCommand.executablePath, root: registry.root.path, cache: cacheRoot, options: options)
      let file = directory.appendingPathComponent("sweep-\(n).sbatch")
      try script.write(to: file, atomically: true, encoding: .utf8)
      print("wrote \(file.path) (\(group.tasks.count) tasks: \(group.resources.cpus) CPUs, \(group.resources.memory), \(group.resources.time))")
      guard submit else { continue }
      let (status, raw) = Shell.run("sbatch", ["--parsable", file.path])
      let output = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      guard status == 0, let jobID = output.split(separator: ";").first.map(String.init), Int(jobID) != nil else {
        throw HarnessError.external(
          "sbatch \(file.path) failed (exit \(status)): \(output.isEmpty ? "is Slurm installed and sbatch on PATH?" : output)")
      }
      let jobs = directory.appendingPathComponent("jobs.txt")
      let line = "\(jobID) \(file.lastPathComponent)\n"
      if let handle = FileHandle(forWritingAtPath: jobs.path) {
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        handle.closeFile()
      } else {
        try line.write(to: jobs, atomically: true, encoding: .utf8)
      }
      print("submitted job \(jobID)")
    }
    if !submit { print("submit with: sbatch <script>, or run again with --submit") }
  }
}

/// Runs a sweep's tasks on this machine, N child processes at a time (`replicate sweep task`),
/// each with its output in its log.
struct LocalRunner {
  var sweep: Sweep
  var directory: URL
  var processes: Int
  var threads: Int
  var root: String

  /// Runs `tasks` and returns how many failed. Ctrl-C stops starting tasks; the running ones are
  /// interrupted by the same signal and marked so in their shards.
  func run(_ tasks: [SweepTask]) throws -> Int {
    let finished = Finished()
    let signal = DispatchSemaphore(value: 0)
    var queue = tasks[...]
    var running = 0
    var failed = 0
    var done = 0
    let start = Date()
    while !queue.isEmpty || running > 0 {
      while running < processes, !Interruption.requested, let task = queue.popFirst() {
        let log = Sweep.log(task, in: directory)
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: log.path) {
          _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SweepCommand.executablePath)
        p.arguments = ["sweep", "task", directory.path, "--index", String(task.index), "--threads", String(threads)]
        var env = ProcessInfo.processInfo.environment
        env["REPLICATE_ROOT"] = root
        p.environment = env
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        let began = Date()
        p.terminationHandler = { process in
          try? handle.close()
          finished.append((task, process.terminationStatus, Date().timeIntervalSince(began)))
          signal.signal()
        }
        try p.run()
        running += 1
      }
      if running == 0 { break }
      signal.wait()
      let batch = finished.take()
      for (task, status, seconds) in batch {
        running -= 1
        done += 1
        if status != 0 { failed += 1 }
        let outcome = status == 0 ? "done" : "FAILED (exit \(status)); log: \(Sweep.log(task, in: directory).path)"
        print("[\(done)/\(tasks.count)] \(task.name) \(task.label): \(outcome) (\(String(format: "%.1f", seconds)) s)")
      }
    }
    let skipped = queue.count
    print(
      "\(done) tasks ran in \(String(format: "%.1f", Date().timeIntervalSince(start))) s with \(processes) processes × \(threads) threads: "
        + "\(done - failed) done, \(failed) failed" + (skipped > 0 ? ", \(skipped) not started (interrupted)" : ""))
    if skipped > 0 { throw CancellationError() }
    return failed
  }
}

/// Tasks that ended, appended by termination handlers (on other threads) and taken by the loop.
private final class Finished: @unchecked Sendable {
  private let lock = NSLock()
  private var items: [(SweepTask, Int32, Double)] = []

  func append(_ item: (SweepTask, Int32, Double)) {
    lock.lock()
    items.append(item)
    lock.unlock()
  }

  func take() -> [(SweepTask, Int32, Double)] {
    lock.lock()
    defer { lock.unlock() }
    let out = items
    items.removeAll()
    return out
  }
}

/// `replicate sweep task <folder> --index I`: one task into its shard.
struct SweepTaskCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "task",
    abstract: "Run one task of a sweep into its own shard (what --local and the Slurm array run).",
    discussion: """
      Reads the task from <folder>/sweep.json, runs it like `replicate run`, and records it in \
      <folder>/task-NNNN.sqlite with the sweep, the task index and the Slurm job id (from SLURM_ARRAY_JOB_ID \
      and SLURM_ARRAY_TASK_ID). A task whose shard already holds a completed run of the same spec and code \
      version does nothing; an interrupted one resumes from its checkpoint in the cache (Slurm --requeue).
      """)

  @Argument(help: "The sweep's folder.")
  var sweep: String

  @Option(help: "The task's index (default: $SLURM_ARRAY_TASK_ID).")
  var index: Int?

  @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Run>

  func run() throws {
    let directory = URL(fileURLWithPath: sweep).standardizedFileURL
    let manifest = try Sweep.load(directory: directory)
    guard let index = index ?? ProcessInfo.processInfo.environment["SLURM_ARRAY_TASK_ID"].flatMap({ Int($0) }) else {
      throw InputError.badArgument(option: "--index", value: "", expected: "a task index (or SLURM_ARRAY_TASK_ID set by Slurm)")
    }
    let task = try manifest.task(index)
    let registry = try Registry.locate()
    var plan = try RunPlan.make(
      registry: registry, target: task.target, profile: task.profile, seed: task.seed, seeds: nil, subset: task.subset,
      data: manifest.data, overrides: manifest.overrides, threads: try threads.count())
    plan.sweepTask = RunProvenance(sweep: manifest.name, taskIndex: index)
    let shard = Sweep.shard(task, in: directory).path
    let job = RunProvenance.slurmJobID(ProcessInfo.processInfo.environment).map { ", Slurm job \($0)" } ?? ""
    say("== \(task.name) of sweep \(manifest.name): \(task.label) on \(HostFacts.hostName)\(job), \(Date())")
    let code = registry.codeVersion
    if let id = ResultsStore.completedRunID(
      in: shard, spec: plan.specs[0], dataSource: plan.data.label, codeVersion: code.version, codeDirty: code.dirty)
    {
      say("already done: run \(id) in \(shard) is a completed run of this spec and code; nothing to do")
      return
    }
    _ = try plan.execute(store: try DeferredStore(path: shard, journal: .rollback)) { say(RunCommand.summary($0, target: plan.target)) }
  }

  /// Writes a line to standard output at once (unbuffered), so a log that takes both standard
  /// output and standard error keeps their lines in order.
  private func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
  }
}

/// `replicate sweep status <folder|name>`: done, running, pending, failed and missing tasks.
struct SweepStatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show each task of a sweep: done, running, pending, failed or missing (shards, logs, and squeue when present).")

  @Argument(help: "The sweep's folder, or its name under <store folder>/shards.")
  var sweep: String

  @Option(help: "Log lines shown for each failed task.")
  var lines: Int = 5

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    let directory = SweepCommand.folder(sweep, store: store, registry: registry)
    let manifest = try Sweep.load(directory: directory)
    let queued = Self.squeue(jobName: SlurmScript.jobName(manifest))
    let states = SweepTaskStatus.of(sweep: manifest, directory: directory, scheduler: queued ?? [:])
    print(table(["task", "run", "state", "job", "detail"], states.map {
      [$0.task.name, $0.task.label, $0.state.rawValue, $0.jobID ?? "", $0.detail]
    }))
    let counts = SweepTaskStatus.State.allCases.map { s in "\(states.filter { $0.state == s }.count) \(s.rawValue)" }
    print("sweep \(manifest.name): " + counts.joined(separator: ", ") + (queued == nil ? " (no squeue here)" : ""))
    for s in states where s.state == .failed {
      let log = Sweep.log(s.task, in: directory)
      let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).joined(separator: "\n")
      print("\n\(s.task.name) (\(s.task.label)) failed; last lines of \(log.path):\n\(tail)")
    }
  }

  /// Array index → state of the sweep's queued tasks, or nil without `squeue`.
  static func squeue(jobName: String) -> [Int: String]? {
    guard let out = Shell.output("squeue", ["-h", "-r", "--name=\(jobName)", "-o", "%K %T"]) else { return nil }
    var states: [Int: String] = [:]
    for line in out.split(separator: "\n") {
      let parts = line.split(separator: " ")
      if parts.count == 2, let i = Int(parts[0]) { states[i] = String(parts[1]) }
    }
    return states
  }
}

/// `replicate merge`: folds sweep shards into the main store.
struct MergeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Fold sweep shards (a sweep folder or .sqlite files) into the results store, idempotently.",
    discussion: """
      Each shard is copied in one transaction; a run already present (same spec, host, pid and start time) is \
      not copied again, so merging twice adds nothing. Runs keep their provenance (host, sweep, task index, \
      Slurm job id) and record the shard they came from. Runs still running are left for a later merge. A \
      shard written by a newer replicate is refused. Every shard is checked before the store is touched.
      """)

  @Argument(help: "Sweep folders (every task-NNNN.sqlite in them) or shard files.")
  var shards: [String]

  @OptionGroup var store: StoreOptions

  func run() throws {
    let registry = try Registry.locate()
    var files: [String] = []
    var missing: [String] = []
    for source in shards {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
        throw InputError.badArgument(option: "shards", value: source, expected: "a sweep folder or a shard file")
      }
      if !isDirectory.boolValue {
        files.append(source)
        continue
      }
      let folder = URL(fileURLWithPath: source).standardizedFileURL
      if let sweep = try? Sweep.load(directory: folder) {
        for task in sweep.tasks {
          let shard = Sweep.shard(task, in: folder).path
          if FileManager.default.fileExists(atPath: shard) { files.append(shard) } else { missing.append(task.name) }
        }
      } else {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        files += names.filter { $0.hasSuffix(".sqlite") }.sorted().map { folder.appendingPathComponent($0).path }
      }
    }
    for file in files { try ResultsStore.checkShard(file) }
    let results = try store.open(registry)
    var rows: [[String]] = []
    var total = MergeOutcome(shard: "", added: 0, alreadyPresent: 0, unfinished: 0)
    for file in files {
      let o = try results.merge(shard: file)
      rows.append([file, String(o.added), String(o.alreadyPresent), String(o.unfinished)])
      total.added += o.added
      total.alreadyPresent += o.alreadyPresent
      total.unfinished += o.unfinished
    }
    print(table(["shard", "added", "already present", "still running"], rows))
    print(
      "merged \(files.count) shards into \(results.path): \(total.added) runs added, \(total.alreadyPresent) already present"
        + (total.unfinished > 0 ? ", \(total.unfinished) still running (merge again later)" : "")
        + (missing.isEmpty ? "" : "; \(missing.count) tasks have no shard yet (see `replicate sweep status`)"))
  }
}

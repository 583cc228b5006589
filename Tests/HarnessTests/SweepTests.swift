import Basics
import Foundation
import Harness
import Testing

/// Sweeps: the task list, its manifest, the target files' resources and the Slurm scripts.
@Suite struct SweepTests {
  let registry = Registry(root: projectRoot)

  func message(_ body: () throws -> Void) -> String {
    do { try body() } catch { return String(describing: error) }
    return "no error"
  }

  @Test func planExpandsTargetsProfilesSubsetsAndSeedsInOrder() throws {
    let sweep = try Sweep.plan(
      registry: registry, targets: ["blur-detection", "moco-v2"], profiles: ["smoke", "ci"], seeds: "0-2",
      subsets: ["100%", "50%"], data: nil, name: nil)
    #expect(sweep.tasks.count == 2 * 2 * 2 * 3)
    #expect(sweep.tasks.map(\.index) == Array(0..<24))
    #expect(sweep.tasks.prefix(4).map(\.label) == [
      "blur-detection · smoke · seed 0 · 100%", "blur-detection · smoke · seed 1 · 100%",
      "blur-detection · smoke · seed 2 · 100%", "blur-detection · smoke · seed 0 · 50%",
    ])
    #expect(sweep.tasks[12].target == "moco-v2" && sweep.tasks[12].name == "task-0012")
    // The same request names the same sweep (a re-submission finds its shards); another does not.
    let same = try Sweep.plan(
      registry: registry, targets: ["blur-detection", "moco-v2"], profiles: ["smoke", "ci"], seeds: "0-2",
      subsets: ["100%", "50%"], data: nil, name: nil)
    #expect(same.name == sweep.name && sweep.name.hasPrefix("blur-detection+moco-v2-smoke+ci-"))
    let other = try Sweep.plan(
      registry: registry, targets: ["blur-detection"], profiles: ["smoke"], seeds: "0-3", subsets: ["100%"], data: nil, name: nil)
    #expect(other.name != sweep.name)
  }

  @Test func planRefusesBadInputBeforeWritingAnything() {
    func plan(_ targets: [String], profiles: [String] = ["smoke"], seeds: String = "0", subsets: [String] = ["100%"], name: String? = nil) -> String {
      message { _ = try Sweep.plan(registry: registry, targets: targets, profiles: profiles, seeds: seeds, subsets: subsets, data: nil, name: name) }
    }
    #expect(plan(["no-such-target"]).contains("unknown target 'no-such-target'"))
    #expect(plan(["blur-detection"], profiles: ["claims"]).contains("has no profile 'claims'"))
    #expect(plan(["blur-detection"], seeds: "3-1").contains("--seeds '3-1'"))
    #expect(plan(["blur-detection"], subsets: ["150%"]).contains("--subset '150%'"))
    #expect(plan(["blur-detection"], name: "../escape").contains("--name '../escape'"))
    #expect(plan([]).contains("at least one target"))
  }

  @Test func manifestIsWrittenOnceAndAnotherSweepUnderItsNameIsRefused() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
    let sweep = try Sweep.plan(
      registry: registry, targets: ["blur-detection"], profiles: ["smoke"], seeds: "0-1", subsets: ["100%"], data: nil, name: "s1")
    try sweep.save(directory: dir)
    #expect(try Sweep.load(directory: dir) == sweep)
    try sweep.save(directory: dir)  // the same sweep again: resumed, not refused
    let other = try Sweep.plan(
      registry: registry, targets: ["blur-detection"], profiles: ["smoke"], seeds: "0-2", subsets: ["100%"], data: nil, name: "s1")
    #expect(message { try other.save(directory: dir) }.contains("holds a sweep of other tasks"))
    #expect(message { _ = try sweep.task(2) }.contains("--index '2'"))
    #expect(Sweep.shard(sweep.tasks[1], in: dir).lastPathComponent == "task-0001.sqlite")
    #expect(Sweep.log(sweep.tasks[1], in: dir).path.hasSuffix("logs/task-0001.log"))
    #expect(message { _ = try Sweep.load(directory: dir.appendingPathComponent("nope")) }.contains("sweep.json"))
  }

  /// `--set` is part of the sweep: it names another sweep, and a manifest written before the key
  /// existed reads as a sweep without overrides.
  @Test func overridesNameAnotherSweepAndOldManifestsHaveNone() throws {
    let plain = try Sweep.plan(
      registry: registry, targets: ["blur-detection"], profiles: ["smoke"], seeds: "0-1", subsets: ["100%"], data: nil, name: nil)
    let set = try Sweep.plan(
      registry: registry, targets: ["blur-detection"], profiles: ["smoke"], seeds: "0-1", subsets: ["100%"], data: nil,
      overrides: ["bootstrap=60"], name: nil)
    #expect(set.overrides == ["bootstrap=60"] && plain.overrides.isEmpty && set.name != plain.name)
    #expect(message {
      _ = try Sweep.plan(
        registry: registry, targets: ["blur-detection"], profiles: ["smoke"], seeds: "0", subsets: ["100%"], data: nil,
        overrides: ["nope=1"], name: nil)
    }.contains("nope"))
    var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plain)) as! [String: Any]
    json.removeValue(forKey: "overrides")
    let old = try JSONDecoder().decode(Sweep.self, from: JSONSerialization.data(withJSONObject: json))
    #expect(old == plain)
  }

  /// `resources:` in target.yaml: CPUs and memory per task, a time limit per profile; typos and
  /// values Slurm would not read are refused with the key.
  @Test func targetResourcesAreReadAndChecked() throws {
    let full = try shippedBlurTarget()
    let shipped = full.replacingOccurrences(of: #"\nresources:\n(  .*\n)+"#, with: "\n", options: .regularExpression)
    #expect(!shipped.contains("resources:") && shipped.contains("profiles:"))
    func load(_ block: String) throws -> TargetSpec {
      try temporaryRoot(text: shipped + "\n" + block).target("blur-detection")
    }
    let t = try load("resources:\n  cpus: 4\n  memory: 8G\n  time: {smoke: \"00:05:00\", ci: \"1-02:00:00\"}\n")
    #expect(t.resources.task(profile: "smoke") == TaskResources(cpus: 4, memory: "8G", time: "00:05:00"))
    #expect(t.resources.task(profile: "ci").seconds == 93_600)
    #expect(t.resources.task(profile: "paper").time == ResourceTable.defaultTime)
    #expect(t.resources.task(profile: "ci").megabytes == 8192)
    #expect(message { _ = try load("resources:\n  cpus: 1.5\n") }.contains("resources.cpus"))
    #expect(message { _ = try load("resources:\n  memory: lots\n") }.contains("not a Slurm memory size"))
    #expect(message { _ = try load("resources:\n  time: {ci: \"90 minutes\"}\n") }.contains("resources.time.ci"))
    #expect(message { _ = try load("resources:\n  time: {claims: \"01:00:00\"}\n") }.contains("no profile 'claims'"))
    #expect(message { _ = try load("resources:\n  gpus: 1\n") }.contains("gpus"))
    // Every shipped target states its resources, with a limit for each of its profiles.
    for target in try registry.allTargets() {
      for profile in target.profiles {
        #expect(target.resources.times[profile.name] != nil, "\(target.id) has no time limit for \(profile.name)")
      }
    }
  }

  @Test func slurmArraysGroupTasksByResourcesAndNameTaskIndices() throws {
    #expect(SlurmScript.arraySpec([0, 1, 2, 3], maxParallel: nil) == "0-3")
    #expect(SlurmScript.arraySpec([9, 0, 2, 3, 4, 7], maxParallel: 4) == "0,2-4,7,9%4")
    let small = TaskResources(cpus: 2, memory: "4G", time: "00:10:00")
    let big = TaskResources(cpus: 8, memory: "32G", time: "12:00:00")
    let tasks = [small, big, small, big, big].enumerated().map { i, r in
      SweepTask(index: i, target: "t", profile: "ci", seed: UInt64(i), subset: "100%", resources: r)
    }
    let groups = SlurmScript.groups(tasks)
    #expect(groups.map(\.resources) == [small, big])
    #expect(groups.map { $0.tasks.map(\.index) } == [[0, 2], [1, 3, 4]])
    let sweep = Sweep(name: "calib", data: nil, tasks: tasks)
    let script = SlurmScript.render(
      sweep: sweep, tasks: groups[1].tasks, resources: big, directory: URL(fileURLWithPath: "/shared/shards/calib"),
      binary: "/opt/replicate/bin/replicate", root: "/home/me/it's here", cache: "/shared/cache",
      options: .init(maxParallel: 2, partition: "gpu", account: nil))
    let lines = script.split(separator: "\n").map(String.init)
    #expect(lines.first == "#!/bin/bash")
    for expected in [
      "#SBATCH --job-name=replicate-calib", "#SBATCH --array=1,3-4%2", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=32G",
      "#SBATCH --time=12:00:00", "#SBATCH --output=/shared/shards/calib/logs/task-%4a.log", "#SBATCH --requeue",
      "#SBATCH --partition=gpu", "export REPLICATE_ROOT='/home/me/it'\\''s here'", "export REPLICATE_CACHE='/shared/cache'",
      "exec '/opt/replicate/bin/replicate' sweep task '/shared/shards/calib' --index \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-8}\"",
    ] {
      #expect(lines.contains(expected), "missing: \(expected)")
    }
    #expect(!lines.contains { $0.hasPrefix("#SBATCH --account") })
  }

  @Test func slurmJobIDComesFromTheArrayVariables() {
    #expect(RunProvenance.slurmJobID(["SLURM_ARRAY_JOB_ID": "41", "SLURM_ARRAY_TASK_ID": "3", "SLURM_JOB_ID": "44"]) == "41_3")
    #expect(RunProvenance.slurmJobID(["SLURM_JOB_ID": "44"]) == "44")
    #expect(RunProvenance.slurmJobID([:]) == nil)
  }
}

import Foundation
import GRDB
import Testing

/// `replicate sweep` (local runner), `sweep status`, `merge` and `calibrate --from-store`, end to
/// end; the Slurm path runs against a real Slurm in scripts/slurm-test.sh.
@Suite struct SweepCLITests {
  /// Metrics of every completed run in `store`, by seed.
  func metricsBySeed(_ store: String) throws -> [Int64: [String: Double]] {
    try DatabaseQueue(path: store).read { db in
      var out: [Int64: [String: Double]] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT r.seed, m.name, m.value FROM run r JOIN metric m ON m.runID = r.id WHERE r.status = 'completed'")
      {
        out[row["seed"], default: [:]][row["name"]] = row["value"]
      }
      return out
    }
  }

  /// A sweep of three seeds with two local processes, merged, gives the same metrics (bit for
  /// bit), the same gate verdicts and the same calibrated bands as the seeds run one by one; a
  /// second sweep and a second merge do nothing.
  @Test func localSweepMergeAndGateMatchSerialRuns() throws {
    let box = try Sandbox()
    let merged = box.path("Reports/merged.sqlite")
    let serial = box.path("Reports/serial.sqlite")
    let sweep = try box.run([
      "sweep", "blur-detection", "--profile", "smoke", "--seeds", "0-2", "--name", "three", "--local", "2", "--db", merged,
    ])
    #expect(sweep.status == 0, "\(sweep.stderr)")
    #expect(sweep.stdout.contains("3 done, 0 failed") && sweep.stdout.contains("2 processes × 1 threads"), "\(sweep.stdout)")
    let folder = box.path("Reports/shards/three")
    for i in 0..<3 {
      #expect(FileManager.default.fileExists(atPath: "\(folder)/task-000\(i).sqlite"))
      let log = try String(contentsOfFile: "\(folder)/logs/task-000\(i).log", encoding: .utf8)
      #expect(log.hasPrefix("== task-000\(i) of sweep three: blur-detection · smoke · seed \(i) · 100%"), "\(log)")
    }
    #expect(!FileManager.default.fileExists(atPath: merged), "the shards are merged only by `merge`")
    let status = try box.run(["sweep", "status", "three", "--db", merged])
    #expect(status.status == 0 && status.stdout.contains("3 done, 0 running, 0 pending, 0 failed, 0 missing"), "\(status.stdout)")

    let merge = try box.run(["merge", folder, "--db", merged])
    #expect(merge.status == 0 && merge.stdout.contains("3 runs added, 0 already present"), "\(merge.stdout)\(merge.stderr)")
    let again = try box.run(["merge", folder, "--db", merged])
    #expect(again.stdout.contains("0 runs added, 3 already present"), "\(again.stdout)")
    let rerun = try box.run(["sweep", "blur-detection", "--profile", "smoke", "--seeds", "0-2", "--name", "three", "--local", "2", "--db", merged])
    #expect(rerun.status == 0 && rerun.stdout.contains("3 tasks, 3 already done") && rerun.stdout.contains("0 tasks ran"), "\(rerun.stdout)")
    let provenance = try DatabaseQueue(path: merged).read { db in
      try Row.fetchAll(db, sql: "SELECT sweep, taskIndex, mergedFrom FROM run ORDER BY taskIndex")
    }
    #expect(provenance.map { $0["taskIndex"] as Int } == [0, 1, 2])
    #expect(provenance.allSatisfy { ($0["sweep"] as String) == "three" && ($0["mergedFrom"] as String).hasPrefix(folder) })

    #expect(try box.run(["blur-detection", "--profile", "smoke", "--seeds", "0-2", "--db", serial]).status == 0)
    #expect(try metricsBySeed(merged) == metricsBySeed(serial))
    let gateMerged = try box.run(["gate", "--profile", "smoke", "--targets", "blur-detection", "--db", merged])
    let gateSerial = try box.run(["gate", "--profile", "smoke", "--targets", "blur-detection", "--db", serial])
    #expect(gateMerged.status == 0 && gateMerged.stdout == gateSerial.stdout, "\(gateMerged.stdout)\n\(gateSerial.stdout)")
    let report = try box.run(["report", "--profiles", "smoke", "--junit", box.path("Reports/junit.xml"), "--db", merged])
    let junit = try String(contentsOfFile: box.path("Reports/junit.xml"), encoding: .utf8)
    let suite = #"<testsuite name="blur-detection.smoke" tests="[0-9]+" failures="0" errors="0" skipped="0""#
    #expect(report.status == 0 && junit.range(of: suite, options: .regularExpression) != nil, "\(junit.prefix(600))")

    // Bands from the merged runs equal bands from calibrating the same seeds here.
    let bands = box.path("Replications/blur-detection/bands.yaml")
    let fromStore = try box.run([
      "calibrate", "blur-detection", "--profile", "smoke", "--from-store", "--max-seeds", "3", "--db", merged,
    ])
    #expect(fromStore.status == 0 && fromStore.stdout.contains("derived from 3 runs"), "\(fromStore.stdout)\(fromStore.stderr)")
    let derived = try String(contentsOfFile: bands, encoding: .utf8)
    let calibrated = try box.run([
      "calibrate", "blur-detection", "--profile", "smoke", "--seeds", "0-2", "--max-seeds", "3", "--db", serial,
    ])
    #expect(calibrated.status == 0, "\(calibrated.stderr)")
    func comparable(_ text: String) -> String {
      text.split(separator: "\n").filter { !$0.contains("date:") && !$0.contains("host:") }.joined(separator: "\n")
    }
    #expect(comparable(derived) == comparable(try String(contentsOfFile: bands, encoding: .utf8)))
  }

  /// `--set` reaches every task: the runs carry the override, are not canonical (the gate leaves
  /// them out), and the shards are in rollback-journal mode (readable from another node).
  @Test func overridesReachEveryTaskAndShardsUseTheRollbackJournal() throws {
    let box = try Sandbox()
    let store = box.path("Reports/results.sqlite")
    let r = try box.run([
      "sweep", "blur-detection", "--profile", "smoke", "--seeds", "0-1", "--set", "bootstrap=60", "--name", "o", "--local", "1",
      "--db", store,
    ])
    #expect(r.status == 0 && r.stdout.contains("sweep o with --set bootstrap=60: 2 tasks"), "\(r.stdout)\(r.stderr)")
    let folder = box.path("Reports/shards/o")
    for i in 0..<2 {
      let shard = "\(folder)/task-000\(i).sqlite"
      let (mode, overrides, canonical) = try DatabaseQueue(path: shard).read { db in
        (
          try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
          try String.fetchOne(db, sql: "SELECT overrides FROM run") ?? "",
          try Bool.fetchOne(db, sql: "SELECT canonical FROM run") ?? true
        )
      }
      #expect(mode == "delete" && overrides.contains("bootstrap") && !canonical, "\(mode) \(overrides) \(canonical)")
      #expect(!FileManager.default.fileExists(atPath: shard + "-wal"))
    }
    #expect(try box.run(["merge", folder, "--db", store]).stdout.contains("2 runs added"))
    let gate = try box.run(["gate", "--profile", "smoke", "--targets", "blur-detection", "--db", store])
    #expect(gate.status != 0 && gate.stderr.contains("no canonical completed run"), "\(gate.stdout)\(gate.stderr)")
    // Another --set under the same name is another sweep; a key the target does not have exits 2.
    let other = try box.run([
      "sweep", "blur-detection", "--profile", "smoke", "--seeds", "0-1", "--set", "bootstrap=80", "--name", "o", "--db", store,
    ])
    #expect(other.status == 2 && other.stderr.contains("holds a sweep of other tasks"), "\(other.stderr)")
    let typo = try box.run(["sweep", "blur-detection", "--profile", "smoke", "--set", "bootstrapp=60", "--db", store])
    #expect(typo.status == 2 && typo.stderr.contains("bootstrapp"), "\(typo.stderr)")
  }

  /// Bad sweep input exits 2 and writes nothing; a task that fails shows in the runner and in
  /// `sweep status` with its log.
  @Test func badInputAndFailedTasks() throws {
    let box = try Sandbox()
    let store = box.path("Reports/results.sqlite")
    let shards = box.path("Reports/shards")
    for arguments in [
      ["sweep", "no-such-target", "--local", "2"],
      ["sweep", "blur-detection", "--profile", "smoke", "--local", "0"],
      ["sweep", "blur-detection", "--profile", "smoke", "--submit"],
      ["sweep", "blur-detection", "--profile", "smoke", "--local", "2", "--slurm"],
      ["sweep", "blur-detection", "--profile", "smoke", "--subset", "50"],
      ["merge", box.path("nowhere")],
      ["calibrate", "blur-detection", "--profile", "smoke", "--from-store"],
    ] {
      let r = try box.run(arguments + ["--db", store])
      #expect(r.status == 2, "\(arguments): \(r.status) \(r.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: shards) && !FileManager.default.fileExists(atPath: store))
    let planned = try box.run(["sweep", "blur-detection", "--profile", "smoke", "--seeds", "0-1", "--name", "p", "--db", store])
    #expect(planned.status == 0 && planned.stdout.contains("run it with --local N"), "\(planned.stdout)")
    #expect(try box.run(["sweep", "task", "\(shards)/p", "--index", "5", "--db", store]).status != 0)
    #expect(try box.run(["sweep", "task", "\(shards)/p", "--index", "5"]).status == 2)

    // A task whose images are not images: exit 2 inside the task, "failed" with its log.
    let images = box.path("images")
    try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
    try Data("not a png".utf8).write(to: URL(fileURLWithPath: "\(images)/a.png"))
    let bad = try box.run([
      "sweep", "blur-detection", "--profile", "paper", "--data", images, "--name", "bad", "--local", "1", "--db", store,
    ])
    #expect(bad.status == 1 && bad.stdout.contains("FAILED (exit 2)"), "\(bad.stdout)")
    let status = try box.run(["sweep", "status", "bad", "--db", store])
    #expect(status.stdout.contains("1 failed") && status.stdout.contains("is not a supported image"), "\(status.stdout)")
    // The Slurm script without submitting: one array, the task indices, this binary.
    let script = try box.run(["sweep", "blur-detection", "--profile", "smoke", "--seeds", "0-1", "--name", "p", "--slurm", "--db", store])
    #expect(script.status == 0, "\(script.stderr)")
    let text = try String(contentsOfFile: "\(shards)/p/sweep-0.sbatch", encoding: .utf8)
    #expect(text.contains("#SBATCH --array=0-1\n") && text.contains("#SBATCH --time=00:10:00\n"), "\(text)")
    #expect(text.contains("sweep task '\(shards)/p' --index \"$SLURM_ARRAY_TASK_ID\""), "\(text)")
  }
}

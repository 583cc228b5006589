import Engine
import Foundation
import Results
import Testing

/// End to end: an SSL run killed with `kill -9` mid-training and run again resumes from its last
/// checkpoint and records exactly the metrics and curves of an uninterrupted run, also when it
/// resumes with another thread count (as a Slurm task requeued with other `--cpus-per-task`).
@Suite struct ResumeCLITests {
  /// MoCo v1 smoke: 64 images in batches of 16 for 1 epoch = 4 steps per pretraining, and three
  /// pretrainings (the main one, then the arms m = 0.9 and m = 0).
  static let arguments = ["moco-v1", "--profile", "smoke", "--threads", "2"]
  static let stepsPerPretraining = 4
  static let pretrainings = 3

  @Test func killedRunResumesBitForBit() throws {
    let box = try Sandbox()
    defer { try? FileManager.default.removeItem(at: box.root) }
    let storeA = box.path("Reports/a.sqlite"), storeB = box.path("Reports/b.sqlite")
    // A: uninterrupted (same cache, so the same run key; it deletes its checkpoints at the end).
    let a = try box.run(Self.arguments + ["--db", storeA], cache: box.ownCache)
    try #require(a.status == 0, "uninterrupted run failed: \(a.stderr)")
    #expect(!checkpointFolderExists(box.ownCache), "a completed run leaves no checkpoints")

    // B: checkpoints after every step, killed once the checkpoints reach a random step.
    let total = Self.stepsPerPretraining * Self.pretrainings
    var killStep = Int.random(in: 1...(total - 2))
    var killed = false
    for attempt in 1...4 where !killed {
      let p = try box.start(Self.arguments + ["--db", storeB], environment: ["REPLICATE_CHECKPOINT_EVERY": "1"])
      let deadline = Date().addingTimeInterval(120)
      while p.isRunning && Date() < deadline
        && checkpointedSteps(box.ownCache, stepsPerPretraining: Self.stepsPerPretraining) < killStep
      {
        usleep(500)
      }
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      killed = p.terminationReason == .uncaughtSignal
      if !killed {
        // It finished before the kill landed (a slow poll): try again, earlier.
        print("ResumeCLITests: attempt \(attempt) finished before the kill at step \(killStep); retrying")
        killStep = max(1, killStep / 2)
      }
    }
    try #require(killed, "the run always finished before it could be killed")
    print("ResumeCLITests: killed after checkpoint step \(killStep) of \(total)")
    let saved = box.root.appendingPathComponent("saved-checkpoints")
    try FileManager.default.copyItem(at: box.ownCache.appendingPathComponent("checkpoints"), to: saved)

    // Run again, on one thread: it resumes and must end exactly where A ended.
    let oneThread = Self.arguments.dropLast(2) + ["--threads", "1"]
    let resumed = try box.run(oneThread + ["--db", storeB], cache: box.ownCache)
    try #require(resumed.status == 0, "resumed run failed: \(resumed.stderr)")
    let runB = try lastCompletedRun(storeB)
    #expect(runB.message?.contains("resumed") == true, "notes: \(runB.message ?? "none")")
    try expectSameResults(storeA, storeB)
    #expect(!checkpointFolderExists(box.ownCache), "the resumed run deletes its checkpoints when done")

    // --fresh ignores (and deletes) the same checkpoints and still ends where A ended.
    try FileManager.default.copyItem(at: saved, to: box.ownCache.appendingPathComponent("checkpoints"))
    let fresh = try box.run(Self.arguments + ["--db", storeB, "--fresh"], cache: box.ownCache)
    try #require(fresh.status == 0, "fresh run failed: \(fresh.stderr)")
    let runFresh = try lastCompletedRun(storeB)
    #expect(runFresh.message?.contains("resumed") == false, "notes: \(runFresh.message ?? "none")")
    try expectSameResults(storeA, storeB)
  }

  /// The last completed run of a store.
  func lastCompletedRun(_ path: String) throws -> StoredRun {
    try #require(try ResultsStore(path: path).runs().last { $0.runStatus == .completed })
  }

  /// The last completed runs of both stores have the same metrics (wall times aside) and curves,
  /// bit for bit.
  func expectSameResults(_ pathA: String, _ pathB: String) throws {
    let (a, b) = (try ResultsStore(path: pathA), try ResultsStore(path: pathB))
    let (runA, runB) = (try lastCompletedRun(pathA), try lastCompletedRun(pathB))
    let idA = try #require(runA.id), idB = try #require(runB.id)
    let metricsA = try a.metrics(runID: idA).filter { $0.key != "train_seconds" }
    let metricsB = try b.metrics(runID: idB).filter { $0.key != "train_seconds" }
    #expect(metricsA.count >= 8)
    #expect(metricsA.keys.sorted() == metricsB.keys.sorted())
    for (name, value) in metricsA {
      #expect(metricsB[name]?.bitPattern == value.bitPattern, "\(name): \(value) vs \(metricsB[name] ?? .nan)")
    }
    let curve = { (s: ResultsStore, id: Int64) in
      try s.series(runID: id).map { "\($0.name) \($0.step) \($0.value.bitPattern)" }.sorted()
    }
    #expect(try curve(a, idA) == curve(b, idB))
  }
}

/// Whether any run's checkpoint folder exists under `cache`.
func checkpointFolderExists(_ cache: URL) -> Bool {
  let root = cache.appendingPathComponent("checkpoints").path
  return !((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).isEmpty
}

/// How far the checkpoints under `cache` got, in steps over all pretrainings in order: the
/// pretraining checkpoints record their label's index and step, the run record the finished ones.
func checkpointedSteps(_ cache: URL, stepsPerPretraining: Int) -> Int {
  let fm = FileManager.default
  let root = cache.appendingPathComponent("checkpoints")
  var best = 0
  for run in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] {
    let folder = root.appendingPathComponent(run)
    for file in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where file.hasSuffix(".safetensors") {
      // A file may be replaced or deleted while we look: skip what cannot be read.
      guard let (_, metadata) = try? SafeTensors.read(folder.appendingPathComponent(file).path),
        let json = metadata["record"],
        let record = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
      else { continue }
      if let finished = record["finished"] as? [String] {
        // The evaluations without training (random init, the no-learning control) take no steps.
        best = max(best, finished.filter { $0 != "random_init" && $0 != "control" }.count * stepsPerPretraining)
      }
      if let index = record["labelIndex"] as? Int, let iteration = record["iteration"] as? Int {
        best = max(best, index * stepsPerPretraining + iteration)
      }
    }
  }
  return best
}

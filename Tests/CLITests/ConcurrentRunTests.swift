import Foundation
import GRDB
import Testing

/// Several processes on one fresh cache and one fresh store (two targets started at once, or array
/// jobs sharing a cache): every run completes and is recorded, the dataset is generated once, and
/// no partial cache folder is left.
@Suite struct ConcurrentRunTests {
  @Test func processesShareAFreshCacheAndAFreshStore() throws {
    let box = try Sandbox()
    let store = box.path("concurrent.sqlite")
    let processes = try (0..<6).map { seed in
      try box.start(["blur-detection", "--profile", "smoke", "--seed", String(seed), "--db", store])
    }
    for p in processes { p.waitUntilExit() }
    #expect(processes.map(\.terminationStatus) == Array(repeating: 0, count: 6))
    let rows = try DatabaseQueue(path: store).read { db in
      try Row.fetchAll(db, sql: "SELECT seed, status FROM run ORDER BY seed")
    }
    #expect(rows.map { $0["seed"] as Int64 } == [0, 1, 2, 3, 4, 5])
    #expect(rows.allSatisfy { ($0["status"] as String) == "completed" })
    let datasets = box.root.appendingPathComponent(".cache/datasets")
    let names = try FileManager.default.contentsOfDirectory(atPath: datasets.path)
    #expect(names.filter { !$0.hasSuffix(".lock") }.count == 1, "\(names)")
    #expect(names.allSatisfy { !$0.contains(".partial-") })
  }
}

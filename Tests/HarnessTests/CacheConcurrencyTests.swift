import Basics
import Dispatch
import Foundation
import Harness
import Testing

/// Caches under concurrent use: one writer builds, everyone else adopts the complete entry, and a
/// complete entry is never deleted while another reader may hold it.
@Suite struct CacheConcurrencyTests {
  private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
  }

  private func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// Eight threads ask for one missing entry at once: it is built once and all see its content.
  @Test func oneBuilderManyAdopters() throws {
    let root = try temporaryFolder("cache-publisher")
    let entry = root.appendingPathComponent("entry")
    let builds = Counter()
    let results = UnsafeSendableArray(count: 8)
    DispatchQueue.concurrentPerform(iterations: 8) { i in
      results[i] = try? CachePublisher.entry(
        at: entry,
        isComplete: { dir in try? String(contentsOf: dir.appendingPathComponent("payload"), encoding: .utf8) }
      ) { partial in
        builds.increment()
        Thread.sleep(forTimeInterval: 0.05)  // long enough for every thread to arrive
        try "built".write(to: partial.appendingPathComponent("payload"), atomically: false, encoding: .utf8)
      }
    }
    #expect(builds.count == 1)
    #expect(results.values.allSatisfy { $0 == "built" })
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.contains(".partial-") }
    #expect(leftovers.isEmpty)
  }

  /// A damaged entry is rebuilt; a failed build leaves no partial folder and no entry.
  @Test func damagedEntriesAreRebuiltAndFailedBuildsLeaveNothing() throws {
    let root = try temporaryFolder("cache-repair")
    let entry = root.appendingPathComponent("entry")
    try FileManager.default.createDirectory(at: entry, withIntermediateDirectories: true)
    try "damaged".write(to: entry.appendingPathComponent("payload"), atomically: false, encoding: .utf8)
    let complete: (URL) -> String? = { dir in
      let text = try? String(contentsOf: dir.appendingPathComponent("payload"), encoding: .utf8)
      return text == "good" ? text : nil
    }
    let value = try CachePublisher.entry(at: entry, isComplete: complete) { partial in
      try "good".write(to: partial.appendingPathComponent("payload"), atomically: false, encoding: .utf8)
    }
    #expect(value == "good")
    struct Boom: Error {}
    let other = root.appendingPathComponent("other")
    #expect(throws: Boom.self) {
      try CachePublisher.entry(at: other, isComplete: complete) { _ in throw Boom() }
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
    #expect(!names.contains("other"))
    #expect(names.allSatisfy { !$0.contains(".partial-") && !$0.contains(".stale-") })
  }

  /// The flaky case of the suite: several loaders of one synthetic slide set in one process (the
  /// tests run concurrently, all with the same pid). Every one gets the complete set.
  @Test func concurrentSlideLoadersShareOneGeneration() throws {
    let root = try temporaryFolder("slide-race")
    let (manifest, _) = try TinySlides.manifest(in: root, seed: 5)
    let loader = SlideDatasetLoader(cacheDirectory: root.appendingPathComponent("cache"))
    let hashes = UnsafeSendableArray(count: 4)
    DispatchQueue.concurrentPerform(iterations: 4) { i in
      hashes[i] = try? loader.load(manifest).contentHash
    }
    #expect(hashes.values.allSatisfy { $0 != nil })
    #expect(Set(hashes.values.compactMap { $0 }).count == 1)
    let names = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("cache").path)
    #expect(names.filter { !$0.hasSuffix(".lock") }.count == 1, "\(names)")
  }
}

/// A fixed-size array of optional strings written from several threads at distinct indices.
final class UnsafeSendableArray: @unchecked Sendable {
  private var storage: [String?]
  private let lock = NSLock()
  init(count: Int) { storage = Array(repeating: nil, count: count) }
  subscript(i: Int) -> String? {
    get { lock.withLock { storage[i] } }
    set { lock.withLock { storage[i] = newValue } }
  }
  var values: [String?] { lock.withLock { storage } }
}

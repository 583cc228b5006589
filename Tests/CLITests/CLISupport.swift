import Basics
import Foundation
import GRDB
import Testing
import _TestSupport

let projectRoot = TestSupport.projectRoot

/// The `replicate` binary of the same build configuration as the tests.
let replicateBinary: URL = {
  #if DEBUG
    let config = "debug"
  #else
    let config = "release"
  #endif
  return projectRoot.appendingPathComponent(".build/\(config)/replicate")
}()

/// A dataset cache shared by the CLI tests of one test process (generation happens once).
let sharedCache = FileManager.default.temporaryDirectory.appendingPathComponent("replicate-cli-cache-\(getpid())")

/// The result of one command.
struct CommandResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// A throwaway project root: a copy of the shipped targets, datasets and report templates, so
/// tests can edit target files and keep their own store.
struct Sandbox {
  let root: URL

  init() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("replicate-cli-\(UUID().uuidString)")
    let fm = FileManager.default
    try fm.createDirectory(at: root.appendingPathComponent("Reports"), withIntermediateDirectories: true)
    for item in ["Replications", "Datasets", "Reports/templates"] {
      try fm.copyItem(at: projectRoot.appendingPathComponent(item), to: root.appendingPathComponent(item))
    }
  }

  var store: String { root.appendingPathComponent("Reports/results.sqlite").path }

  func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// A `replicate` process for this sandbox, not yet started; `environment` adds variables.
  private func process(_ arguments: [String], cache: URL, environment: [String: String] = [:]) -> Process {
    let p = Process()
    p.executableURL = replicateBinary
    p.arguments = arguments
    p.currentDirectoryURL = root
    var env = ProcessInfo.processInfo.environment
    env["REPLICATE_ROOT"] = root.path
    env["REPLICATE_CACHE"] = cache.path
    env.removeValue(forKey: "REPLICATE_CHECKPOINT_EVERY")
    for (k, v) in environment { env[k] = v }
    p.environment = env
    p.standardInput = FileHandle.nullDevice
    return p
  }

  /// Runs `replicate` with `arguments` inside the sandbox (with the shared dataset cache unless
  /// `cache` is given, and `environment` added to the process's).
  @discardableResult
  func run(_ arguments: [String], cache: URL? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    guard FileManager.default.isExecutableFile(atPath: replicateBinary.path) else {
      Issue.record("missing \(replicateBinary.path): run the tests with scripts/test.sh (swift test -c release)")
      return CommandResult(status: -1, stdout: "", stderr: "")
    }
    let p = process(arguments, cache: cache ?? sharedCache, environment: environment)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes at once so a full pipe cannot block the child.
    let errBox = DataBox()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errBox.data = readAll(err.fileHandleForReading) }
    let outData = readAll(out.fileHandleForReading)
    p.waitUntilExit()
    group.wait()
    return CommandResult(
      status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errBox.data, as: UTF8.self))
  }

  /// The sandbox's own cache (`start` uses it).
  var ownCache: URL { root.appendingPathComponent(".cache") }

  /// Starts `replicate` in the background with its own cache (output discarded).
  func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
    let p = process(arguments, cache: ownCache, environment: environment)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
  }

  /// The status of every run in the store, oldest first (empty when there is no store).
  func runStatuses(store path: String? = nil) -> [String] {
    let file = path ?? store
    guard FileManager.default.fileExists(atPath: file) else { return [] }
    var config = Configuration()
    config.readonly = true
    guard let queue = try? DatabaseQueue(path: file, configuration: config) else { return [] }
    return (try? queue.read { db in try String.fetchAll(db, sql: "SELECT status FROM run ORDER BY id") }) ?? []
  }

  /// The metrics of the newest run in the store (empty when there is none).
  func newestRunMetrics() -> [String: Double] {
    guard FileManager.default.fileExists(atPath: store) else { return [:] }
    var config = Configuration()
    config.readonly = true
    guard let queue = try? DatabaseQueue(path: store, configuration: config) else { return [:] }
    let rows =
      (try? queue.read { db in
        try Row.fetchAll(db, sql: "SELECT name, value FROM metric WHERE runID = (SELECT MAX(id) FROM run)")
      }) ?? []
    return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as String, $0["value"] as Double) })
  }

  /// Polls the store until it holds `count` runs and the newest is running (its data is read and
  /// training has started).
  func waitForRunningRow(count: Int) throws {
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline {
      let rows = runStatuses()
      if rows.count == count && rows.last == "running" {
        usleep(300_000)
        return
      }
      usleep(100_000)
    }
    Issue.record("no running row appeared in \(store)")
  }

  /// SHA-256 of a dump of the store (every table's schema and rows in rowid order), to prove a
  /// command changed nothing. A dump, not the file bytes: merely opening a WAL database may
  /// checkpoint it, which moves bytes between files without changing any content.
  func storeFingerprint() -> String {
    guard FileManager.default.fileExists(atPath: store) else { return "missing" }
    var config = Configuration()
    config.readonly = true
    var h = SHA256Hasher()
    do {
      try DatabaseQueue(path: store, configuration: config).read { db in
        let tables = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for table in tables {
          let name: String = table["name"]
          h.update("\(name)\u{0}\(table["sql"] as String? ?? "")\u{0}")
          for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(name)\" ORDER BY rowid") {
            h.update("\(row.description)\u{0}")
          }
        }
      }
    } catch {
      return "unreadable: \(error)"
    }
    return h.finalize()
  }
}

/// Reads a pipe to its end, retrying reads a signal interrupted (`EINTR`): Foundation's
/// `readDataToEndOfFile()` traps on EINTR, which a child exiting elsewhere in the test process
/// (SIGCHLD) can cause while a long command runs.
func readAll(_ handle: FileHandle) -> Data {
  var data = Data()
  var buffer = [UInt8](repeating: 0, count: 1 << 16)
  let fd = handle.fileDescriptor
  while true {
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n > 0 {
      data.append(contentsOf: buffer[0..<n])
    } else if n == 0 || errno != EINTR {
      return data
    }
  }
}

final class DataBox: @unchecked Sendable {
  var data = Data()
}

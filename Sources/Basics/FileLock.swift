#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation

/// An exclusive advisory lock on a file or folder (`flock(2)`), held until `unlock()` or deinit.
///
/// `flock` locks belong to an open file description, so two threads of one process that each
/// open the file conflict exactly as two processes do: one mutex for threads, processes and
/// (on a local file system) array jobs sharing a cache. Never lock a SQLite database file itself:
/// closing any descriptor of that file drops every POSIX lock SQLite holds on it in this process
/// (measured here: concurrent writers then corrupted the store). Lock its folder instead.
public final class FileLock: @unchecked Sendable {
  /// The locked file.
  public let path: String
  private var fd: Int32

  /// Blocks until the lock on `path` is held. `create`: create the file (empty) when missing.
  /// - Throws: `FileLockError` when the file cannot be opened (missing and `create` false, or a
  ///   folder without write permission).
  public init(path: String, create: Bool = true) throws {
    self.path = path
    let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
    var descriptor = open(path, flags, 0o644)
    if descriptor < 0 && (errno == EACCES || errno == EISDIR) { descriptor = open(path, O_RDONLY | O_CLOEXEC) }
    guard descriptor >= 0 else { throw FileLockError(path: path, reason: String(cString: strerror(errno))) }
    fd = descriptor
    while flock(fd, LOCK_EX) != 0 {
      if errno == EINTR { continue }
      let reason = String(cString: strerror(errno))
      close(fd)
      fd = -1
      throw FileLockError(path: path, reason: reason)
    }
  }

  /// Releases the lock (idempotent).
  public func unlock() {
    guard fd >= 0 else { return }
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { unlock() }

  /// Runs `body` while holding the lock on `path`.
  public static func withLock<T>(path: String, create: Bool = true, _ body: () throws -> T) throws -> T {
    let lock = try FileLock(path: path, create: create)
    defer { lock.unlock() }
    return try body()
  }
}

/// A lock file that could not be opened or locked.
public struct FileLockError: Error, CustomStringConvertible {
  public var path: String
  public var reason: String
  public var description: String { "\(path): cannot lock (\(reason))" }
}

/// Publishing a folder into a cache so that concurrent threads and processes never see it half
/// written and never lose a complete one they may be reading.
///
/// - Readers look for a complete entry without any lock (`isComplete`).
/// - A writer takes `<entry>.lock`, looks again (another writer may have finished meanwhile),
///   builds into a private `<entry>.partial-<pid>-<uuid>` folder and renames it into place. Only an
///   entry that failed `isComplete` (damaged) is ever moved aside, and only under the lock.
public enum CachePublisher {
  /// The entry at `directory`: adopted when `isComplete` says so, else built by `build` into a
  /// private temporary folder and published.
  ///
  /// - Parameters:
  ///   - isComplete: checks an entry folder and returns its value when it is complete and intact.
  ///   - build: writes the entry into the given (empty, existing) folder.
  /// - Returns: the value of the published entry, as `isComplete` reads it, or `build`'s result
  ///   when `isComplete` rejects the fresh entry (it then throws `CacheError`).
  public static func entry<T>(
    at directory: URL, isComplete: (URL) -> T?, build: (URL) throws -> Void
  ) throws -> T {
    if let value = isComplete(directory) { return value }
    let fm = FileManager.default
    let parent = directory.deletingLastPathComponent()
    do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
      throw CacheError(path: parent.path, reason: "cannot create the cache folder (\(error.localizedDescription))")
    }
    let lock: FileLock
    do { lock = try FileLock(path: directory.path + ".lock") } catch let e as FileLockError {
      throw CacheError(path: e.path, reason: "cannot lock the cache entry (\(e.reason))")
    }
    defer { lock.unlock() }
    if let value = isComplete(directory) { return value }
    let partial = parent.appendingPathComponent(
      "\(directory.lastPathComponent).partial-\(getpid())-\(UUID().uuidString.prefix(8))", isDirectory: true)
    do { try fm.createDirectory(at: partial, withIntermediateDirectories: false) } catch {
      throw CacheError(path: partial.path, reason: "cannot create (\(error.localizedDescription))")
    }
    do {
      try build(partial)
      if fm.fileExists(atPath: directory.path) {
        // Damaged (isComplete rejected it under the lock): move it aside, then delete it.
        let stale = parent.appendingPathComponent(
          "\(directory.lastPathComponent).stale-\(getpid())-\(UUID().uuidString.prefix(8))")
        try fm.moveItem(at: directory, to: stale)
        try? fm.removeItem(at: stale)
      }
      try fm.moveItem(at: partial, to: directory)
    } catch {
      try? fm.removeItem(at: partial)
      throw error
    }
    guard let value = isComplete(directory) else {
      throw CacheError(path: directory.path, reason: "the entry just written does not verify")
    }
    return value
  }
}

/// A cache entry that could not be written or verified.
public struct CacheError: Error, CustomStringConvertible {
  public var path: String
  public var reason: String
  public var description: String { "cache \(path): \(reason)" }
}

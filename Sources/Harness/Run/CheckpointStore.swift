import Basics
import Engine
import Foundation

/// The checkpoints of one run: a folder in the cache, keyed by everything that fixes the run's
/// result, holding named entries (tensors plus a JSON record) that an interrupted run resumes from.
///
/// Key: SHA-256 over target, profile, subset, seed, config hash, data source, code
/// version (commit and dirty flag) and the running executable's identity (path, size and
/// modification time: a rebuilt binary, with edits a dirty tree's flag cannot tell apart, or
/// outside a git checkout where the version is "unknown", never resumes another build's
/// checkpoints); folder `<cache root>/checkpoints/<first 24 hex digits>/`.
/// Neither the checkpoint frequency (`REPLICATE_CHECKPOINT_EVERY`) nor the thread count changes
/// a result (same bits at any thread count), so neither is in the key: a task that Slurm requeues
/// on a node with other `--cpus-per-task` resumes. An entry is one safetensors file whose `__metadata__` holds the JSON record under
/// `"record"`; it is written to a temporary sibling and renamed into place, so a process killed
/// at any instant leaves either the previous entry or the new one, never half of one.
///
/// ```swift
/// let store = CheckpointStore(spec: spec, dataSource: data.label, environment: env, cacheRoot: root)
/// try store.save("pretraining-pretrain", tensors: state, record: progress)
/// if let (tensors, record) = try store.load("pretraining-pretrain", as: Progress.self) { … }
/// store.removeAll()  // the run completed
/// ```
public struct CheckpointStore: Sendable {
  /// The run's checkpoint folder.
  public let directory: URL
  /// The run key (64 hex digits).
  public let key: String
  /// Extra checkpoints every this many steps (nil: only at epoch ends).
  public let everySteps: Int?

  public init(directory: URL, key: String, everySteps: Int? = nil) {
    self.directory = directory
    self.key = key
    self.everySteps = everySteps
  }

  /// The store of the run `spec` on `dataSource`, under `cacheRoot` (`$REPLICATE_CACHE`, or the
  /// project's `.cache`); `REPLICATE_CHECKPOINT_EVERY` in `environment` sets `everySteps`.
  public init(
    spec: RunSpec, dataSource: String, code: RunEnvironment, cacheRoot: URL,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    let key = CheckpointStore.runKey(
      spec: spec, dataSource: dataSource, codeVersion: code.codeVersion, codeDirty: code.codeDirty,
      executable: CheckpointStore.executableIdentity)
    self.init(
      directory: cacheRoot.appendingPathComponent("checkpoints").appendingPathComponent(String(key.prefix(24))),
      key: key, everySteps: CheckpointStore.everySteps(environment))
  }

  /// The cache root: the parent of the dataset cache (`$REPLICATE_CACHE` when set).
  public static func cacheRoot(_ registry: Registry) -> URL {
    registry.cacheDirectory().deletingLastPathComponent()
  }

  /// SHA-256 of the run's identity, one `name=value` line per field.
  public static func runKey(
    spec: RunSpec, dataSource: String, codeVersion: String, codeDirty: Bool, executable: String
  ) -> String {
    let fields = [
      "target=\(spec.target)", "profile=\(spec.profile)", "subset=\(ConfigValue.format(spec.subset))",
      "seed=\(spec.seed)", "config=\(spec.config.hash)", "data=\(dataSource)",
      "code=\(codeVersion)", "dirty=\(codeDirty)", "executable=\(executable)",
    ]
    return SHA256Hasher.hex(of: fields.joined(separator: "\n"))
  }

  /// `"<path> <size> <modification time>"` of the running executable (read once per process).
  public static let executableIdentity: String = {
    let path =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? Bundle.main.executablePath ?? CommandLine.arguments.first ?? "?"
    let attributes = (try? FileManager.default.attributesOfItem(atPath: path)) ?? [:]
    let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
    let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
    return "\(path) \(size) \(modified)"
  }()

  /// `REPLICATE_CHECKPOINT_EVERY` as a positive step count; anything else means epoch ends only.
  static func everySteps(_ environment: [String: String]) -> Int? {
    guard let text = environment["REPLICATE_CHECKPOINT_EVERY"], let n = Int(text), n > 0 else { return nil }
    return n
  }

  /// The file of entry `name` (names are reduced to letters, digits, `.`, `_` and `-`).
  public func url(_ name: String) -> URL {
    let safe = String(name.unicodeScalars.map { s -> Character in
      CharacterSet.alphanumerics.contains(s) && s.isASCII || "._-".unicodeScalars.contains(s) ? Character(s) : "_"
    })
    return directory.appendingPathComponent("\(safe).safetensors")
  }

  /// Writes entry `name` atomically (replacing an older one).
  /// - Throws: `CheckpointError.cannotWrite` when the folder or file cannot be written.
  public func save<Record: Encodable>(_ name: String, tensors: [String: Tensor], record: Record) throws {
    let path = url(name).path
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      let json = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
      try SafeTensors.write(
        tensors.map { SafeTensorsEntry(name: $0.key, shape: $0.value.shape, values: $0.value.data) },
        metadata: ["record": json], to: path)
    } catch {
      throw CheckpointError.cannotWrite(path: path, reason: String(describing: error))
    }
  }

  /// Reads entry `name`; nil when there is none.
  /// - Throws: `CheckpointError.unreadable` when the file is truncated, malformed or its record
  ///   does not decode as `Record`.
  public func load<Record: Decodable>(
    _ name: String, as type: Record.Type
  ) throws -> (tensors: [String: Tensor], record: Record)? {
    let path = url(name).path
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    do {
      let (entries, metadata) = try SafeTensors.read(path)
      guard let json = metadata["record"] else {
        throw CheckpointError.unreadable(path: path, reason: "no \"record\" in the metadata")
      }
      let record = try JSONDecoder().decode(Record.self, from: Data(json.utf8))
      var tensors: [String: Tensor] = [:]
      for e in entries { tensors[e.name] = Tensor(shape: e.shape, data: e.values) }
      return (tensors, record)
    } catch let error as CheckpointError {
      throw error
    } catch {
      throw CheckpointError.unreadable(path: path, reason: String(describing: error))
    }
  }

  /// Deletes entry `name` if it exists.
  public func remove(_ name: String) {
    try? FileManager.default.removeItem(at: url(name))
  }

  /// Deletes the run's folder (the run completed, or `--fresh`).
  public func removeAll() {
    try? FileManager.default.removeItem(at: directory)
  }
}

/// A checkpoint that cannot be written or read. Runs treat both as warnings: an unwritable
/// checkpoint only loses the ability to resume, an unreadable one is ignored and training starts
/// afresh.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
  case cannotWrite(path: String, reason: String)
  case unreadable(path: String, reason: String)

  public var description: String {
    switch self {
    case .cannotWrite(let path, let reason): return "cannot write checkpoint \(path): \(reason)"
    case .unreadable(let path, let reason): return "unreadable checkpoint \(path): \(reason)"
    }
  }
}

/// A `Double` stored bit for bit in JSON (as the 16 hex digits of its bit pattern): decimal JSON
/// numbers do not promise to round-trip, and a resumed run must continue from the exact values.
public struct ExactDouble: Codable, Sendable, Equatable {
  public var value: Double

  public init(_ value: Double) { self.value = value }

  public init(from decoder: Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let bits = UInt64(text, radix: 16) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "expected 16 hex digits, found \(text)"))
    }
    value = Double(bitPattern: bits)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(String(value.bitPattern, radix: 16))
  }
}

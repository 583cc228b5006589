import Basics
import Foundation

/// A failure reading or writing a safetensors file; every case names the file it concerns.
///
/// safetensors layout: an 8-byte little-endian `UInt64` header length N, N bytes of UTF-8
/// JSON mapping tensor names to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an
/// optional `"__metadata__"` map of strings), then the byte buffer the offsets index into.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
  /// The file could not be opened or read (missing, unreadable, a directory…).
  case cannotRead(path: String, reason: String)
  /// The file is not valid safetensors: bad header length, header not a JSON map, bad
  /// tensor info, offsets out of range, overlapping or leaving holes, byte counts that do not
  /// match the shape, a truncated or over-long buffer.
  case malformed(path: String, reason: String)
  /// The tensor `name` has a dtype this reader does not convert to Float32 (for example
  /// `C64`, `I8`, `BOOL` or the F8 formats).
  case unsupportedDType(path: String, name: String, dtype: String)
  /// The file could not be written, or the entries to write are inconsistent.
  case cannotWrite(path: String, reason: String)

  /// One line naming the file, the tensor where there is one, and what was expected.
  public var description: String {
    switch self {
    case .cannotRead(let path, let reason):
      return "cannot read safetensors file \(path): \(reason)"
    case .malformed(let path, let reason):
      return "malformed safetensors file \(path): \(reason)"
    case .unsupportedDType(let path, let name, let dtype):
      let known = SafeTensors.readableDTypes.joined(separator: ", ")
      return "safetensors file \(path): tensor '\(name)' has dtype \(dtype); "
        + "expected one of \(known)"
    case .cannotWrite(let path, let reason):
      return "cannot write safetensors file \(path): \(reason)"
    }
  }
}

/// The dtypes `SafeTensors.write` stores.
public enum SafeTensorsStorage: String, Sendable, Equatable {
  /// Little-endian IEEE binary32 (`F32`), the default.
  case float32 = "F32"
  /// One unsigned byte per value (`U8`): 8-bit images. Values must be integers in 0…255.
  case uint8 = "U8"
}

/// One named tensor of a safetensors file, as row-major Float32 values.
///
/// `values.count` equals the product of `shape` (1 for a scalar, shape `[]`; 0 when any
/// dimension is 0). `storage` is the dtype `write` stores the values as; `read` sets `.uint8`
/// for `U8` tensors and `.float32` for every other (converted) dtype.
public struct SafeTensorsEntry: Sendable, Equatable {
  /// The tensor's key in the header (any string other than `"__metadata__"`).
  public var name: String
  /// Dimensions, outermost first; `[]` is a scalar.
  public var shape: [Int]
  /// Row-major (C order) values.
  public var values: [Float]
  /// The dtype in the file.
  public var storage: SafeTensorsStorage

  /// Creates an entry; `values.count` should equal the product of `shape`.
  public init(name: String, shape: [Int], values: [Float], storage: SafeTensorsStorage = .float32) {
    self.name = name
    self.shape = shape
    self.values = values
    self.storage = storage
  }
}

/// Reading and writing the safetensors format (huggingface/safetensors) over plain arrays.
///
/// Layout: 8-byte little-endian `UInt64` N (at most 100,000,000), then N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {string: string}}`, possibly padded with spaces, then the byte buffer.
/// Offsets are relative to the start of the buffer; data is little-endian and row-major.
/// As in the reference implementation, tensors sorted by offsets must tile the buffer exactly
/// (no overlaps, no holes, nothing after the last tensor), and `end - begin` must equal the
/// element count times the dtype size.
public enum SafeTensors {
  /// The dtypes `read` converts to Float32.
  public static let readableDTypes = ["F32", "F16", "BF16", "F64", "I64", "I32", "U8"]

  /// The largest header the reference implementation accepts, in bytes.
  static let maxHeaderLength: UInt64 = 100_000_000

  /// Reads every tensor of the file at `path` as Float32.
  ///
  /// F32 is taken as is; F16 (IEEE binary16, with subnormals, infinities and NaN payloads),
  /// BF16 and F64 are converted (F64 rounds to nearest even, overflowing to ±infinity); I64
  /// and I32 are converted too, so integer buffers such as BatchNorm's `num_batches_tracked`
  /// load (integers above 2^24 in magnitude round); U8 (8-bit images) converts exactly.
  /// Entries come in file order of their data offsets (ties, which only zero-size tensors can
  /// have, by name). The file is memory-mapped and each tensor's bytes are copied once, into
  /// its `values`.
  ///
  /// - Throws: `.cannotRead` if the file cannot be opened, `.malformed` if it breaks the
  ///   format, `.unsupportedDType` for a dtype outside `readableDTypes`.
  public static func read(
    _ path: String
  ) throws(SafeTensorsError) -> (entries: [SafeTensorsEntry], metadata: [String: String]) {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw .cannotRead(path: path, reason: readReason(error, path: path))
    }
    // Data.withUnsafeBytes rethrows untyped errors, so carry the result out instead.
    let result = data.withUnsafeBytes { raw in
      Result { () throws(SafeTensorsError) in try parse(raw, path: path) }
    }
    return try result.get()
  }

  /// Writes `entries` as F32 tensors (U8 for entries with `storage: .uint8`), with `metadata`
  /// as the `"__metadata__"` map.
  ///
  /// Matches the reference writer (`safetensors.numpy.save_file`) byte for byte: tensors
  /// sorted by name (UTF-8 byte order) and stored in that order, compact JSON with keys in
  /// the order `__metadata__`, then each tensor's `dtype`, `shape`, `data_offsets`, strings
  /// escaped as serde_json does, the header padded with spaces to a multiple of 8 bytes.
  /// Metadata keys are written sorted (the reference writes them in hash order), and an empty
  /// `metadata` omits `"__metadata__"` (as the reference does for `metadata=None`). The file
  /// is written to a temporary sibling and renamed into place.
  ///
  /// - Throws: `.cannotWrite` if a name repeats or is `"__metadata__"`, a shape has a
  ///   negative dimension or does not match `values.count`, a U8 value is not an integer in
  ///   0…255, or the file cannot be written.
  public static func write(
    _ entries: [SafeTensorsEntry], metadata: [String: String] = [:], to path: String
  ) throws(SafeTensorsError) {
    let sorted = entries.sorted { Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8) }
    var offsets: [(begin: Int, end: Int)] = []
    offsets.reserveCapacity(sorted.count)
    var end = 0
    for (index, entry) in sorted.enumerated() {
      if entry.name == "__metadata__" {
        throw .cannotWrite(path: path, reason: "a tensor may not be named '__metadata__'")
      }
      if index > 0, Array(sorted[index - 1].name.utf8) == Array(entry.name.utf8) {
        throw .cannotWrite(path: path, reason: "tensor name '\(entry.name)' appears twice")
      }
      guard let count = elementCount(entry.shape), count == entry.values.count else {
        throw .cannotWrite(
          path: path,
          reason: "tensor '\(entry.name)' has shape \(entry.shape) but \(entry.values.count) "
            + "values; expected non-negative dimensions whose product is the value count")
      }
      if entry.storage == .uint8,
        let bad = entry.values.first(where: { !($0 >= 0 && $0 <= 255 && $0.rounded() == $0) })
      {
        throw .cannotWrite(
          path: path, reason: "tensor '\(entry.name)' is U8 but holds \(bad); expected integers in 0...255")
      }
      let bytes = (entry.storage == .uint8 ? 1 : 4) * count
      offsets.append((end, end + bytes))
      end += bytes
    }

    var header = "{"
    var first = true
    if !metadata.isEmpty {
      header += "\"__metadata__\":{"
      let keys = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
      for (index, key) in keys.enumerated() {
        if index > 0 { header += "," }
        header += jsonString(key) + ":" + jsonString(metadata[key] ?? "")
      }
      header += "}"
      first = false
    }
    for (entry, range) in zip(sorted, offsets) {
      if !first { header += "," }
      first = false
      let shape = entry.shape.map(String.init).joined(separator: ",")
      header += jsonString(entry.name) + ":{\"dtype\":\"\(entry.storage.rawValue)\",\"shape\":[\(shape)],"
        + "\"data_offsets\":[\(range.begin),\(range.end)]}"
    }
    header += "}"
    var headerBytes = Array(header.utf8)
    let padding = (8 - headerBytes.count % 8) % 8
    headerBytes += repeatElement(UInt8(ascii: " "), count: padding)

    var prefix = Data(capacity: 8 + headerBytes.count)
    withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { prefix.append(contentsOf: $0) }
    prefix.append(contentsOf: headerBytes)
    try writeFile(prefix: prefix, entries: sorted, to: path)
  }
}

// MARK: - Reading

extension SafeTensors {
  /// Element size in bytes of a dtype `read` converts, or nil.
  static func dtypeSize(_ dtype: String) -> Int? {
    switch dtype {
    case "F64", "I64": return 8
    case "F32", "I32": return 4
    case "F16", "BF16": return 2
    case "U8": return 1
    default: return nil
    }
  }

  /// One tensor's header entry, before its bytes are read.
  struct TensorInfo {
    var name: String
    var dtype: String
    var shape: [Int]
    var count: Int
    var begin: Int
    var end: Int
  }

  /// Parses and validates a whole file held in `raw`, then converts every tensor.
  static func parse(
    _ raw: UnsafeRawBufferPointer, path: String
  ) throws(SafeTensorsError) -> (entries: [SafeTensorsEntry], metadata: [String: String]) {
    func malformed(_ reason: String) -> SafeTensorsError { .malformed(path: path, reason: reason) }
    guard raw.count >= 8 else {
      throw malformed("file has \(raw.count) bytes; expected at least the 8-byte header length")
    }
    let n = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
    guard n <= maxHeaderLength else {
      throw malformed("header length \(n) exceeds the limit of \(maxHeaderLength) bytes")
    }
    guard n <= UInt64(raw.count - 8) else {
      throw malformed(
        "header length \(n) runs past the end of the file (\(raw.count - 8) bytes after the "
          + "length field)")
    }
    let headerLength = Int(n)
    let headerBytes = UnsafeRawBufferPointer(rebasing: raw[8..<(8 + headerLength)])
    let header = try parseHeader(headerBytes, path: path)
    let metadata = header.metadata
    var infos = header.tensors

    infos.sort {
      ($0.begin, $0.end) != ($1.begin, $1.end)
        ? ($0.begin, $0.end) < ($1.begin, $1.end)
        : Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8)
    }
    let bufferLength = raw.count - 8 - headerLength
    var expectedBegin = 0
    for info in infos {
      guard info.begin == expectedBegin else {
        let what = info.begin < expectedBegin ? "overlaps the previous tensor" : "leaves a hole"
        throw malformed(
          "tensor '\(info.name)' has data_offsets [\(info.begin), \(info.end)] and \(what); "
            + "expected it to begin at \(expectedBegin)")
      }
      guard info.end >= info.begin else {
        throw malformed(
          "tensor '\(info.name)' has data_offsets [\(info.begin), \(info.end)]; "
            + "expected begin <= end")
      }
      guard info.end <= bufferLength else {
        throw malformed(
          "tensor '\(info.name)' has data_offsets [\(info.begin), \(info.end)] past the end of "
            + "the \(bufferLength)-byte buffer (file truncated?)")
      }
      expectedBegin = info.end
    }
    guard expectedBegin == bufferLength else {
      throw malformed(
        "tensors cover \(expectedBegin) bytes but the buffer after the header has "
          + "\(bufferLength); expected them to cover it exactly")
    }

    let buffer = UnsafeRawBufferPointer(rebasing: raw[(8 + headerLength)...])
    var entries: [SafeTensorsEntry] = []
    entries.reserveCapacity(infos.count)
    for info in infos {
      let bytes = UnsafeRawBufferPointer(rebasing: buffer[info.begin..<info.end])
      let values = convert(bytes, dtype: info.dtype, count: info.count)
      entries.append(
        SafeTensorsEntry(
          name: info.name, shape: info.shape, values: values, storage: info.dtype == "U8" ? .uint8 : .float32))
    }
    return (entries, metadata)
  }

  /// Decodes the JSON header into tensor infos (unsorted) and the metadata map.
  static func parseHeader(
    _ bytes: UnsafeRawBufferPointer, path: String
  ) throws(SafeTensorsError) -> (tensors: [TensorInfo], metadata: [String: String]) {
    func malformed(_ reason: String) -> SafeTensorsError { .malformed(path: path, reason: reason) }
    // JSON text never holds raw control characters other than tab, CR and LF; rejecting them
    // (NUL in particular) also keeps JSONSerialization from guessing UTF-16 or UTF-32.
    if let bad = bytes.firstIndex(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) {
      throw malformed("header has control byte 0x\(String(bytes[bad], radix: 16)) at \(bad)")
    }
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw malformed("header is not valid UTF-8")
    }
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
      throw malformed("header is not valid JSON; expected a map of tensor entries")
    }
    guard let map = object as? [String: Any] else {
      throw malformed("header is JSON but not a map; expected {\"name\": {...}, ...}")
    }
    let keyCount = topLevelKeyCount(bytes)
    guard keyCount == map.count else {
      throw malformed("header repeats a key (\(keyCount) keys, \(map.count) distinct)")
    }

    var metadata: [String: String] = [:]
    // serde reads `"__metadata__": null` as no metadata; so do we.
    if let rawMetadata = map["__metadata__"], !(rawMetadata is NSNull) {
      guard let strings = rawMetadata as? [String: Any] else {
        throw malformed("__metadata__ is not a map; expected {string: string}")
      }
      for (key, value) in strings {
        guard let text = value as? String else {
          throw malformed("__metadata__ value for '\(key)' is not a string")
        }
        metadata[key] = text
      }
    }

    var tensors: [TensorInfo] = []
    tensors.reserveCapacity(map.count)
    for (name, value) in map where name != "__metadata__" {
      guard let info = value as? [String: Any] else {
        throw malformed("tensor '\(name)' is not a map; expected dtype, shape, data_offsets")
      }
      guard let dtype = info["dtype"] as? String else {
        throw malformed("tensor '\(name)' has no string 'dtype'")
      }
      guard let shapeList = info["shape"] as? [Any], let shape = integers(shapeList) else {
        throw malformed("tensor '\(name)' has no 'shape' list of non-negative integers")
      }
      guard let offsetList = info["data_offsets"] as? [Any], let offsets = integers(offsetList),
        offsets.count == 2
      else {
        throw malformed(
          "tensor '\(name)' has no 'data_offsets' pair of non-negative integers [begin, end]")
      }
      guard let size = dtypeSize(dtype) else {
        throw .unsupportedDType(path: path, name: name, dtype: dtype)
      }
      guard let count = elementCount(shape) else {
        throw malformed("tensor '\(name)' has shape \(shape) whose element count overflows")
      }
      let byteCount = count.multipliedReportingOverflow(by: size)
      let (begin, end) = (offsets[0], offsets[1])
      guard !byteCount.overflow, end >= begin, end - begin == byteCount.partialValue else {
        throw malformed(
          "tensor '\(name)' (\(dtype), shape \(shape)) has data_offsets [\(begin), \(end)]; "
            + "expected end - begin = \(count) × \(size) bytes")
      }
      tensors.append(
        TensorInfo(name: name, dtype: dtype, shape: shape, count: count, begin: begin, end: end))
    }
    return (tensors, metadata)
  }

  /// Non-negative integers from a JSON list (rejecting booleans, fractions, `1.0`, strings).
  static func integers(_ list: [Any]) -> [Int]? {
    var result: [Int] = []
    result.reserveCapacity(list.count)
    for item in list {
      // Booleans arrive as NSNumber with objCType "c"; fractions print with a point.
      guard let number = item as? NSNumber, String(cString: number.objCType) != "c",
        let value = Int(number.stringValue), value >= 0
      else { return nil }
      result.append(value)
    }
    return result
  }

  /// The product of `shape` (1 for `[]`), or nil for a negative dimension or on overflow.
  static func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dimension in shape {
      guard dimension >= 0 else { return nil }
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      if overflow { return nil }
      count = product
    }
    return count
  }

  /// Counts the keys of the top-level JSON object (duplicates included) in valid JSON text.
  static func topLevelKeyCount(_ bytes: UnsafeRawBufferPointer) -> Int {
    var depth = 0
    var inString = false
    var escaped = false
    var expectingKey = false
    var count = 0
    for byte in bytes {
      if inString {
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""):
        inString = true
        if depth == 1 && expectingKey {
          count += 1
          expectingKey = false
        }
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        if depth == 1 { expectingKey = true }
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
      case UInt8(ascii: ","):
        if depth == 1 { expectingKey = true }
      default:
        break
      }
    }
    return count
  }

  /// Converts little-endian `bytes` of a readable dtype to `count` Float32 values.
  static func convert(_ bytes: UnsafeRawBufferPointer, dtype: String, count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { out, initialized in
      switch dtype {
      case "F32":
        #if _endian(little)
          if count > 0, let target = out.baseAddress, let source = bytes.baseAddress {
            UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: 4 * count)
          }
        #else
          fill(out, count, bytes, UInt32.self) { Float(bitPattern: $0) }
        #endif
      case "F16": fill(out, count, bytes, UInt16.self, halfToFloat)
      case "BF16": fill(out, count, bytes, UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
      case "F64": fill(out, count, bytes, UInt64.self) { Float(Double(bitPattern: $0)) }
      case "I64": fill(out, count, bytes, UInt64.self) { Float(Int64(bitPattern: $0)) }
      case "I32": fill(out, count, bytes, UInt32.self) { Float(Int32(bitPattern: $0)) }
      case "U8": for i in 0..<count { out[i] = Float(bytes[i]) }
      default:
        // Unreachable: parseHeader only admits dtypes with a size.
        out.initialize(repeating: .nan)
      }
      initialized = count
    }
  }

  /// Fills `out[0..<count]` with `transform` of the little-endian `T`s in `bytes` (which need
  /// not be aligned: an unpadded header leaves the buffer at any address).
  @inline(__always)
  static func fill<T: FixedWidthInteger>(
    _ out: UnsafeMutableBufferPointer<Float>, _ count: Int, _ bytes: UnsafeRawBufferPointer,
    _: T.Type, _ transform: (T) -> Float
  ) {
    let size = MemoryLayout<T>.size
    for i in 0..<count {
      let raw = bytes.loadUnaligned(fromByteOffset: size * i, as: T.self)
      out[i] = transform(T(littleEndian: raw))
    }
  }

  /// IEEE 754 binary16 bits to Float32, exactly (subnormals, ±0, ±infinity, NaN payloads kept).
  ///
  /// Half: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. Float: bias 127, 23
  /// fraction bits, so normals shift the fraction left by 13 and rebias the exponent by 112.
  static func halfToFloat(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let fraction = UInt32(bits & 0x03FF)
    switch exponent {
    case 0:
      // Zero or subnormal: fraction × 2^-24, exact in Float32.
      let magnitude = Float(fraction) * 0x1p-24
      return Float(bitPattern: sign | magnitude.bitPattern)
    case 0x1F:
      // Infinity (fraction 0) or NaN (payload shifted into the Float fraction).
      return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
    default:
      return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
    }
  }

  /// A short reason for a failure to open `path`.
  static func readReason(_ error: any Error, path: String) -> String {
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
      return "no such file"
    }
    if isDirectory.boolValue { return "is a directory" }
    return error.localizedDescription
  }
}

// MARK: - Writing

extension SafeTensors {
  /// `text` as a JSON string literal, escaped the way serde_json escapes it (`"`, `\`,
  /// `\b \f \n \r \t`, other control characters as `\u00xx`; everything else verbatim).
  static func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{00}"..."\u{1F}":
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  /// Writes `prefix` (length field and header) and the entries' values as little-endian F32
  /// (or bytes, for U8 entries) to a temporary sibling of `path`, then renames it over `path`.
  static func writeFile(
    prefix: Data, entries: [SafeTensorsEntry], to path: String
  ) throws(SafeTensorsError) {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(
      ".\(url.lastPathComponent).\(UUID().uuidString).tmp")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
      throw .cannotWrite(path: path, reason: "cannot create \(temporary.path)")
    }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      do {
        try handle.write(contentsOf: prefix)
        for entry in entries where !entry.values.isEmpty {
          if entry.storage == .uint8 {
            try handle.write(contentsOf: Data(entry.values.map { UInt8($0) }))
            continue
          }
          #if _endian(little)
            try entry.values.withUnsafeBytes { try handle.write(contentsOf: $0) }
          #else
            let swapped = entry.values.map { $0.bitPattern.littleEndian }
            try swapped.withUnsafeBytes { try handle.write(contentsOf: $0) }
          #endif
        }
      } catch {
        try? handle.close()
        throw error
      }
      try handle.close()
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw .cannotWrite(path: path, reason: error.localizedDescription)
    }
    // rename(2) replaces an existing file atomically.
    guard rename(temporary.path, path) == 0 else {
      let reason = String(cString: strerror(errno))
      try? FileManager.default.removeItem(at: temporary)
      throw .cannotWrite(path: path, reason: reason)
    }
  }
}

extension SafeTensorsError: UserFacingError {}

import Engine
import Foundation
import Testing

/// Fixtures made by `Fixtures/make_safetensors_fixtures.py` with the official `safetensors`
/// package; `fixtures.json` records versions and expected Float32 bit patterns.
private struct FixtureIndex: Decodable {
  struct Tensor: Decodable {
    var name: String
    var dtype: String
    var shape: [Int]
    var data_offsets: [Int]
    var f32_bits: [UInt32]
  }
  struct File: Decodable {
    var header_length: Int
    var bytes: Int
    var metadata: [String: String]
    var tensors: [Tensor]
  }
  var versions: [String: String]
  var files: [String: File]
}

private func fixturePath(_ name: String) throws -> String {
  let base = (name as NSString).deletingPathExtension
  let ext = (name as NSString).pathExtension
  let url = try #require(
    Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures"))
  return url.path
}

private func fixtureIndex() throws -> FixtureIndex {
  let data = try Data(contentsOf: URL(fileURLWithPath: try fixturePath("fixtures.json")))
  return try JSONDecoder().decode(FixtureIndex.self, from: data)
}

/// Bytes of a safetensors file from a header string and buffer; `length` overrides N.
private func fileBytes(header: String, buffer: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
  let json = Array(header.utf8)
  let n = length ?? UInt64(json.count)
  return withUnsafeBytes(of: n.littleEndian) { Array($0) } + json + buffer
}

/// Reads `path` expecting `.malformed` naming it; returns the reason.
@discardableResult
private func expectMalformed(
  _ path: String, sourceLocation: SourceLocation = #_sourceLocation
) -> String? {
  do {
    _ = try SafeTensors.read(path)
    Issue.record("expected .malformed for \(path)", sourceLocation: sourceLocation)
  } catch {
    guard case .malformed(let named, let reason) = error else {
      Issue.record("expected .malformed, got \(error)", sourceLocation: sourceLocation)
      return nil
    }
    #expect(named == path, sourceLocation: sourceLocation)
    #expect(error.description.contains(path), sourceLocation: sourceLocation)
    return reason
  }
  return nil
}

private func f32(_ floats: [Float]) -> [UInt8] {
  floats.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

@Suite final class SafeTensorsTests {
  /// A fresh directory per test (each test runs on its own instance), removed afterwards.
  let directory: String

  init() throws {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    directory = url.path
  }

  deinit { try? FileManager.default.removeItem(atPath: directory) }

  private func writeBytes(_ bytes: [UInt8], named name: String) throws -> String {
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  // MARK: Round trip

  @Test func writeThenReadRoundTrips() throws {
    let path = directory + "/model.safetensors"
    let entries = [
      SafeTensorsEntry(name: "weight", shape: [2, 3], values: [1, -2, 3.5, .infinity, 0, -0.0]),
      SafeTensorsEntry(name: "bias", shape: [3], values: [0.1, 0.2, 0.3]),
      SafeTensorsEntry(name: "scale", shape: [], values: [7.25]),
      SafeTensorsEntry(name: "empty", shape: [0, 3], values: []),
      SafeTensorsEntry(name: "cube", shape: [2, 1, 2], values: [0x1p-140, 2, .nan, -4]),
      SafeTensorsEntry(name: "ünï \"côdé\"\n", shape: [1], values: [9]),
    ]
    let metadata = ["format": "pt", "note": "line\nbreak \"quoted\" / é", "": "empty key"]
    try SafeTensors.write(entries, metadata: metadata, to: path)

    let (read, readMetadata) = try SafeTensors.read(path)
    #expect(readMetadata == metadata)
    let byName = entries.sorted { Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8) }
    #expect(read.map(\.name) == byName.map(\.name))
    for (got, want) in zip(read, byName) {
      #expect(got.shape == want.shape)
      #expect(got.values.map(\.bitPattern) == want.values.map(\.bitPattern))
    }

    // The header is padded with spaces to a multiple of 8 and the file has nothing extra.
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let n = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    #expect(n % 8 == 0)
    #expect(bytes.count == 8 + n + 4 * 15)
    #expect(bytes[8] == UInt8(ascii: "{"))

    // Overwriting an existing file replaces it.
    try SafeTensors.write([SafeTensorsEntry(name: "x", shape: [1], values: [1])], to: path)
    let (again, againMetadata) = try SafeTensors.read(path)
    #expect(again == [SafeTensorsEntry(name: "x", shape: [1], values: [1])])
    #expect(againMetadata.isEmpty)
  }

  @Test func uint8TensorsRoundTripAsBytes() throws {
    let path = directory + "/pixels.safetensors"
    let pixels = SafeTensorsEntry(name: "pixels", shape: [2, 3], values: [0, 1, 127, 128, 254, 255], storage: .uint8)
    let scale = SafeTensorsEntry(name: "scale", shape: [1], values: [0.5])
    try SafeTensors.write([pixels, scale], to: path)
    let (read, _) = try SafeTensors.read(path)
    #expect(read == [pixels, scale])  // pixels sorts first and takes 6 bytes, then 4 for scale
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let n = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    #expect(bytes.count == 8 + n + 6 + 4)
    #expect(Array(bytes[(8 + n)..<(8 + n + 6)]) == [0, 1, 127, 128, 254, 255])
    #expect(String(decoding: bytes[8..<(8 + n)], as: UTF8.self).contains("\"dtype\":\"U8\",\"shape\":[2,3]"))
    for bad: Float in [256, -1, 0.5, .nan] {
      #expect(throws: SafeTensorsError.self) {
        try SafeTensors.write([SafeTensorsEntry(name: "p", shape: [1], values: [bad], storage: .uint8)], to: path)
      }
    }
  }

  @Test func writeEmptyFile() throws {
    let path = directory + "/empty.safetensors"
    try SafeTensors.write([], to: path)
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(bytes == fileBytes(header: "{}      "))
    let (entries, metadata) = try SafeTensors.read(path)
    #expect(entries.isEmpty && metadata.isEmpty)
  }

  @Test func writeRejectsInconsistentEntries() throws {
    let path = directory + "/bad.safetensors"
    let cases: [[SafeTensorsEntry]] = [
      [SafeTensorsEntry(name: "a", shape: [2, 2], values: [1, 2, 3])],
      [SafeTensorsEntry(name: "a", shape: [-1], values: [])],
      [SafeTensorsEntry(name: "a", shape: [], values: [])],
      [
        SafeTensorsEntry(name: "a", shape: [1], values: [1]),
        SafeTensorsEntry(name: "a", shape: [1], values: [2]),
      ],
      [SafeTensorsEntry(name: "__metadata__", shape: [1], values: [1])],
    ]
    for entries in cases {
      #expect(throws: SafeTensorsError.self) { try SafeTensors.write(entries, to: path) }
      do {
        try SafeTensors.write(entries, to: path)
      } catch {
        guard case .cannotWrite(let named, _) = error else {
          Issue.record("expected .cannotWrite, got \(error)")
          continue
        }
        #expect(named == path)
      }
      #expect(!FileManager.default.fileExists(atPath: path))
    }
    let missingDirectory = directory + "/no/such/dir/x.safetensors"
    #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write([], to: missingDirectory)
    }
  }

  // MARK: Fixtures from the official Python package

  @Test(arguments: [
    "f32.safetensors", "f16.safetensors", "bf16.safetensors", "f64.safetensors",
    "ints.safetensors", "mixed.safetensors", "writer_exact.safetensors",
    "writer_multi_metadata.safetensors",
  ])
  func readsReferenceFixture(_ name: String) throws {
    let index = try fixtureIndex()
    let expected = try #require(index.files[name])
    let path = try fixturePath(name)
    let (entries, metadata) = try SafeTensors.read(path)
    #expect(metadata == expected.metadata)
    #expect(entries.map(\.name) == expected.tensors.map(\.name))
    for (entry, want) in zip(entries, expected.tensors) {
      #expect(entry.shape == want.shape, "\(name) \(want.name)")
      #expect(entry.values.map(\.bitPattern) == want.f32_bits, "\(name) \(want.name)")
    }
  }

  @Test func fixturesCoverTheDTypesAndRecordVersions() throws {
    let index = try fixtureIndex()
    #expect(index.versions["safetensors"] != nil)
    #expect(index.versions["numpy"] != nil)
    let dtypes = Set(index.files.values.flatMap { $0.tensors.map(\.dtype) })
    #expect(dtypes.isSuperset(of: ["F32", "F16", "BF16", "F64", "I64", "I32"]))
  }

  @Test func halfSpecialValues() throws {
    let (entries, _) = try SafeTensors.read(try fixturePath("f16.safetensors"))
    let values = try #require(entries.first).values
    #expect(values[4] == 65504)
    #expect(values[5] == -65504)
    #expect(values[6] == 0x1p-24)  // smallest subnormal
    #expect(values[7] == Float(1023) * 0x1p-24)  // largest subnormal
    #expect(values[9] == 0x1p-14)  // smallest normal
    #expect(values[10] == .infinity)
    #expect(values[11] == -.infinity)
    #expect(values[12].isNaN && values[13].isNaN)
    #expect(values[1] == 0 && values[1].sign == .minus)
  }

  @Test func mixedFileComesInOffsetOrder() throws {
    let (entries, _) = try SafeTensors.read(try fixturePath("mixed.safetensors"))
    // The reference writer orders by its Dtype enum, descending (I64 before F64, wider
    // types first), then by name; `read` returns data-offset order, not name order.
    #expect(entries.map(\.name) == ["d_long", "b_double", "c_float", "a_half"])
    #expect(entries.map(\.values) == [[-3], [0.25], [7], [1.5, -2]])
  }

  @Test func batchNormCounterLoads() throws {
    let (entries, _) = try SafeTensors.read(try fixturePath("ints.safetensors"))
    let counter = try #require(entries.first { $0.name == "num_batches_tracked" })
    #expect(counter.shape == [])
    #expect(counter.values == [12345])
  }

  // MARK: Our writer against the reference writer

  @Test func writerMatchesReferenceBytes() throws {
    let reference = try fixturePath("writer_exact.safetensors")
    let (entries, metadata) = try SafeTensors.read(reference)
    let path = directory + "/ours.safetensors"
    // Hand the entries over in a different order: the writer sorts by name.
    try SafeTensors.write(entries.reversed(), metadata: metadata, to: path)
    let ours = try Data(contentsOf: URL(fileURLWithPath: path))
    let theirs = try Data(contentsOf: URL(fileURLWithPath: reference))
    #expect(ours == theirs)
    if ours != theirs {
      let show = { (data: Data) in String(decoding: data.prefix(600), as: UTF8.self) }
      Issue.record("ours:\n\(show(ours))\nreference:\n\(show(theirs))")
    }
  }

  @Test func writerMatchesReferenceHeaderWithSeveralMetadataKeys() throws {
    let reference = try fixturePath("writer_multi_metadata.safetensors")
    let (entries, metadata) = try SafeTensors.read(reference)
    #expect(metadata.count == 4)
    let path = directory + "/ours.safetensors"
    try SafeTensors.write(entries, metadata: metadata, to: path)
    let ours = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reference)))
    // Same length field (so same padding and buffer position) and the same buffer bytes.
    #expect(ours.count == theirs.count)
    #expect(ours.prefix(8) == theirs.prefix(8))
    let n = theirs[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    #expect(ours.suffix(from: 8 + n) == theirs.suffix(from: 8 + n))
    // The reference writes metadata keys in hash order, so compare parsed headers.
    let parse = { (bytes: [UInt8]) in
      try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? NSDictionary
    }
    #expect(try parse(ours) == parse(theirs))
  }

  // MARK: Corrupt and unsupported input

  @Test func missingFileCannotBeRead() throws {
    let path = directory + "/absent.safetensors"
    do {
      _ = try SafeTensors.read(path)
      Issue.record("expected .cannotRead")
    } catch {
      guard case .cannotRead(let named, _) = error else {
        Issue.record("expected .cannotRead, got \(error)")
        return
      }
      #expect(named == path)
      #expect(error.description.contains(path))
    }
  }

  @Test func complexDTypeIsUnsupported() throws {
    let path = try fixturePath("c64.safetensors")
    do {
      _ = try SafeTensors.read(path)
      Issue.record("expected .unsupportedDType")
    } catch {
      #expect(error == .unsupportedDType(path: path, name: "z", dtype: "C64"))
      #expect(error.description.contains(path))
      #expect(error.description.contains("'z'"))
      #expect(error.description.contains("F32"))
    }
  }

  @Test func truncatedBuffer() throws {
    let fixture = URL(fileURLWithPath: try fixturePath("f32.safetensors"))
    let good = [UInt8](try Data(contentsOf: fixture))
    expectMalformed(try writeBytes(Array(good.dropLast()), named: "truncated.safetensors"))
    expectMalformed(try writeBytes(Array(good.prefix(5)), named: "tiny.safetensors"))
    expectMalformed(try writeBytes(good + [0], named: "trailing.safetensors"))
  }

  @Test func headerLengthLargerThanFile() throws {
    let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
    let bytes = fileBytes(header: header, buffer: f32([1]), length: 1000)
    let reason = expectMalformed(try writeBytes(bytes, named: "long.safetensors"))
    #expect(reason?.contains("1000") == true)
    let huge = fileBytes(header: "{}", length: 100_000_001)
    expectMalformed(try writeBytes(huge, named: "huge.safetensors"))
    let enormous = fileBytes(header: "{}", length: .max)
    expectMalformed(try writeBytes(enormous, named: "enormous.safetensors"))
  }

  @Test func headerNotJSON() throws {
    for (index, header) in [
      "notjson!", "[1, 2, 3]", "\"text\"", "{\"a\": 1}", "{\"a\":{\"dtype\":\"F32\"}}", "",
      "{\u{0}}    ", "{\"__metadata__\":{\"k\":1}}",
    ].enumerated() {
      expectMalformed(try writeBytes(fileBytes(header: header), named: "h\(index).safetensors"))
    }
    let invalidUTF8 = fileBytes(header: "{\"") + [0xFF, 0xFE] + Array("\":1}".utf8)
    let patched = [UInt8](withUnsafeBytes(of: UInt64(6).littleEndian) { Array($0) })
      + invalidUTF8.dropFirst(8)
    expectMalformed(try writeBytes(patched, named: "utf8.safetensors"))
  }

  @Test func overlappingOffsets() throws {
    let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
      + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
    let bytes = fileBytes(header: header, buffer: f32([1, 2, 3]))
    let reason = expectMalformed(try writeBytes(bytes, named: "overlap.safetensors"))
    #expect(reason?.contains("'b'") == true)
  }

  @Test func holeBetweenTensors() throws {
    let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
      + #""b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    let bytes = fileBytes(header: header, buffer: f32([1, 2, 3]))
    expectMalformed(try writeBytes(bytes, named: "hole.safetensors"))
  }

  @Test func offsetsPastTheEnd() throws {
    let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let bytes = fileBytes(header: header, buffer: f32([1]))
    let reason = expectMalformed(try writeBytes(bytes, named: "past.safetensors"))
    #expect(reason?.contains("'a'") == true)
    let reversed = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#
    expectMalformed(try writeBytes(fileBytes(header: reversed, buffer: f32([1])), named: "r.st"))
  }

  @Test func shapeByteCountMismatch() throws {
    let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
    let bytes = fileBytes(header: header, buffer: f32([1, 2]))
    let reason = expectMalformed(try writeBytes(bytes, named: "mismatch.safetensors"))
    #expect(reason?.contains("'a'") == true)
    for (index, shape) in ["[-2]", "[1.5]", "[true]", "[\"2\"]", "2"].enumerated() {
      let bad = #"{"a":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,8]}}"#
      let bytes = fileBytes(header: bad, buffer: f32([1, 2]))
      expectMalformed(try writeBytes(bytes, named: "s\(index)"))
    }
  }

  @Test func duplicateKeys() throws {
    let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
      + #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
    let bytes = fileBytes(header: header, buffer: f32([1]))
    expectMalformed(try writeBytes(bytes, named: "duplicate.safetensors"))
  }

  @Test func unpaddedHeaderAndUnalignedOffsetsAreAccepted() throws {
    // Readers must accept headers that are not padded (buffer not 8-byte aligned).
    let header = #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"#
      + #""d":{"dtype":"F64","shape":[1],"data_offsets":[2,10]},"#
      + #""__metadata__":{"k":"v"}, "f":{"dtype":"F32","shape":[],"data_offsets":[10,14]}}"#
    var buffer: [UInt8] = [0x00, 0x3C]
    buffer += withUnsafeBytes(of: (-0.5).bitPattern.littleEndian) { Array($0) }
    buffer += f32([3])
    let path = try writeBytes(fileBytes(header: header, buffer: buffer), named: "odd.safetensors")
    let (entries, metadata) = try SafeTensors.read(path)
    #expect(metadata == ["k": "v"])
    #expect(entries.map(\.name) == ["h", "d", "f"])
    #expect(entries.map(\.values) == [[1], [-0.5], [3]])
  }

  @Test func errorDescriptionsNameFileAndTensor() {
    let error = SafeTensorsError.unsupportedDType(path: "/m.safetensors", name: "w", dtype: "BOOL")
    #expect(error.description.contains("/m.safetensors"))
    #expect(error.description.contains("'w'"))
    #expect(error.description.contains("BOOL"))
  }
}

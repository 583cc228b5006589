import Engine
import Foundation
import Testing
import Vision

@testable import Harness

@Suite struct CIFARReaderTests {
  /// A record whose image has channel c at pixel i equal to `(seed + 3·i + c) mod 256`.
  private func record(labels: [UInt8], seed: Int) -> [UInt8] {
    var bytes = labels
    for c in 0..<3 { for i in 0..<1024 { bytes.append(UInt8((seed + 3 * i + c) % 256)) } }
    return bytes
  }

  private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cifar-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  @Test func readsCIFAR10RecordsAsHWCImages() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("data_batch_1.bin")
    try Data(record(labels: [3], seed: 0) + record(labels: [9], seed: 7) + record(labels: [0], seed: 100)).write(to: file)
    let records = try CIFARReader.read(file: file.path, variant: .cifar10)
    #expect(records.labels == [3, 9, 0])
    #expect(records.coarseLabels.isEmpty)
    #expect(records.images.count == 3)
    let image = records.images[1]
    #expect(image.width == 32 && image.height == 32)
    // Pixel (x = 5, y = 2) is index i = 69: R = (7 + 207) % 256, G = +1, B = +2.
    let o = 3 * (2 * 32 + 5)
    #expect(Array(image.pixels[o..<(o + 3)]) == [214, 215, 216])
  }

  @Test func readsCIFAR100CoarseAndFineLabels() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("test.bin")
    try Data(record(labels: [4, 72], seed: 1) + record(labels: [19, 99], seed: 2)).write(to: file)
    let records = try CIFARReader.read(file: file.path, variant: .cifar100)
    #expect(records.labels == [72, 99])
    #expect(records.coarseLabels == [4, 19])
    #expect(records.images[0].pixels[0] == 1)
  }

  @Test func truncatedMissingAndOversizedFilesAreInputErrors() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("data_batch_1.bin")
    let bytes = record(labels: [1], seed: 0) + record(labels: [2], seed: 0)
    try Data(bytes + Array(bytes.prefix(1000))).write(to: file)
    #expect(throws: InputError.self) { try CIFARReader.read(file: file.path, variant: .cifar10) }
    do {
      _ = try CIFARReader.read(file: file.path, variant: .cifar10, expectedRecords: 10_000)
      Issue.record("a truncated file was read")
    } catch let error as InputError {
      #expect(
        error
          == .dataFile(
            path: file.path, expected: "a cifar-10 binary batch of 10000 records × 3073 bytes = 30730000 bytes",
            found: "7146 bytes"))
      #expect(error.description.contains("expected a cifar-10 binary batch"))
    }
    let missing = dir.appendingPathComponent("data_batch_2.bin").path
    #expect(throws: InputError.dataFile(path: missing, expected: "a cifar-10 binary batch: a whole number of 3073-byte records", found: "no such file")) {
      try CIFARReader.read(file: missing, variant: .cifar10)
    }
    // A label beyond the variant's classes.
    try Data(record(labels: [10], seed: 0)).write(to: file)
    #expect(throws: InputError.self) { try CIFARReader.read(file: file.path, variant: .cifar10) }
  }

  @Test func loadsASplitFromTheReleaseLayout() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    for b in 1...5 {
      try Data(record(labels: [UInt8(b)], seed: b) + record(labels: [UInt8(b + 1)], seed: b)).write(
        to: dir.appendingPathComponent("data_batch_\(b).bin"))
    }
    try Data(record(labels: [7], seed: 0)).write(to: dir.appendingPathComponent("test_batch.bin"))
    try CIFARReader.cifar10ClassNames.joined(separator: "\n").write(
      to: dir.appendingPathComponent("batches.meta.txt"), atomically: true, encoding: .utf8)
    #expect(CIFARReader.detect(directory: dir) == .cifar10)
    let train = try CIFARReader.load(directory: dir, variant: .cifar10, split: .train, recordsPerFile: 2)
    #expect(train.labels == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6])
    #expect(train.classNames.first == "airplane" && train.classNames.count == 10)
    #expect(train.datasetId == "cifar-10:train")
    #expect(train.names[2] == "data_batch_2.bin#0")
    let test = try CIFARReader.load(directory: dir, variant: .cifar10, split: .test, recordsPerFile: 1)
    #expect(test.labels == [7])
    // The official counts reject these small files, naming the first one.
    #expect(throws: InputError.self) { try CIFARReader.load(directory: dir, variant: .cifar10, split: .train) }
    #expect(CIFARReader.detect(directory: dir.appendingPathComponent("nothing")) == nil)
  }
}

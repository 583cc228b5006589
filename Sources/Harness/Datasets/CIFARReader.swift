import Foundation
import Vision

/// Reads the CIFAR-10 and CIFAR-100 "binary version" files (Krizhevsky 2009;
/// https://www.cs.toronto.edu/~kriz/cifar.html).
///
/// Format: a file is a sequence of records, each one label byte (CIFAR-100: a coarse then a fine
/// label byte) followed by 3072 pixel bytes: the 1024 red values of the 32×32 image row by row,
/// then 1024 green, then 1024 blue (CHW). Layouts as distributed:
/// - `cifar-10-batches-bin/`: `data_batch_1.bin` … `data_batch_5.bin` (train) and
///   `test_batch.bin`, 10,000 records of 3,073 bytes each (30,730,000 bytes); class names in
///   `batches.meta.txt`.
/// - `cifar-100-binary/`: `train.bin` (50,000 records of 3,074 bytes) and `test.bin` (10,000);
///   names in `fine_label_names.txt` and `coarse_label_names.txt`.
///
/// A missing file or one whose size is not what the format requires (a truncated download) is an
/// `InputError.dataFile` naming the file, the expected size and the size found (exit code 2).
/// Images come out as 8-bit HWC `RGBImage`s, the form the augmentation pipelines read.
public enum CIFARReader {
  /// Which CIFAR.
  public enum Variant: String, Sendable, CaseIterable {
    case cifar10 = "cifar-10"
    case cifar100 = "cifar-100"

    /// Label bytes per record (1, or 2 for CIFAR-100's coarse + fine).
    public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
    /// Bytes per record.
    public var recordBytes: Int { labelBytes + CIFARReader.imageBytes }
    /// Number of (fine) classes.
    public var classCount: Int { self == .cifar10 ? 10 : 100 }

    /// The files of a split and the records each holds in the official release.
    public func files(split: Split) -> [(name: String, records: Int)] {
      switch (self, split) {
      case (.cifar10, .train): return (1...5).map { ("data_batch_\($0).bin", 10_000) }
      case (.cifar10, .test): return [("test_batch.bin", 10_000)]
      case (.cifar100, .train): return [("train.bin", 50_000)]
      case (.cifar100, .test): return [("test.bin", 10_000)]
      }
    }
  }

  /// Train or test split.
  public enum Split: String, Sendable, CaseIterable {
    case train, test
  }

  /// The images and labels of one or more files.
  public struct Records: Sendable {
    public var images: [RGBImage]
    /// Class labels (CIFAR-100: the fine labels, 0–99).
    public var labels: [Int]
    /// CIFAR-100's superclass labels (0–19); empty for CIFAR-10.
    public var coarseLabels: [Int]
  }

  /// Bytes of one 32×32×3 image.
  public static let imageBytes = 3072
  /// Side of a CIFAR image.
  public static let side = 32

  /// CIFAR-10's class names in label order (as `batches.meta.txt`).
  public static let cifar10ClassNames = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
  ]

  /// Reads every record of one binary file.
  /// - Parameter expectedRecords: when given, the file must hold exactly this many records;
  ///   otherwise any whole, non-zero number of records.
  /// - Throws: `InputError.dataFile` when the file is missing, unreadable or of the wrong size.
  public static func read(file path: String, variant: Variant, expectedRecords: Int? = nil) throws -> Records {
    let record = variant.recordBytes
    let what = "a \(variant.rawValue) binary batch"
    let expected =
      expectedRecords.map { "\(what) of \($0) records × \(record) bytes = \($0 * record) bytes" }
      ?? "\(what): a whole number of \(record)-byte records"
    guard FileManager.default.fileExists(atPath: path) else {
      throw InputError.dataFile(path: path, expected: expected, found: "no such file")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError.dataFile(path: path, expected: expected, found: "a file that cannot be read")
    }
    if let n = expectedRecords, data.count != n * record {
      throw InputError.dataFile(path: path, expected: expected, found: "\(data.count) bytes")
    }
    guard !data.isEmpty, data.count % record == 0 else {
      throw InputError.dataFile(
        path: path, expected: expected,
        found: "\(data.count) bytes (\(data.count / record) records and \(data.count % record) bytes over)")
    }
    let count = data.count / record
    var images: [RGBImage] = []
    images.reserveCapacity(count)
    var labels = [Int](repeating: 0, count: count)
    var coarse = [Int](repeating: 0, count: variant == .cifar100 ? count : 0)
    let plane = side * side
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      let bytes = raw.bindMemory(to: UInt8.self)
      for r in 0..<count {
        let o = r * record
        let label = Int(bytes[o + variant.labelBytes - 1])
        guard label < variant.classCount else {
          throw InputError.dataFile(
            path: path, expected: "labels in 0…\(variant.classCount - 1)",
            found: "label \(label) in record \(r) (byte \(o + variant.labelBytes - 1))")
        }
        labels[r] = label
        if variant == .cifar100 { coarse[r] = Int(bytes[o]) }
        let p = o + variant.labelBytes
        var pixels = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {  // CHW → HWC
          pixels[3 * i] = bytes[p + i]
          pixels[3 * i + 1] = bytes[p + plane + i]
          pixels[3 * i + 2] = bytes[p + 2 * plane + i]
        }
        images.append(RGBImage(width: side, height: side, pixels: pixels))
      }
    }
    return Records(images: images, labels: labels, coarseLabels: coarse)
  }

  /// Reads a split from an extracted release folder (`cifar-10-batches-bin/` or
  /// `cifar-100-binary/`), checking each file against the official record count.
  /// - Parameters:
  ///   - recordsPerFile: overrides the official counts (for small test files); nil = official.
  ///   - coarseLabels: CIFAR-100 only: label the tiles with the 20 superclasses.
  /// - Returns: a `TileSet` whose id is `cifar-10:train` (or similar) and whose hash covers every
  ///   image and label read.
  public static func load(
    directory: URL, variant: Variant, split: Split, recordsPerFile: Int? = nil, coarseLabels: Bool = false
  ) throws -> TileSet {
    var images: [RGBImage] = []
    var labels: [Int] = []
    var names: [String] = []
    for (name, records) in variant.files(split: split) {
      let path = directory.appendingPathComponent(name).path
      let part = try read(file: path, variant: variant, expectedRecords: recordsPerFile ?? records)
      let chosen = coarseLabels && variant == .cifar100 ? part.coarseLabels : part.labels
      names += (0..<part.images.count).map { "\(name)#\($0)" }
      images += part.images
      labels += chosen
    }
    let classNames = Self.classNames(directory: directory, variant: variant, coarse: coarseLabels && variant == .cifar100)
    let id = "\(variant.rawValue)\(coarseLabels && variant == .cifar100 ? "-coarse" : ""):\(split.rawValue)"
    return TileSet(
      images: images, labels: labels, classNames: classNames, names: names, datasetId: id,
      contentHash: TileSet.hash(images: images, labels: labels))
  }

  /// The variant whose training files are in `directory`, if any (`data_batch_1.bin` → CIFAR-10,
  /// `train.bin` → CIFAR-100).
  public static func detect(directory: URL) -> Variant? {
    let fm = FileManager.default
    if fm.fileExists(atPath: directory.appendingPathComponent("data_batch_1.bin").path) { return .cifar10 }
    if fm.fileExists(atPath: directory.appendingPathComponent("train.bin").path) { return .cifar100 }
    return nil
  }

  /// Class names from the release's text files when present (one per line), else CIFAR-10's
  /// known names or `class-<i>`.
  static func classNames(directory: URL, variant: Variant, coarse: Bool) -> [String] {
    let count = coarse ? 20 : variant.classCount
    let file = variant == .cifar10 ? "batches.meta.txt" : (coarse ? "coarse_label_names.txt" : "fine_label_names.txt")
    if let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) {
      let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
      if lines.count == count { return lines }
    }
    if variant == .cifar10 { return cifar10ClassNames }
    return (0..<count).map { "class-\($0)" }
  }
}

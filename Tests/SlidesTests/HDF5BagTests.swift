import Foundation
import Slides
import Testing

/// CLAM-style `.h5` feature bags through libhdf5 (Fixtures/h5, written by h5py through
/// Fixtures/make_h5_fixtures.py): float16/32/64 features and integer or float coordinates read
/// exactly; files missing `features` or with mis-shaped datasets are refused naming the file and
/// the dataset.
@Suite struct HDF5BagTests {
  static func fixture(_ name: String) throws -> String {
    try #require(Bundle.module.url(forResource: name, withExtension: "h5", subdirectory: "Fixtures/h5")).path
  }

  /// Feature (i, j) = i + j/4 − 1 for a [5, 3] bag; coordinates (256 i, 512 i).
  static let expectedFeatures: [Float] = (0..<5).flatMap { i in (0..<3).map { j in Float(i) + Float(j) / 4 - 1 } }

  @Test(arguments: ["f32_chunked", "f16", "f64", "f32_gzip"]) func readsFeaturesAndCoordinates(name: String) throws {
    let bag = try FeatureBag.readHDF5(path: try Self.fixture(name))
    #expect(bag.instanceCount == 5 && bag.featureDimension == 3)
    #expect(bag.features == Self.expectedFeatures)
    #expect(bag.featureTensor.shape == [5, 3])
    let coordinates = try #require(bag.coordinates)
    #expect(coordinates.map(\.x) == [0, 256, 512, 768, 1024])
    #expect(coordinates.map(\.y) == [0, 512, 1024, 1536, 2048])
  }

  @Test func refusesMalformedFilesNamingFileAndDataset() throws {
    let cases: [(String, [String])] = [
      ("no_features", ["no dataset 'features'"]),
      ("bad_coords", ["'coords' has shape [5, 3]", "expected [5, 2]"]),
      ("features_1d", ["'features' has shape [5]", "expected [N, D]"]),
      ("int_features", ["'features' holds integers", "float16, float32 or float64"]),
    ]
    for (name, needles) in cases {
      let path = try Self.fixture(name)
      do {
        _ = try FeatureBag.readHDF5(path: path)
        Issue.record("\(name) was read")
      } catch {
        guard case .malformed = error else {
          Issue.record("\(name): \(error)")
          continue
        }
        #expect(error.description.contains(path), "\(error)")
        for needle in needles { #expect(error.description.contains(needle), "\(name): \(error)") }
      }
    }
  }

  @Test func refusesMissingAndNonHDF5Files() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("h5-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let text = dir.appendingPathComponent("bag.h5").path
    try "not hdf5".write(toFile: text, atomically: true, encoding: .utf8)
    let truncated = dir.appendingPathComponent("truncated.h5").path
    let whole = try Data(contentsOf: URL(fileURLWithPath: try Self.fixture("f32_chunked")))
    try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
    for (path, needle) in [
      (text, "not an HDF5 file"), (dir.appendingPathComponent("none.h5").path, "no such readable file"),
      (truncated, truncated),
    ] {
      #expect(throws: BagError.self) { try FeatureBag.readHDF5(path: path) }
      do { _ = try FeatureBag.readHDF5(path: path) } catch {
        #expect(error.description.contains(path) && error.description.contains(needle), "\(error)")
      }
    }
  }
}

import CHDF5
import Engine
import Foundation

extension FeatureBag {
  /// The instances of a bag written as HDF5 by another tool: CLAM's `extract_features_fp.py`
  /// (`<feat_dir>/h5_files/<slide_id>.h5`) and the pipelines that copied its layout.
  public struct HDF5Instances: Sendable {
    /// `features` as a row-major `[instanceCount, featureDimension]` array.
    public var features: [Float]
    /// Number of instances N.
    public var instanceCount: Int
    /// Feature dimension D.
    public var featureDimension: Int
    /// `coords`: level-0 (x, y) of each patch's top-left corner, nil when the file has none.
    public var coordinates: [(x: Int, y: Int)]?

    /// The features as a `[N, D]` tensor.
    public var featureTensor: Tensor { Tensor(shape: [instanceCount, featureDimension], data: features) }
  }

  /// Reads the `features` `[N, D]` and, when present, `coords` `[N, 2]` datasets of an HDF5 file
  /// (CLAM's feature-bag format) through libhdf5.
  ///
  /// Features may be stored as float16, float32 or float64 (HDF5 converts them to Float on
  /// reading; float16 and float32 exactly); coordinates as any integer or float type holding
  /// whole numbers. Chunked, resizable and compressed (deflate) datasets read like contiguous ones.
  ///
  /// - Throws: `BagError.cannotRead` when the file is missing or not HDF5; `BagError.malformed`
  ///   naming the file and the dataset when `features` is missing, not 2-d, empty or not
  ///   floating point, or `coords` is not `[N, 2]` whole numbers.
  public static func readHDF5(path: String) throws(BagError) -> HDF5Instances {
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw .cannotRead(path: path, reason: "no such readable file")
    }
    chdf5_silence_errors()
    guard H5Fis_hdf5(path) > 0 else {
      throw .cannotRead(path: path, reason: "not an HDF5 file (expected CLAM's .h5 with 'features' [N, D])")
    }
    let file = H5Fopen(path, chdf5_read_only(), chdf5_default())
    guard file >= 0 else { throw .cannotRead(path: path, reason: "libhdf5 cannot open the file") }
    defer { H5Fclose(file) }

    guard let (features, shape) = try readDataset(file, "features", as: Float.self, path: path, floatingOnly: true)
    else {
      throw .malformed(path: path, reason: "no dataset 'features'; expected CLAM's 'features' [N, D]")
    }
    guard shape.count == 2, shape[0] > 0, shape[1] > 0 else {
      throw .malformed(path: path, reason: "dataset 'features' has shape \(shape); expected [N, D] with N, D ≥ 1")
    }
    let n = shape[0]
    var coordinates: [(x: Int, y: Int)]?
    if let (coords, coordShape) = try readDataset(file, "coords", as: Double.self, path: path, floatingOnly: false) {
      guard coordShape == [n, 2] else {
        throw .malformed(path: path, reason: "dataset 'coords' has shape \(coordShape); expected [\(n), 2] (x, y per instance)")
      }
      guard coords.allSatisfy({ $0.rounded() == $0 && abs($0) < 0x1p53 }) else {
        throw .malformed(path: path, reason: "dataset 'coords' holds non-integer values; expected pixel coordinates")
      }
      coordinates = (0..<n).map { (x: Int(coords[2 * $0]), y: Int(coords[2 * $0 + 1])) }
    }
    return HDF5Instances(
      features: features, instanceCount: n, featureDimension: shape[1], coordinates: coordinates)
  }

  /// A dataset's values (converted to `Float` or `Double` by libhdf5) and shape; nil when the
  /// file has no such dataset.
  private static func readDataset<Element: BinaryFloatingPoint>(
    _ file: hid_t, _ name: String, as element: Element.Type, path: String, floatingOnly: Bool
  ) throws(BagError) -> ([Element], [Int])? {
    guard H5Lexists(file, name, chdf5_default()) > 0 else { return nil }
    let dataset = H5Dopen2(file, name, chdf5_default())
    guard dataset >= 0 else { throw .malformed(path: path, reason: "'\(name)' is not a readable dataset") }
    defer { H5Dclose(dataset) }
    let type = H5Dget_type(dataset)
    guard type >= 0 else { throw .malformed(path: path, reason: "dataset '\(name)' has no readable type") }
    let typeClass = H5Tget_class(type)
    H5Tclose(type)
    let numeric = typeClass == H5T_FLOAT || (!floatingOnly && typeClass == H5T_INTEGER)
    guard numeric else {
      let kind = typeClass == H5T_INTEGER ? "integers" : "non-numeric values"
      let expected = floatingOnly ? "float16, float32 or float64" : "numbers"
      throw .malformed(path: path, reason: "dataset '\(name)' holds \(kind); expected \(expected)")
    }
    let space = H5Dget_space(dataset)
    guard space >= 0 else { throw .malformed(path: path, reason: "dataset '\(name)' has no readable shape") }
    defer { H5Sclose(space) }
    let rank = Int(H5Sget_simple_extent_ndims(space))
    guard rank >= 0 else { throw .malformed(path: path, reason: "dataset '\(name)' has no simple shape") }
    var dims = [hsize_t](repeating: 0, count: max(rank, 1))
    guard H5Sget_simple_extent_dims(space, &dims, nil) == Int32(rank) else {
      throw .malformed(path: path, reason: "dataset '\(name)' has no readable shape")
    }
    let shape = dims.prefix(rank).map { Int($0) }
    let count = shape.reduce(1, *)
    var values = [Element](repeating: 0, count: count)
    let memoryType = Element.self == Float.self ? chdf5_native_float() : chdf5_native_double()
    if count > 0 {
      let status = values.withUnsafeMutableBytes {
        H5Dread(dataset, memoryType, chdf5_all(), chdf5_all(), chdf5_default(), $0.baseAddress)
      }
      guard status >= 0 else {
        throw .malformed(path: path, reason: "dataset '\(name)' could not be read (truncated or corrupt file?)")
      }
    }
    return (values, shape)
  }
}

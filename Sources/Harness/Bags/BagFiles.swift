import Engine
import Foundation
import Slides

/// The feature bags `replicate predict` reads: a bag folder from `replicate slides extract`
/// (`bags.csv`), a folder of CLAM `.h5` feature files (or CLAM's feature folder holding
/// `h5_files/`), one `.safetensors` bag (a `features` tensor `[N, D]`) or one `.h5` file.
public enum BagFiles {
  /// (slide id, bag path) for every bag under `path`: in `bags.csv` order for a bag store, by file
  /// name for a folder of CLAM `.h5` files (the folder itself or its `h5_files/`), the file stem
  /// for one file.
  /// - Throws: `BagError` or `InputError` (exit 2) naming `--bags`.
  public static func list(_ path: String) throws -> [(slideID: String, path: String)] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw BagError.cannotRead(path: path, reason: "no such file or folder")
    }
    guard isDirectory.boolValue else {
      return [(((path as NSString).lastPathComponent as NSString).deletingPathExtension, path)]
    }
    let folder = URL(fileURLWithPath: path)
    if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(BagStore.tableName).path) {
      for candidate in [folder, folder.appendingPathComponent("h5_files")] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: candidate.path)) ?? []
        let h5 = names.filter { $0.lowercased().hasSuffix(".h5") }.sorted()
        if !h5.isEmpty {
          return h5.map { (($0 as NSString).deletingPathExtension, candidate.appendingPathComponent($0).path) }
        }
      }
      throw InputError.badData(
        path: path,
        message: "no \(BagStore.tableName) and no .h5 files (here or in h5_files/); expected a bag folder from "
          + "`replicate slides extract` or CLAM's .h5 feature files",
        option: "--bags")
    }
    let store = try BagStore(directory: path)
    guard !store.entries.isEmpty else {
      throw InputError.badData(path: path, message: "bags.csv lists no bags", option: "--bags")
    }
    return store.entries.map { ($0.slideID, $0.path) }
  }

  /// The `features` `[N, D]` of a bag file: CLAM `.h5` through libhdf5, safetensors otherwise (its
  /// sidecar, when present, is checked by `FeatureBag.read`).
  /// - Throws: `BagError` or `InputError` (exit 2) naming `--bags`.
  public static func features(path: String) throws -> Tensor {
    if path.lowercased().hasSuffix(".h5") || path.lowercased().hasSuffix(".hdf5") {
      return try FeatureBag.readHDF5(path: path).featureTensor
    }
    if FileManager.default.fileExists(atPath: FeatureBag.sidecarPath(for: path)) {
      let bag = try FeatureBag.read(path: path)
      guard bag.instanceCount > 0 else {
        throw InputError.badData(path: path, message: "the bag has no instances", option: "--bags")
      }
      return bag.featureTensor
    }
    let entries: [SafeTensorsEntry]
    do { entries = try SafeTensors.read(path).entries } catch {
      throw InputError.badData(path: path, message: error.description, option: "--bags")
    }
    guard let f = entries.first(where: { $0.name == "features" }) else {
      throw InputError.badData(path: path, message: "no 'features' tensor; expected a bag [N, D]", option: "--bags")
    }
    guard f.shape.count == 2, f.shape[0] > 0, f.shape[1] > 0 else {
      throw InputError.badData(
        path: path, message: "'features' has shape \(f.shape); expected [N, D] with N, D ≥ 1", option: "--bags")
    }
    return Tensor(shape: f.shape, data: f.values)
  }
}

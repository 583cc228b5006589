import Methods

extension MILPredictor {
  /// Predicts every bag at `path` (`BagFiles.list`: a bag folder, CLAM `.h5` files or one bag
  /// file), in bag order.
  /// - Throws: `InputError` (exit 2) naming `--bags` for a bag that cannot be read or whose
  ///   feature width is not `inputDimension`.
  public func predict(bags path: String) throws -> [MILPrediction] {
    try BagFiles.list(path).map { slideID, bagPath in
      let features = try BagFiles.features(path: bagPath)
      guard features.shape[1] == inputDimension else {
        throw InputError.badData(
          path: bagPath,
          message: "bag '\(slideID)' has \(features.shape[1])-d features; the \(name) weights expect \(inputDimension)",
          option: "--bags")
      }
      return predict(slideID: slideID, features: features)
    }
  }
}

import Basics
import Engine
import Foundation

/// Why a feature bag or bag store could not be read or written.
///
/// An input error in the project's sense: the command line prints the description and exits 2.
public enum BagError: Error, CustomStringConvertible, Equatable {
  /// A bag, sidecar or bag table is missing or unreadable.
  case cannotRead(path: String, reason: String)
  /// A file exists but breaks the bag format (what was expected is in `reason`).
  case malformed(path: String, reason: String)
  /// A bag file could not be written.
  case cannotWrite(path: String, reason: String)
  /// The store has no bag for this slide.
  case unknownSlide(String, store: String)

  public var description: String {
    switch self {
    case .cannotRead(let path, let reason): "\(path): cannot read the feature bag: \(reason)"
    case .malformed(let path, let reason): "\(path): not a feature bag: \(reason)"
    case .cannotWrite(let path, let reason): "\(path): cannot write the feature bag: \(reason)"
    case .unknownSlide(let id, let store): "\(store): no bag for slide '\(id)' (see bags.csv)"
    }
  }
}

/// What a bag was made from and how: the JSON sidecar `<slide>.json` beside `<slide>.safetensors`.
public struct BagInfo: Sendable, Codable, Equatable {
  /// Tile counts of the pipeline.
  public struct Counts: Sendable, Codable, Equatable {
    /// Tiles of the full grid (columns × rows).
    public var grid: Int
    /// Tiles encoded (the bag's instances).
    public var kept: Int
    /// Grid tiles dropped for too little tissue.
    public var rejectedTissue: Int
    /// Tissue tiles dropped by focus QC.
    public var rejectedFocus: Int

    public init(grid: Int, kept: Int, rejectedTissue: Int, rejectedFocus: Int) {
      self.grid = grid
      self.kept = kept
      self.rejectedTissue = rejectedTissue
      self.rejectedFocus = rejectedFocus
    }

    enum CodingKeys: String, CodingKey {
      case grid, kept
      case rejectedTissue = "rejected_tissue"
      case rejectedFocus = "rejected_focus"
    }
  }

  /// The encoder that made the features.
  public struct Encoder: Sendable, Codable, Equatable {
    /// The `kind` of a tile-image bag: no encoder, each instance is the tile's RGB pixels
    /// resized to `inputSize²`, row-major height × width × channel (`[N, s·s·3]`), stored as U8.
    public static let pixelsKind = "pixels"

    /// `small` or `resnet18`.
    public var kind: String
    /// Human-readable architecture and initialisation.
    public var description: String
    /// Side of the square the tiles are resized to.
    public var inputSize: Int
    /// Feature dimension D.
    public var featureDimension: Int
    /// Weights file, or nil for a seeded random initialisation.
    public var weights: String?
    /// SHA-256 of the weights file, or of the initial state dict when random.
    public var weightsSHA256: String
    /// Seed of the random initialisation.
    public var seed: UInt64
    /// Input normalisation (`(x/255 − mean) / std` per channel).
    public var normalisation: String

    public init(
      kind: String, description: String, inputSize: Int, featureDimension: Int, weights: String?,
      weightsSHA256: String, seed: UInt64, normalisation: String
    ) {
      self.kind = kind
      self.description = description
      self.inputSize = inputSize
      self.featureDimension = featureDimension
      self.weights = weights
      self.weightsSHA256 = weightsSHA256
      self.seed = seed
      self.normalisation = normalisation
    }

    enum CodingKeys: String, CodingKey {
      case kind, description, weights, seed, normalisation
      case inputSize = "input_size"
      case featureDimension = "feature_dimension"
      case weightsSHA256 = "weights_sha256"
    }
  }

  /// Bag format version.
  public var format: String = FeatureBag.format
  /// Slide id (file stem).
  public var slideID: String
  /// The slide file read.
  public var slidePath: String
  /// Tiling preset name.
  public var preset: String
  /// Level tiles were read at.
  public var level: Int
  /// Tile side in output pixels (before resizing to the encoder).
  public var patchSize: Int
  /// Tile side read at `level` (differs from `patchSize` when a larger region is shrunk).
  public var readSize: Int
  /// Grid stride in output pixels.
  public var stepSize: Int
  /// Level-0 pixels per output pixel.
  public var downsample: Double
  /// Level-0 microns per pixel, when the slide states it.
  public var micronsPerPixel: Double?
  /// Focus detector and its rejection threshold (nil threshold: no focus QC).
  public var focusDetector: String
  public var focusThreshold: Double?
  /// Annotation file instance labels come from (nil: none given; a slide without a file in the
  /// annotation folder is a negative slide).
  public var annotations: String?
  /// Tumour fraction at which an instance is labelled tumour.
  public var instanceThreshold: Double
  /// The encoder.
  public var encoder: Encoder
  /// Tile counts.
  public var counts: Counts

  public init(
    slideID: String, slidePath: String, preset: String, level: Int, patchSize: Int, readSize: Int, stepSize: Int,
    downsample: Double, micronsPerPixel: Double?, focusDetector: String, focusThreshold: Double?,
    annotations: String?, instanceThreshold: Double, encoder: Encoder, counts: Counts
  ) {
    self.slideID = slideID
    self.slidePath = slidePath
    self.preset = preset
    self.level = level
    self.patchSize = patchSize
    self.readSize = readSize
    self.stepSize = stepSize
    self.downsample = downsample
    self.micronsPerPixel = micronsPerPixel
    self.focusDetector = focusDetector
    self.focusThreshold = focusThreshold
    self.annotations = annotations
    self.instanceThreshold = instanceThreshold
    self.encoder = encoder
    self.counts = counts
  }

  enum CodingKeys: String, CodingKey {
    case format, preset, level, downsample, annotations, encoder, counts
    case slideID = "slide_id"
    case slidePath = "slide_path"
    case patchSize = "patch_size"
    case readSize = "read_size"
    case stepSize = "step_size"
    case micronsPerPixel = "microns_per_pixel"
    case focusDetector = "focus_detector"
    case focusThreshold = "focus_threshold"
    case instanceThreshold = "instance_threshold"
  }
}

/// One slide as a bag of tile features: what MIL models read.
///
/// Stored as safetensors (`FeatureBag.write`, Engine's writer) with these F32 tensors:
/// `features [N, D]`, `coords [N, 2]` (level-0 x, y of each tile's top-left corner; exact up to
/// 2²⁴), `tissue_coverage [N]`, `focus_score [N]`, and, when annotations were given,
/// `tumour_fraction [N]` and `instance_label [N]` (0/1), plus a JSON sidecar (`BagInfo`).
/// Instances are in grid order (row by row). A tile-image bag (encoder kind
/// `BagInfo.Encoder.pixelsKind`) stores `features` as U8: each row is one tile's pixels
/// `[s, s, 3]` (0…255), the instances of a MIL model that encodes images itself (INS on tiles).
public struct FeatureBag: Sendable {
  /// Format tag written into the safetensors metadata and the sidecar.
  public static let format = "replicate-bag-v1"

  /// Provenance and counts.
  public var info: BagInfo
  /// Row-major `[instanceCount, featureDimension]` features.
  public var features: [Float]
  /// Level-0 top-left corner of every tile.
  public var coordinates: [(x: Int, y: Int)]
  /// Tissue coverage of every tile (0…1).
  public var tissueCoverage: [Double]
  /// Focus score of every tile (higher = sharper).
  public var focusScores: [Double]
  /// Tumour fraction of every tile from the annotations, nil without annotations.
  public var tumourFractions: [Double]?
  /// `tumourFraction ≥ info.instanceThreshold` as 0/1, nil without annotations.
  public var instanceLabels: [Int]?

  /// A bag from its parts.
  /// - Precondition: every per-instance array has `coordinates.count` entries and `features`
  ///   `coordinates.count · info.encoder.featureDimension`.
  public init(
    info: BagInfo, features: [Float], coordinates: [(x: Int, y: Int)], tissueCoverage: [Double],
    focusScores: [Double], tumourFractions: [Double]?, instanceLabels: [Int]?
  ) {
    let n = coordinates.count
    precondition(
      features.count == n * info.encoder.featureDimension && tissueCoverage.count == n && focusScores.count == n
        && (tumourFractions?.count ?? n) == n && (instanceLabels?.count ?? n) == n,
      "FeatureBag: per-instance arrays disagree with \(n) instances")
    self.info = info
    self.features = features
    self.coordinates = coordinates
    self.tissueCoverage = tissueCoverage
    self.focusScores = focusScores
    self.tumourFractions = tumourFractions
    self.instanceLabels = instanceLabels
  }

  /// Number of instances N.
  public var instanceCount: Int { coordinates.count }
  /// Feature dimension D.
  public var featureDimension: Int { info.encoder.featureDimension }
  /// The features as a `[N, D]` tensor.
  public var featureTensor: Tensor { Tensor(shape: [instanceCount, featureDimension], data: features) }

  /// Writes `<path>` (safetensors) and the sidecar `<path without extension>.json`.
  public func write(to path: String) throws(BagError) {
    let n = instanceCount
    var entries = [
      SafeTensorsEntry(
        name: "features", shape: [n, featureDimension], values: features,
        storage: info.encoder.kind == BagInfo.Encoder.pixelsKind ? .uint8 : .float32),
      SafeTensorsEntry(name: "coords", shape: [n, 2], values: coordinates.flatMap { [Float($0.x), Float($0.y)] }),
      SafeTensorsEntry(name: "tissue_coverage", shape: [n], values: tissueCoverage.map(Float.init)),
      SafeTensorsEntry(name: "focus_score", shape: [n], values: focusScores.map(Float.init)),
    ]
    if let tumourFractions, let instanceLabels {
      entries.append(SafeTensorsEntry(name: "tumour_fraction", shape: [n], values: tumourFractions.map(Float.init)))
      entries.append(SafeTensorsEntry(name: "instance_label", shape: [n], values: instanceLabels.map(Float.init)))
    }
    do {
      try SafeTensors.write(entries, metadata: ["format": Self.format, "slide_id": info.slideID], to: path)
    } catch {
      throw .cannotWrite(path: path, reason: error.description)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
      try encoder.encode(info).write(to: URL(fileURLWithPath: Self.sidecarPath(for: path)), options: .atomic)
    } catch {
      throw .cannotWrite(path: Self.sidecarPath(for: path), reason: error.localizedDescription)
    }
  }

  /// The sidecar path of a bag file: the extension replaced by `.json`.
  public static func sidecarPath(for path: String) -> String {
    (path as NSString).deletingPathExtension + ".json"
  }

  /// Reads a bag and its sidecar, checking that shapes agree.
  public static func read(path: String) throws(BagError) -> FeatureBag {
    let file: (entries: [SafeTensorsEntry], metadata: [String: String])
    do { file = try SafeTensors.read(path) } catch {
      switch error {
      case .cannotRead(_, let reason): throw .cannotRead(path: path, reason: reason)
      default: throw .malformed(path: path, reason: error.description)
      }
    }
    let sidecar = sidecarPath(for: path)
    let info: BagInfo
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: sidecar))
      info = try JSONDecoder().decode(BagInfo.self, from: data)
    } catch let error as DecodingError {
      throw .malformed(path: sidecar, reason: "sidecar JSON does not decode: \(error)")
    } catch {
      throw .cannotRead(path: sidecar, reason: "missing or unreadable sidecar (\(error.localizedDescription))")
    }
    let byName = Dictionary(file.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    guard let features = byName["features"], features.shape.count == 2 else {
      throw .malformed(path: path, reason: "expected a 2-d 'features' tensor [N, D]")
    }
    let n = features.shape[0]
    guard features.shape[1] == info.encoder.featureDimension else {
      throw .malformed(
        path: path, reason: "features are \(features.shape[1])-d; the sidecar says \(info.encoder.featureDimension)")
    }
    func vector(_ name: String, required: Bool) throws(BagError) -> [Float]? {
      guard let entry = byName[name] else {
        if required { throw .malformed(path: path, reason: "missing tensor '\(name)'") }
        return nil
      }
      guard entry.shape == [n] else {
        throw .malformed(path: path, reason: "'\(name)' has shape \(entry.shape); expected [\(n)]")
      }
      return entry.values
    }
    guard let coords = byName["coords"], coords.shape == [n, 2] else {
      throw .malformed(path: path, reason: "expected 'coords' of shape [\(n), 2]")
    }
    let coordinates = (0..<n).map { (x: Int(coords.values[2 * $0]), y: Int(coords.values[2 * $0 + 1])) }
    let coverage = try vector("tissue_coverage", required: true) ?? []
    let focus = try vector("focus_score", required: true) ?? []
    let fractions = try vector("tumour_fraction", required: false)
    let labels = try vector("instance_label", required: false)
    guard (fractions == nil) == (labels == nil) else {
      throw .malformed(path: path, reason: "'tumour_fraction' and 'instance_label' must come together")
    }
    guard info.counts.kept == n else {
      throw .malformed(path: path, reason: "\(n) instances; the sidecar counts \(info.counts.kept) kept tiles")
    }
    return FeatureBag(
      info: info, features: features.values, coordinates: coordinates, tissueCoverage: coverage.map(Double.init),
      focusScores: focus.map(Double.init), tumourFractions: fractions.map { $0.map(Double.init) },
      instanceLabels: labels.map { $0.map { Int($0) } })
  }
}

extension BagError: UserFacingError {}

import Basics
import Engine
import Foundation
import NN
import Slides
import Vision

/// The encoders `replicate slides extract` can turn tiles into features with.
public enum TileEncoderKind: String, CaseIterable, Sendable {
  /// `ResNet.small` (BasicBlock, one block per stage, widths 16-32-64-128, CIFAR stem): 128-d
  /// features; default input 64².
  case small
  /// torchvision ResNet-18 (ImageNet stem) without `fc`: 512-d features; default input 224².
  case resnet18
  /// No encoder: the tile's RGB pixels resized to `inputSize²` (`3·s²` values 0…255 per
  /// instance, stored as U8; `BagInfo.Encoder.pixelsKind`): tile-image bags for a MIL model
  /// that trains its own image encoder (INS on tiles). Default side 32.
  case pixels

  /// The input side used when none is given.
  public var defaultInputSize: Int {
    switch self {
    case .small: 64
    case .resnet18: 224
    case .pixels: 32
    }
  }

  /// The kinds that turn tiles into feature vectors (all but `pixels`).
  public static let featureEncoders: [TileEncoderKind] = [.small, .resnet18]
}

/// A frozen tile encoder: an engine ResNet in evaluation mode (BatchNorm uses its running
/// statistics) run without autograd, random-initialised from a seed or loaded from a safetensors
/// state dict by PyTorch name; or, for `.pixels`, no network at all (the resized tile itself is
/// the instance).
///
/// Input: tiles are resized to `inputSize²` (area averaging, as `cv2.INTER_AREA`), scaled to
/// [0, 1] and normalised per channel with the ImageNet statistics torchvision's pretrained
/// weights expect, `x = (v / 255 − mean) / std`, mean (0.485, 0.456, 0.406), std (0.229, 0.224,
/// 0.225) — the same for random weights, so a random and a loaded encoder see the same inputs.
/// Shapes: `[n, 3, inputSize, inputSize]` → `[n, featureDimension]`.
///
/// Weights: a state dict whose names match the model's (`conv1.weight`, `layer1.0.bn1.running_mean`,
/// …) loads; a torchvision checkpoint's `fc.*` entries are ignored (the encoder has no
/// classifier) and a missing `num_batches_tracked` is allowed; anything else missing,
/// unexpected or mis-shaped is an input error naming the keys.
public final class TileEncoder: @unchecked Sendable {
  /// ImageNet channel means.
  public static let mean: [Float] = [0.485, 0.456, 0.406]
  /// ImageNet channel standard deviations.
  public static let standardDeviation: [Float] = [0.229, 0.224, 0.225]
  /// How `mean`/`standardDeviation` are applied, for the bag sidecar.
  public static let normalisation =
    "(v/255 - mean)/std per RGB channel, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) (ImageNet)"

  public let kind: TileEncoderKind
  /// Tiles are resized to `inputSize × inputSize`.
  public let inputSize: Int
  /// The network (feature extractor, evaluation mode); nil for `.pixels`.
  public let model: ResNet?
  /// Seed of the random initialisation (also recorded when weights are loaded).
  public let seed: UInt64
  /// Weights file, if any.
  public let weightsPath: String?
  /// SHA-256 of the weights file, or of the random initial state dict.
  public let weightsSHA256: String

  /// Feature dimension D (`3·inputSize²` for `.pixels`).
  public var featureDimension: Int { model?.featureDimension ?? 3 * inputSize * inputSize }

  /// Builds the encoder.
  /// - Throws: `InputError` for an input size below 16 (8 for `.pixels`), a weights file that
  ///   does not load, or weights given for `.pixels`.
  public init(kind: TileEncoderKind, inputSize: Int? = nil, seed: UInt64 = 0, weights: String? = nil) throws {
    let size = inputSize ?? kind.defaultInputSize
    let sizes = kind == .pixels ? 8...1024 : 16...1024
    guard sizes.contains(size) else {
      throw InputError.badArgument(
        option: "--input-size", value: String(size), expected: "an integer in \(sizes.lowerBound)...1024")
    }
    var rng = RandomGenerator(seed: seed)
    switch kind {
    case .small: model = ResNet.small(numClasses: nil, stem: .cifar, using: &rng)
    case .resnet18: model = ResNet.resnet18(numClasses: nil, stem: .imagenet, using: &rng)
    case .pixels: model = nil
    }
    model?.isTraining = false
    self.kind = kind
    self.inputSize = size
    self.seed = seed
    weightsPath = weights
    guard let model else {
      if let weights {
        throw InputError.badArgument(option: "--weights", value: weights, expected: "no weights for the pixels encoder")
      }
      weightsSHA256 = SHA256Hasher.hex(of: "pixels")
      return
    }
    if let weights {
      let entries: [SafeTensorsEntry]
      do { entries = try SafeTensors.read(weights).entries } catch {
        throw InputError.badData(path: weights, message: error.description, option: "--weights")
      }
      let report = model.loadStateDict(entries)
      let missing = report.missing.filter { !$0.hasSuffix("num_batches_tracked") }
      let unexpected = report.unexpected.filter { !$0.hasPrefix("fc.") }
      guard missing.isEmpty, unexpected.isEmpty, report.mismatched.isEmpty else {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.prefix(5).joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected \(unexpected.prefix(5).joined(separator: ", "))") }
        if !report.mismatched.isEmpty {
          parts.append("shape mismatch \(report.mismatched.prefix(3).joined(separator: "; "))")
        }
        throw InputError.badData(
          path: weights,
          message: "not a \(kind.rawValue) state dict: \(parts.joined(separator: "; ")) "
            + "(expected torchvision names such as conv1.weight, layer1.0.bn1.weight)", option: "--weights")
      }
      weightsSHA256 = try Self.fileSHA256(weights)
    } else {
      var hasher = SHA256Hasher()
      for (name, tensor) in model.namedParameters {
        hasher.update(name)
        hasher.update(tensor.data)
      }
      weightsSHA256 = hasher.finalize()
    }
  }

  /// One line: architecture, input and initialisation.
  public var summary: String {
    let arch: String
    switch kind {
    case .small: arch = "ResNet.small (BasicBlock [1,1,1,1], widths 16-32-64-128, CIFAR stem)"
    case .resnet18: arch = "ResNet-18 (torchvision, ImageNet stem)"
    case .pixels: return "RGB pixels (no encoder), \(inputSize)² tiles, \(featureDimension) bytes per instance"
    }
    let source = weightsPath.map { "weights \(($0 as NSString).lastPathComponent)" } ?? "random init, seed \(seed)"
    return "\(arch), \(featureDimension)-d, input \(inputSize)², \(source)"
  }

  /// The sidecar's description of this encoder.
  public var info: BagInfo.Encoder {
    BagInfo.Encoder(
      kind: kind.rawValue, description: summary, inputSize: inputSize, featureDimension: featureDimension,
      weights: weightsPath, weightsSHA256: weightsSHA256, seed: seed,
      normalisation: kind == .pixels ? "none: raw 0-255 RGB, row-major [s, s, 3]" : Self.normalisation)
  }

  /// The normalised input tensor of `tiles`: `[n, 3, inputSize, inputSize]`.
  public func input(_ tiles: [RGBImage]) -> Tensor {
    let s = inputSize
    let plane = s * s
    var data = [Float](repeating: 0, count: tiles.count * 3 * plane)
    data.withUnsafeMutableBufferPointer { out in
      for (b, tile) in tiles.enumerated() {
        let image = tile.width == s && tile.height == s ? tile : tile.resized(width: s, height: s)
        image.pixels.withUnsafeBufferPointer { p in
          for c in 0..<3 {
            let scale = 1 / (255 * Self.standardDeviation[c])
            let shift = Self.mean[c] / Self.standardDeviation[c]
            let base = (b * 3 + c) * plane
            for i in 0..<plane { out[base + i] = Float(p[3 * i + c]) * scale - shift }
          }
        }
      }
    }
    return Tensor(shape: [tiles.count, 3, s, s], data: data)
  }

  /// Features of `tiles`, row-major `[n, featureDimension]`; for `.pixels`, each tile resized
  /// to `inputSize²` (area averaging) as its bytes `[s, s, 3]`.
  public func encode(_ tiles: [RGBImage]) -> [Float] {
    guard !tiles.isEmpty else { return [] }
    guard let model else {
      let s = inputSize
      return tiles.flatMap { tile in
        (tile.width == s && tile.height == s ? tile : tile.resized(width: s, height: s)).pixels.map(Float.init)
      }
    }
    let x = input(tiles)
    return Tensor.withoutGrad { model.features(x) }.data
  }

  public static func fileSHA256(_ path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw InputError.badData(path: path, message: "cannot read the weights file", option: "--weights")
    }
    defer { try? handle.close() }
    var hasher = SHA256Hasher()
    while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { chunk.withUnsafeBytes { hasher.update($0) } }
    return hasher.finalize()
  }
}

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
  /// The micro Swin with CTransPath's convolutional stem (`SwinTransformer.Configuration.micro`,
  /// the SSL targets' `backbone: swin-micro`, timm names): 384-d features from the last stage,
  /// or another stage (`TileEncoderStage`); input a multiple of 32, default 64².
  case swinMicro = "swin-micro"
  /// CTransPath's architecture (Wang et al. 2022): Swin-T (d 96, depths 2-2-6-2, window 7) with
  /// the convolutional stem, no head, timm names (`SwinTransformer.Configuration.ctransPath`):
  /// 768-d features from the last stage; input 224² (or a multiple: every stage's map side must
  /// be a multiple of the window 7). Meant for the published weights (`--weights`); random
  /// otherwise.
  case ctransPath = "ctranspath"

  /// The input side used when none is given.
  public var defaultInputSize: Int {
    switch self {
    case .small: 64
    case .resnet18: 224
    case .pixels: 32
    case .swinMicro: 64
    case .ctransPath: 224
    }
  }

  /// Whether the encoder is a Swin (stages, timm names).
  public var isSwin: Bool { self == .swinMicro || self == .ctransPath }

  /// The Swin configuration of a Swin kind at input side `size`, nil for the others.
  public func swinConfiguration(inputSize size: Int) -> SwinTransformer.Configuration? {
    switch self {
    case .swinMicro: .micro(imageSize: size, classes: nil, stem: .convolutional)
    case .ctransPath: .ctransPath(imageSize: size)
    default: nil
    }
  }

  /// The kinds that turn tiles into feature vectors (all but `pixels`).
  public static let featureEncoders: [TileEncoderKind] = [.small, .resnet18, .swinMicro, .ctransPath]

  /// The encoder whose weights an SSL run's `--save-backbone` writes for its `backbone` value, or nil.
  public init?(backbone: String) {
    switch backbone {
    case "resnet-small": self = .small
    case "swin-micro": self = .swinMicro
    default: return nil
    }
  }
}

/// Which stage's features a hierarchical tile encoder (the Swin) gives: the data-efficiency
/// study's feature-stage arms (Lenz et al. 2024). Stage features are the mean over tokens of a
/// stage's output (`SwinTransformer.stageFeatures`).
public enum TileEncoderStage: String, CaseIterable, Sendable {
  /// The last stage (the usual pooled feature, after the final LayerNorm).
  case last
  /// The second-to-last stage.
  case penultimate
  /// The first stage.
  case first
  /// The second-to-last and last stages concatenated, in that order (the study's stage fusion,
  /// read here as concatenation).
  case fusion
  /// Every stage, first to last, concatenated: one extraction that the data-efficiency target
  /// slices into its stage arms (`columns(widths:)`).
  case all

  /// The stages read, by index, for a network of `count` stages.
  public func indices(of count: Int) -> [Int] {
    switch self {
    case .last: [count - 1]
    case .penultimate: [count - 2]
    case .first: [0]
    case .fusion: [count - 2, count - 1]
    case .all: Array(0..<count)
    }
  }

  /// The columns of this stage's features inside `.all` features whose stages have `widths`.
  public func columns(widths: [Int]) -> [Range<Int>] {
    let starts = widths.indices.map { widths[..<$0].reduce(0, +) }
    return indices(of: widths.count).map { starts[$0]..<(starts[$0] + widths[$0]) }
  }
}

/// A frozen tile encoder: an engine ResNet or micro Swin in evaluation mode (BatchNorm uses its
/// running statistics) run without autograd, random-initialised from a seed or loaded from a safetensors
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
/// classifier) and a missing `num_batches_tracked` is allowed; for the Swin, timm's names
/// (`patch_embed.proj.0.weight`, `layers.0.blocks.0.attn.qkv.weight`, …) and a `head.*` is
/// ignored; anything else missing,
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
  /// The ResNet (feature extractor, evaluation mode), for `.small` and `.resnet18`.
  public let model: ResNet?
  /// The Swin (evaluation mode), for `.swinMicro` and `.ctransPath`.
  public let swin: SwinTransformer?
  /// The stage whose features the Swin gives (`.last` for the ResNets).
  public let stage: TileEncoderStage
  /// Seed of the random initialisation (also recorded when weights are loaded).
  public let seed: UInt64
  /// Weights file, if any.
  public let weightsPath: String?
  /// SHA-256 of the weights file, or of the random initial state dict.
  public let weightsSHA256: String

  /// The width of each stage's features, first to last, for the Swin (nil for the others).
  public var stageWidths: [Int]? { swin?.configuration.stageWidths }

  /// Feature dimension D (`3·inputSize²` for `.pixels`).
  public var featureDimension: Int {
    if let widths = stageWidths { return stage.columns(widths: widths).map(\.count).reduce(0, +) }
    return model?.featureDimension ?? 3 * inputSize * inputSize
  }

  /// Builds the encoder.
  /// - Throws: `InputError` for an input size below 16 or above 1024 (8 for `.pixels`; for
  ///   `.swinMicro` not a multiple of 32, for `.ctransPath` not a multiple of 224), a stage other
  ///   than `.last` for a ResNet, a weights file that does not load, or weights given for `.pixels`.
  public init(
    kind: TileEncoderKind, inputSize: Int? = nil, seed: UInt64 = 0, weights: String? = nil,
    stage: TileEncoderStage = .last
  ) throws {
    let size = inputSize ?? kind.defaultInputSize
    let sizes = kind == .pixels ? 8...1024 : (kind.isSwin ? 32...1024 : 16...1024)
    let multiple = kind == .ctransPath ? 224 : (kind == .swinMicro ? 32 : 1)
    guard sizes.contains(size), size % multiple == 0 else {
      throw InputError.badArgument(
        option: "--input-size", value: String(size),
        expected: kind == .swinMicro
          ? "a multiple of 32 in 32...1024 for swin-micro (4 × 4 patches, three 2 × 2 merges)"
          : kind == .ctransPath
            ? "224 or a multiple of it for ctranspath (every stage's map side a multiple of the window 7)"
            : "an integer in \(sizes.lowerBound)...1024")
    }
    guard stage == .last || kind.isSwin else {
      throw InputError.badArgument(
        option: "--stage", value: stage.rawValue, expected: "last for the \(kind.rawValue) encoder (stages are the Swin's)")
    }
    var rng = RandomGenerator(seed: seed)
    switch kind {
    case .small: (model, swin) = (ResNet.small(numClasses: nil, stem: .cifar, using: &rng), nil)
    case .resnet18: (model, swin) = (ResNet.resnet18(numClasses: nil, stem: .imagenet, using: &rng), nil)
    case .pixels: (model, swin) = (nil, nil)
    case .swinMicro, .ctransPath:
      (model, swin) = (nil, SwinTransformer(kind.swinConfiguration(inputSize: size)!, using: &rng))
    }
    model?.isTraining = false
    swin?.isTraining = false
    self.kind = kind
    self.inputSize = size
    self.seed = seed
    self.stage = stage
    weightsPath = weights
    guard let network: any Module = model ?? swin else {
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
      let report = network.loadStateDict(entries)
      let missing = report.missing.filter { !$0.hasSuffix("num_batches_tracked") }
      let unexpected = report.unexpected.filter { !$0.hasPrefix(kind.isSwin ? "head." : "fc.") }
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
            + (kind.isSwin
              ? "(expected timm names such as patch_embed.proj.0.weight, layers.0.blocks.0.attn.qkv.weight)"
              : "(expected torchvision names such as conv1.weight, layer1.0.bn1.weight)"), option: "--weights")
      }
      weightsSHA256 = try Self.fileSHA256(weights)
    } else {
      var hasher = SHA256Hasher()
      for (name, tensor) in network.namedParameters {
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
    case .swinMicro:
      arch = "Swin micro (CTransPath ConvStem, d 48, depths 2-2-2-2, window \(swin!.configuration.windowSize)), "
        + "\(stage.rawValue) stage"
    case .ctransPath:
      arch = "CTransPath architecture (Swin-T with ConvStem, d 96, depths 2-2-6-2, window 7), \(stage.rawValue) stage"
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
    guard model != nil || swin != nil else {
      let s = inputSize
      return tiles.flatMap { tile in
        (tile.width == s && tile.height == s ? tile : tile.resized(width: s, height: s)).pixels.map(Float.init)
      }
    }
    let x = input(tiles)
    if let swin {
      let stages = Tensor.withoutGrad { swin.stageFeatures(x) }
      let chosen = stage.indices(of: stages.count).map { stages[$0] }
      return chosen.count == 1 ? chosen[0].data : Tensor.concatenate(chosen, axis: 1).data
    }
    return Tensor.withoutGrad { model!.features(x) }.data
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

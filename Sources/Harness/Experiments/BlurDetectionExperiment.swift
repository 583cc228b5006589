import Engine
import Evaluation
import Foundation
import Methods
import Vision

/// The blur-detection target: focus detectors scored on sharp tiles and on copies degraded by
/// Gaussian blur of known σ and by defocus (disk) blur of known radius.
///
/// For every detector it measures the ROC-AUC of sharp against blurred, Spearman's ρ between score
/// and blur level, and whether the mean score falls monotonically as blur grows (the claim of Tong et
/// al. 2004 and of every focus measure since Pech-Pacheco et al. 2000). Tong's `Per` is also used
/// as the paper's classifier (blurred when `Per < MinZero`), giving a balanced accuracy.
public enum BlurDetectionExperiment: Experiment {
  public static var schema: [ConfigKey] { BlurDetectionConfig.schema }

  /// The detectors, by metric prefix.
  public static let detectors = FocusDetectorKind.allCases

  public static var metrics: [MetricInfo] {
    var out: [MetricInfo] = []
    for d in detectors {
      let n = d.rawValue
      out.append(MetricInfo("\(n).auc_gaussian", .higher, "ROC-AUC, sharp vs Gaussian-blurred tiles"))
      out.append(MetricInfo("\(n).auc_defocus", .higher, "ROC-AUC, sharp vs defocus-blurred tiles"))
      out.append(MetricInfo("\(n).spearman_gaussian", .lower, "Spearman ρ of score with σ (−1 is ideal)"))
      out.append(MetricInfo("\(n).spearman_defocus", .lower, "Spearman ρ of score with disk radius"))
      out.append(
        MetricInfo(
          "\(n).monotone_gaussian", .higher, "1 if the mean score never rises with σ and ends below sharp",
          banded: false))
      out.append(
        MetricInfo(
          "\(n).monotone_defocus", .higher, "1 if the mean score never rises with radius and ends below sharp",
          banded: false))
      for kind in ["gaussian", "defocus"] {
        out.append(MetricInfo("\(n).auc_\(kind).ci95_low", .higher, "bootstrap 95% interval, lower", banded: false))
        out.append(MetricInfo("\(n).auc_\(kind).ci95_high", .higher, "bootstrap 95% interval, upper", banded: false))
      }
    }
    for d in [FocusDetectorKind.tongPer, .tongPerNormalized] {
      out.append(
        MetricInfo(
          "\(d.rawValue).balanced_accuracy", .higher,
          "Tong's rule (blurred if Per < MinZero): balanced accuracy, sharp vs every blurred copy"))
    }
    return out
  }

  /// Scores of one tile under one degradation.
  struct Scored {
    var level: Int
    var scores: FocusScores
  }

  public static func run(_ context: RunContext) throws -> ExperimentOutput {
    let config = try BlurDetectionConfig(context.spec.config)
    let sigmas = config.gaussianSigmas
    let radii = config.defocusRadii
    let minZero = config.minZero
    let threshold = config.edgeThreshold
    let threads = context.spec.threads

    // Pool → class-stratified subset (fixed seed: the same subset for every run seed) → sample.
    let pool = try context.loadTiles(tileSize: config.tileSize)
    let subset = context.subset(labels: pool.labels, of: "candidate tiles")
    var rng = context.generator.split("tiles")
    let chosen = Sampling.stratifiedSample(
      from: subset, labels: pool.labels, count: config.tiles, using: &rng)
    let tiles = chosen.map { pool.images[$0] }
    try context.checkInterrupted()

    // Every tile: sharp, each σ, each radius. Scores land at their index (thread-count invariant).
    let variants = 1 + sigmas.count + radii.count
    let bar = context.progress("blur-detection", tiles.count, "tiles")
    let perTile: [[FocusScores]] = try Parallel.map(
      tiles.count, threads: threads, chunk: 16, isCancelled: { Interruption.requested }
    ) { i in
      let tile = tiles[i]
      var row: [FocusScores] = []
      row.reserveCapacity(variants)
      row.append(score(tile, threshold: threshold))
      for s in sigmas { row.append(score(tile.gaussianBlur(sigma: s), threshold: threshold)) }
      for r in radii { row.append(score(tile.defocusBlur(radius: r), threshold: threshold)) }
      bar.advance(by: 1, note: "")
      return row
    }
    bar.finish()
    try context.checkInterrupted()

    var out = ExperimentOutput()
    var bootRNG = context.generator.split("bootstrap")
    let resamples = config.bootstrap
    for d in detectors {
      let name = d.rawValue
      let sharp = perTile.map { $0[0][d] }
      let gauss = sigmas.indices.map { j in perTile.map { $0[1 + j][d] } }
      let defocus = radii.indices.map { j in perTile.map { $0[1 + sigmas.count + j][d] } }
      for (kind, levels, blurred) in [("gaussian", sigmas, gauss), ("defocus", radii, defocus)] {
        // AUC: sharp (positive) vs every blurred copy; higher score = sharper.
        let scores = sharp + blurred.flatMap { $0 }
        let positives = sharp.map { _ in true } + blurred.flatMap { $0.map { _ in false } }
        if let auc = Ranking.rocAUC(scores: scores, positives: positives) {
          out.metrics["\(name).auc_\(kind)"] = auc
        }
        // Bootstrap over tiles (each resample keeps a tile's sharp and blurred copies together).
        let n = sharp.count
        if let ci = Bootstrap.percentileInterval(count: n, resamples: resamples, using: &bootRNG, statistic: { idx in
          let s = idx.map { sharp[$0] } + blurred.flatMap { level in idx.map { level[$0] } }
          let p = idx.map { _ in true } + blurred.flatMap { _ in idx.map { _ in false } }
          return Ranking.rocAUC(scores: s, positives: p)
        }) {
          out.metrics["\(name).auc_\(kind).ci95_low"] = ci.lower
          out.metrics["\(name).auc_\(kind).ci95_high"] = ci.upper
        }
        let xs = sharp.map { _ in 0.0 } + zip(levels, blurred).flatMap { l, v in v.map { _ in l } }
        if let rho = Ranking.spearman(xs, scores) {
          out.metrics["\(name).spearman_\(kind)"] = rho
        } else {
          out.notes.append("\(name): Spearman ρ undefined under \(kind) blur (every score equal)")
        }
        let means = ([sharp] + blurred).map { $0.reduce(0, +) / Double(max($0.count, 1)) }
        // Falls monotonically: never rises from one blur level to the next, and ends below sharp
        // (a bounded score such as Per may reach its floor, 0, and stay there).
        let neverRises = zip(means, means.dropFirst()).allSatisfy { $0 >= $1 }
        out.metrics["\(name).monotone_\(kind)"] = neverRises && (means.last ?? 0) < (means.first ?? 0) ? 1 : 0
        for (step, (x, m)) in zip([0.0] + levels, means).enumerated() {
          out.series.append(SeriesPoint(name: "\(name).mean_\(kind)", step: step, x: x, value: m))
        }
      }
    }
    // Tong's own decision rule, with both Haar scalings.
    for (d, pick) in [
      (FocusDetectorKind.tongPer, { (s: FocusScores) in s.tong }),
      (FocusDetectorKind.tongPerNormalized, { (s: FocusScores) in s.tongNormalized }),
    ] {
      var sharpRight = 0, blurredRight = 0, blurredCount = 0
      for row in perTile {
        if !pick(row[0]).isBlurred(minZero: minZero) { sharpRight += 1 }
        for v in row.dropFirst() {
          blurredCount += 1
          if pick(v).isBlurred(minZero: minZero) { blurredRight += 1 }
        }
      }
      let tpr = Double(blurredRight) / Double(max(blurredCount, 1))
      let tnr = Double(sharpRight) / Double(max(perTile.count, 1))
      out.metrics["\(d.rawValue).balanced_accuracy"] = (tpr + tnr) / 2
    }
    // The tiles' own sizes: the user's images are used as they are, not at the profile's tileSize.
    let sizes = Dictionary(grouping: tiles, by: { "\($0.width)×\($0.height)" }).mapValues(\.count)
    let sizeText = sizes.count == 1
      ? "of \(sizes.keys.first ?? "") px"
      : "of \(sizes.count) sizes (\(sizes.sorted { $0.value > $1.value }.prefix(3).map { "\($0.value) of \($0.key) px" }.joined(separator: ", "))\(sizes.count > 3 ? ", …" : ""))"
    out.notes.append("\(tiles.count) sharp tiles \(sizeText) from \(pool.datasetId); \(variants - 1) degraded copies each")
    return out
  }

  private static func score(_ image: RGBImage, threshold: Double) -> FocusScores {
    FocusDetectors.scoreAll(image.grayscale(), threshold: threshold)
  }
}

/// The blur-detection target's keys.
public struct BlurDetectionConfig: MethodConfig, Equatable {
  public var tiles = 64
  public var tileSize = 128
  public var gaussianSigmas: [Double] = [0.5, 1, 1.5, 2, 3]
  public var defocusRadii: [Double] = [1, 2, 3, 4]
  public var minZero = 0.05
  public var edgeThreshold = 35.0
  public var bootstrap = 200

  public init() {}

  public static let fields: [ConfigField<Self>] = [
    .int("tiles", \.tiles, "sharp tiles drawn (class-stratified) from the pool", check: ConfigCheck.positive),
    .int("tileSize", \.tileSize, "tile edge in pixels (synthetic data and slides)", check: sizeCheck),
    .doubles(
      "gaussianSigmas", \.gaussianSigmas, "Gaussian blur σ levels (pixels), increasing", check: increasingPositive),
    .doubles("defocusRadii", \.defocusRadii, "defocus disk radii (pixels), increasing", check: increasingPositive),
    .double("minZero", \.minZero, "Tong's MinZero: blurred when Per < MinZero (paper: 0.05)"),
    .double("edgeThreshold", \.edgeThreshold, "Tong's edge threshold on 0–255 grey (paper: 35)"),
    .int("bootstrap", \.bootstrap, "bootstrap resamples for the AUC intervals", check: ConfigCheck.positive),
  ]

  static let sizeCheck: @Sendable (ConfigValue) -> String? = { v in
    if case .int(let n) = v, n >= 16, n <= 4096 { return nil }
    return "expected an integer in 16...4096"
  }
  static let increasingPositive: @Sendable (ConfigValue) -> String? = { v in
    guard case .list(let items) = v else { return "expected a list of numbers" }
    let xs = items.compactMap(\.doubleValue)
    if xs.count == items.count, let first = xs.first, first > 0, zip(xs, xs.dropFirst()).allSatisfy({ $0 < $1 }) {
      return nil
    }
    return "expected positive, strictly increasing numbers"
  }
}

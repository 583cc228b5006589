import Engine
import NN

/// A MIL classifier the shared loop trains (`MILTraining` in Harness): one bag in, slide logits
/// and (optionally) one score per instance out. ABMIL (attention weights as instance scores),
/// its embedded-mean arm `MeanPoolingMIL` and TransMIL (no instance scores) conform.
public protocol MILClassifier: Module {
  /// - Parameter bag: `[N, D]` instance features.
  /// - Returns: logits `[1, C]` (C = 1: one logit, sigmoid + binary cross-entropy; C ≥ 2:
  ///   softmax + cross-entropy) and instance scores `[N]` or nil.
  func classify(_ bag: Tensor, using generator: inout RandomGenerator) -> (logits: Tensor, instanceScores: Tensor?)
  /// The same with each instance's place on the slide's tile grid (`positions[i]` for row `i` of
  /// `bag`, nil when unknown). Default: the positions are ignored (a permutation-invariant model).
  func classify(
    _ bag: Tensor, positions: [GridPosition]?, using generator: inout RandomGenerator
  ) -> (logits: Tensor, instanceScores: Tensor?)
  /// Whether the instance scores are pooling weights that sum to 1 over the bag (ABMIL's
  /// attention): such a score is about 1/N whatever the instance, so scores of bags of different
  /// sizes are compared after multiplying by N (1 = uniform attention). Default false.
  var instanceScoresAreBagWeights: Bool { get }
}

extension MILClassifier {
  public var instanceScoresAreBagWeights: Bool { false }

  public func classify(
    _ bag: Tensor, positions: [GridPosition]?, using generator: inout RandomGenerator
  ) -> (logits: Tensor, instanceScores: Tensor?) {
    classify(bag, using: &generator)
  }
}

/// An instance's cell on its slide's tile grid: level-0 tile origin ÷ the grid stride, counted
/// from the bag's top-left occupied cell.
public struct GridPosition: Sendable, Equatable, Hashable {
  public var row: Int
  public var column: Int

  public init(row: Int, column: Int) {
    self.row = row
    self.column = column
  }

  /// Cells of tile origins `coordinates` (level-0 x, y) on a grid of stride `step` level-0
  /// pixels, shifted so the smallest row and column are 0; nil for no tiles or `step ≤ 0`.
  public static func cells(of coordinates: [(x: Int, y: Int)], step: Double) -> [GridPosition]? {
    guard !coordinates.isEmpty, step > 0 else { return nil }
    let raw = coordinates.map { (row: Int((Double($0.y) / step).rounded()), column: Int((Double($0.x) / step).rounded())) }
    let (row0, column0) = (raw.map(\.row).min() ?? 0, raw.map(\.column).min() ?? 0)
    return raw.map { GridPosition(row: $0.row - row0, column: $0.column - column0) }
  }
}

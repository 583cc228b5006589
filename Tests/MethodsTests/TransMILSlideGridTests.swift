import Engine
import Foundation
import Methods
import NN
import Testing
import _TestSupport

/// TransMIL with its tokens on the slide's tile grid (`tokenLayout: .slideGrid`, an experiment):
/// PPEG mixes each tile with its neighbours on the slide instead of its neighbours in the bag's
/// order. Checked against the official layout where the two must agree, by hand for one token,
/// by permutation, and by finite differences.
@Suite struct TransMILSlideGridTests {
  /// Nine tiles filling a 3×3 square in row-major order: where the official model folds nine tokens.
  static let fullSquare = (0..<9).map { GridPosition(row: $0 / 3, column: $0 % 3) }

  func pair(attention: TransMIL.Attention = .nystrom, ppeg: Bool = true) -> (sequence: TransMIL, grid: TransMIL) {
    var a = RandomGenerator(seed: 21)
    var b = RandomGenerator(seed: 21)
    let sequence = TransMIL(
      inputDimension: 5, dimension: 16, classes: 2, dropout: 0, usesPPEG: ppeg, attention: attention, using: &a)
    let grid = TransMIL(
      inputDimension: 5, dimension: 16, classes: 2, dropout: 0, usesPPEG: ppeg, attention: attention,
      tokenLayout: .slideGrid, using: &b)
    sequence.isTraining = false
    grid.isTraining = false
    return (sequence, grid)
  }

  /// Tiles that fill a 3×3 square in row-major order sit exactly where the official model folds
  /// nine tokens, with no padding either way: both layouts give the same logits.
  @Test(arguments: TransMIL.Attention.allCases)
  func aFullSquareInRowMajorOrderIsTheOfficialFold(attention: TransMIL.Attention) {
    let (sequence, grid) = pair(attention: attention)
    var g = RandomGenerator(seed: 3)
    let bag = Tensor.randomNormal([1, 9, 5], using: &g)
    let positions = Self.fullSquare
    var unused = RandomGenerator(seed: 0)
    expectClose(
      grid(bag, positions: positions, using: &unused).data, sequence(bag, using: &unused).data, rtol: 1e-5, atol: 1e-6)
  }

  /// On the grid the bag's order no longer matters to PPEG: with an attention that is itself
  /// blind to the order (torch's multi-head attention; Nyström's landmarks are means of
  /// consecutive tokens, so it is not), permuting the instances with their positions leaves the
  /// logits unchanged, where the official layout changes with the order.
  @Test func theGridLayoutIgnoresTheBagsOrder() {
    let (sequence, grid) = pair(attention: .multihead)
    var g = RandomGenerator(seed: 4)
    let bag = Tensor.randomNormal([1, 6, 5], using: &g)
    let positions = [(0, 0), (0, 1), (2, 3), (4, 0), (1, 1), (3, 4)].map { GridPosition(row: $0.0, column: $0.1) }
    let order = [3, 0, 5, 1, 4, 2]
    let permuted = bag.reshaped([6, 5]).indexSelect(axis: 0, order).reshaped([1, 6, 5])
    var unused = RandomGenerator(seed: 0)
    let before = grid(bag, positions: positions, using: &unused).data
    let after = grid(permuted, positions: order.map { positions[$0] }, using: &unused).data
    expectClose(after, before, rtol: 1e-5, atol: 1e-6)
    let official = sequence(bag, using: &unused).data
    let officialPermuted = sequence(permuted, using: &unused).data
    #expect(zip(official, officialPermuted).contains { abs($0 - $1) > 1e-4 })
  }

  /// Where a tile lies reaches the logits through PPEG only: moving one tile far from the others
  /// changes the prediction with PPEG and leaves it bit for bit without.
  @Test func positionsReachTheLogitsThroughPPEGOnly() {
    var g = RandomGenerator(seed: 5)
    let bag = Tensor.randomNormal([1, 4, 5], using: &g)
    let close = [(0, 0), (0, 1), (1, 0), (1, 1)].map { GridPosition(row: $0.0, column: $0.1) }
    let apart = [(0, 0), (0, 1), (1, 0), (9, 9)].map { GridPosition(row: $0.0, column: $0.1) }
    var unused = RandomGenerator(seed: 0)
    let withPPEG = pair().grid
    let a = withPPEG(bag, positions: close, using: &unused).data
    let b = withPPEG(bag, positions: apart, using: &unused).data
    #expect(zip(a, b).contains { abs($0 - $1) > 1e-4 })
    let withoutPPEG = pair(ppeg: false).grid
    #expect(withoutPPEG(bag, positions: close, using: &unused).data == withoutPPEG(bag, positions: apart, using: &unused).data)
  }

  /// One token alone on the grid: every kernel sees it at its centre tap and zeros elsewhere, so
  /// PPEG returns token · (1 + w₇[3,3] + w₅[2,2] + w₃[1,1]) + b₇ + b₅ + b₃ per channel, by hand.
  @Test func aLoneTokenReadsTheCentreTapsByHand() {
    var g = RandomGenerator(seed: 6)
    let ppeg = TransMIL.PPEG(dimension: 3, using: &g)
    let x = Tensor.randomNormal([1, 2, 3], using: &g)  // class token, one instance
    let out = ppeg(x, positions: [GridPosition(row: 2, column: 5)])
    #expect(out.shape == [1, 2, 3])
    let w7 = ppeg.proj.weight.data, w5 = ppeg.proj1.weight.data, w3 = ppeg.proj2.weight.data
    let b7 = ppeg.proj.bias!.data, b5 = ppeg.proj1.bias!.data, b3 = ppeg.proj2.bias!.data
    for c in 0..<3 {
      let t = x.data[3 + c]
      let centre = 1 + w7[c * 49 + 24] + w5[c * 25 + 12] + w3[c * 9 + 4]
      expectClose(Double(out.data[c]), Double(x.data[c]))  // the class token passes through
      expectClose(Double(out.data[3 + c]), Double(t * centre + b7[c] + b5[c] + b3[c]), rtol: 1e-6, atol: 1e-7)
    }
  }

  /// PPEG on a sparse grid (gaps between the tiles, empty cells as zero) is linear in its input
  /// and weights, so central differences check its backward pass (scatter onto the grid, the
  /// three convolutions, the read back) without the ReLU kinks of the whole model.
  @Test func ppegOnTheGridMatchesFiniteDifferences() {
    var g = RandomGenerator(seed: 7)
    let ppeg = TransMIL.PPEG(dimension: 4, using: &g)
    let x = Tensor.randomNormal([1, 6, 4], using: &g, requiresGrad: true)
    let positions = [(0, 0), (0, 2), (1, 1), (3, 0), (3, 3)].map { GridPosition(row: $0.0, column: $0.1) }
    let e = GradientCheck.maxRelativeError(of: { _ in ppeg(x, positions: positions) }, at: [x] + ppeg.parameters)
    #expect(e < 1e-2, "PPEG on the slide grid: \(e)")
  }

  /// The whole model's gradients: where both layouts compute the same function (a full square in
  /// row-major order), the slide-grid model's gradients equal the official model's, which
  /// `TransMILGradientTests` checks by finite differences.
  @Test(arguments: TransMIL.Attention.allCases)
  func gradientsEqualTheOfficialLayoutsOnAFullSquare(attention: TransMIL.Attention) {
    let (sequence, grid) = pair(attention: attention)
    var g = RandomGenerator(seed: 8)
    let values = Tensor.randomNormal([1, 9, 5], using: &g)
    let positions = Self.fullSquare
    var unused = RandomGenerator(seed: 0)
    func gradients(_ model: TransMIL, grid: Bool) -> [[Float]] {
      let bag = Tensor(shape: values.shape, data: values.data, requiresGrad: true)
      let logits = grid ? model(bag, positions: positions, using: &unused) : model(bag, using: &unused)
      (logits * Tensor(shape: [1, 2], data: [0.7, -1.3])).sum().backward()
      return [bag.grad?.data ?? []] + model.parameters.map { $0.grad?.data ?? [] }
    }
    let official = gradients(sequence, grid: false), onGrid = gradients(grid, grid: true)
    #expect(official.count == onGrid.count)
    for (a, b) in zip(onGrid, official) { expectClose(a, b, rtol: 1e-4, atol: 1e-6) }
  }

  /// Grid cells from level-0 tile origins: origin ÷ stride, counted from the top-left occupied cell.
  @Test func cellsComeFromTileOriginsAndTheStride() {
    let cells = GridPosition.cells(of: [(x: 512, y: 256), (x: 768, y: 256), (x: 512, y: 1024)], step: 256)
    #expect(cells == [GridPosition(row: 0, column: 0), GridPosition(row: 0, column: 1), GridPosition(row: 3, column: 0)])
    #expect(GridPosition.cells(of: [], step: 256) == nil)
    #expect(GridPosition.cells(of: [(x: 0, y: 0)], step: 0) == nil)
  }
}

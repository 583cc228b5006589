import Engine
import Testing

@testable import Harness

@Suite struct StratifiedSubsetTests {
  /// Classes of 10, 33, 1 and 100 items, interleaved.
  private let labels: [Int] = {
    var l: [Int] = []
    for (c, n) in [(0, 10), (1, 33), (2, 1), (3, 100)] { l += [Int](repeating: c, count: n) }
    var g = RandomGenerator(seed: 5)
    return g.permutation(l.count).map { l[$0] }
  }()

  @Test func keepsTheRoundedUpShareOfEveryClass() {
    // Kept per class (10, 33, 1 and 100 items), worked out by hand: ⌈p·n/100⌉, at least 1.
    let table: [(Double, [Int])] = [
      (1, [1, 1, 1, 1]), (7, [1, 3, 1, 7]), (10, [1, 4, 1, 10]), (12.5, [2, 5, 1, 13]),
      (25, [3, 9, 1, 25]), (33.3, [4, 11, 1, 34]), (50, [5, 17, 1, 50]), (99, [10, 33, 1, 99]),
    ]
    for (percent, expected) in table {
      let subset = Sampling.stratifiedSubset(labels: labels, percent: percent, seed: 3)
      for c in 0..<4 {
        let kept = subset.filter { labels[$0] == c }.count
        #expect(kept == expected[c], "\(percent)% of class \(c): \(kept)")
      }
      #expect(subset == subset.sorted() && Set(subset).count == subset.count)
    }
    // 7% of 100 is 7 (0.07 · 100 = 7.000000000000001 in floating point).
    #expect(Sampling.subsetSize(percent: 7, of: 100) == 7)
    #expect(Sampling.subsetSize(percent: 10, of: 33) == 4)
    #expect(Sampling.subsetSize(percent: 1, of: 10) == 1)
    #expect(Sampling.subsetSize(percent: 50, of: 0) == 0)
  }

  @Test func isNestedAndDeterministic() {
    let p10 = Sampling.stratifiedSubset(labels: labels, percent: 10, seed: 8)
    let p25 = Sampling.stratifiedSubset(labels: labels, percent: 25, seed: 8)
    let p50 = Sampling.stratifiedSubset(labels: labels, percent: 50, seed: 8)
    #expect(Set(p10).isSubset(of: Set(p25)) && Set(p25).isSubset(of: Set(p50)))
    #expect(p25 == Sampling.stratifiedSubset(labels: labels, percent: 25, seed: 8))
    #expect(p25 != Sampling.stratifiedSubset(labels: labels, percent: 25, seed: 9))
    #expect(Sampling.stratifiedSubset(labels: labels, percent: 100, seed: 8) == Array(labels.indices))
  }

  @Test func aClassSubsetDoesNotDependOnOtherClasses() {
    let full = Sampling.stratifiedSubset(labels: labels, percent: 30, seed: 2)
    let onlyClass3 = labels.map { $0 == 3 ? 3 : 99 }
    let alone = Sampling.stratifiedSubset(labels: onlyClass3, percent: 30, seed: 2)
    #expect(full.filter { labels[$0] == 3 } == alone.filter { labels[$0] == 3 })
  }
}

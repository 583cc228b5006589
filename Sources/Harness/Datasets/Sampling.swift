import Engine

/// Deterministic, class-stratified selection of items.
public enum Sampling {
  /// The `percent`% subset of items, stratified by class (`--subset P%`).
  ///
  /// From each class `c` with `n_c` items it keeps the first `k_c = max(1, ⌈P/100 · n_c⌉)` items
  /// of a permutation of that class's items drawn from `RandomGenerator(seed:).split(c)`.
  /// Rounding is up (not to nearest) so that every class keeps at least its share and at least
  /// one item: a P% subset never under-represents a class, and tiny classes do not vanish. The
  /// product is taken as `P · n_c / 100` less a 1e-9 tolerance, so `7%` of 100 items is 7, not the
  /// 8 that `0.07 · 100 = 7.000000000000001` would round up to.
  ///
  /// Properties: the same (labels, percent, seed) always gives the same subset; for one seed a
  /// smaller subset is contained in a larger one (both are prefixes of the same per-class
  /// permutations); a class's permutation depends only on the seed and its label, so adding
  /// another class does not change it; `percent ≥ 100` gives every item.
  /// - Parameters:
  ///   - labels: one class label per item (any integers).
  ///   - percent: the subset's size in percent, in (0, 100].
  ///   - seed: fixes the permutations (the harness uses one subset seed for every run seed).
  /// - Returns: item indices, ascending.
  public static func stratifiedSubset(labels: [Int], percent: Double, seed: UInt64) -> [Int] {
    precondition(percent > 0, "stratifiedSubset: percent \(percent) must be positive")
    if percent >= 100 { return Array(labels.indices) }
    var members: [Int: [Int]] = [:]
    for (i, label) in labels.enumerated() { members[label, default: []].append(i) }
    var out: [Int] = []
    for label in members.keys.sorted() {
      let items = members[label] ?? []
      var rng = RandomGenerator(seed: seed).split(UInt64(bitPattern: Int64(label)))
      let order = rng.permutation(items.count)
      out += order.prefix(subsetSize(percent: percent, of: items.count)).map { items[$0] }
    }
    return out.sorted()
  }

  /// Items a class of `count` keeps in the `percent`% subset: `max(1, ⌈percent · count / 100⌉)`,
  /// at most `count` (see `stratifiedSubset`).
  public static func subsetSize(percent: Double, of count: Int) -> Int {
    guard count > 0 else { return 0 }
    let exact = percent * Double(count) / 100
    return min(count, max(1, Int((exact - 1e-9).rounded(.up))))
  }

  /// `count` items drawn without replacement from `candidates`, as evenly over classes as the
  /// classes allow (round-robin over classes in a random order within each class).
  /// - Returns: item indices in draw order; all candidates if `count` exceeds them.
  public static func stratifiedSample(
    from candidates: [Int], labels: [Int], count: Int, using generator: inout RandomGenerator
  ) -> [Int] {
    var byClass: [Int: [Int]] = [:]
    for i in candidates { byClass[labels[i], default: []].append(i) }
    var queues: [[Int]] = byClass.keys.sorted().map { key in
      let members = byClass[key] ?? []
      return generator.permutation(members.count).map { members[$0] }
    }
    var out: [Int] = []
    var round = 0
    while out.count < count && queues.contains(where: { round < $0.count }) {
      for q in queues.indices where round < queues[q].count && out.count < count {
        out.append(queues[q][round])
      }
      round += 1
    }
    queues.removeAll()
    return out
  }
}

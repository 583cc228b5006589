import Engine

/// Deterministic, class-stratified selection of items.
public enum Sampling {
  /// The `percent`% subset of items, stratified by class: from each class, the first
  /// `ceil(percent/100 · n_c)` items of a permutation fixed by `seed` (at least one per class).
  /// The same seed always gives the same subset, and a smaller subset is contained in a larger one.
  /// - Returns: item indices, ascending.
  public static func stratifiedSubset(labels: [Int], percent: Double, seed: UInt64) -> [Int] {
    if percent >= 100 { return Array(labels.indices) }
    var out: [Int] = []
    for label in Set(labels).sorted() {
      let members = labels.indices.filter { labels[$0] == label }
      var rng = RandomGenerator(seed: seed).split(UInt64(label))
      let order = rng.permutation(members.count)
      let keep = max(1, Int((percent / 100 * Double(members.count)).rounded(.up)))
      out += order.prefix(keep).map { members[$0] }
    }
    return out.sorted()
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

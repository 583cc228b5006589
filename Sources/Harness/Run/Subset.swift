import Foundation

/// `--subset P%`: the one rule every target applies, and the record of where a run applied it.
///
/// The rule: a class-stratified `Sampling.stratifiedSubset` of the items the target names
/// (pretraining images, tiles to score, training slides) with one fixed seed, `Subset.seed`, for
/// every target and run seed, so `--subset 50%` selects the same items whatever `--seeds` says,
/// and a smaller subset is contained in a larger one. What never shrinks (evaluation sets,
/// validation and test slides) is the experiment's choice, stated in its notes.
public enum Subset {
  /// The seed of every `--subset` selection.
  public static let seed: UInt64 = 0x5B5E7_B465

  /// Indices (ascending) of the `percent`% class-stratified subset of items with `labels`.
  public static func indices(labels: [Int], percent: Double) -> [Int] {
    Sampling.stratifiedSubset(labels: labels, percent: percent, seed: seed)
  }
}

/// Where a run applied `--subset`: filled by `RunContext.subset(labels:of:)` (and
/// `RunContext.recordSubset`), read by the runner, which fails a run whose subset is below 100%
/// that never applied it and writes the record into the run's notes.
public final class SubsetLog: @unchecked Sendable {
  /// One application: what was selected from, how many were kept of how many.
  public struct Entry: Sendable, Equatable {
    public var what: String
    public var kept: Int
    public var of: Int
  }

  private let lock = NSLock()
  private var _entries: [Entry] = []

  public init() {}

  public var entries: [Entry] {
    lock.lock()
    defer { lock.unlock() }
    return _entries
  }

  func append(_ entry: Entry) {
    lock.lock()
    defer { lock.unlock() }
    if !_entries.contains(entry) { _entries.append(entry) }
  }

  /// The run note: "subset 50%: kept 400 of 800 pretraining images (class-stratified, seed …)".
  public func note(percent: Double) -> String? {
    let list = entries
    guard !list.isEmpty else { return nil }
    let parts = list.map { "kept \($0.kept) of \($0.of) \($0.what)" }.joined(separator: "; ")
    return "subset \(ConfigValue.format(percent))%: \(parts) (class-stratified, seed 0x\(String(Subset.seed, radix: 16, uppercase: true)))"
  }
}

extension RunContext {
  /// The run's `--subset` of items with `labels`, by the one rule (`Subset`), recorded for the
  /// runner. Call it once per pool the subset shrinks.
  /// - Parameter what: the items, plural, for the run's notes ("pretraining images").
  public func subset(labels: [Int], of what: String) -> [Int] {
    let kept = Subset.indices(labels: labels, percent: spec.subset)
    subsetLog.append(SubsetLog.Entry(what: what, kept: kept.count, of: labels.count))
    return kept
  }

  /// Records a subset applied by `Subset.indices` outside `subset(labels:of:)` (a helper that
  /// selects and loads in one pass).
  public func recordSubset(kept: Int, of total: Int, what: String) {
    subsetLog.append(SubsetLog.Entry(what: what, kept: kept, of: total))
  }
}

/// Saving and restoring a generator's full state, for checkpoints that resume a run bit for bit.
///
/// The state is the four xoshiro256** words and the key the stream was seeded from (children
/// made by `split(_:)` derive from the key, so a restored generator splits as the original).
///
/// ```swift
/// let saved = generator.state             // write saved.hex to a checkpoint
/// var again = RandomGenerator(state: saved)
/// // again.next() == generator.next(), and so on forever
/// ```
extension RandomGenerator {
  /// Everything that fixes a generator's future output and its children.
  public struct State: Sendable, Equatable, Hashable {
    /// The xoshiro256** state words.
    public var words: (UInt64, UInt64, UInt64, UInt64)
    /// The key the stream was seeded from.
    public var key: UInt64

    public init(words: (UInt64, UInt64, UInt64, UInt64), key: UInt64) {
      self.words = words
      self.key = key
    }

    /// `"s0:s1:s2:s3:key"`, each 16 lower-case hex digits (exact; JSON numbers are not).
    public var hex: String {
      [words.0, words.1, words.2, words.3, key].map { value in
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
      }.joined(separator: ":")
    }

    /// Parses `hex`; nil unless it is five 64-bit hex numbers separated by colons and the words
    /// are not all zero.
    public init?(hex: String) {
      let parts = hex.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 5 else { return nil }
      var values: [UInt64] = []
      for part in parts {
        guard (1...16).contains(part.count), let v = UInt64(part, radix: 16) else { return nil }
        values.append(v)
      }
      guard values[0...3].contains(where: { $0 != 0 }) else { return nil }
      words = (values[0], values[1], values[2], values[3])
      key = values[4]
    }

    public static func == (a: State, b: State) -> Bool {
      a.words == b.words && a.key == b.key
    }

    public func hash(into hasher: inout Hasher) {
      hasher.combine(words.0)
      hasher.combine(words.1)
      hasher.combine(words.2)
      hasher.combine(words.3)
      hasher.combine(key)
    }
  }

  /// The full state: a generator made from it with `init(state:)` continues this one's stream.
  public var state: State { State(words: (s0, s1, s2, s3), key: key) }

  /// A generator that continues exactly where the one `state` was read from stood.
  /// - Precondition: the words are not all zero (xoshiro's one invalid state; no generator made
  ///   by `init(seed:)` reaches it).
  public init(state: State) {
    precondition(
      state.words != (0, 0, 0, 0), "RandomGenerator(state:): the all-zero state is not a xoshiro state")
    s0 = state.words.0
    s1 = state.words.1
    s2 = state.words.2
    s3 = state.words.3
    key = state.key
  }
}

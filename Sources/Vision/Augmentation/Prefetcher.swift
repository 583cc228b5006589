import Foundation

/// Prepares batches on a background thread while the caller trains on the previous one.
///
/// One producer thread calls `produce(0, &state)`, `produce(1, &state)`, … in order and puts the
/// results in a bounded queue of `capacity` batches; `next()` takes them out in the same order,
/// blocking until the next one is ready. Because a single thread produces the batches in order
/// and threads `state` (typically a `RandomGenerator`) from one call to the next, the batches are
/// exactly those of the plain loop `for i in 0..<count { produce(i, &state) }`.
///
/// `cancel()` (or releasing the prefetcher) stops the producer: it finishes the batch in hand,
/// discards it, and exits; `next()` then returns nil. At most `capacity + 1` batches are ever
/// produced ahead of the consumer.
///
/// ```swift
/// let batches = pipeline.prefetcher(images: tiles, batches: order, generator: epochGenerator)
/// for (v1, v2) in batches { train(v1, v2) }
/// ```
public final class Prefetcher<Batch: Sendable>: Sequence, IteratorProtocol, @unchecked Sendable {
  /// One past the index of the last batch (the producer makes `first..<count`).
  public let count: Int
  private let channel: Channel<Batch>

  /// Starts producing immediately.
  /// - Parameters:
  ///   - count: batches to produce (indices `first..<count`).
  ///   - first: the index of the first batch; `state` is the state before it (a run resumed
  ///     from a checkpoint starts where it stopped).
  ///   - capacity: batches held ready ahead of the consumer (≥ 1).
  ///   - state: handed from one `produce` call to the next (for example a generator).
  ///   - produce: makes batch `i`; runs on the producer thread.
  public init<State: Sendable>(
    count: Int, first: Int = 0, capacity: Int = 2, state: State,
    produce: @escaping @Sendable (Int, inout State) -> Batch
  ) {
    precondition(
      count >= 0 && (0...count).contains(first) && capacity >= 1,
      "Prefetcher: count \(count), first \(first), capacity \(capacity)")
    self.count = count
    let channel = Channel<Batch>(capacity: capacity)
    self.channel = channel
    let thread = Thread {
      var s = state
      for i in first..<count {
        if channel.isCancelled { break }
        let batch = produce(i, &s)
        if !channel.put(batch) { break }
      }
      channel.finish()
    }
    thread.name = "replicate.prefetch"
    thread.start()
  }

  /// Stateless form: `produce(i)` makes batch `i`.
  public convenience init(count: Int, capacity: Int = 2, produce: @escaping @Sendable (Int) -> Batch) {
    self.init(count: count, capacity: capacity, state: ()) { i, _ in produce(i) }
  }

  deinit { channel.cancel() }

  /// The next batch in order, waiting for it if needed; nil after the last one or after `cancel()`.
  public func next() -> Batch? { channel.take() }

  /// Stops the producer and drops prepared batches.
  public func cancel() { channel.cancel() }

  /// Whether the producer has stopped (all batches made, or cancelled).
  public var isFinished: Bool { channel.isFinished }
}

/// A bounded FIFO between one producer and one consumer.
private final class Channel<Batch>: @unchecked Sendable {
  private let condition = NSCondition()
  private var items: [Batch] = []
  private let capacity: Int
  private var cancelled = false
  private var finished = false

  init(capacity: Int) { self.capacity = capacity }

  var isCancelled: Bool {
    condition.lock()
    defer { condition.unlock() }
    return cancelled
  }

  var isFinished: Bool {
    condition.lock()
    defer { condition.unlock() }
    return finished
  }

  /// Waits for room; false when cancelled (the item is dropped).
  func put(_ item: Batch) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    while items.count >= capacity && !cancelled { condition.wait() }
    if cancelled { return false }
    items.append(item)
    condition.broadcast()
    return true
  }

  /// Waits for an item; nil when the producer finished and the queue is empty, or on cancel.
  func take() -> Batch? {
    condition.lock()
    defer { condition.unlock() }
    while items.isEmpty && !finished && !cancelled { condition.wait() }
    if cancelled || items.isEmpty { return nil }
    let item = items.removeFirst()
    condition.broadcast()
    return item
  }

  func finish() {
    condition.lock()
    finished = true
    condition.broadcast()
    condition.unlock()
  }

  func cancel() {
    condition.lock()
    cancelled = true
    items.removeAll()
    condition.broadcast()
    condition.unlock()
  }
}

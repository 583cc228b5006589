import Dispatch
import Foundation

extension Parallel {
  /// `body(i)` for every `i` in `0..<count`, results at their index: the one order-preserving
  /// parallel map of the project (tile scoring, slide generation, kNN votes, augmentation).
  ///
  /// Workers claim indices in chunks from a shared cursor, so uneven items balance; the output
  /// depends only on `body`, never on the thread count or the scheduling, as long as `body(i)`
  /// depends only on `i`.
  /// - Parameters:
  ///   - threads: workers (default: the engine's thread count); 1 runs in the calling thread.
  ///   - chunk: indices a worker claims at a time (larger for cheap items).
  ///   - progress: called with (items finished, count) after each chunk, from any worker.
  ///   - isCancelled: polled before each chunk; when it returns true the workers stop and the map
  ///     throws `CancellationError`.
  /// - Throws: the first error a `body` threw (the other workers stop at their next claim), or
  ///   `CancellationError`.
  public static func map<T: Sendable>(
    _ count: Int, threads: Int = Parallel.threadCount, chunk: Int = 1,
    progress: (@Sendable (Int, Int) -> Void)? = nil, isCancelled: (@Sendable () -> Bool)? = nil,
    _ body: @Sendable (Int) throws -> T
  ) throws -> [T] {
    guard count > 0 else { return [] }
    let state = MapState<T>(count: count)
    let step = Swift.max(1, chunk)
    let workers = Swift.max(1, Swift.min(threads, (count + step - 1) / step))
    @Sendable func work(_: Int) {
      while true {
        if isCancelled?() == true { return }
        guard let start = state.claim(step) else { return }
        let end = Swift.min(start + step, count)
        for i in start..<end {
          do { state.set(i, try body(i)) } catch {
            state.fail(error)
            return
          }
        }
        let done = state.finish(end - start)
        progress?(done, count)
      }
    }
    if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
    if let error = state.error { throw error }
    if isCancelled?() == true { throw CancellationError() }
    return try state.results()
  }

  /// The non-throwing form of `map(_:threads:chunk:progress:isCancelled:_:)` (no cancellation).
  public static func map<T: Sendable>(
    _ count: Int, threads: Int = Parallel.threadCount, chunk: Int = 1, _ body: @Sendable (Int) -> T
  ) -> [T] {
    let throwing: @Sendable (Int) throws -> T = { body($0) }
    do {
      return try map(count, threads: threads, chunk: chunk, progress: nil, isCancelled: nil, throwing)
    } catch {
      preconditionFailure("Parallel.map: a non-throwing body threw \(error)")
    }
  }

  /// Work queue and result slots of `map`.
  private final class MapState<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var finished = 0
    private let count: Int
    private var values: [T?]
    private(set) var error: (any Error)?

    init(count: Int) {
      self.count = count
      values = Array(repeating: nil, count: count)
    }

    /// The first index of the next chunk, or nil when all are claimed or a body failed.
    func claim(_ n: Int) -> Int? {
      lock.lock()
      defer { lock.unlock() }
      guard next < count, error == nil else { return nil }
      next += n
      return next - n
    }

    func set(_ i: Int, _ v: T) {
      lock.lock()
      values[i] = v
      lock.unlock()
    }

    func finish(_ n: Int) -> Int {
      lock.lock()
      defer { lock.unlock() }
      finished += n
      return finished
    }

    func fail(_ e: any Error) {
      lock.lock()
      if error == nil { error = e }
      lock.unlock()
    }

    func results() throws -> [T] {
      lock.lock()
      defer { lock.unlock() }
      return try values.map { v in
        guard let v else { throw CancellationError() }
        return v
      }
    }
  }
}

extension Parallel {
  /// Runs `body(worker)` once on each of `workers` threads at the same time (throughput
  /// benchmarks, where every thread loops on its own; use `map` for work over items).
  public static func onWorkers(_ workers: Int, _ body: @Sendable (Int) -> Void) {
    DispatchQueue.concurrentPerform(iterations: Swift.max(1, workers), execute: body)
  }
}

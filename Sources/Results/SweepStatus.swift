import Basics
import Foundation
import GRDB
import Harness

/// Where one task of a sweep stands, from its shard, its log and (when given) the scheduler.
public struct SweepTaskStatus: Sendable {
  public enum State: String, Sendable, CaseIterable {
    /// The shard holds a completed run.
    case done
    /// The shard holds a run still `running`, or the scheduler says the task runs.
    case running
    /// The scheduler holds the task, not yet started.
    case pending
    /// The task's latest run failed, was interrupted or rejected its input, or its process died.
    case failed
    /// No shard and no job: never started (or lost before writing anything).
    case missing
  }

  public var task: SweepTask
  public var state: State
  /// The completed or latest run's status and message, or the scheduler's state.
  public var detail: String
  /// The Slurm job recorded with the run.
  public var jobID: String?

  /// The states of every task in `sweep`, whose files are in `directory`.
  ///
  /// - Parameter scheduler: task index → Slurm state (`squeue`'s `%T`: PENDING, RUNNING, …) for
  ///   the sweep's jobs still queued; empty when there is no scheduler.
  /// Shards are read without being written (a task may still be writing its own).
  public static func of(sweep: Sweep, directory: URL, scheduler: [Int: String] = [:]) -> [SweepTaskStatus] {
    sweep.tasks.map { task in
      let shard = Sweep.shard(task, in: directory).path
      let queued = scheduler[task.index]
      guard FileManager.default.fileExists(atPath: shard), let rows = latestRows(shard) else {
        if let queued {
          let state: State = queued == "RUNNING" || queued == "COMPLETING" || queued == "CONFIGURING" ? .running : .pending
          return SweepTaskStatus(task: task, state: state, detail: "Slurm: \(queued)", jobID: nil)
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: Sweep.log(task, in: directory).path))?[.size] as? Int,
          size > 0
        {
          return SweepTaskStatus(task: task, state: .failed, detail: "it ran (see its log) but recorded no run", jobID: nil)
        }
        return SweepTaskStatus(task: task, state: .missing, detail: "no shard", jobID: nil)
      }
      if let done = rows.completed {
        return SweepTaskStatus(
          task: task, state: .done, detail: "run \(done.id) completed in \(String(format: "%.1f", done.wall ?? 0)) s",
          jobID: done.jobID)
      }
      guard let latest = rows.latest else {
        return SweepTaskStatus(task: task, state: queued == nil ? .missing : .pending, detail: "empty shard", jobID: nil)
      }
      if latest.status == RunStatus.running.rawValue {
        let local = latest.host == HostFacts.hostName
        if local && !HostFacts.isAlive(pid: Int32(truncatingIfNeeded: latest.pid), startedBefore: latest.started) && queued == nil {
          return SweepTaskStatus(
            task: task, state: .failed, detail: "its process (pid \(latest.pid)) ended without finishing the run", jobID: latest.jobID)
        }
        return SweepTaskStatus(task: task, state: .running, detail: "run \(latest.id) on \(latest.host)", jobID: latest.jobID)
      }
      if let queued {
        return SweepTaskStatus(task: task, state: queued == "RUNNING" ? .running : .pending, detail: "Slurm: \(queued) (requeued)", jobID: latest.jobID)
      }
      return SweepTaskStatus(
        task: task, state: .failed, detail: "\(latest.status): \(latest.message ?? "")", jobID: latest.jobID)
    }
  }

  private struct Row {
    var id: Int64
    var status: String
    var message: String?
    var host: String
    var pid: Int64
    var started: Date
    var wall: Double?
    var jobID: String?
  }

  /// The newest completed run and the newest run of a shard, read-only; nil if unreadable.
  private static func latestRows(_ path: String) -> (completed: Row?, latest: Row?)? {
    guard let queue = try? ResultsStore.readOnlyQueue(path) else { return nil }
    defer { try? queue.close() }
    return try? queue.read { db in
      guard try db.tableExists("run") else { return (nil, nil) }
      let hasJob = try db.columns(in: "run").contains { $0.name == "jobID" }
      let select = "SELECT id, status, message, hostName, pid, startedAt, wallSeconds, \(hasJob ? "jobID" : "NULL AS jobID") FROM run"
      func row(_ r: GRDB.Row?) -> Row? {
        guard let r else { return nil }
        return Row(
          id: r["id"], status: r["status"], message: r["message"], host: r["hostName"], pid: r["pid"],
          started: r["startedAt"], wall: r["wallSeconds"], jobID: r["jobID"])
      }
      let completed = row(try GRDB.Row.fetchOne(db, sql: select + " WHERE status = 'completed' ORDER BY id DESC LIMIT 1"))
      let latest = row(try GRDB.Row.fetchOne(db, sql: select + " ORDER BY id DESC LIMIT 1"))
      return (completed, latest)
    }
  }
}

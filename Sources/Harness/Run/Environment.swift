import Basics
import Engine
import Foundation

/// Everything about the machine and the code a run depends on, recorded with it.
public struct RunEnvironment: Sendable, Equatable {
  public var codeVersion: String
  public var codeDirty: Bool
  public var cpu: String
  public var cores: Int
  public var threads: Int
  public var blas: String
  public var build: String
  public var operatingSystem: String
  public var hostName: String
  /// The sweep task and scheduler job that ran it (empty for a plain run outside Slurm).
  public var provenance = RunProvenance()

  /// Reads the facts of this process and checkout (the Slurm job id from the process environment).
  public static func current(
    registry: Registry, threads: Int, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> RunEnvironment {
    let code = registry.codeVersion
    var e = RunEnvironment(
      codeVersion: code.version, codeDirty: code.dirty, cpu: HostFacts.cpuModel, cores: HostFacts.cores,
      threads: threads, blas: BLAS.configuration, build: HostFacts.buildConfiguration,
      operatingSystem: HostFacts.operatingSystem, hostName: HostFacts.hostName)
    e.provenance.jobID = RunProvenance.slurmJobID(environment)
    return e
  }

  /// `"AMD EPYC 7B13, 2 cores, 2 threads, OpenBLAS 0.3.21 …, release"`.
  public var summary: String {
    "\(cpu), \(cores) cores, \(threads) threads, \(blas), \(build) build"
  }

  public init(
    codeVersion: String, codeDirty: Bool, cpu: String, cores: Int, threads: Int, blas: String, build: String, operatingSystem: String, hostName: String
  ) {
    self.codeVersion = codeVersion
    self.codeDirty = codeDirty
    self.cpu = cpu
    self.cores = cores
    self.threads = threads
    self.blas = blas
    self.build = build
    self.operatingSystem = operatingSystem
    self.hostName = hostName
  }
}

/// Where a run came from beyond the host: the sweep and task that ran it, and the scheduler's job.
public struct RunProvenance: Sendable, Equatable {
  /// The sweep's name (`replicate sweep`), nil for a run started by hand.
  public var sweep: String?
  /// The task's index in its sweep (the Slurm array index under `--slurm`).
  public var taskIndex: Int?
  /// The Slurm job: `<array job>_<array index>` for an array task, else the job id.
  public var jobID: String?

  public init(sweep: String? = nil, taskIndex: Int? = nil, jobID: String? = nil) {
    self.sweep = sweep
    self.taskIndex = taskIndex
    self.jobID = jobID
  }

  /// The job id Slurm exports to a job's processes, or nil outside Slurm.
  public static func slurmJobID(_ environment: [String: String]) -> String? {
    if let array = environment["SLURM_ARRAY_JOB_ID"], !array.isEmpty, let index = environment["SLURM_ARRAY_TASK_ID"],
      !index.isEmpty
    {
      return "\(array)_\(index)"
    }
    if let job = environment["SLURM_JOB_ID"], !job.isEmpty { return job }
    return nil
  }
}

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

  /// Reads the facts of this process and checkout.
  public static func current(registry: Registry, threads: Int) -> RunEnvironment {
    let code = registry.codeVersion
    return RunEnvironment(
      codeVersion: code.version, codeDirty: code.dirty, cpu: HostFacts.cpuModel, cores: HostFacts.cores,
      threads: threads, blas: BLAS.configuration, build: HostFacts.buildConfiguration,
      operatingSystem: HostFacts.operatingSystem, hostName: HostFacts.hostName)
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

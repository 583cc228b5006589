import ArgumentParser
import Basics
import Engine
import Foundation
import Harness
import Methods
import Slides
import Vision

#if canImport(Glibc)
  import Glibc
#endif

// Ctrl-C: the first asks the run to stop cleanly (it is marked interrupted); the second exits.
// A parent may have started us with these signals blocked (test runners do): unblock them first.
var interruptSignals = sigset_t()
sigemptyset(&interruptSignals)
sigaddset(&interruptSignals, SIGINT)
sigaddset(&interruptSignals, SIGTERM)
pthread_sigmask(SIG_UNBLOCK, &interruptSignals, nil)
signal(SIGINT) { _ in
  if Interruption.requested { _exit(130) }
  Interruption.request()
}
signal(SIGTERM) { _ in Interruption.request() }

EngineMemory.retainFreedBuffers()

do {
  var command = try Replicate.parseAsRoot()
  try command.run()
} catch let error as ExitCode {
  exit(error.rawValue)
} catch let error as UserFacingError {
  warn("error: \(error.description)")
  exit(error.exitCode)
} catch is CancellationError {
  warn("interrupted; the run is marked interrupted in the store")
  exit(130)
} catch {
  let code = Replicate.exitCode(for: error)
  if code == .success {
    print(Replicate.fullMessage(for: error))
    exit(0)
  }
  let message = Replicate.fullMessage(for: error)
  // Usage and validation errors from the argument parser are input errors: exit 2.
  if code == .validationFailure || code.rawValue == 64 {
    warn(message)
    exit(2)
  }
  warn("error: \(message)")
  exit(1)
}

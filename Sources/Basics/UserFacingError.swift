/// An error the command line reports as one message and a documented exit code.
///
/// Every module's input errors conform (`InputError`, `SlideError`, `SafeTensorsError`, …), so the
/// command line has one `catch` for all of them instead of a list that silently turns a missing
/// type into exit 1. The default exit code is 2: bad input or usage, nothing written.
public protocol UserFacingError: Error, CustomStringConvertible {
  /// The process exit code for this error (2 unless the error says otherwise).
  var exitCode: Int32 { get }
}

extension UserFacingError {
  public var exitCode: Int32 { 2 }
}

extension FileLockError: UserFacingError {}
extension CacheError: UserFacingError {}

import Basics
import Foundation
/// Why an annotation file (ASAP XML, QuPath GeoJSON) could not be read or written.
///
/// An input error in the project's sense: every case names the file, says where in it (line and
/// element for XML, a key path such as `features[2].geometry.type` for JSON) and what was
/// expected. The command line prints the description and exits with code 2, as it does for
/// `InputError` and `SlideError`.
public enum AnnotationError: Error, CustomStringConvertible, Equatable {
  /// The file is missing or unreadable.
  case cannotRead(path: String, reason: String)
  /// The file is not well-formed XML / JSON at all.
  case malformed(path: String, format: String, reason: String)
  /// A well-formed file holds something other than what was expected at `location`
  /// (`found == nil`: the element, attribute or key is missing).
  case invalid(path: String, location: String, expected: String, found: String?)
  /// The file could not be written.
  case cannotWrite(path: String, reason: String)

  /// The file the error is about.
  public var path: String {
    switch self {
    case .cannotRead(let path, _), .malformed(let path, _, _), .invalid(let path, _, _, _),
      .cannotWrite(let path, _):
      path
    }
  }

  /// One line: file, location, what was expected and what was found.
  public var description: String {
    switch self {
    case .cannotRead(let path, let reason):
      "\(path): cannot read the annotation file: \(reason)"
    case .malformed(let path, let format, let reason):
      "\(path): not well-formed \(format): \(reason)"
    case .invalid(let path, let location, let expected, let found):
      if let found {
        "\(path): \(location): expected \(expected), found \(found)"
      } else {
        "\(path): \(location): missing; expected \(expected)"
      }
    case .cannotWrite(let path, let reason):
      "\(path): cannot write the annotation file: \(reason)"
    }
  }
}

extension AnnotationError {
  /// The bytes of an annotation file, or `.cannotRead` naming the path and why.
  static func contents(of path: String) throws(AnnotationError) -> Data {
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw .cannotRead(
        path: path,
        reason: FileManager.default.fileExists(atPath: path) ? "\(error.localizedDescription)" : "no such file")
    }
  }
}

extension AnnotationError: UserFacingError {}

import Basics

/// A problem with what the user asked for or supplied: a target file, an argument, a data path.
///
/// Every case names the file, key or value and says what is expected. The command line prints
/// the description and exits with code 2; nothing is written to the results store.
public enum InputError: Error, CustomStringConvertible, Equatable {
  /// A key in a YAML file is missing, unknown or has the wrong type.
  case file(path: String, key: String, message: String)
  /// A target id that is not in `Replications/`.
  case unknownTarget(String, known: [String])
  /// A profile the target does not define.
  case unknownProfile(target: String, profile: String, known: [String])
  /// A command-line value that does not parse.
  case badArgument(option: String, value: String, expected: String)
  /// A `--set key=value` override that names no config key or has the wrong type.
  case badOverride(key: String, value: String, expected: String)
  /// A data path that does not exist or holds nothing usable; `option` is the command-line option
  /// or argument that named it (`--data`, `--weights`, `--bags`, …; empty for a path the user did
  /// not give, such as a cache file).
  case badData(path: String, message: String, option: String = "--data")
  /// A data file that is missing or not the size its format requires (a truncated download).
  case dataFile(path: String, expected: String, found: String)
  /// The results store cannot be opened or written.
  case store(path: String, message: String)
  /// The project root (the folder holding `Replications/`) was not found.
  case noProjectRoot(searched: String)

  public var description: String {
    switch self {
    case .file(let path, let key, let message):
      return key.isEmpty ? "\(path): \(message)" : "\(path): key '\(key)': \(message)"
    case .unknownTarget(let name, let known):
      return "unknown target '\(name)'; known targets: \(known.joined(separator: ", "))"
        + " (see `replicate list`)"
    case .unknownProfile(let target, let profile, let known):
      return "target '\(target)' has no profile '\(profile)'; expected one of: "
        + known.joined(separator: ", ")
    case .badArgument(let option, let value, let expected):
      return "\(option) '\(value)': expected \(expected)"
    case .badOverride(let key, let value, let expected):
      return "--set \(key)=\(value): \(expected)"
    case .badData(let path, let message, let option):
      return option.isEmpty ? "\(path): \(message)" : "\(option) \(path): \(message)"
    case .dataFile(let path, let expected, let found):
      return "\(path): expected \(expected); found \(found)"
    case .store(let path, let message):
      return "results store \(path): \(message)"
    case .noProjectRoot(let searched):
      return "no project root (a folder with Replications/) found from \(searched); "
        + "run inside the replicate checkout or set REPLICATE_ROOT"
    }
  }
}

extension InputError: UserFacingError {}

/// A defect of the harness or of a target's code (not of the user's input): exit code 1.
public enum HarnessError: Error, CustomStringConvertible, Equatable {
  /// A run below 100% whose experiment never applied `--subset`.
  case subsetIgnored(String)
  /// A program the harness called (`sbatch`) failed; the message says which and why.
  case external(String)

  public var description: String {
    switch self {
    case .subsetIgnored(let message): return message
    case .external(let message): return message
    }
  }
}

extension HarnessError: UserFacingError {
  public var exitCode: Int32 { 1 }
}

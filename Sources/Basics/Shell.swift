import Foundation

/// Runs a helper program and captures its standard output (for `git` facts about the code).
public enum Shell {
  /// Runs `executable` with `arguments` in `directory`; returns trimmed stdout, or nil on failure.
  public static func output(_ executable: String, _ arguments: [String], in directory: URL? = nil)
    -> String?
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

import Foundation

/// Helpers shared by the test targets (not part of the product).
public enum TestSupport {
  /// The checkout's root (this file is Sources/_TestSupport/TestSupport.swift).
  public static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The committed JUnit schema the reports are validated against.
  public static var junitSchema: String {
    projectRoot.appendingPathComponent("Tests/ResultsTests/Fixtures/junit-10.xsd").path
  }

  /// Runs a program found on PATH and returns its exit status and combined output.
  public static func runTool(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [program] + arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}

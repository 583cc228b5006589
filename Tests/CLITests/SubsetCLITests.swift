import Foundation
import Testing

/// `--subset` is applied once, by the runner's one rule, in every target: each target's smoke
/// profile at 50% completes and its notes say what the subset kept (a target whose experiment
/// never applies it fails the run with exit 1, and so this test).
@Suite(.serialized) struct SubsetCLITests {
  @Test func everyTargetAppliesTheSubset() throws {
    let box = try Sandbox()
    let targets = try FileManager.default.contentsOfDirectory(atPath: box.path("Replications"))
      .filter { FileManager.default.fileExists(atPath: box.path("Replications/\($0)/target.yaml")) }.sorted()
    #expect(targets.count >= 11)
    for target in targets {
      let run = try box.run([target, "--profile", "smoke", "--subset", "50%", "--threads", "2"])
      #expect(run.status == 0, "\(target): \(run.stderr)")
      let note = run.stdout.split(separator: "\n").first { $0.hasPrefix("note: subset 50.0%: kept ") }
      #expect(note != nil, "\(target) notes no subset:\n\(run.stdout)")
      // "kept k of n": a 50% subset keeps about half, never all.
      if let note, let match = note.firstMatch(of: /kept (\d+) of (\d+)/), let k = Int(match.1), let n = Int(match.2) {
        #expect(k < n && 2 * k >= n, "\(target): \(note)")
      }
    }
  }
}

import Foundation
import Testing

/// PANTHER's smoke profile end to end: tiny synthetic slides, bag extraction, K-means prototypes,
/// MAP-EM embeddings, the classification and Cox heads, the C=32 arm, the store and the claims.
@Suite(.serialized) struct PantherSmokeTests {
  @Test func smokeProfileRuns() throws {
    let box = try Sandbox()
    let run = try box.run(["panther", "--profile", "smoke", "--threads", "2"])
    #expect(run.status == 0, "panther: \(run.stderr)")
    // Each metric is a row of the run table: its name, then spaces (a substring would also
    // match "auc" inside "auc.c32" or "instance_auc").
    let rows = run.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
    for metric in ["auc", "balanced_accuracy", "kappa_quadratic", "f1_weighted", "auc.c32", "c_index"] {
      #expect(rows.contains(metric), "panther reports \(metric)")
    }
  }

  @Test func badConfigValueExitsTwo() throws {
    let box = try Sandbox()
    let path = box.path("Replications/panther/target.yaml")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    try text.replacingOccurrences(of: "      epochs: 2\n", with: "      epochs: 2\n      coxTimes: days\n")
      .write(toFile: path, atomically: true, encoding: .utf8)
    let run = try box.run(["panther", "--profile", "smoke"])
    #expect(run.status == 2)
    #expect(run.stderr.contains("coxTimes"))
  }
}

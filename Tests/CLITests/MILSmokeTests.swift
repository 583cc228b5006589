import Foundation
import Testing
import _TestSupport

/// The MIL targets' smoke profiles end to end: a tiny synthetic slide set generated and turned
/// into feature bags in the cache, training with early stopping, the comparison arms, slide and
/// instance metrics, the store and the claims section.
@Suite(.serialized) struct MILSmokeTests {
  @Test func abmilSmokeRuns() throws {
    let box = try Sandbox()
    let run = try box.run(["abmil", "--profile", "smoke", "--threads", "2"])
    #expect(run.status == 0, "\(run.stderr)")
    for metric in ["auc", "accuracy", "balanced_accuracy", "f1_weighted", "instance_auc", "auc.mean_pooling"] {
      #expect(run.stdout.contains(metric), "abmil reports \(metric)")
    }
    // Bags are cached: a second run (another seed, half the training slides) reuses them.
    let again = try box.run(["abmil", "--profile", "smoke", "--seed", "1", "--subset", "50%"])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stdout.contains("subset 50%"))
  }

  @Test func transmilSmokeRunsEveryArm() throws {
    let box = try Sandbox()
    let run = try box.run(["transmil", "--profile", "smoke", "--threads", "2"])
    #expect(run.status == 0, "\(run.stderr)")
    for metric in ["auc.abmil", "auc.no_ppeg", "control.auc", "control.auc.abmil", "gain_over_abmil", "ppeg_gain"] {
      #expect(run.stdout.contains(metric), "transmil reports \(metric)")
    }
  }

  @Test func aFolderThatIsNotBagsIsAnInputError() throws {
    let box = try Sandbox()
    let r = try box.run(["abmil", "--profile", "smoke", "--data", box.path("Replications")])
    #expect(r.status == 2)
    #expect(r.stderr.contains("expected a folder of feature bags"), "\(r.stderr)")
  }
}

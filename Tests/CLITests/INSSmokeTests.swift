import Foundation
import Testing
import _TestSupport

/// The INS target's smoke profile end to end: tiny synthetic bags, INS training (warm-up with the
/// bag constraint, then prototypes and SupCon), the ABMIL arm, instance and slide metrics and the
/// claims section.
@Suite(.serialized) struct INSSmokeTests {
  @Test func insSmokeRuns() throws {
    let box = try Sandbox()
    let run = try box.run(["ins", "--profile", "smoke", "--threads", "2"])
    #expect(run.status == 0, "\(run.stderr)")
    for metric in ["instance_auc", "auc_max", "balanced_accuracy", "instance_auc.abmil", "instance_auc_gain"] {
      #expect(run.stdout.contains(metric), "ins reports \(metric)")
    }
  }
}

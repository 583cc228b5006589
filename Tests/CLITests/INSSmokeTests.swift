import Foundation
import Testing
import _TestSupport

/// The INS target's smoke profiles end to end: tiny synthetic bags, INS training (warm-up with the
/// bag constraint, then prototypes and SupCon), the ABMIL arm, instance and slide metrics and the
/// claims section — on feature bags (`smoke`) and on tile images with the ResNet encoder
/// (`smoke-tiles`); plus the error for an unknown `input`.
@Suite(.serialized) struct INSSmokeTests {
  @Test func insSmokeRuns() throws {
    let box = try Sandbox()
    let run = try box.run(["ins", "--profile", "smoke", "--threads", "2"])
    #expect(run.status == 0, "\(run.stderr)")
    for metric in ["instance_auc", "auc_max", "balanced_accuracy", "instance_auc.abmil", "instance_auc_gain"] {
      #expect(run.stdout.contains(metric), "ins reports \(metric)")
    }
  }

  @Test func insTileSmokeRuns() throws {
    let box = try Sandbox()
    let run = try box.run(["ins", "--profile", "smoke-tiles", "--threads", "2"])
    #expect(run.status == 0, "\(run.stderr)")
    for metric in ["instance_auc", "auc_max", "instance_auc.abmil", "instance_auc_gain"] {
      #expect(run.stdout.contains(metric), "ins on tiles reports \(metric)")
    }
    #expect(run.stdout.contains("training tiles of 16²"), "the run notes its tile instances")
    // The tile-image bags are cached beside the feature bags.
    let bags = sharedCache.appendingPathComponent("bags")
    let sidecars = try FileManager.default.subpathsOfDirectory(atPath: bags.path).filter { $0.hasSuffix(".json") }
    let pixelBags = try sidecars.filter {
      try String(contentsOf: bags.appendingPathComponent($0), encoding: .utf8).contains("\"kind\" : \"pixels\"")
    }
    #expect(!pixelBags.isEmpty, "tile-image bags under \(bags.path)")
  }

  @Test func unknownInputIsAConfigError() throws {
    let box = try Sandbox()
    let run = try box.run(["ins", "--profile", "smoke", "--set", "input=images"])
    #expect(run.status == 2, "\(run.stderr)")
    #expect(run.stderr.contains("input") && run.stderr.contains("images") && run.stderr.contains("features, tiles"))
  }
}

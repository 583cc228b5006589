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

  /// The in-run label-permutation control is INS itself from the same initial weights on the
  /// permuted labels: its metrics are, bit for bit, those of a run whose main model is the
  /// `permuteLabels` audit variant (which skips the arm).
  @Test func permutedLabelArmIsThePermutedRunsMainModel() throws {
    let box = try Sandbox()
    let run = try box.run(["ins", "--profile", "smoke", "--threads", "2", "--set", "abmilArm=false"])
    #expect(run.status == 0, "\(run.stderr)")
    let withArm = box.newestRunMetrics()
    let permuted = try box.run([
      "ins", "--profile", "smoke", "--threads", "2", "--set", "abmilArm=false", "--set", "permuteLabels=true",
    ])
    #expect(permuted.status == 0, "\(permuted.stderr)")
    let control = box.newestRunMetrics()
    #expect(control["instance_auc.permuted_labels"] == nil, "the permuted variant trains no second permuted model")
    for metric in ["instance_auc", "auc"] {
      let arm = withArm["\(metric).permuted_labels"]
      #expect(arm != nil && arm == control[metric], "\(metric): arm \(String(describing: arm)), permuted run \(String(describing: control[metric]))")
    }
    let gain = withArm["instance_auc"].flatMap { a in control["instance_auc"].map { a - $0 } }
    #expect(withArm["instance_auc_gain_over_permuted"] == gain)
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

  /// On tiles INS's ResNet can start from an SSL target's backbone (`tileEncoderInit`); one of
  /// other widths is an input error naming the key.
  @Test func tileEncoderStartsFromAnSSLBackbone() throws {
    let box = try Sandbox()
    let run = try box.run([
      "ins", "--profile", "smoke-tiles", "--threads", "2", "--set", "tileEncoderInit=moco-v2/smoke/0", "--set", "abmilArm=false",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("INS's tile encoder starts from the moco-v2 smoke backbone of seed 0"), "\(run.stdout)")
    let before = box.storeFingerprint()
    let wide = try box.run([
      "ins", "--profile", "smoke-tiles", "--threads", "2", "--set", "tileEncoderInit=moco-v2/smoke/0", "--set", "abmilArm=false",
      "--set", "tileEncoder=resnet-small-wide",
    ])
    #expect(wide.status == 2, "\(wide.stderr)")
    #expect(
      wide.stderr.contains(
        "--set tileEncoderInit=moco-v2/smoke/0: expected an SSL run whose backbone is the tileEncoder (resnet-small-wide); moco-v2/smoke/0 pretrains resnet-small"),
      "\(wide.stderr)")
    #expect(box.storeFingerprint() == before, "refused before any row: the store is as it was")
  }

  @Test func unknownInputIsAConfigError() throws {
    let box = try Sandbox()
    let run = try box.run(["ins", "--profile", "smoke", "--set", "input=images"])
    #expect(run.status == 2, "\(run.stderr)")
    #expect(run.stderr.contains("input") && run.stderr.contains("images") && run.stderr.contains("features, tiles"))
  }
}

import Engine
import Foundation
import NN
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
    for metric in [
      "auc.abmil", "auc.abmil_mlp", "auc.no_ppeg", "control.auc", "control.auc.abmil", "gain_over_abmil",
      "gain_over_abmil_mlp", "ppeg_gain",
    ] {
      #expect(run.stdout.contains(metric), "transmil reports \(metric)")
    }
  }

  /// An SSL run's pretrained backbone (`--save-backbone`) becomes a MIL target's tile encoder
  /// (`encoderWeights`): the file holds a torchvision-named ResNet with its BN statistics and the
  /// run that made it, the bags are extracted with it (its hash in the data id), and the same
  /// bags are reused by a second run.
  @Test func anSSLBackboneEncodesTheBags() throws {
    let box = try Sandbox()
    let file = box.path("moco-v2-smoke.safetensors")
    let ssl = try box.run(["moco-v2", "--profile", "smoke", "--threads", "2", "--save-backbone", file])
    #expect(ssl.status == 0, "\(ssl.stderr)")
    #expect(ssl.stdout.contains("backbone saved to \(file)"))
    let saved = try SafeTensors.read(file)
    let names = Set(saved.entries.map(\.name))
    for name in ["conv1.weight", "bn1.running_mean", "layer1.0.bn1.running_var", "layer4.0.conv2.weight"] {
      #expect(names.contains(name), "\(name) in \(names.sorted().prefix(8))")
    }
    #expect(saved.metadata["target"] == "moco-v2" && saved.metadata["seed"] == "0" && saved.metadata["profile"] == "smoke")
    let arguments = [
      "abmil", "--profile", "smoke", "--threads", "2", "--set", "encoderWeights=\(file)", "--set", "permutedLabelsArm=false",
    ]
    let mil = try box.run(arguments)
    #expect(mil.status == 0, "\(mil.stderr)")
    #expect(mil.stdout.contains("weights="), "the data id names the encoder weights: \(mil.stdout.prefix(600))")
    let dataLine = mil.stdout.split(separator: "\n").first { $0.hasPrefix("data: ") }
    let again = try box.run(arguments + ["--seed", "1"])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stdout.split(separator: "\n").first { $0.hasPrefix("data: ") } == dataLine, "the same cached bags")
    let random = try box.run(["abmil", "--profile", "smoke", "--threads", "2", "--set", "permutedLabelsArm=false"])
    #expect(random.stdout.split(separator: "\n").first { $0.hasPrefix("data: ") } != dataLine, "random-init bags differ")
  }

  /// `sslEncoder` names an SSL target's run: its backbone is pretrained into the cache on first
  /// use (bit for bit what `--save-backbone` writes for that run) and reused after.
  @Test func sslEncoderIsPretrainedOnceAndCached() throws {
    let box = try Sandbox()
    let cache = box.root.appendingPathComponent("own-cache")
    let file = box.path("moco-v2-smoke-1.safetensors")
    let ssl = try box.run(["moco-v2", "--profile", "smoke", "--seed", "1", "--threads", "2", "--save-backbone", file])
    #expect(ssl.status == 0, "\(ssl.stderr)")
    let arguments = [
      "abmil", "--profile", "smoke", "--threads", "2", "--set", "sslEncoder=moco-v2/smoke/1", "--set", "permutedLabelsArm=false",
    ]
    let first = try box.run(arguments, cache: cache)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("tile encoder: the moco-v2 smoke backbone of seed 1"), "\(first.stdout)")
    let entries = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("encoders").path)
      .filter { !$0.hasSuffix(".lock") }
    #expect(entries.count == 1 && entries[0].hasPrefix("moco-v2-smoke-s1-"), "\(entries)")
    let cached = cache.appendingPathComponent("encoders").appendingPathComponent(entries.first ?? "")
      .appendingPathComponent("backbone.safetensors")
    let (a, b) = (try SafeTensors.read(file).entries, try SafeTensors.read(cached.path).entries)
    #expect(a.map(\.name) == b.map(\.name) && a.map(\.values) == b.map(\.values), "the cached backbone is the SSL run's")
    let modified = { try FileManager.default.attributesOfItem(atPath: cached.path)[.modificationDate] as? Date }
    let before = try modified()
    let second = try box.run(arguments + ["--seed", "1"], cache: cache)
    #expect(second.status == 0, "\(second.stderr)")
    #expect(try modified() == before && before != nil, "the cached backbone is reused, not pretrained again")
  }

  /// A Swin backbone pretrained on half of its images (`@50%`) as the tile encoder, read at the
  /// fusion of its last two stages (192 + 384 = 576-d): the data-efficiency study's encoder path.
  @Test func swinEncoderOnADataFractionAtAStage() throws {
    let box = try Sandbox()
    let cache = box.root.appendingPathComponent("own-cache")
    let r = try box.run(
      [
        "abmil", "--profile", "smoke", "--threads", "2", "--set", "sslEncoder=moco-v3/smoke-swin/0@50%", "--set",
        "encoderStage=fusion", "--set", "permutedLabelsArm=false",
      ], cache: cache)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("the moco-v3 smoke-swin backbone of seed 0 pretrained on 50% of its images"), "\(r.stdout)")
    #expect(r.stdout.contains("bags{encoder=swin-micro@32,seed=0,stage=fusion,"), "\(r.stdout)")
    #expect(r.stdout.contains("576-d features"), "\(r.stdout)")
    let entries = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("encoders").path)
      .filter { !$0.hasSuffix(".lock") }
    #expect(entries.count == 1 && entries[0].hasPrefix("moco-v3-smoke-swin-s0-p50-"), "\(entries)")
    let stage = try box.run(["abmil", "--profile", "smoke", "--set", "encoderStage=first"], cache: cache)
    #expect(stage.status == 2 && stage.stderr.contains("stages are the Swin's"), "\(stage.stderr)")
  }

  /// The data-efficiency study end to end: one Swin pretraining per fraction (cached: the second
  /// run, with `--subset 50%` as the main arm, pretrains nothing), every-stage bags, ABMIL per arm,
  /// the gaps; `--data` is refused before any row is written.
  @Test func dataEfficiencySmokeRunsEveryArm() throws {
    let box = try Sandbox()
    let cache = box.root.appendingPathComponent("own-cache")
    let run = try box.run(["ssl-data-efficiency", "--profile", "smoke", "--threads", "2"], cache: cache)
    #expect(run.status == 0, "\(run.stderr)")
    for metric in [
      "auc.f50", "auc.f100", "auc.penultimate", "auc.first", "auc.fusion", "auc.control", "auc.relational",
      "gap_f50_vs_f100", "gap_first_vs_last", "gain_over_control", "pretrain_time_ratio_f50", "encoder.loss_over_chance",
      "auc.srcl", "auc.nsam", "gap_nsam_vs_srcl", "gap_srcl_vs_ops", "encoder.nsam.knn_gain_over_control",
    ] {
      #expect(run.stdout.contains(metric), "ssl-data-efficiency reports \(metric)")
    }
    #expect(run.stdout.contains("bags{encoder=swin-micro@32,seed=0,stage=all,"), "\(run.stdout)")
    #expect(run.stdout.contains("stage widths 48-96-192-384"), "\(run.stdout)")
    let encoders = { try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("encoders").path)
      .filter { !$0.hasSuffix(".lock") }.sorted() }
    let first = try encoders()
    // The 50 and 100 % encoders, and the main fraction's two sampling arms (config overrides: "-o-").
    #expect(first.count == 4 && first.contains { $0.hasPrefix("moco-v3-smoke-swin-s0-p50-") }, "\(first)")
    #expect(first.filter { $0.hasPrefix("moco-v3-smoke-swin-s0-o-") }.count == 2, "\(first)")
    #expect(run.stdout.contains("sampling arm srcl: ") && run.stdout.contains("with sampling=srcl, samplingWarmupEpochs=0"), "\(run.stdout)")
    let half = try box.run(["ssl-data-efficiency", "--profile", "smoke", "--threads", "2", "--subset", "50%"], cache: cache)
    #expect(half.status == 0, "\(half.stderr)")
    #expect(half.stdout.contains("(main 50%)") && half.stdout.contains("kept 32 of 64 pretraining images"), "\(half.stdout)")
    // The fraction encoders are reused; only the sampling arms at the new main fraction pretrain.
    let after = try encoders()
    #expect(Set(first).isSubset(of: Set(after)) && after.count == 6, "\(after)")
    #expect(after.filter { $0.hasPrefix("moco-v3-smoke-swin-s0-p50-o-") }.count == 2, "\(after)")
    // CTransPath's architecture from a safetensors state dict with timm names (random weights, as
    // a converted checkpoint carries them): one more arm, on its 224² last-stage features.
    let ctWeights = box.path("ctranspath.safetensors")
    var rng = RandomGenerator(seed: 7)
    try SafeTensors.write(SwinTransformer(.ctransPath(), using: &rng).stateDict(), to: ctWeights)
    let lean = [
      "--set", "fractions=100", "--set", "stageArms=false", "--set", "controlArm=false", "--set", "relationalArm=false",
      "--set", "samplingArms=none",
    ]
    let ct = try box.run(
      ["ssl-data-efficiency", "--profile", "smoke", "--threads", "2", "--set", "ctranspathWeights=\(ctWeights)"] + lean,
      cache: cache)
    #expect(ct.status == 0, "\(ct.stderr)")
    #expect(ct.stdout.contains("auc.ctranspath") && ct.stdout.contains("gap_f100_vs_ctranspath"), "\(ct.stdout)")
    #expect(ct.stdout.contains("CTransPath arm: weights \(ctWeights), last stage (768-d) of 224² tiles"), "\(ct.stdout)")
    let notWeights = box.path("Replications/abmil/target.yaml")
    let bad = try box.run(
      ["ssl-data-efficiency", "--profile", "smoke", "--set", "ctranspathWeights=\(notWeights)"] + lean, cache: cache)
    #expect(bad.status == 2 && bad.stderr.contains("ctranspathWeights"), "\(bad.stderr)")
    let data = try box.run(["ssl-data-efficiency", "--profile", "smoke", "--data", box.path("Replications")], cache: cache)
    #expect(data.status == 2 && data.stderr.contains("--data is not supported yet"), "\(data.stderr)")
  }

  @Test func aFolderThatIsNotBagsIsAnInputError() throws {
    let box = try Sandbox()
    let r = try box.run(["abmil", "--profile", "smoke", "--data", box.path("Replications")])
    #expect(r.status == 2)
    #expect(r.stderr.contains("expected a folder of feature bags"), "\(r.stderr)")
  }
}

import Foundation
import Testing
import Vision
import _TestSupport

@Suite(.serialized) struct EndToEndTests {
  @Test func smokeRunReportGateAndAMovedBand() throws {
    let box = try Sandbox()
    let run = try box.run(["blur-detection", "--profile", "smoke"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("laplacian_var.auc_gaussian"))
    #expect(run.stdout.contains("ok"))
    let html = box.path("Reports/index.html"), junit = box.path("Reports/junit.xml")
    let report = try box.run(["report", "--html", html, "--junit", junit])
    #expect(report.status == 0, "\(report.stderr)")
    let page = try String(contentsOfFile: html, encoding: .utf8)
    #expect(page.contains("blur-detection") && page.contains("<svg"))
    let (valid, lint) = try TestSupport.runTool("xmllint", ["--noout", "--schema", TestSupport.junitSchema, junit])
    #expect(valid == 0, "\(lint)")
    let gate = try box.run(["gate", "--profile", "smoke"])
    #expect(gate.status == 0, "\(gate.stdout)\(gate.stderr)")
    #expect(gate.stdout.contains("pass"))

    // Move one band past the measured value: the gate fails and JUnit shows the failure.
    let bandsPath = box.path("Replications/blur-detection/bands.yaml")
    var lines = try String(contentsOfFile: bandsPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
      .map(String.init)
    let smoke = try #require(lines.firstIndex(of: "smoke:"))
    let line = try #require(lines.indices.first { $0 > smoke && lines[$0].contains("laplacian_var.auc_gaussian:") })
    lines[line] = "      laplacian_var.auc_gaussian: {lower: 2, upper: 3, better: higher, mean: 2.5, sd: 0, n: 5}"
    try lines.joined(separator: "\n").write(toFile: bandsPath, atomically: true, encoding: .utf8)
    let failing = try box.run(["gate", "--profile", "smoke"])
    #expect(failing.status == 1)
    #expect(failing.stdout.contains("laplacian_var.auc_gaussian"))
    #expect(try box.run(["report", "--junit", junit]).status == 0)
    let xml = try String(contentsOfFile: junit, encoding: .utf8)
    #expect(xml.contains("<failure type=\"OutOfBand\" message=\"laplacian_var.auc_gaussian"))
  }

  @Test func badInputsExitTwoAndLeaveTheStoreAlone() throws {
    let box = try Sandbox()
    #expect(try box.run(["blur-detection", "--profile", "smoke"]).status == 0)
    let before = box.storeFingerprint()
    let cases: [([String], String)] = [
      (["no-such-target"], "unknown target 'no-such-target'"),
      (["blur-detection", "--profile", "smoke", "--subset", "150%"], "--subset '150%'"),
      (["blur-detection", "--profile", "smoke", "--subset", "abc"], "--subset 'abc'"),
      (["blur-detection", "--profile", "smoke", "--data", "/no/such/folder"], "--data /no/such/folder"),
      (["blur-detection", "--profile", "nope"], "has no profile 'nope'"),
      (["blur-detection", "--profile", "smoke", "--set", "tiles=many"], "--set tiles=many"),
      (["blur-detection", "--profile", "smoke", "--db", "/no/such/dir/x.sqlite"], "/no/such/dir"),
      (["blur-detection", "--bogus-flag"], "bogus-flag"),
      (["gate", "--profile", "nope"], "--profile 'nope'"),
    ]
    for (args, message) in cases {
      let r = try box.run(args)
      #expect(r.status == 2, "\(args): status \(r.status)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count <= 6, "one clear message: \(r.stderr)")
    }
    #expect(box.storeFingerprint() == before)

    // An unwritable store file.
    let readOnly = box.path("Reports/readonly.sqlite")
    try Data().write(to: URL(fileURLWithPath: readOnly))
    try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: readOnly)
    if getuid() != 0 {
      let r = try box.run(["blur-detection", "--profile", "smoke", "--db", readOnly])
      #expect(r.status == 2 && r.stderr.contains("not writable"))
    }
    // A directory given as the store.
    let r = try box.run(["blur-detection", "--profile", "smoke", "--db", box.path("Reports")])
    #expect(r.status == 2, "\(r.stderr)")

    // A malformed target file is named with its path.
    let target = box.path("Replications/blur-detection/target.yaml")
    let good = try String(contentsOfFile: target, encoding: .utf8)
    try (good + "\n  : : [\n").write(toFile: target, atomically: true, encoding: .utf8)
    let broken = try box.run(["blur-detection", "--profile", "smoke"])
    #expect(broken.status == 2 && broken.stderr.contains("target.yaml"))
    try good.replacingOccurrences(of: "      tiles: 16\n", with: "      tiles: 16\n      typo: 1\n")
      .write(toFile: target, atomically: true, encoding: .utf8)
    let typo = try box.run(["list"])
    #expect(typo.status == 2 && typo.stderr.contains("profiles.smoke.config.typo"))
    #expect(box.storeFingerprint() == before)
  }

  @Test func overridesAreNonCanonicalAndSubsetsParseAsUsersTypeThem() throws {
    let box = try Sandbox()
    let r = try box.run(["blur-detection", "--profile", "smoke", "--subset", "50%", "--set", "tiles=8", "--seed", "3"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("non-canonical"))
    #expect(r.stdout.contains("subset 50%"))
    #expect(r.stdout.contains("seed 3"))
    // The plain gate never judges an override run, so it has nothing to judge: that fails.
    let gate = try box.run(["gate", "--profile", "smoke"])
    #expect(gate.status == 1)
    #expect(gate.stdout.contains("not run"))
    #expect(gate.stderr.contains("nothing to judge"))
    // `gate --run` judges it against the bands of its profile and subset.
    let id = 1  // the sandbox's first run
    #expect(r.stdout.contains("· run \(id) (non-canonical)"))
    let judged = try box.run(["gate", "--run", String(id)])
    #expect([0, 1].contains(judged.status), "\(judged.stderr)")
    #expect(judged.stdout.contains("blur-detection run \(id) (non-canonical)"), "\(judged.stdout)")
  }

  @Test func calibrateWritesBandsThatTheNextRunPasses() throws {
    let box = try Sandbox()
    let bandsPath = box.path("Replications/blur-detection/bands.yaml")
    try? FileManager.default.removeItem(atPath: bandsPath)
    let c = try box.run(["calibrate", "blur-detection", "--profile", "smoke", "--seeds", "0-2"])
    #expect(c.status == 0, "\(c.stderr)")
    let text = try String(contentsOfFile: bandsPath, encoding: .utf8)
    #expect(text.contains("seeds: [0, 1, 2]"))
    #expect(text.contains("laplacian_var.auc_gaussian"))
    #expect(text.contains("laplacian-falls-with-blur: {verdict: reproduced, evidence: \"n 3: "))
    #expect(try box.run(["gate", "--profile", "smoke"]).status == 0)
    let show = try box.run(["show", "blur-detection", "--profile", "smoke"])
    #expect(show.status == 0 && show.stdout.contains("calibrated over seeds 0,1,2"))
  }

  @Test func interruptedBeforeTheDataIsReadLeavesNoRow() throws {
    let box = try Sandbox()
    // Generating 1,200 tiles of 512² takes tens of seconds: interrupt it after two.
    let p = try box.start(["blur-detection", "--profile", "smoke", "--set", "tileSize=512"])
    usleep(2_000_000)
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
    #expect(p.terminationStatus == 130)
    #expect(!FileManager.default.fileExists(atPath: box.store), "nothing was computed, so nothing is stored")
  }

  /// Ctrl-C during training marks the run interrupted; a second Ctrl-C right after exits at once,
  /// and the next command that opens the store marks the orphaned row interrupted.
  @Test func interruptedTrainingIsMarkedSo() throws {
    let box = try Sandbox()
    for presses in [1, 2] {
      let p = try box.start(["moco-v2", "--profile", "smoke", "--set", "epochs=400", "--seed", String(presses)])
      try box.waitForRunningRow(count: presses)
      kill(p.processIdentifier, SIGINT)
      if presses == 2 {
        usleep(50_000)
        kill(p.processIdentifier, SIGINT)
      }
      p.waitUntilExit()
      #expect(p.terminationStatus == 130)
    }
    let html = box.path("Reports/index.html")
    #expect(try box.run(["report", "--html", html]).status == 0)
    #expect(box.runStatuses() == ["interrupted", "interrupted"])
    let page = try String(contentsOfFile: html, encoding: .utf8)
    #expect(page.contains("Failed and interrupted runs") && page.contains("interrupted by the user"))
  }

  @Test func sameSeedSameNumbers() throws {
    let box = try Sandbox()
    let a = try box.run(["blur-detection", "--profile", "smoke", "--seed", "5", "--threads", "1"])
    let b = try box.run(["blur-detection", "--profile", "smoke", "--seed", "5", "--threads", "2"])
    func table(_ s: String) -> [Substring] { s.split(separator: "\n").filter { $0.contains(".auc_") || $0.contains(".spearman_") } }
    #expect(a.status == 0 && b.status == 0)
    #expect(!table(a.stdout).isEmpty && table(a.stdout) == table(b.stdout))
  }
}

@Suite struct CommandLineTests {
  /// `--help` of every command against its committed snapshot (`Tests/CLITests/Snapshots`), at a
  /// fixed width (COLUMNS=100). After a deliberate change of a command's options, rewrite them
  /// with `REPLICATE_UPDATE_SNAPSHOTS=1 scripts/test.sh --filter CommandLineTests` and review the diff.
  @Test func helpOnEveryCommandMatchesItsSnapshot() throws {
    let box = try Sandbox()
    let commands: [[String]] = [
      [], ["run"], ["list"], ["show"], ["calibrate"], ["report"], ["gate"], ["audit"], ["focus"], ["focus", "score"],
      ["bench"], ["bench", "focus"], ["bench", "engine"], ["bench", "slides"], ["dataset"], ["dataset", "probe"], ["dataset", "export"],
      ["slides"], ["slides", "generate"], ["slides", "tile"], ["slides", "extract"], ["slides", "show"], ["predict"],
      ["sweep"], ["sweep", "task"], ["sweep", "status"], ["merge"], ["ingest"],
    ]
    let folder = projectRoot.appendingPathComponent("Tests/CLITests/Snapshots")
    let update = ProcessInfo.processInfo.environment["REPLICATE_UPDATE_SNAPSHOTS"] == "1"
    if update { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
    for command in commands {
      let r = try box.run(command + ["--help"], environment: ["COLUMNS": "100"])
      #expect(r.status == 0, "\(command)")
      let name = (["replicate"] + command).joined(separator: "-") + ".txt"
      let file = folder.appendingPathComponent(name)
      if update {
        try r.stdout.write(to: file, atomically: true, encoding: .utf8)
      } else {
        let snapshot = try? String(contentsOf: file, encoding: .utf8)
        #expect(snapshot == r.stdout, "replicate \(command.joined(separator: " ")) --help differs from Snapshots/\(name)")
      }
    }
  }

  @Test func listAndShow() throws {
    let box = try Sandbox()
    let list = try box.run(["list"])
    #expect(list.status == 0 && list.stdout.contains("blur-detection") && list.stdout.contains("Tong"))
    let show = try box.run(["show", "blur-detection"])
    #expect(show.status == 0)
    for needle in ["profile ci", "tiles = 320", "gaussianSigmas", "laplacian-falls-with-blur", "config sha256"] {
      #expect(show.stdout.contains(needle), "\(needle)")
    }
  }

  @Test func focusScoreOnAFolderAnImageAndASlide() throws {
    let box = try Sandbox()
    let folder = box.root.appendingPathComponent("tiles")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let sharp = TestImages.texture(size: 64)
    try ImageIO.writePNG(sharp, to: folder.appendingPathComponent("a_sharp.png").path)
    try ImageIO.writePNG(sharp.gaussianBlur(sigma: 3), to: folder.appendingPathComponent("b_blurred.png").path)
    let json = try box.run(["focus", "score", folder.path, "--json"])
    #expect(json.status == 0, "\(json.stderr)")
    let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]] ?? []
    #expect(rows.count == 2)
    let lap = rows.compactMap { $0["laplacian_var"] as? Double }
    #expect(lap.count == 2 && lap[0] > lap[1])
    let one = try box.run(["focus", "score", folder.appendingPathComponent("a_sharp.png").path])
    #expect(one.status == 0 && one.stdout.contains("a_sharp.png"))
    // A tiled pyramidal TIFF read through OpenSlide, tiled into 128 px tissue tiles.
    let slide = box.path("slide.tiff")
    try TiledTIFFWriter.write(TestImages.texture(size: 512), to: slide, levels: 2, tileSize: 128, micronsPerPixel: 0.5)
    let s = try box.run(["focus", "score", slide, "--tile-size", "128"])
    #expect(s.status == 0, "\(s.stderr)")
    #expect(s.stdout.contains("x=0,y=0,level=0"))
    #expect(s.stdout.split(separator: "\n").count == 2 + 16)
    let bad = try box.run(["focus", "score", box.path("Replications/blur-detection/target.yaml")])
    #expect(bad.status == 2)
  }

  @Test func runOnUserTilesAndSlideIsRecordedButNotGated() throws {
    let box = try Sandbox()
    let folder = box.root.appendingPathComponent("user-tiles")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for i in 0..<4 { try ImageIO.writePNG(TestImages.texture(size: 64, seed: UInt64(i)), to: folder.appendingPathComponent("t\(i).png").path) }
    let r = try box.run(["blur-detection", "--profile", "smoke", "--data", folder.path])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("folder:user-tiles"))
    #expect(r.stdout.contains("user data"))
    let slide = box.path("slide.tiff")
    try TiledTIFFWriter.write(TestImages.texture(size: 512), to: slide, levels: 2, tileSize: 128)
    let s = try box.run(["blur-detection", "--profile", "smoke", "--data", slide])
    #expect(s.status == 0, "\(s.stderr)")
    #expect(s.stdout.contains("slide:slide.tiff"))
    #expect(try box.run(["gate", "--profile", "smoke"]).stdout.contains("not run"))
  }
}

/// Deterministic tissue-like test images (dark blobs on a pink background).
enum TestImages {
  static func texture(size: Int, seed: UInt64 = 0) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: size * size * 3)
    var state = seed &+ 0x9E37_79B9
    for y in 0..<size {
      for x in 0..<size {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let noise = Int(state >> 59)
        let blob = ((x / 6 + y / 5 + Int(seed)) % 3 == 0) && ((x * 7 + y * 3) % 11 < 6)
        let base = blob ? (90, 40, 140) : (200, 130, 180)
        pixels[(y * size + x) * 3] = UInt8(min(255, base.0 + noise))
        pixels[(y * size + x) * 3 + 1] = UInt8(min(255, base.1 + noise))
        pixels[(y * size + x) * 3 + 2] = UInt8(min(255, base.2 + noise))
      }
    }
    return RGBImage(width: size, height: size, pixels: pixels)
  }
}

/// Every SSL target's smoke profile end to end: data, augmentation, pretraining with its
/// comparison arms, kNN against the random-init backbone, the store and the claims section.
@Suite(.serialized) struct SelfSupervisedSmokeTests {
  @Test(arguments: ["moco-v1", "moco-v2", "moco-v3", "simclr", "instdisc", "swav"])
  func smokeProfileRuns(_ target: String) throws {
    let box = try Sandbox()
    let run = try box.run([target, "--profile", "smoke", "--threads", "2"])
    #expect(run.status == 0, "\(target): \(run.stderr)")
    for metric in ["knn_accuracy", "random_init.knn_accuracy", "knn_gain_over_random", "final_loss"] {
      #expect(run.stdout.contains(metric), "\(target) reports \(metric)")
    }
  }

  @Test func subsetRunsAsUsersTypeIt() throws {
    let box = try Sandbox()
    let run = try box.run(["moco-v3", "--profile", "smoke", "--subset", "50%"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("subset 50%"))
  }

  /// The sampling rules reach MoCo v3's loss: with no warm-up, SRCL and N-Sam change the final
  /// loss of the same seed; with a warm-up past the last epoch they leave it bit for bit.
  @Test func samplingRulesReachMoCoV3sLoss() throws {
    let box = try Sandbox()
    func loss(_ sets: [String]) throws -> String {
      let run = try box.run(["moco-v3", "--profile", "smoke", "--set", "linearProbe=false"] + sets.flatMap { ["--set", $0] })
      #expect(run.status == 0, "\(run.stderr)")
      return run.stdout.split(separator: "\n").first { $0.hasPrefix("final_loss ") }.map(String.init) ?? "none"
    }
    let ops = try loss([])
    for rule in ["srcl", "nsam"] {
      #expect(try loss(["sampling=\(rule)", "samplingWarmupEpochs=0", "samplingTopK=2"]) != ops, "\(rule) changes the loss")
      #expect(try loss(["sampling=\(rule)", "samplingWarmupEpochs=99"]) == ops, "\(rule) before its warm-up ends is OPS")
    }
  }
}

/// `replicate audit`: sabotaged variants are run with one seed and judged like `gate --run`; a
/// variant the bands cannot tell from the real thing is MISSED and fails the audit.
@Suite(.serialized) struct AuditCommandTests {
  @Test func caughtAndMissedVariants() throws {
    let box = try Sandbox()
    let r = try box.run(["audit", "blur-detection", "--profile", "smoke"])
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(r.stdout.split(separator: "\n").filter { $0.hasPrefix("no-edges ") || $0.hasPrefix("everything-blurred ") }
      .allSatisfy { $0.contains("caught") })
    // A harmless "sabotage" (more bootstrap resamples) changes no gated metric: MISSED, exit 1.
    let file = box.path("Replications/blur-detection/target.yaml")
    let text = try String(contentsOfFile: file, encoding: .utf8)
    try (text + "  - id: harmless\n    description: more bootstrap resamples\n    set: {bootstrap: 60}\n")
      .write(toFile: file, atomically: true, encoding: .utf8)
    let missed = try box.run(["audit", "blur-detection", "--profile", "smoke", "--variants", "harmless"])
    #expect(missed.status == 1)
    #expect(missed.stdout.contains("MISSED"))
    #expect(missed.stderr.contains("1 of 1 sabotaged variants pass the gate"))
    // The runs are stored as non-canonical: the plain gate still has nothing to judge.
    #expect(try box.run(["gate", "--profile", "smoke"]).status == 1)
    let unknown = try box.run(["audit", "blur-detection", "--profile", "smoke", "--variants", "nope"])
    #expect(unknown.status == 2 && unknown.stderr.contains("--variants 'nope'"))
  }
}

/// `--data` in the usual split layout (`train/<class>/…` beside `test/<class>/…` or `val/…`):
/// an SSL run uses the given splits instead of its own 80/20, maps the test classes onto the
/// training classes by name, and refuses a test class that training lacks.
@Suite struct SplitFolderDataTests {
  func write(_ root: URL, _ split: String, _ classes: [String], count: Int) throws {
    for (c, name) in classes.enumerated() {
      let dir = root.appendingPathComponent("\(split)/\(name)")
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      for i in 0..<count {
        try ImageIO.writePNG(
          TestImages.texture(size: 32, seed: UInt64(100 * c + i)), to: dir.appendingPathComponent("\(i).png").path)
      }
    }
  }

  @Test func sslRunUsesTheGivenSplits() throws {
    let box = try Sandbox()
    let root = box.root.appendingPathComponent("digits")
    try write(root, "train", ["a", "b", "c"], count: 6)
    try write(root, "val", ["b", "c"], count: 3)
    let r = try box.run(["moco-v2", "--profile", "smoke", "--threads", "2", "--data", root.path])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("folder:digits/train+folder:digits/val"), "\(r.stdout)")
    // All 18 training images are the pretraining pool (no 80/20 carve-out) …
    #expect(r.stdout.contains("kept 18 of 18 pretraining images"), "\(r.stdout)")
    // … and the 6 validation images are the evaluation set.
    #expect(r.stdout.contains("evaluated on 6 test images"), "\(r.stdout)")

    try write(root, "val", ["d"], count: 2)
    let bad = try box.run(["moco-v2", "--profile", "smoke", "--data", root.path])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("classes d are not in train/"), "\(bad.stderr)")
  }
}

@Suite struct DatasetExportTests {
  /// `dataset export` writes both splits as class folders of PNGs, every tile once, and names the
  /// dataset id and content hash a run on the embedded data records.
  @Test func writesBothSplitsAsClassFolders() throws {
    let box = try Sandbox()
    let out = box.path("tiles")
    let r = try box.run(["dataset", "export", out, "--size", "16"])
    #expect(r.status == 0, "\(r.stderr)")
    let fm = FileManager.default
    for (split, count) in [("train", 4800), ("test", 1200)] {
      let classes = try fm.contentsOfDirectory(atPath: "\(out)/\(split)").sorted()
      #expect(classes.count == 8 && classes.contains("tumour"), "\(classes)")
      let files = try classes.flatMap { c in try fm.contentsOfDirectory(atPath: "\(out)/\(split)/\(c)") }
      #expect(files.count == count && files.allSatisfy { $0.hasSuffix(".png") }, "\(split): \(files.count)")
      #expect(r.stdout.contains("\(split): \(count) tiles of 16² px, 8 classes; synthetic-tissue@1:\(split){"))
    }
    #expect(r.stdout.components(separatedBy: "sha256 ").count == 3)
    // A second export into the now non-empty folder is refused and leaves it as it was.
    let again = try box.run(["dataset", "export", out, "--size", "16"])
    #expect(again.status == 2 && again.stderr.contains("expected a folder that does not exist or is empty"))
  }
}

/// A target's `reported:` numbers: a paper-profile run on the user's data is printed and reported
/// beside the paper band with its difference and verdict; a `--set` run is reported, not gated.
@Suite struct PaperNumbersCLITests {
  @Test func paperRunsSitBesideThePapersNumbers() throws {
    let box = try Sandbox()
    let file = box.path("Replications/blur-detection/target.yaml")
    var text = try String(contentsOfFile: file, encoding: .utf8)
    text += """
      reported:
        - {metric: laplacian_var.auc_gaussian, value: 0.5, dataset: test tiles, architecture: none, profile: paper,
           tolerance: 0.05, source: a test fixture, sourceKind: recalled}
        - {metric: haar_energy.auc_gaussian, value: 0.97, dataset: elsewhere, architecture: none, source: context only, sourceKind: table}

      """
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let folder = box.root.appendingPathComponent("user-tiles")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for i in 0..<6 { try ImageIO.writePNG(TestImages.texture(size: 64, seed: UInt64(i)), to: folder.appendingPathComponent("t\(i).png").path) }
    let paper = try box.run(["blur-detection", "--profile", "paper", "--data", folder.path])
    #expect(paper.status == 0, "\(paper.stderr)")
    let line = paper.stdout.split(separator: "\n").first { $0.hasPrefix("laplacian_var.auc_gaussian ") } ?? ""
    #expect(line.contains("paper 0.5 [0.45, 0.55]") && line.contains("paper: above (+"), "\(paper.stdout)")
    #expect(try box.run(["blur-detection", "--profile", "smoke", "--set", "tiles=8"]).status == 0)
    let html = box.path("Reports/index.html")
    #expect(try box.run(["report", "--html", html, "--profiles", "smoke,paper"]).status == 0)
    let page = try String(contentsOfFile: html, encoding: .utf8)
    #expect(page.contains("The paper&#39;s numbers") || page.contains("The paper's numbers"))
    #expect(page.contains("paper band for paper: [0.45, 0.55]") && page.contains(">above<"), "comparison row")
    #expect(page.contains("user data: \(folder.path) (sha256 "))
    #expect(page.contains("overrides {&quot;tiles&quot;:8}") || page.contains(#"overrides {"tiles":8}"#))
    // A reported entry must name a known metric, and a paper band needs its tolerance.
    try (text + "  - {metric: no_such_metric, value: 1, dataset: d, architecture: a, source: s, sourceKind: text}\n")
      .write(toFile: file, atomically: true, encoding: .utf8)
    let bad = try box.run(["show", "blur-detection"])
    #expect(bad.status == 2 && bad.stderr.contains("reported[2].metric"), "\(bad.stderr)")
  }
}

/// `replicate ingest`: external results reach the store and the report beside the paper's numbers,
/// with their provenance, and are gated only when asked (`gate --run`).
@Suite struct IngestCLITests {
  @Test func externalRunsAreStoredReportedAndGatedOnlyWhenAsked() throws {
    let box = try Sandbox()
    let results = box.path("lab.json")
    try """
      {"schema": "replicate-external/1",
       "provenance": {"who": "lab X", "code": "https://github.com/facebookresearch/moco", "commit": "7397dfe146c7",
                      "hardware": "8x V100", "command": "python main_moco.py -a resnet18", "dataset": "CIFAR-10"},
       "runs": [{"seed": 0, "metrics": {"knn_accuracy": 0.801}}, {"seed": 1, "metrics": {"knn_accuracy": 0.829}}]}
      """.write(toFile: results, atomically: true, encoding: .utf8)
    // Bad input first: nothing is written.
    let bad = box.path("bad.csv")
    try "metric,value,seed\nnot_a_metric,1,0\n".write(toFile: bad, atomically: true, encoding: .utf8)
    let refused = try box.run(["ingest", "moco-v1", bad])
    #expect(refused.status == 2 && refused.stderr.contains("not_a_metric"), "\(refused.stderr)")
    #expect(!FileManager.default.fileExists(atPath: box.store))

    let r = try box.run(["ingest", "moco-v1", results, "--hardware", "8x A100"])
    #expect(r.status == 0 && r.stdout.contains("ingested 2 external runs"), "\(r.stdout)\(r.stderr)")
    let html = box.path("Reports/index.html")
    #expect(try box.run(["report", "--html", html, "--profiles", "paper"]).status == 0)
    let page = try String(contentsOfFile: html, encoding: .utf8)
    let label = "external: lab X · https://github.com/facebookresearch/moco@7397dfe146c7 · 8x A100 · CIFAR-10 · 100%"
    #expect(page.contains(label), "external group with provenance")
    #expect(page.contains("python main_moco.py -a resnet18"))
    // Beside the paper band 0.826 ± 0.02: the mean 0.815 is within.
    #expect(page.contains("0.815 <span class=\"muted\">(n=2)</span>") && page.contains(">within<"), "paper comparison")
    // Never judged by the plain gate; `gate --run` refuses runs that were not on the embedded data.
    #expect(try box.run(["gate", "--profile", "paper"]).status == 1)
    #expect(try box.run(["gate", "--run", "1"]).status == 2)
    // A lab that ran on the exported embedded data can ask for the bands explicitly.
    let csv = box.path("ci.csv")
    try "metric,value,seed\nknn_accuracy,0.2,0\n".write(toFile: csv, atomically: true, encoding: .utf8)
    let ci = try box.run(["ingest", "moco-v1", csv, "--profile", "ci", "--on-default-data", "--who", "lab X"])
    #expect(ci.status == 0, "\(ci.stderr)")
    let judged = try box.run(["gate", "--run", "3"])
    #expect(judged.status == 1 && judged.stdout.contains("knn_accuracy = 0.2 not in"), "\(judged.stdout)")
  }
}

import Basics
import Foundation
import Harness
import Testing
import _TestSupport

let projectRoot = TestSupport.projectRoot

/// A temporary project root with one target folder whose target.yaml is `text`.
func temporaryRoot(target: String = "blur-detection", text: String) throws -> Registry {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replicate-test-\(UUID().uuidString)")
  let folder = dir.appendingPathComponent("Replications").appendingPathComponent(target)
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  try text.write(to: folder.appendingPathComponent("target.yaml"), atomically: true, encoding: .utf8)
  return Registry(root: dir)
}

func shippedBlurTarget() throws -> String {
  try String(
    contentsOf: projectRoot.appendingPathComponent("Replications/blur-detection/target.yaml"), encoding: .utf8)
}

@Suite struct TargetFileTests {
  @Test func everyShippedTargetLoadsAndValidates() throws {
    let registry = Registry(root: projectRoot)
    #expect(!registry.targetIDs.isEmpty)
    for target in try registry.allTargets() {
      #expect(!target.profiles.isEmpty)
      #expect(target.profiles.contains { $0.name == "smoke" }, "\(target.id) needs a smoke profile")
      #expect(target.profiles.contains { $0.name == "ci" }, "\(target.id) needs a ci profile")
      _ = try registry.dataset(target.dataset.id)
      for claim in target.claims { #expect(!claim.conditions.isEmpty) }
      // A comparison report says what the paper printed, or why it cannot.
      #expect(
        !target.reported.isEmpty || !(target.reportedNote ?? "").isEmpty,
        "\(target.id): neither `reported:` numbers nor a `reportedNote:` saying why there are none")
      // Every band names a metric the method reports, and every calibrated claim exists.
      for set in target.bands.entries {
        for band in set.bands {
          #expect(target.method.metricNames.contains(band.metric), "\(target.id): band for unknown metric \(band.metric)")
        }
        for id in set.claimVerdicts.keys {
          #expect(target.claims.contains { $0.id == id }, "\(target.id) bands.yaml: verdict for claim '\(id)' that target.yaml does not declare")
        }
      }
    }
  }

  @Test func everyShippedDatasetManifestLoads() throws {
    let dir = projectRoot.appendingPathComponent("Datasets")
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".yaml") {
      let manifest = try DatasetManifest.load(path: dir.appendingPathComponent(name).path)
      #expect(manifest.id + ".yaml" == name)
      #expect(!manifest.splits.isEmpty)
    }
  }

  @Test func unknownKeyIsNamed() throws {
    let text = try shippedBlurTarget().replacingOccurrences(of: "\nmethod: blur-detection", with: "\nmethdo: x\nmethod: blur-detection")
    let registry = try temporaryRoot(text: text)
    let error = #expect(throws: InputError.self) { try registry.target("blur-detection") }
    let message = error?.description ?? ""
    #expect(message.contains("target.yaml"))
    #expect(message.contains("'methdo'"))
    #expect(message.contains("unknown key"))
  }

  @Test func wrongTypeIsNamed() throws {
    let text = try shippedBlurTarget().replacingOccurrences(of: "      tiles: 320\n", with: "      tiles: many\n")
    let registry = try temporaryRoot(text: text)
    let error = #expect(throws: InputError.self) { try registry.target("blur-detection") }
    #expect(error?.description.contains("profiles.ci.config.tiles") == true)
    #expect(error?.description.contains("expected an integer") == true)
  }

  @Test func missingFieldIsNamed() throws {
    let text = try shippedBlurTarget().replacingOccurrences(of: "  year: 2004\n", with: "")
    let registry = try temporaryRoot(text: text)
    let error = #expect(throws: InputError.self) { try registry.target("blur-detection") }
    #expect(error?.description.contains("paper.year") == true)
    #expect(error?.description.contains("missing") == true)
  }

  @Test func unknownConfigKeyAndClaimMetricAreNamed() throws {
    let text1 = try shippedBlurTarget().replacingOccurrences(of: "      tiles: 320\n", with: "      tilez: 320\n")
    let e1 = #expect(throws: InputError.self) { try temporaryRoot(text: text1).target("blur-detection") }
    #expect(e1?.description.contains("unknown config key") == true)
    let text2 = try shippedBlurTarget().replacingOccurrences(
      of: "metric: laplacian_var.monotone_defocus", with: "metric: laplacian_var.nonsense")
    let e2 = #expect(throws: InputError.self) { try temporaryRoot(text: text2).target("blur-detection") }
    #expect(e2?.description.contains("unknown metric 'laplacian_var.nonsense'") == true)
  }

  /// `figures:` entries: read with their points, references and claims; a bad metric, claim or a
  /// half-numeric axis is named with its key.
  @Test func figuresAreReadAndChecked() throws {
    func figures(_ block: String) throws -> TargetSpec {
      try temporaryRoot(text: try shippedBlurTarget() + "\nfigures:\n" + block).target("blur-detection")
    }
    let good = """
        - id: auc-by-detector
          title: AUC by detector
          x: detector
          y: AUC
          points:
            - {label: Laplacian, metric: laplacian_var.auc_gaussian}
            - {label: Haar, metric: haar_energy.auc_gaussian}
          references:
            - {label: Tong, metric: tong_per.auc_gaussian}
          claims: [laplacian-falls-with-blur]

      """
    let t = try figures(good)
    #expect(t.figures.count == 1 && t.figures[0].points.map(\.label) == ["Laplacian", "Haar"])
    #expect(!t.figures[0].numeric && t.figures[0].references[0].metric == "tong_per.auc_gaussian")
    #expect(t.figures[0].claims == ["laplacian-falls-with-blur"])
    let cases: [(String, String, String)] = [
      ("metric: haar_energy.auc_gaussian", "metric: haar_energy.nope", "unknown metric 'haar_energy.nope'"),
      ("claims: [laplacian-falls-with-blur]", "claims: [no-such-claim]", "no claim 'no-such-claim'"),
      ("{label: Laplacian, metric", "{label: Laplacian, x: 1, metric", "give x on every point"),
      ("  title: AUC by detector\n", "  title: AUC by detector\n    colour: red\n", "colour"),
    ]
    for (from, to, message) in cases {
      let e = #expect(throws: InputError.self) { try figures(good.replacingOccurrences(of: from, with: to)) }
      #expect(e?.description.contains(message) == true, "\(to): \(e?.description ?? "no error")")
    }
    let twice = #expect(throws: InputError.self) { try figures(good + good) }
    #expect(twice?.description.contains("appears twice") == true)
  }

  @Test func malformedYAMLIsAnError() throws {
    let registry = try temporaryRoot(text: "id: blur-detection\ntitle: [unclosed\n")
    let error = #expect(throws: InputError.self) { try registry.target("blur-detection") }
    #expect(error?.description.contains("malformed YAML") == true)
  }

  @Test func unknownTargetListsKnownOnes() {
    let error = #expect(throws: InputError.self) { try Registry(root: projectRoot).target("no-such-target") }
    #expect(error?.description.contains("blur-detection") == true)
  }
}

@Suite struct RunArgumentTests {
  @Test func subsets() throws {
    #expect(try RunArguments.subset("50%") == 50)
    #expect(try RunArguments.subset("12.5%") == 12.5)
    #expect(try RunArguments.subset("100%") == 100)
    for bad in ["150%", "0%", "abc", "-5%", "nan%", "", "50", "0.5", "%"] {
      #expect(throws: InputError.self) { try RunArguments.subset(bad) }
    }
  }

  @Test func seeds() throws {
    #expect(try RunArguments.seeds("0-4") == [0, 1, 2, 3, 4])
    #expect(try RunArguments.seeds("3") == [3])
    #expect(try RunArguments.seeds("0,2,5") == [0, 2, 5])
    for bad in ["4-0", "a", "1,1", "-", "", "1,,2", ",1", "1,"] {
      #expect(throws: InputError.self) { try RunArguments.seeds(bad) }
    }
  }

  @Test func overridesAreTypedAndResolvedLast() throws {
    let target = try Registry(root: projectRoot).target("blur-detection")
    let schema = target.method.configSchema
    let (k, v) = try RunArguments.override("tiles=12", schema: schema)
    #expect(k == "tiles" && v == .int(12))
    let (k2, v2) = try RunArguments.override("gaussianSigmas=[1,2]", schema: schema)
    #expect(k2 == "gaussianSigmas" && v2 == .list([.double(1), .double(2)]))
    #expect(throws: InputError.self) { try RunArguments.override("tiles=lots", schema: schema) }
    #expect(throws: InputError.self) { try RunArguments.override("nope=1", schema: schema) }
    #expect(throws: InputError.self) { try RunArguments.override("gaussianSigmas=[2,1]", schema: schema) }
    let ci = try target.profile("ci")
    let plain = RunArguments.resolve(target: target, profile: ci, overrides: [:])
    let changed = RunArguments.resolve(target: target, profile: ci, overrides: ["tiles": .int(12)])
    #expect(plain.int("tiles") == 320)
    #expect(changed.int("tiles") == 12)
    #expect(plain.hash != changed.hash)
    #expect(plain.hash == RunArguments.resolve(target: target, profile: ci, overrides: [:]).hash)
  }

  /// The code version is read once per process: a tree edited or committed while a long
  /// calibration runs does not relabel the runs and bands of the executable that started on it.
  @Test func codeVersionIsReadOnceAtFirstUse() throws {
    let registry = try temporaryRoot(text: try shippedBlurTarget())
    let root = registry.root
    func git(_ arguments: String...) throws {
      let done = Shell.output("git", ["-C", root.path, "-c", "user.name=t", "-c", "user.email=t@t"] + arguments)
      try #require(done != nil, "git \(arguments) failed")
    }
    try git("init", "-q")
    try git("add", ".")
    try git("commit", "-q", "-m", "first")
    let first = registry.codeVersion
    #expect(first.version.count == 12 && !first.dirty)
    let file = root.appendingPathComponent("Replications/blur-detection/target.yaml")
    try (try String(contentsOf: file, encoding: .utf8) + "# edited\n").write(to: file, atomically: true, encoding: .utf8)
    let status = Shell.output("git", ["-C", root.path, "status", "--porcelain", "--untracked-files=no"])
    #expect(status?.isEmpty == false, "the edit is visible to git")
    let later = Registry(root: root).codeVersion
    #expect(later.version == first.version && later.dirty == first.dirty)
  }
}

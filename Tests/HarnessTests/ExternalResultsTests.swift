import Foundation
import Harness
import Testing

/// `replicate ingest`'s readers: the JSON schema, a metric,value,seed CSV and the official MoCo
/// linear-probe log.
@Suite struct ExternalResultsTests {
  func file(_ name: String, _ text: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ext-\(UUID().uuidString)-\(name)")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  func message(_ body: () throws -> Void) -> String {
    do { try body() } catch { return String(describing: error) }
    return "no error"
  }

  @Test func jsonCarriesRunsAndProvenance() throws {
    let path = try file("r.json", """
      {"schema": "replicate-external/1",
       "provenance": {"who": "lab X", "code": "https://github.com/facebookresearch/moco", "commit": "7397dfe146c7",
                      "hardware": "8x V100", "command": "python main_lincls.py -a resnet50", "dataset": "ImageNet-1k"},
       "runs": [{"seed": 0, "metrics": {"linear_accuracy": 0.606}, "wallSeconds": 190800},
                {"seed": 1, "subset": "50%", "metrics": {"linear_accuracy": 0.58, "knn_accuracy": 0.5}}]}
      """)
    let r = try ExternalResults.read(path: path, format: .json, method: .mocoV1)
    #expect(r.provenance.who == "lab X" && r.provenance.commit == "7397dfe146c7" && r.provenance.dataset == "ImageNet-1k")
    #expect(r.runs.map(\.seed) == [0, 1] && r.runs.map(\.subset) == [100, 50])
    #expect(r.runs[1].metrics == ["linear_accuracy": 0.58, "knn_accuracy": 0.5] && r.runs[0].wallSeconds == 190800)
    let cli = r.provenance.overriding(with: .init(hardware: "4x A100"))
    #expect(cli.hardware == "4x A100" && cli.who == "lab X")
  }

  @Test func csvGroupsValuesBySeedAndSubset() throws {
    let path = try file("r.csv", "metric,value,seed\nlinear_accuracy,0.61,0\nknn_accuracy,0.55,0\nlinear_accuracy,0.6,1\n")
    let r = try ExternalResults.read(path: path, format: .csv, method: .mocoV2)
    #expect(r.runs.count == 2 && r.runs[0].metrics == ["linear_accuracy": 0.61, "knn_accuracy": 0.55])
    #expect(r.runs[1].seed == 1 && r.runs[1].subset == 100)
  }

  /// The last ` * Acc@1 … Acc@5 …` line of main_lincls.py's output is the probe's top-1; the
  /// progress lines (which also say Acc@1) are not.
  @Test func mocoLinearProbeLogGivesTheFinalTopOne() throws {
    let log = """
      Epoch: [99][4900/5005]\tTime  0.181 ( 0.189)\tData  0.000 ( 0.006)\tLoss 1.6520e+00 (1.6535e+00)\tAcc@1  60.16 ( 60.20)\tAcc@5  82.42 ( 82.61)
      Test: [190/196]\tTime  0.128 ( 0.245)\tLoss 1.6311e+00 (1.6497e+00)\tAcc@1  62.11 ( 60.66)\tAcc@5  83.59 ( 83.03)
       * Acc@1 60.512 Acc@5 82.790
      Test: [190/196]\tTime  0.128 ( 0.245)\tLoss 1.6311e+00 (1.6497e+00)\tAcc@1  62.11 ( 60.66)\tAcc@5  83.59 ( 83.03)
       * Acc@1 60.606 Acc@5 82.868

      """
    let r = try ExternalResults.read(path: try file("lincls.log", log), format: .mocoLincls, method: .mocoV1, seed: 3)
    #expect(r.runs.count == 1 && r.runs[0].seed == 3)
    #expect(abs((r.runs[0].metrics["linear_accuracy"] ?? 0) - 0.60606) < 1e-12)
    #expect(ExternalResults.Format.guess("x/train.log") == .mocoLincls && ExternalResults.Format.guess("r.JSON") == .json)
  }

  @Test func badFilesAreRefusedWithFileAndKey() throws {
    func read(_ name: String, _ text: String, _ format: ExternalResults.Format) throws -> String {
      let path = try file(name, text)
      return message { _ = try ExternalResults.read(path: path, format: format, method: .mocoV1) }
    }
    #expect(try read("a.json", #"{"schema": "other/2", "runs": []}"#, .json).contains("key 'schema'"))
    #expect(try read("b.json", #"{"schema": "replicate-external/1", "runs": [{"seed": 0}]}"#, .json).contains("key 'runs[0].metrics': missing"))
    #expect(try read("c.json", #"{"schema": "replicate-external/1", "runs": [{"seed": 0, "metrics": {"top1": 60}}]}"#, .json)
      .contains("key 'top1': not a metric of method moco-v1"))
    #expect(try read("d.json", #"{"schema": "replicate-external/1", "runs": []}"#, .json).contains("no runs"))
    #expect(try read("e.csv", "metric,value\nlinear_accuracy,0.6\n", .csv).contains("metric,value,seed"))
    #expect(try read("f.csv", "metric,value,seed\nlinear_accuracy,sixty,0\n", .csv).contains("key 'line 2'"))
    #expect(try read("g.csv", "metric,value,seed\nlinear_accuracy,0.6,0\nlinear_accuracy,0.7,0\n", .csv).contains("given twice"))
    #expect(try read("h.log", "Epoch: [0][0/5005]\n", .mocoLincls).contains("Acc@1"))
    #expect(message { _ = try ExternalResults.read(path: "/no/such.json", format: .json, method: .mocoV1) }.contains("cannot read"))
  }
}

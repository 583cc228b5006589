import ArgumentParser
import Basics
import Engine
import Foundation
import Harness

/// `replicate bench engine`: training-step times of the engine on the peer cases of
/// `../shared/bench/run_torch.py`, each case in its own process (so peak memory is per case).
struct BenchEngine: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "engine",
    abstract: "Training-step time of the engine on the PyTorch peer cases (../shared/bench/run_torch.py).",
    discussion: """
      Cases (synthetic inputs, fp32, training mode, no data loading), as run_torch.py:
        resnet18        CIFAR ResNet-18 (3×3 stem, no max-pool), 32², batch 128, CE + SGD(0.9, wd 5e-4)
        resnet_small    BasicBlock ResNet 16-32-64-128, one block per stage, 32², batch 256
        vit_tiny        ViT patch 4 on 32² (65 tokens), d 192, depth 12, 3 heads, MLP 768, batch 128
        transmil_N      TransMIL on one bag of N × 1024 features (N = 1000, 4000, 16000), CE + SGD;
                        also the forward-only (eval, no grad) time
        moco_r18        MoCo v2 step: ResNet-18 + MLP head 512-512-128, query fwd+bwd on 128 views,
                        momentum 0.99 update and key forward on 128 views, queue 4096 × 128, T = 0.1
      Each case runs --warmup steps, then --steps timed steps; the median is reported with min and
      max, the share of the CPU time spent inside cblas_sgemm, its rate per thread and the GEMM FLOPs per step, so
      "eff. GFLOP/s" is on the same footing as the peer's FlopCounter (matmul and convolution only).
      Compare with the peer run in the same time window (the machine's 2-thread numbers drift).
      """)

  @Option(help: "Comma-separated cases (\(EngineBench.allCases.joined(separator: ", "))).")
  var cases: String = EngineBench.allCases.joined(separator: ",")

  @Option(help: "Thread counts (OpenBLAS and the engine's own loops).")
  var threads: String = "2"

  @Option(help: "Warm-up steps per case.")
  var warmup: Int = 2

  @Option(help: "Timed steps per case.")
  var steps: Int = 5

  @Option(help: "Also write the results as JSON here.")
  var json: String?

  @Option(help: .hidden)
  var internalCase: String?

  func run() throws {
    let threadCounts = try threadList(threads)
    guard warmup >= 0, steps >= 1 else {
      throw InputError.badArgument(option: "--steps", value: String(steps), expected: "≥ 1 timed step, ≥ 0 warm-up")
    }
    if let internalCase {
      let result = try EngineBench.run(name: internalCase, threads: threadCounts[0], warmup: warmup, steps: steps)
      print(try EngineBench.line(result))
      return
    }
    let names = cases.split(separator: ",").map(String.init)
    for name in names where !EngineBench.allCases.contains(name) {
      throw InputError.badArgument(
        option: "--cases", value: name, expected: "one of \(EngineBench.allCases.joined(separator: ", "))")
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
    var results: [EngineBench.Result] = []
    for name in names {
      for t in threadCounts {
        guard
          let r = EngineBench.runInProcess(executable: executable, name: name, threads: t, warmup: warmup, steps: steps)
        else { throw ValidationError("bench engine: case \(name) failed or printed no result") }
        results.append(r)
      }
    }
    let rows = results.map { r in
      let median = r.stepMedianSeconds
      return [
        r.name, String(r.threads), String(format: "%.3f", median),
        String(format: "%.3f-%.3f", r.stepMinSeconds, r.stepMaxSeconds), String(format: "%.3f", r.cpuSecondsPerStep),
        String(format: "%.1f %@", Double(r.itemsPerStep) / median, r.unit), String(format: "%.1f", r.gemmGFLOPPerStep),
        String(format: "%.0f", r.gemmGFLOPPerStep / median), String(format: "%.0f%%", 100 * r.gemmShare),
        String(format: "%.0f", r.gemmGFLOPPerSecondInsideGEMM),
        r.forwardOnlyMedianSeconds.map { String(format: "%.3f", $0) } ?? "-", String(format: "%.0f", r.peakRSSMiB),
      ]
    }
    print(
      table(
        ["case", "threads", "step s", "min-max", "cpu s/step", "throughput", "GFLOP/step", "eff. GFLOP/s", "CPU in GEMM",
         "GEMM GFLOP/s/thread", "fwd-only s", "peak MiB"], rows))
    print("host: \(HostFacts.cpuModel), \(HostFacts.cores) cores, \(HostFacts.buildConfiguration) build; \(BLAS.configuration)")
    if let json { try jsonText(BenchReport(rows: results)).write(toFile: json, atomically: true, encoding: .utf8) }
  }
}

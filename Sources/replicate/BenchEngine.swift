import ArgumentParser
import Basics
import Engine
import Foundation
import Harness
import Methods
import NN

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

  static let allCases = [
    "resnet18", "resnet_small", "vit_tiny", "transmil_1000", "transmil_4000", "transmil_16000", "moco_r18",
  ]

  @Option(help: "Comma-separated cases (\(BenchEngine.allCases.joined(separator: ", "))).")
  var cases: String = BenchEngine.allCases.joined(separator: ",")

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
    let threadList = threads.split(separator: ",").compactMap { Int($0) }
    guard !threadList.isEmpty, threadList.allSatisfy({ $0 >= 1 }) else {
      throw InputError.badArgument(option: "--threads", value: threads, expected: "thread counts, for example 1,2")
    }
    guard warmup >= 0, steps >= 1 else {
      throw InputError.badArgument(option: "--steps", value: String(steps), expected: "≥ 1 timed step, ≥ 0 warm-up")
    }
    if let internalCase {
      let result = try EngineBenchCase.run(
        name: internalCase, threads: threadList[0], warmup: warmup, steps: steps)
      print(result.jsonLine)
      return
    }
    let names = cases.split(separator: ",").map(String.init)
    for name in names where !Self.allCases.contains(name) {
      throw InputError.badArgument(
        option: "--cases", value: name, expected: "one of \(Self.allCases.joined(separator: ", "))")
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
    var rows: [[String]] = []
    var lines: [String] = []
    for name in names {
      for t in threadList {
        let output = Shell.output(
          executable,
          ["bench", "engine", "--internal-case", name, "--threads", String(t), "--warmup", String(warmup),
           "--steps", String(steps)]) ?? ""
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
          let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw ValidationError("bench engine: case \(name) failed or printed no result") }
        lines.append(String(line))
        func number(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? .nan }
        let median = number("stepMedianSeconds")
        let forward = number("forwardOnlyMedianSeconds")
        rows.append([
          name, String(t), String(format: "%.3f", median),
          String(format: "%.3f-%.3f", number("stepMinSeconds"), number("stepMaxSeconds")),
          String(format: "%.3f", number("cpuSecondsPerStep")),
          String(format: "%.1f %@", number("itemsPerStep") / median, (object["unit"] as? String) ?? ""),
          String(format: "%.1f", number("gemmGFLOPPerStep")),
          String(format: "%.0f", number("gemmGFLOPPerStep") / median),
          String(format: "%.0f%%", 100 * number("gemmShare")),
          String(format: "%.0f", number("gemmGFLOPPerSecondInsideGEMM")),
          forward.isNaN ? "-" : String(format: "%.3f", forward),
          String(format: "%.0f", number("peakRSSMiB")),
        ])
      }
    }
    print(
      table(
        ["case", "threads", "step s", "min-max", "cpu s/step", "throughput", "GFLOP/step", "eff. GFLOP/s", "CPU in GEMM",
         "GEMM GFLOP/s/thread", "fwd-only s", "peak MiB"], rows))
    print("host: \(HostFacts.cpuModel), \(HostFacts.cores) cores, \(HostFacts.buildConfiguration) build; \(BLAS.configuration)")
    if let json {
      let text = "{\"host\":\"\(HostFacts.cpuModel)\",\"build\":\"\(HostFacts.buildConfiguration)\",\"rows\":[\n"
        + lines.joined(separator: ",\n") + "\n]}\n"
      try text.write(toFile: json, atomically: true, encoding: .utf8)
    }
  }
}

/// One benchmark case run in this process.
struct EngineBenchCase {
  var name: String
  var itemsPerStep: Int
  var unit: String
  var step: () -> Void
  var forwardOnly: (() -> Void)?

  struct Result {
    var jsonLine: String
  }

  static func run(name: String, threads: Int, warmup: Int, steps: Int) throws -> Result {
    Parallel.setThreadCount(threads)
    BLAS.setThreadCount(threads)
    let bench = try make(name)
    for _ in 0..<warmup { bench.step() }
    var times: [Double] = []
    GEMMCounter.reset()
    GEMMCounter.setEnabled(true)
    let cpuStart = cpuSeconds()
    for _ in 0..<steps { times.append(seconds(bench.step)) }
    let cpuPerStep = (cpuSeconds() - cpuStart) / Double(steps)
    GEMMCounter.setEnabled(false)
    let (flops, gemmNanos) = GEMMCounter.totals
    var forward: [Double] = []
    if let f = bench.forwardOnly {
      f()
      for _ in 0..<steps { forward.append(seconds(f)) }
    }
    times.sort()
    forward.sort()
    let total = times.reduce(0, +)
    let fields: [String: Any] = [
      "case": name, "threads": threads, "itemsPerStep": bench.itemsPerStep, "unit": bench.unit,
      "stepSeconds": times, "stepMedianSeconds": times[times.count / 2], "stepMinSeconds": times[0],
      "stepMaxSeconds": times[times.count - 1], "cpuSecondsPerStep": cpuPerStep,
      "forwardOnlyMedianSeconds": forward.isEmpty ? Double.nan : forward[forward.count / 2],
      "gemmGFLOPPerStep": Double(flops) / Double(steps) / 1e9,
      // GEMM time is summed over the threads that ran GEMMs side by side (convolutions image by
      // image, attention heads), so it is a share of the CPU time, and the rate is per thread:
      // the figure to hold against one-thread OpenBLAS sgemm on the same shapes.
      "gemmShare": Double(gemmNanos) / 1e9 / Swift.max(cpuPerStep * Double(steps), 1e-9),
      "gemmGFLOPPerSecondInsideGEMM": gemmNanos > 0 ? Double(flops) / Double(gemmNanos) : 0,
      "peakRSSMiB": Double(HostFacts.peakMemoryBytes) / 1_048_576,
    ]
    var cleaned = fields
    if forward.isEmpty { cleaned.removeValue(forKey: "forwardOnlyMedianSeconds") }
    let data = try JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys])
    return Result(jsonLine: String(decoding: data, as: UTF8.self))
  }

  /// CPU time of this process (all threads), user + system: on a busy machine the 1-thread CPU
  /// time per step is a steadier guide than wall time.
  static func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }

  static func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  static func make(_ name: String) throws -> EngineBenchCase {
    var rng = RandomGenerator(seed: 0)
    switch name {
    case "resnet18", "resnet_small":
      let batch = name == "resnet18" ? 128 : 256
      let model =
        name == "resnet18"
        ? ResNet.resnet18(numClasses: 10, stem: .cifar, using: &rng) : ResNet.small(numClasses: 10, using: &rng)
      return supervised(name, model: { model($0) }, parameters: model.parameters, batch: batch, rng: &rng)
    case "vit_tiny":
      let model = VisionTransformer(
        imageSize: 32, patchSize: 4, dimension: 192, depth: 12, heads: 3, classes: 10, using: &rng)
      return supervised(name, model: { model($0) }, parameters: model.parameters, batch: 128, rng: &rng)
    case _ where name.hasPrefix("transmil_"):
      guard let n = Int(name.dropFirst("transmil_".count)) else { throw ValidationError("bad case \(name)") }
      let model = TransMIL(using: &rng)
      let bag = Tensor.randomNormal([1, n, 1024], using: &rng)
      let optimizer = SGD(parameters: model.parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
      var dropoutRNG = rng.split("dropout")
      return EngineBenchCase(
        name: name, itemsPerStep: 1, unit: "bags/s",
        step: {
          model.isTraining = true
          model.zeroGrad()
          Loss.crossEntropy(logits: model(bag, using: &dropoutRNG), labels: [1]).backward()
          optimizer.step()
        },
        forwardOnly: {
          model.isTraining = false
          _ = Tensor.withoutGrad { model(bag, using: &dropoutRNG) }
          model.isTraining = true
        })
    case "moco_r18":
      return mocoStep(rng: &rng)
    default:
      throw ValidationError("unknown case \(name)")
    }
  }

  static func supervised(
    _ name: String, model: @escaping (Tensor) -> Tensor, parameters: [Tensor], batch: Int,
    rng: inout RandomGenerator
  ) -> EngineBenchCase {
    let x = Tensor.randomNormal([batch, 3, 32, 32], using: &rng)
    let labels = (0..<batch).map { _ in Int(rng.next() % 10) }
    let optimizer = SGD(parameters: parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
    return EngineBenchCase(
      name: name, itemsPerStep: batch, unit: "img/s",
      step: {
        for p in parameters { p.zeroGrad() }
        Loss.crossEntropy(logits: model(x), labels: labels).backward()
        optimizer.step()
      })
  }

  /// MoCo v2's step as the peer script has it (no shuffle-BN): the project's `MoCo` with a
  /// ResNet-18 (CIFAR stem), the 512-512-128 MLP head, K = 4096, m = 0.99, T = 0.1, and SGD.
  static func mocoStep(rng: inout RandomGenerator) -> EngineBenchCase {
    let moco = MoCo(
      backbone: .resnet18, mlpHead: true, dimension: 128, queueSize: 4096, momentum: 0.99, temperature: 0.1,
      using: &rng)
    let parameters = moco.trainableParameters
    let optimizer = SGD(parameters: parameters, learningRate: 0.06, momentum: 0.9, weightDecay: 5e-4)
    let views = [Tensor.randomNormal([128, 3, 32, 32], using: &rng), Tensor.randomNormal([128, 3, 32, 32], using: &rng)]
    var stepRNG = rng.split("steps")
    moco.setTraining(true)
    return EngineBenchCase(
      name: "moco_r18", itemsPerStep: 128, unit: "pairs/s",
      step: {
        for p in parameters { p.zeroGrad() }
        moco.loss(views: views, indices: [], progress: 0, using: &stepRNG).backward()
        optimizer.step()
      })
  }
}

import Basics
import Dispatch
import Engine
import Foundation
import Methods
import NN

/// `replicate bench engine`: training-step times of the engine on the peer cases of
/// `../shared/bench/run_torch.py`. Each case runs in its own process (so peak memory is per
/// case): the parent calls `runInProcess`, which starts the executable with `--internal-case`,
/// and the child calls `run` and prints the result as one JSON line.
public struct EngineBench {
  /// The case names, in the order they run by default.
  public static let allCases = [
    "resnet18", "resnet_small", "vit_tiny", "transmil_1000", "transmil_4000", "transmil_16000", "moco_r18",
  ]

  var name: String
  var itemsPerStep: Int
  var unit: String
  var step: () -> Void
  var forwardOnly: (() -> Void)?

  /// The measurements of one case at one thread count (a row of `--json`).
  public struct Result: Codable, Sendable, Equatable {
    /// The case.
    public var name: String
    public var threads: Int
    /// Images, pairs or bags per step, and their unit per second (`img/s`, …).
    public var itemsPerStep: Int
    public var unit: String
    /// Every timed step, sorted, and their median, min and max.
    public var stepSeconds: [Double]
    public var stepMedianSeconds: Double
    public var stepMinSeconds: Double
    public var stepMaxSeconds: Double
    /// Process CPU time (user + system, all threads) per step.
    public var cpuSecondsPerStep: Double
    /// The median forward-only (evaluation, no grad) time, for the cases that have one.
    public var forwardOnlyMedianSeconds: Double?
    /// GEMM FLOPs per step (matmul and convolution only, as the peer's FlopCounter).
    public var gemmGFLOPPerStep: Double
    /// Share of the CPU time spent inside cblas_sgemm.
    public var gemmShare: Double
    /// GEMM rate per thread inside cblas_sgemm.
    public var gemmGFLOPPerSecondInsideGEMM: Double
    /// Peak resident memory of the process.
    public var peakRSSMiB: Double

    enum CodingKeys: String, CodingKey {
      case name = "case", threads, itemsPerStep, unit, stepSeconds, stepMedianSeconds, stepMinSeconds
      case stepMaxSeconds, cpuSecondsPerStep, forwardOnlyMedianSeconds, gemmGFLOPPerStep, gemmShare
      case gemmGFLOPPerSecondInsideGEMM, peakRSSMiB
    }
  }

  /// Runs case `name` in this process: `warmup` steps, then `steps` timed steps on `threads`
  /// threads (the engine's loops and OpenBLAS).
  /// - Throws: `InputError` for an unknown case.
  public static func run(name: String, threads: Int, warmup: Int, steps: Int) throws -> Result {
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
    return Result(
      name: name, threads: threads, itemsPerStep: bench.itemsPerStep, unit: bench.unit, stepSeconds: times,
      stepMedianSeconds: times[times.count / 2], stepMinSeconds: times[0], stepMaxSeconds: times[times.count - 1],
      cpuSecondsPerStep: cpuPerStep, forwardOnlyMedianSeconds: forward.isEmpty ? nil : forward[forward.count / 2],
      gemmGFLOPPerStep: Double(flops) / Double(steps) / 1e9,
      // GEMM time is summed over the threads that ran GEMMs side by side (convolutions image by
      // image, attention heads), so it is a share of the CPU time, and the rate is per thread:
      // the figure to hold against one-thread OpenBLAS sgemm on the same shapes.
      gemmShare: Double(gemmNanos) / 1e9 / Swift.max(cpuPerStep * Double(steps), 1e-9),
      gemmGFLOPPerSecondInsideGEMM: gemmNanos > 0 ? Double(flops) / Double(gemmNanos) : 0,
      peakRSSMiB: Double(HostFacts.peakMemoryBytes) / 1_048_576)
  }

  /// Runs case `name` in a child process of `executable` (`replicate bench engine
  /// --internal-case`) and reads back the JSON line it prints; nil when the child failed or
  /// printed no result.
  public static func runInProcess(executable: String, name: String, threads: Int, warmup: Int, steps: Int)
    -> Result?
  {
    let output = Shell.output(
      executable,
      ["bench", "engine", "--internal-case", name, "--threads", String(threads), "--warmup", String(warmup),
       "--steps", String(steps)]) ?? ""
    guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
      let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8))
    else { return nil }
    return result
  }

  /// `result` as the one JSON line a child process prints (sorted keys).
  public static func line(_ result: Result) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(result), as: UTF8.self)
  }

  /// CPU time of this process (all threads), user + system: on a busy machine the 1-thread CPU
  /// time per step is a steadier guide than wall time.
  static func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }

  /// Wall-clock seconds of `body`.
  static func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  /// The case `name`, its model and inputs built from seed 0.
  static func make(_ name: String) throws -> EngineBench {
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
      guard let n = Int(name.dropFirst("transmil_".count)) else {
        throw InputError.badArgument(option: "--cases", value: name, expected: "one of \(allCases.joined(separator: ", "))")
      }
      let model = TransMIL(using: &rng)
      let bag = Tensor.randomNormal([1, n, 1024], using: &rng)
      let optimizer = SGD(parameters: model.parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
      var dropoutRNG = rng.split("dropout")
      return EngineBench(
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
      throw InputError.badArgument(option: "--cases", value: name, expected: "one of \(allCases.joined(separator: ", "))")
    }
  }

  /// A supervised step: cross-entropy of `model` on a random batch, SGD(0.9, wd 5e-4).
  static func supervised(
    _ name: String, model: @escaping (Tensor) -> Tensor, parameters: [Tensor], batch: Int,
    rng: inout RandomGenerator
  ) -> EngineBench {
    let x = Tensor.randomNormal([batch, 3, 32, 32], using: &rng)
    let labels = (0..<batch).map { _ in Int(rng.next() % 10) }
    let optimizer = SGD(parameters: parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
    return EngineBench(
      name: name, itemsPerStep: batch, unit: "img/s",
      step: {
        for p in parameters { p.zeroGrad() }
        Loss.crossEntropy(logits: model(x), labels: labels).backward()
        optimizer.step()
      })
  }

  /// MoCo v2's step as the peer script has it (no shuffle-BN): the project's `MoCo` with a
  /// ResNet-18 (CIFAR stem), the 512-512-128 MLP head, K = 4096, m = 0.99, T = 0.1, and SGD.
  static func mocoStep(rng: inout RandomGenerator) -> EngineBench {
    let moco = MoCo(
      backbone: .resnet18, mlpHead: true, dimension: 128, queueSize: 4096, momentum: 0.99, temperature: 0.1,
      using: &rng)
    let parameters = moco.trainableParameters
    let optimizer = SGD(parameters: parameters, learningRate: 0.06, momentum: 0.9, weightDecay: 5e-4)
    let views = [Tensor.randomNormal([128, 3, 32, 32], using: &rng), Tensor.randomNormal([128, 3, 32, 32], using: &rng)]
    var stepRNG = rng.split("steps")
    moco.setTraining(true)
    return EngineBench(
      name: "moco_r18", itemsPerStep: 128, unit: "pairs/s",
      step: {
        for p in parameters { p.zeroGrad() }
        moco.loss(views: views, indices: [], progress: 0, using: &stepRNG).backward()
        optimizer.step()
      })
  }
}

import Engine
import NN

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// PANTHER (Song et al., CVPR 2024): an unsupervised slide embedding from a Gaussian mixture whose
/// prior is a set of morphological prototypes, with a linear head on top. As the official code
/// runs it (mahmoodlab/PANTHER `src/mil_models/PANTHER/{layers,networks}.py`, the scripts
/// `src/scripts/{classification,survival}/panther.sh`):
///
/// 1. Prototypes: K-means (`KMeans`, 50 rounds, 5 restarts, random init as faiss) over the
///    training split's patch features, each slide giving its **first** `⌈n_total / n_WSIs⌉`
///    patches, `n_total = C · 100 000` (`proto_utils.cluster`).
/// 2. Per slide, MAP EM for a diagonal Gaussian mixture under a fixed Normal-inverse-Wishart-like
///    prior `m = prototypes`, `V = eps · softplus(log(e − 1)) = eps` (eps 1), starting from
///    `π = 1/C, μ = m, Σ = V`; L = 1 EM step with prior weight τ = 1 (`DirNIWNet.map_em`).
/// 3. The 'allcat' embedding `[π (C), μ (C·d, prototype-major), Σ (C·d)]`, dimension `C + 2Cd`.
/// 4. `Linear(C + 2Cd → classes, bias: false)` trained with AdamW (lr 1e-4, wd 1e-5), cosine
///    schedule with 1 warm-up epoch (transformers' `get_cosine_schedule_with_warmup`), 50
///    epochs, batch 64, shuffled; cross-entropy for classification, the Cox partial likelihood
///    (`Loss.coxPartialLikelihood`) for survival.
public enum PANTHER {
  /// The fixed prior of the mixture: means and diagonal variances per prototype.
  public struct Prior: Sendable {
    /// Row-major `[C, d]` prior means (the prototypes).
    public var means: [Float]
    /// Row-major `[C, d]` prior variances (`eps · softplus(V_)`, V_ = log(e − 1) ⇒ `eps`).
    public var variances: [Float]
    /// Number of components C.
    public var componentCount: Int
    /// Feature dimension d.
    public var dimension: Int

    /// The prior PANTHER builds from prototypes: `m = prototypes`, `V = eps` on every entry.
    public init(prototypes: [Float], componentCount: Int, priorVariance eps: Float = 1) {
      precondition(componentCount > 0 && prototypes.count % componentCount == 0,
        "PANTHER.Prior: \(prototypes.count) values are not \(componentCount) prototypes")
      means = prototypes
      // softplus(log(e − 1)) = log(1 + e − 1) = 1
      variances = [Float](repeating: eps, count: prototypes.count)
      self.componentCount = componentCount
      dimension = prototypes.count / componentCount
    }
  }

  /// A fitted diagonal Gaussian mixture and the responsibilities of the last E step.
  public struct Mixture: Sendable {
    /// Mixture weights `[C]`.
    public var weights: [Float]
    /// Row-major `[C, d]` means.
    public var means: [Float]
    /// Row-major `[C, d]` diagonal covariances.
    public var variances: [Float]
    /// Row-major `[N, C]` responsibilities `q` of the last E step.
    public var responsibilities: [Float]

    /// A mixture from its parts.
    public init(weights: [Float], means: [Float], variances: [Float], responsibilities: [Float]) {
      self.weights = weights
      self.means = means
      self.variances = variances
      self.responsibilities = responsibilities
    }

    /// The 'allcat' slide embedding `cat[π, μ.flatten(), Σ.flatten()]` (`layers.py`,
    /// `out == 'allcat'`), length `C + 2·C·d`.
    public var allcat: [Float] { weights + means + variances }
  }

  /// Constants of a PANTHER run (defaults = the official scripts).
  public struct Settings: Sendable, Equatable {
    /// Number of prototypes C (`out_size`, 16).
    public var prototypeCount = 16
    /// EM steps L (`em_step`, 1).
    public var emSteps = 1
    /// Prior weight τ (`tau`, 1.0).
    public var tau: Float = 1
    /// Prior variance eps (`eps`, 1).
    public var priorVariance: Float = 1
    /// Patches sampled per prototype for K-means (`proto_num_samples`, 1e5).
    public var patchesPerPrototype = 100_000
    /// K-means rounds (`n_iter`, 50) and restarts (`n_init`, 5).
    public var kmeansIterations = 50
    public var kmeansRestarts = 5
    /// Head training: AdamW lr, weight decay, epochs, batch size, warm-up epochs.
    public var learningRate: Float = 1e-4
    public var weightDecay: Float = 1e-5
    public var epochs = 50
    public var batchSize = 64
    public var warmupEpochs = 1

    /// The official settings.
    public init() {}
  }

  // MARK: Prototypes

  /// The patches PANTHER clusters: from each slide its first `⌈n_total / slides⌉` rows, until
  /// `n_total = C · patchesPerPrototype` rows are gathered (`proto_utils.cluster`).
  /// - Parameter slides: row-major `[N_i, d]` features per training slide.
  public static func prototypeSample(slides: [[Float]], dimension d: Int, total: Int) -> [Float] {
    guard !slides.isEmpty else { return [] }
    let perSlide = (total + slides.count - 1) / slides.count
    var out: [Float] = []
    var gathered = 0
    for slide in slides where gathered < total {
      let rows = min(slide.count / d, perSlide, total - gathered)
      out.append(contentsOf: slide[0..<(rows * d)])
      gathered += rows
    }
    return out
  }

  /// K-means prototypes `[C, d]` from training slides, as `prototypeSample` then `KMeans`.
  public static func prototypes(
    slides: [[Float]], dimension d: Int, settings: Settings, using generator: inout RandomGenerator
  ) -> [Float] {
    let sample = prototypeSample(
      slides: slides, dimension: d, total: settings.prototypeCount * settings.patchesPerPrototype)
    let kmeans = KMeans(
      clusterCount: settings.prototypeCount, iterations: settings.kmeansIterations,
      restarts: settings.kmeansRestarts)
    return kmeans.fit(points: sample, dimension: d, using: &generator).centroids
  }

  // MARK: EM

  /// E step (`mog_eval`): `q[n,c] = softmax_c(jll[n,:])` with
  /// `jll[n,c] = −½(d log 2π + Σ_j log Σ_cj + Σ_j x²_nj/Σ_cj + Σ_j μ²_cj/Σ_cj − 2 Σ_j x_nj μ_cj/Σ_cj) + log π_c`.
  /// - Returns: row-major `[N, C]` responsibilities.
  public static func responsibilities(
    features x: [Float], dimension d: Int, weights: [Float], means: [Float], variances: [Float]
  ) -> [Float] {
    let c = weights.count
    let n = x.count / d
    var q = [Float](repeating: 0, count: n * c)
    let log2pi = Double(d) * log(2 * Double.pi)
    var jll = [Double](repeating: 0, count: c)
    for i in 0..<n {
      for k in 0..<c {
        var s = log2pi
        for j in 0..<d {
          let v = Double(variances[k * d + j]), mu = Double(means[k * d + j]), xv = Double(x[i * d + j])
          s += log(v) + xv * xv / v + mu * mu / v - 2 * xv * mu / v
        }
        jll[k] = -0.5 * s + log(Double(weights[k]))
      }
      let m = jll.max() ?? 0
      let total = jll.reduce(0) { $0 + exp($1 - m) }
      for k in 0..<c { q[i * c + k] = Float(exp(jll[k] - m) / total) }
    }
    return q
  }

  /// MAP M step with the fixed prior (`map_m_step`): `w_c = Σ_n q_nc`, `w̃_c = w_c + τ`,
  /// `π_c = w̃_c / Σ w̃`, `μ_c = (Σ_n q_nc x_n + τ m_c) / w̃_c`,
  /// `Σ_c = (Σ_n q_nc x²_n + τ (V_c + m²_c)) / w̃_c − μ²_c` (elementwise).
  public static func mapMaximization(
    features x: [Float], dimension d: Int, responsibilities q: [Float], prior: Prior, tau: Float
  ) -> (weights: [Float], means: [Float], variances: [Float]) {
    let c = prior.componentCount
    let n = x.count / d
    let t = Double(tau)
    var w = [Double](repeating: 0, count: c)
    var wx = [Double](repeating: 0, count: c * d)
    var wxx = [Double](repeating: 0, count: c * d)
    for i in 0..<n {
      for k in 0..<c {
        let qk = Double(q[i * c + k])
        w[k] += qk
        for j in 0..<d {
          let xv = Double(x[i * d + j])
          wx[k * d + j] += qk * xv
          wxx[k * d + j] += qk * xv * xv
        }
      }
    }
    let reg = w.map { $0 + t }
    let regSum = reg.reduce(0, +)
    var mu = [Float](repeating: 0, count: c * d)
    var sigma = [Float](repeating: 0, count: c * d)
    for k in 0..<c {
      for j in 0..<d {
        let m = Double(prior.means[k * d + j]), v = Double(prior.variances[k * d + j])
        let muV = (wx[k * d + j] + m * t) / reg[k]
        mu[k * d + j] = Float(muV)
        sigma[k * d + j] = Float((wxx[k * d + j] + (v + m * m) * t) / reg[k] - muV * muV)
      }
    }
    return (reg.map { Float($0 / regSum) }, mu, sigma)
  }

  /// MAP EM of one slide (`map_em`): start at the prior's mode (`π = 1/C, μ = m, Σ = V`), then
  /// `steps` rounds of E and M steps, every M step using the fixed prior.
  /// - Parameter x: row-major `[N, d]` features of the slide.
  public static func mapEM(features x: [Float], prior: Prior, steps: Int = 1, tau: Float = 1) -> Mixture {
    let d = prior.dimension
    precondition(x.count % d == 0, "PANTHER.mapEM: \(x.count) values are not rows of \(d)")
    var pi = [Float](repeating: 1 / Float(prior.componentCount), count: prior.componentCount)
    var mu = prior.means
    var sigma = prior.variances
    var q: [Float] = []
    for _ in 0..<max(steps, 1) {
      q = responsibilities(features: x, dimension: d, weights: pi, means: mu, variances: sigma)
      (pi, mu, sigma) = mapMaximization(features: x, dimension: d, responsibilities: q, prior: prior, tau: tau)
    }
    return Mixture(weights: pi, means: mu, variances: sigma, responsibilities: q)
  }

  /// The feature scale of the prototypes: the mean, over instances and dimensions, of the squared
  /// distance of each instance of `slides` to its nearest prototype (row-major `[C, d]`), which
  /// is the maximum-likelihood variance of one diagonal variance shared by every component under
  /// hard assignments. `priorVariance` ≤ 0 asks for it. 1 when there are no instances.
  public static func residualVariance(slides: [[Float]], prototypes: [Float], dimension d: Int) -> Float {
    let c = prototypes.count / d
    var total = 0.0
    var count = 0
    for x in slides {
      for i in 0..<(x.count / d) {
        var best = Double.infinity
        for k in 0..<c {
          var distance = 0.0
          for j in 0..<d {
            let diff = Double(x[i * d + j] - prototypes[k * d + j])
            distance += diff * diff
          }
          best = min(best, distance)
        }
        total += best
        count += 1
      }
    }
    return count > 0 ? Float(total / Double(count * d)) : 1
  }

  /// The median, over the instances of `slides`, of their largest responsibility after
  /// `prior`'s MAP EM (1/C: every instance spread evenly over the components, as when the prior
  /// variance dwarfs the features; 1: hard assignments). Nil without instances.
  public static func medianTopResponsibility(slides: [[Float]], prior: Prior, settings: Settings) -> Double? {
    var tops: [Double] = []
    let c = prior.componentCount
    for x in slides where !x.isEmpty {
      let q = mapEM(features: x, prior: prior, steps: settings.emSteps, tau: settings.tau).responsibilities
      for i in 0..<(q.count / c) { tops.append(Double(q[(i * c)..<((i + 1) * c)].max() ?? 0)) }
    }
    guard !tops.isEmpty else { return nil }
    tops.sort()
    let n = tops.count
    return n % 2 == 1 ? tops[n / 2] : (tops[n / 2 - 1] + tops[n / 2]) / 2
  }

  /// The 'allcat' embedding of one slide under `prior` with the settings' L and τ.
  public static func embedding(features x: [Float], prior: Prior, settings: Settings) -> [Float] {
    mapEM(features: x, prior: prior, steps: settings.emSteps, tau: settings.tau).allcat
  }

  // MARK: Head

  /// What the linear head is trained for.
  public enum Objective: Sendable {
    /// Cross-entropy over `classes` classes.
    case classification(labels: [Int], classes: Int)
    /// Cox partial likelihood: one log-risk per slide; `times` orders the risk sets (the official
    /// code passes the discretised time bin here), `events` are observed deaths.
    case survival(times: [Double], events: [Bool])
  }

  /// transformers' `get_cosine_schedule_with_warmup` multiplier: `step / warmup` during the
  /// warm-up (0 at the first step), then `½(1 + cos(π · progress))`.
  public static func learningRate(step: Int, total: Int, warmup: Int, base: Float) -> Float {
    if step < warmup { return base * Float(step) / Float(max(warmup, 1)) }
    return Schedule.cosine(step: step, total: total, base: base, warmup: warmup)
  }

  /// Trains `Linear(embedding → outputs, bias: false)` on slide embeddings as the official
  /// trainer does (shuffled batches, no early stopping, the last epoch's weights).
  /// - Parameter embeddings: one vector per training slide, all the same length.
  /// - Returns: the head; outputs are class logits or one log-risk.
  public static func trainHead(
    embeddings: [[Float]], objective: Objective, settings: Settings, using generator: inout RandomGenerator
  ) -> Linear {
    precondition(!embeddings.isEmpty, "PANTHER.trainHead: no training slides")
    let dim = embeddings[0].count
    let outputs: Int
    switch objective {
    case .classification(let labels, let classes):
      precondition(labels.count == embeddings.count, "PANTHER.trainHead: \(labels.count) labels for \(embeddings.count) slides")
      outputs = classes
    case .survival(let times, let events):
      precondition(times.count == embeddings.count && events.count == embeddings.count,
        "PANTHER.trainHead: \(times.count) times, \(events.count) events for \(embeddings.count) slides")
      outputs = 1
    }
    var initGenerator = generator.split("head-init")
    var shuffleGenerator = generator.split("head-shuffle")
    let head = Linear(inputSize: dim, outputSize: outputs, bias: false, using: &initGenerator)
    let optimizer = AdamW(
      parameters: head.parameters, learningRate: settings.learningRate, weightDecay: settings.weightDecay,
      decayRule: .matricesOnly)
    let n = embeddings.count
    let batchesPerEpoch = (n + settings.batchSize - 1) / settings.batchSize
    let total = batchesPerEpoch * settings.epochs
    let warmup = settings.warmupEpochs * batchesPerEpoch
    var step = 0
    for _ in 0..<settings.epochs {
      let order = shuffleGenerator.permutation(n)
      for b in 0..<batchesPerEpoch {
        let rows = Array(order[(b * settings.batchSize)..<min(n, (b + 1) * settings.batchSize)])
        let x = Tensor(shape: [rows.count, dim], data: rows.flatMap { embeddings[$0] })
        let out = head(x)
        let loss: Tensor
        switch objective {
        case .classification(let labels, _):
          loss = Loss.crossEntropy(logits: out, labels: rows.map { labels[$0] })
        case .survival(let times, let events):
          loss = Loss.coxPartialLikelihood(
            logRisks: out.reshaped([rows.count]), times: rows.map { times[$0] }, events: rows.map { events[$0] })
        }
        // A batch without events gives a zero Cox loss; the official loop still steps AdamW
        // (weight decay and moment decay) and the schedule.
        head.zeroGrad()
        loss.backward()
        optimizer.learningRate = learningRate(step: step, total: total, warmup: warmup, base: settings.learningRate)
        optimizer.step()
        step += 1
      }
    }
    return head
  }

  /// Head outputs for slide embeddings: `[slides, outputs]` row-major, without gradients.
  public static func predict(head: Linear, embeddings: [[Float]]) -> [[Float]] {
    guard let first = embeddings.first else { return [] }
    let x = Tensor(shape: [embeddings.count, first.count], data: embeddings.flatMap { $0 })
    let out = Tensor.withoutGrad { head(x) }
    let k = out.shape[1]
    return (0..<embeddings.count).map { Array(out.data[($0 * k)..<(($0 + 1) * k)]) }
  }
}

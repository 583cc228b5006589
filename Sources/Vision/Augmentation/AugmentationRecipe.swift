/// The augmentations of one SSL method as data: one `ViewTransform` per view an image yields
/// (two for MoCo/SimCLR, `2 + V` for SwAV's multi-crop, one for InstDisc's memory bank).
///
/// Each factory writes the official code's transforms, order and probabilities (sources in
/// `../shared/papers/ssl-methods.md`, repository and line given per recipe). Only the view sizes
/// are scaled to the harness's small inputs: the default `size` is 64 (a 64² synthetic tile gives
/// 64² views, as ImageNet's ~256² images give 224² views), SwAV's 96² small crops become 32² (the
/// brief's choice; 96/224 · 64 ≈ 27), and CIFAR-style 32² images use `size: 32`. Crop scales,
/// ratios, jitter strengths and probabilities are the papers' own. Blur σ is in pixels of the
/// view and defaults to the papers' 0.1–2 (stated for 224² views); the SSL variants pass it
/// scaled by `size / 224` (MoCo v2, MoCo v3, SwAV), since σ = 2 px on a 32² view erases the
/// texture the views share. Every recipe ends with `Normalize` (ImageNet statistics
/// unless the official code uses others); SimCLR's TF code feeds [0, 1] values instead, which a
/// first batch-norm layer makes immaterial.
public struct AugmentationRecipe: Sendable, CustomStringConvertible {
  /// Short name (`moco-v2`), recorded with runs.
  public var name: String
  /// One transform per view, in the order the views are returned.
  public var views: [ViewTransform]

  public init(name: String, views: [ViewTransform]) {
    precondition(!views.isEmpty, "AugmentationRecipe \(name): no views")
    self.name = name
    self.views = views
  }

  public var description: String {
    "\(name):\n" + views.enumerated().map { "  view \($0.offset): \($0.element)" }.joined(separator: "\n")
  }

  /// InstDisc (Wu et al. 2018; lemniscate.pytorch `main.py`, ImageNet): `RandomResizedCrop(scale
  /// 0.2–1)`, `RandomGrayscale(0.2)`, `ColorJitter(0.4, 0.4, 0.4, 0.4)` always, flip 0.5,
  /// normalise. One view (the memory bank holds the other side). `flip: false` is the CIFAR
  /// script (`cifar.py`, where the flip is commented out). `hue` is the jitter's hue strength
  /// (official 0.4; a target may lower it, as a documented deviation).
  public static func instDisc(
    size: Int = 64, flip: Bool = true, hue: Double = 0.4, normalize: Normalize = .imageNet
  ) -> AugmentationRecipe {
    var steps: [any ImageAugmentation] = [
      RandomGrayscale(probability: 0.2),
      ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: hue),
    ]
    if flip { steps.append(RandomHorizontalFlip(probability: 0.5)) }
    steps.append(normalize)
    return AugmentationRecipe(
      name: "instdisc", views: [ViewTransform(crop: RandomResizedCrop(size: size, scale: 0.2...1), transforms: steps)])
  }

  /// MoCo v1 (He et al. 2020; moco `main_moco.py` 340–347, "same as InstDisc"): two views of
  /// `RandomResizedCrop(scale 0.2–1)`, `RandomGrayscale(0.2)`, `ColorJitter(0.4, 0.4, 0.4, 0.4)`
  /// always, flip 0.5, normalise. `hue` is the jitter's hue strength (official 0.4; the CIFAR
  /// demo and v2 use 0.1).
  public static func mocoV1(size: Int = 64, hue: Double = 0.4, normalize: Normalize = .imageNet) -> AugmentationRecipe {
    let view = ViewTransform(
      crop: RandomResizedCrop(size: size, scale: 0.2...1),
      transforms: [
        RandomGrayscale(probability: 0.2),
        ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: hue),
        RandomHorizontalFlip(probability: 0.5), normalize,
      ])
    return AugmentationRecipe(name: "moco-v1", views: [view, view])
  }

  /// MoCo v2 "aug+" (Chen et al. 2020; moco `main_moco.py` 326–338): two views of
  /// `RandomResizedCrop(scale 0.2–1)`, `RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), 0.8)`,
  /// `RandomGrayscale(0.2)`, `RandomApply(GaussianBlur(σ 0.1–2), 0.5)`, flip 0.5, normalise.
  /// The MoCo CIFAR-10 demo is `mocoV2(size: 32, cropScale: 0.08...1, blurProbability: 0,
  /// normalize: .cifar10)`.
  public static func mocoV2(
    size: Int = 64, cropScale: ClosedRange<Double> = 0.2...1, blurProbability: Double = 0.5,
    blurSigma: ClosedRange<Double> = 0.1...2.0, normalize: Normalize = .imageNet
  ) -> AugmentationRecipe {
    var steps: [any ImageAugmentation] = [
      RandomApply(ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1), probability: 0.8),
      RandomGrayscale(probability: 0.2),
    ]
    if blurProbability > 0 { steps.append(RandomApply(GaussianBlur(sigma: blurSigma), probability: blurProbability)) }
    steps += [RandomHorizontalFlip(probability: 0.5), normalize]
    let view = ViewTransform(crop: RandomResizedCrop(size: size, scale: cropScale), transforms: steps)
    return AugmentationRecipe(name: "moco-v2", views: [view, view])
  }

  /// SimCLR (Chen et al. 2020; simclr `data_util.py` 61–83, 304–326, 387–440): two views of
  /// `RandomResizedCrop(scale 0.08–1, ratio 3/4–4/3)`, flip 0.5, `RandomApply(ColorJitter(0.8s,
  /// 0.8s, 0.8s, 0.2s), 0.8)` (s = colour strength: 1 on ImageNet, 0.5 on CIFAR),
  /// `RandomGrayscale(0.2)`, `RandomApply(GaussianBlur(σ 0.1–2, kernel 10% of the view), 0.5)`
  /// (blur off on CIFAR: `blurProbability: 0`), normalise. The crop is torchvision's (10
  /// attempts), not TF's `sample_distorted_bounding_box` (100 attempts, `min_object_covered 0.1`).
  public static func simCLR(
    size: Int = 64, colorStrength: Double = 1.0, blurProbability: Double = 0.5, normalize: Normalize = .imageNet
  ) -> AugmentationRecipe {
    let s = colorStrength
    var steps: [any ImageAugmentation] = [
      RandomHorizontalFlip(probability: 0.5),
      RandomApply(
        ColorJitter(brightness: 0.8 * s, contrast: 0.8 * s, saturation: 0.8 * s, hue: min(0.5, 0.2 * s)),
        probability: 0.8),
      RandomGrayscale(probability: 0.2),
    ]
    if blurProbability > 0 {
      steps.append(
        RandomApply(GaussianBlur(sigma: 0.1...2.0, kernel: .fractionOfSize(0.1)), probability: blurProbability))
    }
    steps.append(normalize)
    let view = ViewTransform(crop: RandomResizedCrop(size: size, scale: 0.08...1), transforms: steps)
    return AugmentationRecipe(name: "simclr", views: [view, view])
  }

  /// MoCo v3 (Chen, Xie & He 2021; moco-v3 `main_moco.py` 263–282, BYOL's asymmetric pair): both
  /// views `RandomResizedCrop(scale cropMin–1)`, `RandomApply(ColorJitter(0.4, 0.4, 0.2, 0.1),
  /// 0.8)`, `RandomGrayscale(0.2)`; view 1 then `RandomApply(GaussianBlur(σ 0.1–2), 1.0)`; view 2
  /// `RandomApply(GaussianBlur, 0.1)` and `RandomApply(Solarize(128/255), 0.2)`; then flip 0.5,
  /// normalise. `cropMinimumScale` is 0.08 by default in the code and 0.2 in CONFIG.md's R50 runs.
  /// `blurSigma` is the blur's σ range in pixels of the view (official 0.1–2, for 224² views).
  public static func mocoV3(
    size: Int = 64, cropMinimumScale: Double = 0.08, blurSigma: ClosedRange<Double> = 0.1...2.0,
    normalize: Normalize = .imageNet
  ) -> AugmentationRecipe {
    func view(blur: Double, solarize: Double) -> ViewTransform {
      var steps: [any ImageAugmentation] = [
        RandomApply(ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1), probability: 0.8),
        RandomGrayscale(probability: 0.2),
        RandomApply(GaussianBlur(sigma: blurSigma), probability: blur),
      ]
      if solarize > 0 { steps.append(RandomSolarize(probability: solarize)) }
      steps += [RandomHorizontalFlip(probability: 0.5), normalize]
      return ViewTransform(crop: RandomResizedCrop(size: size, scale: cropMinimumScale...1), transforms: steps)
    }
    return AugmentationRecipe(name: "moco-v3", views: [view(blur: 1.0, solarize: 0), view(blur: 0.1, solarize: 0.2)])
  }

  /// SwAV multi-crop (Caron et al. 2020; swav `src/multicropdataset.py` 37–94, scripts
  /// `swav_800ep_pretrain.sh`): `large` views of `RandomResizedCrop(sizes.large, scale
  /// scales.large)` then `small` views of `RandomResizedCrop(sizes.small, scales.small)`, each
  /// followed by flip 0.5, `RandomApply(ColorJitter(0.8, 0.8, 0.8, 0.2), 0.8)`,
  /// `RandomGrayscale(0.2)`, `RandomApply(GaussianBlur(σ 0.1–2), 0.5)` (small crops too) and
  /// SwAV's normalisation. The paper's 2×224 + 6×96 with scales (0.14, 1) and (0.05, 0.14)
  /// becomes 2×64 + V×32 by default. `blurSigma` is the blur's σ range in pixels (official
  /// 0.1–2 at 224²).
  public static func swavMultiCrop(
    large: Int = 2, small: Int = 6, sizes: (large: Int, small: Int) = (64, 32),
    scales: (large: ClosedRange<Double>, small: ClosedRange<Double>) = (0.14...1, 0.05...0.14),
    colorStrength: Double = 1.0, blurProbability: Double = 0.5, blurSigma: ClosedRange<Double> = 0.1...2.0,
    normalize: Normalize = .swav
  ) -> AugmentationRecipe {
    precondition(large >= 1 && small >= 0, "swavMultiCrop: \(large) large and \(small) small crops")
    let s = colorStrength
    func view(size: Int, scale: ClosedRange<Double>) -> ViewTransform {
      var steps: [any ImageAugmentation] = [
        RandomHorizontalFlip(probability: 0.5),
        RandomApply(
          ColorJitter(brightness: 0.8 * s, contrast: 0.8 * s, saturation: 0.8 * s, hue: min(0.5, 0.2 * s)),
          probability: 0.8),
        RandomGrayscale(probability: 0.2),
      ]
      if blurProbability > 0 { steps.append(RandomApply(GaussianBlur(sigma: blurSigma), probability: blurProbability)) }
      steps.append(normalize)
      return ViewTransform(crop: RandomResizedCrop(size: size, scale: scale), transforms: steps)
    }
    let views =
      [ViewTransform](repeating: view(size: sizes.large, scale: scales.large), count: large)
      + [ViewTransform](repeating: view(size: sizes.small, scale: scales.small), count: small)
    return AugmentationRecipe(name: "swav", views: views)
  }
}

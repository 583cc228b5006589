import Evaluation
import Foundation
import Vision

/// How linearly separable a labelled image dataset is from raw pixels and from mean colour.
///
/// A dataset meant for self-supervised learning must not be solvable by a linear model on raw
/// pixels (then any encoder looks good); this measures it with the same linear probe the SSL
/// targets use on frozen features.
public enum DatasetProbe {
  /// Test accuracies of a linear probe on raw pixels (scaled to [0, 1]) and on the mean RGB.
  public struct Result: Sendable {
    public var rawPixelAccuracy: Double
    public var meanColourAccuracy: Double
    public var chance: Double
    public var trainCount: Int
    public var testCount: Int
    public var lambda: Float
  }

  /// Fits on `train` and scores on `test`.
  public static func run(train: TileSet, test: TileSet) -> Result {
    func raw(_ set: TileSet) -> [Float] { set.images.flatMap { $0.pixels.map { Float($0) / 255 } } }
    func meanColour(_ set: TileSet) -> [Float] {
      set.images.flatMap { image -> [Float] in
        var sums: [Float] = [0, 0, 0]
        for i in 0..<(image.width * image.height) { for c in 0..<3 { sums[c] += Float(image.pixels[3 * i + c]) } }
        return sums.map { $0 / Float(max(image.width * image.height, 1)) / 255 }
      }
    }
    let classes = train.classNames.count
    let d = (train.images.first.map { $0.width * $0.height * 3 }) ?? 0
    let probe = LinearProbe.fit(features: raw(train), labels: train.labels, featureCount: d, classCount: classes)
    let rawAcc = LinearProbe.accuracy(probe.predict(raw(test)), test.labels)
    let colour = LinearProbe.fit(features: meanColour(train), labels: train.labels, featureCount: 3, classCount: classes)
    let colourAcc = LinearProbe.accuracy(colour.predict(meanColour(test)), test.labels)
    return Result(
      rawPixelAccuracy: rawAcc, meanColourAccuracy: colourAcc, chance: 1 / Double(max(classes, 1)),
      trainCount: train.images.count, testCount: test.images.count, lambda: probe.lambda)
  }
}

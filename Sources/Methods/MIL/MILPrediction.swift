import Foundation

/// One slide's prediction by a MIL model (`MILPredictor`), a row of `replicate predict --json`.
///
/// Encodes with snake_case keys; a non-finite number is written as JSON null, and
/// `instance_scores` is always present (null for TransMIL).
public struct MILPrediction: Encodable, Sendable, Equatable {
  /// The slide (bag) id.
  public var slideID: String
  /// Instances in the bag.
  public var instances: Int
  /// Class probabilities.
  public var probabilities: [Float]
  /// The predicted class.
  public var predicted: Int
  /// ABMIL or CLAM attention, one per instance; nil for TransMIL.
  public var instanceScores: [Float]?

  /// A prediction with every field given.
  public init(slideID: String, instances: Int, probabilities: [Float], predicted: Int, instanceScores: [Float]?) {
    self.slideID = slideID
    self.instances = instances
    self.probabilities = probabilities
    self.predicted = predicted
    self.instanceScores = instanceScores
  }

  enum CodingKeys: String, CodingKey {
    case slideID = "slide_id", instances, probabilities, predicted, instanceScores = "instance_scores"
  }

  /// Encodes non-finite numbers as null and always writes `instance_scores`.
  public func encode(to encoder: Encoder) throws {
    func finite(_ values: [Float]) -> [Float?] { values.map { $0.isFinite ? $0 : nil } }
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(slideID, forKey: .slideID)
    try c.encode(instances, forKey: .instances)
    try c.encode(finite(probabilities), forKey: .probabilities)
    try c.encode(predicted, forKey: .predicted)
    try c.encode(instanceScores.map(finite), forKey: .instanceScores)
  }

  /// The whole of `replicate predict --json`: the model, what its instance scores are, and one
  /// prediction per slide.
  public struct Report: Encodable, Sendable {
    /// `abmil`, `clam_sb`, `clam_mb` or `transmil`.
    public var method: String
    /// `attention`, or `none` for a model without instance scores.
    public var instanceScores: String
    /// The predictions, in bag order.
    public var slides: [MILPrediction]

    /// The report of `predictions` made by `predictor`.
    public init(predictor: MILPredictor, predictions: [MILPrediction]) {
      method = predictor.name
      instanceScores = predictor.hasInstanceScores ? "attention" : "none"
      slides = predictions
    }

    enum CodingKeys: String, CodingKey {
      case method, instanceScores = "instance_scores", slides
    }
  }
}

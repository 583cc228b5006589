import Foundation
import Methods
import Testing

/// `replicate predict --json` rows: snake_case keys, non-finite numbers as null, and
/// `instance_scores` present (null) for a model without instance scores.
@Suite struct MILPredictionTests {
  @Test func encodesNullsAndEveryKey() throws {
    let rows = [
      MILPrediction(slideID: "a", instances: 2, probabilities: [.nan, 0.25], predicted: 1, instanceScores: nil),
      MILPrediction(slideID: "b", instances: 1, probabilities: [0.5, 0.5], predicted: 0, instanceScores: [1]),
    ]
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let text = String(decoding: try encoder.encode(rows), as: UTF8.self)
    #expect(
      text == #"[{"instance_scores":null,"instances":2,"predicted":1,"probabilities":[null,0.25],"slide_id":"a"},"#
        + #"{"instance_scores":[1],"instances":1,"predicted":0,"probabilities":[0.5,0.5],"slide_id":"b"}]"#)
  }
}

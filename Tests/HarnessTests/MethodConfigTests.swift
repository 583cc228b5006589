import Foundation
import Harness
import Testing
import _TestSupport

@Suite struct MethodConfigTests {
  @Test func theSchemaIsDerivedFromTheStructsDefaults() {
    let schema = ABMILConfig.schema
    // The shared MIL data keys first, in their order, then ABMIL's own.
    #expect(
      schema.map(\.name) == [
        "encoder", "preset", "trainPerClass", "valPerClass", "testPerClass", "slideSide", "bootstrap", "task", "hidden",
        "attentionDimension", "dropout", "learningRate", "weightDecay", "maxEpochs", "patience", "meanPoolingArm",
      ])
    let byName = Dictionary(uniqueKeysWithValues: schema.map { ($0.name, $0) })
    #expect(byName["hidden"]?.defaultValue == .int(500))
    #expect(byName["learningRate"]?.defaultValue == .double(5e-4))
    #expect(byName["encoder"]?.defaultValue == .string("small"))
    #expect(byName["task"]?.type == .string && byName["dropout"]?.type == .double)
    // A choice's check lists exactly the allowed values.
    #expect(byName["task"]?.check?(.string("survival")) == "expected one of tumour, relational")
    #expect(byName["encoder"]?.check?(.string("pixels")) == "expected one of small, resnet18")
    #expect(byName["task"]?.check?(.string("relational")) == nil)
  }

  @Test func decodingReadsEveryKeyAndRoundTrips() throws {
    var values = ABMILConfig().resolved.values
    values["hidden"] = .int(7)
    values["learningRate"] = .int(1)  // an integer written for a number reads as that number
    values["task"] = .string("relational")
    values["slideSide"] = .int(512)
    let config = try ABMILConfig(ResolvedConfig(values: values))
    #expect(config.hidden == 7 && config.learningRate == 1.0 && config.task == .relational)
    #expect(config.data.slideSide == 512 && config.data.extraction.slideParameters["minSide"] == "512")
    #expect(try ABMILConfig(config.resolved) == config)
  }

  @Test func errorsNameTheKeyAndTheProperty() {
    var values = ABMILConfig().resolved.values
    values["hidden"] = .string("wide")
    #expect(throws: ConfigDecodingError(key: "hidden", property: "ABMILConfig.hidden", problem: "holds wide, expected an integer")) {
      try ABMILConfig(ResolvedConfig(values: values))
    }
    values = ABMILConfig().resolved.values
    values["bootstrap"] = nil
    #expect(throws: ConfigDecodingError(key: "bootstrap", property: "MILDataConfig.bootstrap", problem: "is missing")) {
      try ABMILConfig(ResolvedConfig(values: values))
    }
    values = ABMILConfig().resolved.values
    values["task"] = .string("survival")  // a valid MILTask, but not one ABMIL classifies
    #expect(throws: ConfigDecodingError.self) { try ABMILConfig(ResolvedConfig(values: values)) }
  }
}

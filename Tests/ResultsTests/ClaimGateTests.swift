import Harness
import Results
import Testing

/// How the gate judges a claim's verdict against its calibrated verdict.
@Suite struct ClaimGateTests {
  @Test func definiteCalibrationMustBeMetExactly() {
    #expect(ClaimAssessment.consistent(.reproduced, calibrated: .reproduced))
    #expect(!ClaimAssessment.consistent(.notReproduced, calibrated: .reproduced))
    #expect(!ClaimAssessment.consistent(.inconclusive, calibrated: .reproduced))
    #expect(ClaimAssessment.consistent(.notReproduced, calibrated: .notReproduced))
    #expect(!ClaimAssessment.consistent(.reproduced, calibrated: .notReproduced))
  }

  @Test func inconclusiveCalibrationAcceptsAnySeedsVerdict() {
    // The calibration seeds disagreed: one seed may hold or fail, several may disagree again.
    #expect(ClaimAssessment.consistent(.reproduced, calibrated: .inconclusive))
    #expect(ClaimAssessment.consistent(.notReproduced, calibrated: .inconclusive))
    #expect(ClaimAssessment.consistent(.inconclusive, calibrated: .inconclusive))
    #expect(!ClaimAssessment.consistent(.notRun, calibrated: .inconclusive))
  }
}

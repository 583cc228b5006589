import Engine
import NN
import Testing

/// The ViT block against timm 0.5.4's `Block` (fixture `Fixtures/vit_block.safetensors`, made by
/// `Fixtures/make_swin_fixtures.py`; versions in `Fixtures/swin_fixtures.json`).
@Suite struct TransformerBlockTests {
  @Test func matchesTimmBlock() throws {
    let fixture = try GoldenFixture("vit_block")
    var g = RandomGenerator(seed: 0)
    let block = TransformerBlock(dimension: 32, heads: 4, mlpRatio: 4, epsilon: 1e-6, using: &g)
    fixture.load(into: block)
    let errors = try fixture.compare(block) { block($0) }
    #expect(errors.count == 1 + 1 + block.namedParameters.count)  // output, input, every parameter
    GoldenFixture.expectWithin(errors, label: "ViT block")
  }
}

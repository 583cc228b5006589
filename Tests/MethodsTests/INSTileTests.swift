import Engine
import Methods
import NN
import Testing
import _TestSupport
import Vision

/// INS on tiles: the ResNet instance network's shapes and state-dict names, and the shared
/// training loop (`INS.trainEpoch`) on a tiny tile-bag set with MoCo v2 views.
@Suite struct INSTileTests {
  static let widths = [8, 16, 16, 32]

  @Test func resNetEncoderShapesAndPyTorchNames() {
    var config = INSConfiguration(tileEncoderWidths: INSTileTests.widths, blocksPerStage: 1)
    config.lowDimension = 8
    #expect(config.featureDimension == 32)
    var g = RandomGenerator(seed: 0)
    let network = INSNetwork(configuration: config, using: &g)
    let x = Tensor.randomNormal([5, 3, 16, 16], using: &g)
    let (logits, embedding) = network(x)
    #expect(logits.shape == [5, 2])
    #expect(embedding.shape == [5, 8])
    #expect(network.features(x).shape == [5, 32])
    for row in 0..<5 {  // L2-normalised rows
      let norm = (0..<8).reduce(Float(0)) { $0 + embedding.data[row * 8 + $1] * embedding.data[row * 8 + $1] }
      expectClose(Double(norm), 1, rtol: 0, atol: 1e-4)
    }
    let names = network.namedParameters.map(\.name)
    for name in [
      "encoder.conv1.weight", "encoder.bn1.running_mean", "encoder.layer1.0.conv1.weight",
      "encoder.layer2.0.downsample.0.weight", "encoder.layer4.0.bn2.bias", "fc.weight", "fc.bias",
      "head.0.weight", "head.2.bias",
    ] {
      #expect(names.contains(name), "missing \(name)")
    }
    #expect(!names.contains { $0.hasPrefix("encoder.fc") }, "the ResNet trunk has no classifier of its own")
    #expect(Set(names).count == names.count)
    // Evaluation mode reaches the trunk's batch norms.
    network.isTraining = false
    guard case .resnet(let resnet) = network.encoder else {
      Issue.record("expected a ResNet encoder")
      return
    }
    #expect(resnet.batchNorms.allSatisfy { !$0.isTraining })
  }

  /// 12 bags of 6 16² tiles: negative tiles pale pink, tumour tiles dark purple with noise; half
  /// the bags positive with a third of their tiles tumour.
  static func toyTileBags(seed: UInt64) -> (set: INSTrainingSet, instanceLabels: [Int]) {
    var g = RandomGenerator(seed: seed)
    var images: [RGBImage] = [], ranges: [Range<Int>] = [], bagLabels: [Int] = [], labels: [Int] = []
    for bag in 0..<12 {
      let positive = bag % 2
      let start = labels.count
      for i in 0..<6 {
        let tumour = positive == 1 && i % 3 == 0 ? 1 : 0
        let base: [Double] = tumour == 1 ? [90, 40, 120] : [230, 180, 200]
        var pixels: [UInt8] = []
        for _ in 0..<(16 * 16) {
          for c in 0..<3 { pixels.append(UInt8(Swift.max(0, Swift.min(255, base[c] + 25 * g.nextGaussian())))) }
        }
        images.append(RGBImage(width: 16, height: 16, pixels: pixels))
        labels.append(tumour)
      }
      ranges.append(start..<labels.count)
      bagLabels.append(positive)
    }
    let instances = INSInstances.tiles(
      images, views: TwoViewPipeline(recipe: .mocoV2(size: 16), threads: 1), normalize: .imageNet)
    return (INSTrainingSet(instances: instances, bagRanges: ranges, bagLabels: bagLabels), labels)
  }

  @Test func sharedLoopLowersTheLossOnTinyTileBags() {
    let (data, truth) = INSTileTests.toyTileBags(seed: 3)
    #expect(data.instances.input([0, 1]).shape == [2, 3, 16, 16])
    var config = INSConfiguration(tileEncoderWidths: INSTileTests.widths, blocksPerStage: 1)
    (config.lowDimension, config.queueSize) = (8, 48)
    var schedule = INSSchedule()
    (schedule.epochs, schedule.batchSize, schedule.learningRate) = (8, 24, 0.05)
    let (ins, losses) = INSTests.train(config, schedule, data, seed: 4)
    #expect(losses[0].bag > 0 && losses[1].bag == 0)  // the bag constraint runs in warm-up only
    let total = losses.map { $0.classification + Double(config.contrastiveWeight) * $0.contrastive }
    #expect(total.allSatisfy { $0.isFinite })
    #expect(losses.last?.classification ?? .infinity < losses[1].classification, "\(losses.map(\.classification))")
    let scores = ins.positiveProbabilities(data.instances.input(Array(0..<data.count)))
    #expect(scores.count == truth.count && scores.allSatisfy { $0 >= 0 && $0 <= 1 })
    #expect(ins.network.isTraining, "scoring restores training mode")
  }
}

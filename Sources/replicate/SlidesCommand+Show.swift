import ArgumentParser
import Foundation
import Harness
import Slides

extension SlidesCommand {
  /// `replicate slides show`.
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show", abstract: "Summarise a feature bag (.safetensors) or a folder of bags.")

    @Argument(help: "A bag file, or a folder with bags.csv.")
    var path: String

    func run() throws {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw BagError.cannotRead(path: path, reason: "no such file or folder")
      }
      if isDirectory.boolValue {
        let store = try BagStore(directory: path)
        let instances = store.entries.map(\.instanceCount)
        print("\(store.entries.count) bags in \(path); instances per bag \(instances.min() ?? 0)…\(instances.max() ?? 0)")
        if let table = store.slideTable {
          for split in table.splits {
            let entries = store.entries(inSplit: split)
            let positives = entries.filter { $0.record?.label == 1 }.count
            print("  \(split): \(entries.count) bags, \(positives) with tumour")
          }
        } else {
          print("  no slide table (slides.csv): bags without labels or splits")
        }
        return
      }
      let bag = try FeatureBag.read(path: path)
      let info = bag.info
      let n = bag.instanceCount
      let d = bag.featureDimension
      print("\(info.slideID): \(n) instances × \(d) features (\(path))")
      print("slide \(info.slidePath), preset \(info.preset), level \(info.level), patch \(info.patchSize) px (read \(info.readSize)), step \(info.stepSize)")
      print(
        "tiles: grid \(info.counts.grid), rejected_tissue \(info.counts.rejectedTissue), rejected_focus "
          + "\(info.counts.rejectedFocus) (\(info.focusDetector) < \(info.focusThreshold.map { fmt($0) } ?? "off")), kept \(info.counts.kept)")
      print("encoder: \(info.encoder.description); sha256 \(info.encoder.weightsSHA256.prefix(16))…")
      if let labels = bag.instanceLabels, let fractions = bag.tumourFractions {
        print(
          "instances labelled tumour (≥ \(fmt(info.instanceThreshold))): \(labels.reduce(0, +)); any tumour: "
            + "\(fractions.filter { $0 > 0 }.count)")
      } else {
        print("no instance labels (extracted without annotations)")
      }
      if n > 0, let f = bag.featureStatistics {
        print(
          "features: mean \(fmt(f.mean)), sd \(fmt(f.standardDeviation)), min \(fmt(f.minimum)), max \(fmt(f.maximum))")
        let xs = bag.coordinates.map(\.x)
        let ys = bag.coordinates.map(\.y)
        print("coords: x \(xs.min() ?? 0)…\(xs.max() ?? 0), y \(ys.min() ?? 0)…\(ys.max() ?? 0) (level 0)")
      }
    }
  }
}

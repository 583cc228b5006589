import ArgumentParser
import Basics
import Engine
import Foundation
import Harness

extension SlidesCommand {
  /// `replicate slides extract`.
  struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "extract",
      abstract: "Turn slides into feature bags (tissue → grid → focus QC → encoder), one per slide.",
      discussion: """
        Input: a slide, a folder of slides, a synthetic-slides folder (slides/, annotations/, slides.csv), or the
        word synthetic-slides for the cached set (generated first if needed). Output: <id>.safetensors (features
        [N, D], coords [N, 2] level-0 x,y, tissue_coverage, focus_score, and with annotations tumour_fraction and
        instance_label) with a JSON sidecar per slide, bags.csv, and slides.csv when the input has a slide table.
        With an annotation folder, a slide without <id>.xml is a negative slide (every instance 0).
        Tiles are resized to the encoder input and normalised with ImageNet mean/std. --encoder pixels writes
        tile-image bags instead: each instance is the tile's RGB pixels resized to --input-size² (default 32),
        [N, s·s·3] stored as U8 (INS on tiles trains its own ResNet on them).
        """)

    @Argument(help: "A slide, a folder of slides, a synthetic-slides folder, or synthetic-slides (the cached set).")
    var input: String

    @Option(help: "Output folder for the bags.")
    var out: String

    @Option(
      help: "Encoder: small (ResNet.small, 128-d), resnet18 (512-d), swin-micro (384-d), ctranspath (CTransPath's Swin-T with ConvStem, 768-d; its weights with --weights), or pixels (tile images, no encoder).")
    var encoder: String = TileEncoderKind.small.rawValue

    @Option(help: "Encoder input side (default 64 for small and swin-micro, 224 for resnet18 and ctranspath, 32 for pixels).")
    var inputSize: Int?

    @Option(help: "Weights (safetensors state dict with torchvision names); default: random init from --seed.")
    var weights: String?

    @Option(help: "Seed of the random initialisation.")
    var seed: UInt64 = 0

    @Option(help: "Annotation folder (<id>.xml) or, for one slide, an annotation file.")
    var annotations: String?

    @OptionGroup var tiling: TilingOptions

    @Option(help: "Tiles per encoder call.")
    var batchSize: Int = 32

    @OptionGroup var threads: ThreadOptions<ThreadsHelpText.Extract>

    func run() throws {
      let registry = try Registry.locate()
      let preset = try tiling.resolved(registry)
      let focus = try tiling.focusQC()
      let t = try threads.count()
      guard (1...4096).contains(batchSize) else {
        throw InputError.badArgument(option: "--batch-size", value: String(batchSize), expected: "an integer in 1...4096")
      }
      guard let kind = TileEncoderKind(rawValue: encoder) else {
        throw InputError.badArgument(
          option: "--encoder", value: encoder, expected: TileEncoderKind.allCases.map(\.rawValue).joined(separator: ", "))
      }
      let sources = try SlideSources.resolve(input, annotations: annotations, registry: registry, threads: t)
      let tileEncoder = try TileEncoder(kind: kind, inputSize: inputSize, seed: seed, weights: weights)
      var extractor = BagExtractor(preset: preset, focus: focus, encoder: tileEncoder)
      extractor.batchSize = batchSize
      extractor.threads = t
      Parallel.setThreadCount(t)
      BLAS.setThreadCount(t)
      do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
        throw InputError.badArgument(option: "--out", value: out, expected: "a folder that can be created")
      }
      let outDir = URL(fileURLWithPath: out).standardizedFileURL.path
      let line = ProgressLine("extracting bags", total: sources.slides.count, unit: "slides")
      let start = Date()
      let (entries, times) = try extractor.writeStore(
        sources.slides,
        table: sources.table, to: outDir, progress: { _, _, note in line.advance(note: note) })
      line.finish()
      let seconds = Date().timeIntervalSince(start)
      let instances = entries.reduce(0) { $0 + $1.instanceCount }
      print(
        "\(entries.count) bags, \(instances) instances of \(tileEncoder.featureDimension)-d in \(outDir) "
          + "(\(String(format: "%.1f", seconds)) s)")
      print("encoder: \(tileEncoder.summary); sha256 \(tileEncoder.weightsSHA256.prefix(16))…")
      print(
        String(
          format: "time: read %.1f s, tissue %.1f s, focus %.1f s, encode %.1f s; rejected: tissue %d, focus %d",
          times.read, times.tissue, times.focus, times.encode, entries.reduce(0) { $0 + $1.counts.rejectedTissue },
          entries.reduce(0) { $0 + $1.counts.rejectedFocus }))
    }
  }
}

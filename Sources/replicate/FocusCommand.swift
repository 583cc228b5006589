import ArgumentParser
import Engine
import Foundation
import Harness
import Methods
import Slides
import Vision

/// `replicate focus`: focus-quality tools for tiles and slides.
struct FocusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "focus", abstract: "Focus (blur) quality tools.", subcommands: [Score.self])

  /// `replicate focus score <image|folder|slide>`.
  struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "score",
      abstract: "Score every image (or slide tile) with every focus detector.",
      discussion: """
        Scores are on the scales of the usual OpenCV/PyWavelets pipelines (8-bit BT.601 grey, 0–255), so
        thresholds carry over: laplacian_var = cv2.Laplacian(gray, CV_64F).var(); haar_energy = mean of
        cH²+cV²+cD² of pywt.dwt2(gray, 'haar'); tong_per and tong_blur_extent from Tong et al. 2004
        (orthonormal Haar as PyWavelets; tong_per_norm with level-normalised Haar). `blurred` applies
        Tong's rule Per < MinZero to the level-normalised Per.
        """)

    @Argument(help: "An image (PNG/TIFF), a folder of images, or a whole-slide image.")
    var path: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Tile size for slides (pixels at --level).")
    var tileSize: Int = 256

    @Option(help: "Slide level to tile.")
    var level: Int = 0

    @Option(help: "At most this many slide tiles (tissue tiles only).")
    var limit: Int = 2000

    @Option(help: "Tong's MinZero for the blurred column.")
    var minZero: Double = 0.05

    func run() throws {
      guard tileSize >= 16 else { throw InputError.badArgument(option: "--tile-size", value: String(tileSize), expected: "at least 16") }
      let source = try DataSource.user(path: path, option: "")
      let items: [(String, RGBImage)]
      switch source {
      case .slide(let url):
        let slide = try WholeSlideImage(path: url.path)
        items = try SlideTiles.tiles(of: slide, level: level, size: tileSize, limit: limit).map {
          ("x=\($0.x),y=\($0.y),level=\($0.level)", $0.image)
        }
      default:
        let tiles = try TileLoader(cacheDirectory: URL(fileURLWithPath: NSTemporaryDirectory())).load(source, tileSize: tileSize)
        items = Array(zip(tiles.names, tiles.images))
      }
      let scores = Parallel.map(items.count, threads: ProcessInfo.processInfo.activeProcessorCount, chunk: 16) { i in
        FocusDetectors.scoreAll(items[i].1.grayscale())
      }
      if json {
        var rows: [String] = []
        for ((name, image), s) in zip(items, scores) {
          rows.append(
            "{\"name\":\(jsonString(name)),\"width\":\(image.width),\"height\":\(image.height),"
              + "\"laplacian_var\":\(num(s.laplacianVariance)),\"haar_energy\":\(num(s.haarEnergy)),"
              + "\"tong_per\":\(num(s.tong.per)),\"tong_blur_extent\":\(num(s.tong.blurExtent)),"
              + "\"tong_per_norm\":\(num(s.tongNormalized.per)),\"tong_blur_extent_norm\":\(num(s.tongNormalized.blurExtent)),"
              + "\"blurred\":\(s.tongNormalized.isBlurred(minZero: minZero))}")
        }
        print("[\n  " + rows.joined(separator: ",\n  ") + "\n]")
      } else {
        let rows = zip(items, scores).map { item, s in
          [item.0, fmt(s.laplacianVariance), fmt(s.haarEnergy), fmt(s.tong.per), fmt(s.tong.blurExtent),
            fmt(s.tongNormalized.per), s.tongNormalized.isBlurred(minZero: minZero) ? "yes" : "no"]
        }
        print(table(["image", "laplacian_var", "haar_energy", "tong_per", "tong_blur_extent", "tong_per_norm", "blurred"], rows))
      }
    }

    private func num(_ v: Double) -> String { v.isFinite ? String(v) : "null" }

    private func jsonString(_ s: String) -> String {
      "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
  }
}

import ArgumentParser
import Foundation
import Harness

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
      let rows = try FocusScoreRow.score(path: path, tileSize: tileSize, level: level, limit: limit, minZero: minZero)
      if json {
        print(try jsonText(rows), terminator: "")
      } else {
        let cells = rows.map { r in
          [r.name, fmt(r.scores.laplacianVariance), fmt(r.scores.haarEnergy), fmt(r.scores.tong.per),
            fmt(r.scores.tong.blurExtent), fmt(r.scores.tongNormalized.per), r.blurred ? "yes" : "no"]
        }
        print(table(["image", "laplacian_var", "haar_energy", "tong_per", "tong_blur_extent", "tong_per_norm", "blurred"], cells))
      }
    }
  }
}

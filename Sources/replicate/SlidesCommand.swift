import ArgumentParser

/// `replicate slides`: the whole-slide pipeline (synthetic slides, tiling, feature bags).
struct SlidesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "slides", abstract: "Whole-slide tools: synthetic slides, tiling, feature bags.",
    discussion: """
      replicate slides generate                      # the synthetic-slides set, into the cache
      replicate slides tile SLIDE --json             # tissue, grid and focus counts of one slide
      replicate slides extract synthetic-slides --out bags/   # one feature bag per slide
      replicate slides show bags/train_000.safetensors
      """,
    subcommands: [Generate.self, Tile.self, Extract.self, Show.self])
}

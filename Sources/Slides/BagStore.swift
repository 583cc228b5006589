import Foundation

/// A folder of feature bags, as `replicate slides extract` writes it and MIL targets read it.
///
/// Layout: `bags.csv` (one row per bag: `slide_id, bag, instances, feature_dimension, grid,
/// kept, rejected_tissue, rejected_focus, tumour_instances`; `bag` is the file name, relative
/// to the folder), `<slide>.safetensors` + `<slide>.json` per slide, and optionally
/// `slides.csv`, the slide table (labels, splits, survival, relational label), which the
/// extractor copies from a synthetic-slides set. Splits and labels come from that table; a store
/// without one has bags but no labels.
///
/// ```swift
/// let store = try BagStore(directory: "bags/")
/// for entry in store.entries(inSplit: "train") {
///   let bag = try store.load(entry.slideID)        // bag.featureTensor: [N, D]
///   let label = entry.record?.label                  // slide label from slides.csv
/// }
/// ```
public struct BagStore: Sendable {
  /// One bag of the store.
  public struct Entry: Sendable, Equatable {
    /// Slide id.
    public var slideID: String
    /// Absolute path of the `.safetensors` file.
    public var path: String
    /// Instances N.
    public var instanceCount: Int
    /// Feature dimension D.
    public var featureDimension: Int
    /// Tile counts (grid, kept, rejected for tissue, rejected for focus).
    public var counts: BagInfo.Counts
    /// Instances labelled tumour (nil when the bag has no annotations).
    public var tumourInstances: Int?
    /// The slide's row of the slide table, if the store has one and lists the slide.
    public var record: SlideRecord?

    /// An entry with every field given.
    public init(
      slideID: String, path: String, instanceCount: Int, featureDimension: Int, counts: BagInfo.Counts,
      tumourInstances: Int?, record: SlideRecord? = nil
    ) {
      self.slideID = slideID
      self.path = path
      self.instanceCount = instanceCount
      self.featureDimension = featureDimension
      self.counts = counts
      self.tumourInstances = tumourInstances
      self.record = record
    }
  }

  /// Name of the bag table.
  public static let tableName = "bags.csv"
  /// Name of the slide table copy.
  public static let slideTableName = "slides.csv"
  /// Columns of `bags.csv`, in order.
  public static let columns = [
    "slide_id", "bag", "instances", "feature_dimension", "grid", "kept", "rejected_tissue", "rejected_focus",
    "tumour_instances",
  ]

  /// The folder.
  public let directory: String
  /// Every bag, in `bags.csv` order.
  public let entries: [Entry]
  /// The slide table, when the folder has one (or one was given).
  public let slideTable: SlideTable?

  /// Opens the store in `directory`; `slideTable` overrides `<directory>/slides.csv`.
  public init(directory: String, slideTable: String? = nil) throws(BagError) {
    let root = URL(fileURLWithPath: directory)
    let tablePath = root.appendingPathComponent(Self.tableName).path
    let text: String
    do { text = try String(contentsOfFile: tablePath, encoding: .utf8) } catch {
      throw .cannotRead(
        path: tablePath,
        reason: FileManager.default.fileExists(atPath: tablePath)
          ? "not UTF-8 text" : "no bag table here (run `replicate slides extract` first)")
    }
    let slidesPath = slideTable ?? root.appendingPathComponent(Self.slideTableName).path
    var table: SlideTable?
    if slideTable != nil || FileManager.default.fileExists(atPath: slidesPath) {
      do { table = try SlideTable.read(path: slidesPath) } catch {
        throw .malformed(path: slidesPath, reason: error.description)
      }
    }
    let rows = text.split(whereSeparator: \.isNewline).map(String.init)
    guard let header = rows.first, header.split(separator: ",").map(String.init) == Self.columns else {
      throw .malformed(path: tablePath, reason: "expected the header \(Self.columns.joined(separator: ","))")
    }
    var entries: [Entry] = []
    for (index, row) in rows.enumerated().dropFirst() {
      let f = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard f.count == Self.columns.count, let n = Int(f[2]), let d = Int(f[3]), let grid = Int(f[4]),
        let kept = Int(f[5]), let tissue = Int(f[6]), let focus = Int(f[7]), !f[0].isEmpty
      else {
        throw .malformed(path: tablePath, reason: "line \(index + 1): expected \(Self.columns.count) fields")
      }
      entries.append(
        Entry(
          slideID: f[0], path: root.appendingPathComponent(f[1]).path, instanceCount: n, featureDimension: d,
          counts: BagInfo.Counts(grid: grid, kept: kept, rejectedTissue: tissue, rejectedFocus: focus),
          tumourInstances: Int(f[8]), record: table?[f[0]]))
    }
    self.directory = directory
    self.entries = entries
    self.slideTable = table
  }

  /// The entry of `slideID`, if the store has it.
  public func entry(_ slideID: String) -> Entry? { entries.first { $0.slideID == slideID } }

  /// Loads the bag of `slideID`.
  public func load(_ slideID: String) throws(BagError) -> FeatureBag {
    guard let entry = entry(slideID) else { throw .unknownSlide(slideID, store: directory) }
    return try FeatureBag.read(path: entry.path)
  }

  /// The entries whose slide-table split is `split` (empty without a slide table).
  public func entries(inSplit split: String) -> [Entry] { entries.filter { $0.record?.split == split } }

  /// The splits of the slide table, in order of first appearance (empty without one).
  public var splits: [String] { slideTable?.splits ?? [] }

  /// The `bags.csv` text for `entries` (paths written relative to `directory` when inside it).
  public static func tableText(_ entries: [Entry], directory: String) -> String {
    let prefix = URL(fileURLWithPath: directory).standardizedFileURL.path + "/"
    var out = columns.joined(separator: ",") + "\n"
    for e in entries {
      let bag = e.path.hasPrefix(prefix) ? String(e.path.dropFirst(prefix.count)) : e.path
      out += [
        e.slideID, bag, String(e.instanceCount), String(e.featureDimension), String(e.counts.grid),
        String(e.counts.kept), String(e.counts.rejectedTissue), String(e.counts.rejectedFocus),
        e.tumourInstances.map(String.init) ?? "",
      ].joined(separator: ",") + "\n"
    }
    return out
  }
}

import Foundation
import Slides

/// The slides `replicate slides extract` reads, with their ids, annotation sources and slide table.
public struct SlideSources {
  /// The slides, by file name.
  public var slides: [BagExtractor.SlideInput]
  /// The input's `slides.csv`, when it has one.
  public var table: SlideTable?

  /// File extensions taken for slides in a folder.
  public static let extensions: Set<String> = ["tif", "tiff", "svs", "ndpi", "mrxs", "scn", "vms", "vmu", "bif", "svslide"]

  /// The slides of `input`: a slide, a folder of slides, a synthetic-slides folder (`slides/`,
  /// `annotations/`, `slides.csv`), or the word `synthetic-slides` for the cached set (generated
  /// first, on `threads` threads, if needed).
  ///
  /// - Parameter annotations: an annotation folder (`<id>.xml`; a slide without one is negative)
  ///   or, for one slide, an annotation file. Default: the input's `annotations/` folder.
  /// - Throws: `SlideError` or `AnnotationError` (exit 2) for a missing or empty input.
  public static func resolve(_ input: String, annotations: String?, registry: Registry, threads: Int) throws -> SlideSources {
    let fm = FileManager.default
    var root = input
    if input == SyntheticSlides.name && !fm.fileExists(atPath: input) {
      let set = try SlideDatasetLoader(cacheDirectory: registry.cacheDirectory()).load(
        try registry.dataset(SyntheticSlides.name), threads: threads)
      root = set.directory.path
    }
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: root, isDirectory: &isDirectory) else {
      throw SlideError.cannotOpen(path: root, reason: "no such file or folder")
    }
    func id(_ path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
    if !isDirectory.boolValue {
      var source: BagExtractor.AnnotationSource?
      if let annotations {
        var annotationIsDirectory: ObjCBool = false
        if fm.fileExists(atPath: annotations, isDirectory: &annotationIsDirectory), annotationIsDirectory.boolValue {
          let file = annotations + "/\(id(root)).xml"
          source = fm.fileExists(atPath: file) ? .file(file) : .negative
        } else {
          source = .file(annotations)
        }
      }
      return SlideSources(slides: [BagExtractor.SlideInput(id: id(root), path: root, annotations: source)], table: nil)
    }
    let slideFolder = fm.fileExists(atPath: root + "/slides") ? root + "/slides" : root
    let names = ((try? fm.contentsOfDirectory(atPath: slideFolder)) ?? []).filter {
      extensions.contains(($0 as NSString).pathExtension.lowercased())
    }.sorted()
    guard !names.isEmpty else {
      throw SlideError.cannotOpen(path: root, reason: "no slides (.tiff, .svs, …) in the folder or its slides/ folder")
    }
    let annotationFolder = annotations ?? (fm.fileExists(atPath: root + "/annotations") ? root + "/annotations" : nil)
    if let annotationFolder {
      var isDir: ObjCBool = false
      guard fm.fileExists(atPath: annotationFolder, isDirectory: &isDir), isDir.boolValue else {
        throw AnnotationError.cannotRead(path: annotationFolder, reason: "expected a folder of <slide id>.xml files")
      }
    }
    let tablePath = root + "/slides.csv"
    let table = fm.fileExists(atPath: tablePath) ? try SlideTable.read(path: tablePath) : nil
    let slides = names.map { name -> BagExtractor.SlideInput in
      let path = slideFolder + "/" + name
      let source = annotationFolder.map { folder -> BagExtractor.AnnotationSource in
        let xml = folder + "/\(id(name)).xml"
        return fm.fileExists(atPath: xml) ? .file(xml) : .negative
      }
      return BagExtractor.SlideInput(id: id(name), path: path, annotations: source)
    }
    return SlideSources(slides: slides, table: table)
  }
}

// TEMPORARY: type-checking stub until ImageIO/Filters/SyntheticTissue land. Delete.
public enum ImageIOError: Error, CustomStringConvertible { case cannotOpen(path: String, reason: String); public var description: String { "" } }
public enum ImageIO { public static let supportedExtensions = ["png", "tif", "tiff"]; public static func read(_ path: String) throws -> RGBImage { fatalError() } }
extension RGBImage { public func gaussianBlur(sigma: Double) -> RGBImage { self }; public func defocusBlur(radius: Double) -> RGBImage { self } }
public struct SyntheticTissue: Sendable { public struct Parameters: Sendable { public var imageSize = 64; public var focusVariation = true; public var blurredFraction = 0.2; public init() {} }
  public static let classNames: [String] = []
  public init(parameters: Parameters = .init(), seed: UInt64) {}
  public func image(label: Int, index: Int) -> RGBImage { fatalError() } }

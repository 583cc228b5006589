extension SlidePoint: Codable {
  /// Decodes `[x, y]`.
  public init(from decoder: any Decoder) throws {
    var c = try decoder.unkeyedContainer()
    let x = try c.decode(Double.self)
    let y = try c.decode(Double.self)
    self.init(x: x, y: y)
  }

  /// Encodes `[x, y]` (compact, as GeoJSON positions).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.unkeyedContainer()
    try c.encode(x)
    try c.encode(y)
  }
}

extension Polygon: Codable {
  private enum CodingKeys: String, CodingKey { case outer, holes }

  /// Decodes `{"outer": [[x, y], …], "holes": [[[x, y], …], …]}` (`holes` optional); a ring
  /// with fewer than 3 vertices is a `DecodingError`.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let outer = try c.decode([SlidePoint].self, forKey: .outer)
    let holes = try c.decodeIfPresent([[SlidePoint]].self, forKey: .holes) ?? []
    for ring in [outer] + holes where Polygon.open(ring).count < 3 {
      throw DecodingError.dataCorruptedError(
        forKey: .outer, in: c, debugDescription: "a polygon ring needs at least 3 vertices")
    }
    self.init(outer: outer, holes: holes)
  }

  /// Encodes the rings; `holes` only when there are any.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(outer, forKey: .outer)
    if !holes.isEmpty { try c.encode(holes, forKey: .holes) }
  }
}

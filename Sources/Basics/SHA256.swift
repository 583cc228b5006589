import COpenSSL

/// Incremental SHA-256 (FIPS 180-4) over OpenSSL's libcrypto.
///
/// Used for config hashes and dataset content hashes, so a run can be found again by
/// what it depended on. OpenSSL is used instead of swift-crypto because it is already a
/// system library here and adds no build time.
public struct SHA256Hasher: ~Copyable {
  private let context: OpaquePointer

  /// Starts an empty digest.
  public init() {
    guard let ctx = EVP_MD_CTX_new(), EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
      fatalError("SHA256Hasher: OpenSSL could not initialise SHA-256")
    }
    context = ctx
  }

  deinit { EVP_MD_CTX_free(context) }

  /// Feeds raw bytes.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    EVP_DigestUpdate(context, base, bytes.count)
  }

  /// Feeds the bytes of an array of trivial values (for example `[UInt8]` or `[Float]`).
  public mutating func update<T: BitwiseCopyable>(_ values: [T]) {
    values.withUnsafeBytes { update($0) }
  }

  /// Feeds the UTF-8 bytes of a string.
  public mutating func update(_ string: String) {
    var copy = string
    copy.withUTF8 { update(UnsafeRawBufferPointer($0)) }
  }

  /// Finishes the digest and returns it as 64 lowercase hex digits.
  public consuming func finalize() -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    EVP_DigestFinal_ex(context, &digest, &length)
    return digest.map { byte in
      let hex = String(byte, radix: 16)
      return byte < 16 ? "0" + hex : hex
    }.joined()
  }

  /// SHA-256 of a string's UTF-8 bytes, as hex.
  public static func hex(of string: String) -> String {
    var hasher = SHA256Hasher()
    hasher.update(string)
    return hasher.finalize()
  }
}

internal import COpenSSL

// Algorithms are fetched once per process (explicit fetching avoids OpenSSL 3's per-call implicit lookup) and never
// freed: they live as long as the process, like OpenSSL's own method store.
nonisolated(unsafe) private let sha256Algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA2-256", nil)
nonisolated(unsafe) private let md5Algorithm: OpaquePointer? = EVP_MD_fetch(nil, "MD5", nil)

enum DigestAlgorithm {
    case sha256, md5

    var name: String { self == .sha256 ? "SHA2-256" : "MD5" }
    var outputSize: Int { self == .sha256 ? 32 : 16 }

    func fetched() throws(CryptoError) -> OpaquePointer {
        let algorithm = self == .sha256 ? sha256Algorithm : md5Algorithm
        guard let algorithm else { throw CryptoError.fromErrorQueue("EVP_MD_fetch(\(name))") }
        return algorithm
    }
}

/// Owner of one `EVP_MD_CTX`: an incremental message digest. Freed in `deinit`.
///
/// Not `Sendable`: an EVP context is mutable scratch state for one user at a time.
final class DigestContext {
    private let context: OpaquePointer
    private let algorithm: OpaquePointer
    let outputSize: Int

    init(_ kind: DigestAlgorithm) throws(CryptoError) {
        algorithm = try kind.fetched()
        outputSize = kind.outputSize
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.fromErrorQueue("EVP_MD_CTX_new") }
        self.context = context
        do throws(CryptoError) {
            try reset()
        } catch {
            EVP_MD_CTX_free(context)
            throw error
        }
    }

    deinit { EVP_MD_CTX_free(context) }

    func reset() throws(CryptoError) {
        try check(EVP_DigestInit_ex2(context, algorithm, nil), "EVP_DigestInit_ex2")
    }

    func update(_ bytes: UnsafeRawBufferPointer) throws(CryptoError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try check(EVP_DigestUpdate(context, base, bytes.count), "EVP_DigestUpdate")
    }

    /// Finishes the digest, then re-initialises the context so it can be reused.
    func finalize() throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputSize)
        var length: UInt32 = 0
        try check(EVP_DigestFinal_ex(context, &output, &length), "EVP_DigestFinal_ex")
        try reset()
        return Array(output.prefix(Int(length)))
    }
}

/// One-shot digest of a contiguous buffer: SHA-256 on a stack `SHA256_CTX` with the low-level functions (no context
/// allocation or algorithm fetch; OpenSSL 3's one-shot `SHA256()` and `EVP_Digest` both fetch per call; see
/// HMAC.swift), MD5 through `EVP_Digest`.
func oneShotDigest(_ kind: DigestAlgorithm, _ bytes: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
    if kind == .sha256 {
        var context = SHA256_CTX()
        SHA256_Init(&context)
        if let base = bytes.baseAddress, bytes.count > 0 { SHA256_Update(&context, base, bytes.count) }
        var output = [UInt8](repeating: 0, count: 32)
        output.withUnsafeMutableBufferPointer { out in _ = SHA256_Final(out.baseAddress, &context) }
        return output
    }
    let algorithm = try kind.fetched()
    var output = [UInt8](repeating: 0, count: kind.outputSize)
    var length: UInt32 = 0
    let result = output.withUnsafeMutableBufferPointer { out in
        // A zero-length input still needs a valid pointer.
        withUnsafeBytes(of: UInt8(0)) { empty in
            EVP_Digest(bytes.baseAddress ?? empty.baseAddress, bytes.count, out.baseAddress, &length, algorithm, nil)
        }
    }
    try check(result, "EVP_Digest")
    return output
}

// MARK: - SHA-256

/// SHA-256 (FIPS 180-4) through libcrypto.
///
/// Incremental use: `var h = try SHA256()`, `try h.update(...)` any number of times, `try h.finalize()`. The
/// context is freed when the value is released. After `finalize()` the hasher starts over, so it can be reused.
/// Not `Sendable` (it owns mutable C state).
public struct SHA256 {
    /// Size of a SHA-256 digest in bytes.
    public static let byteCount = 32
    private let context: DigestContext

    /// Creates a hasher with a fresh `EVP_MD_CTX`.
    public init() throws(CryptoError) { context = try DigestContext(.sha256) }

    /// Feeds `bytes` into the hash.
    public func update(_ bytes: UnsafeRawBufferPointer) throws(CryptoError) { try context.update(bytes) }

    /// Feeds `bytes` into the hash.
    public func update(_ bytes: [UInt8]) throws(CryptoError) {
        try withRawBytes(bytes) { (raw) throws(CryptoError) in try context.update(raw) }
    }

    /// Feeds the UTF-8 bytes of `string` into the hash.
    public func update(_ string: String) throws(CryptoError) {
        try withRawBytes(string) { (raw) throws(CryptoError) in try context.update(raw) }
    }

    /// Returns the 32-byte digest of everything fed so far and resets the hasher.
    public func finalize() throws(CryptoError) -> [UInt8] { try context.finalize() }

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        try oneShotDigest(.sha256, bytes)
    }

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) throws(CryptoError) -> [UInt8] {
        try withRawBytes(bytes) { (raw) throws(CryptoError) in try oneShotDigest(.sha256, raw) }
    }

    /// The SHA-256 digest of the UTF-8 bytes of `string`.
    public static func hash(_ string: String) throws(CryptoError) -> [UInt8] {
        try withRawBytes(string) { (raw) throws(CryptoError) in try oneShotDigest(.sha256, raw) }
    }

    /// The SHA-256 digest of a file's contents, read in 1 MiB blocks (never the whole file in memory).
    ///
    /// - Parameters: `offset`/`length` select a byte range (`length` nil = to the end).
    public static func hash(filePath: String, offset: Int64 = 0, length: Int64? = nil) throws(CryptoError) -> [UInt8] {
        let hasher = try SHA256()
        try FileBlocks.forEach(path: filePath, offset: offset, length: length) { (block) throws(CryptoError) in
            try hasher.update(block)
        }
        return try hasher.finalize()
    }
}

// MARK: - MD5

/// MD5, for S3 ETag comparison and `Content-MD5` headers only (never for security).
public enum MD5 {
    /// The 16-byte MD5 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) throws(CryptoError) -> [UInt8] {
        try withRawBytes(bytes) { (raw) throws(CryptoError) in try oneShotDigest(.md5, raw) }
    }

    /// The MD5 digest of a file's contents (or a byte range of it), read in 1 MiB blocks.
    public static func hash(filePath: String, offset: Int64 = 0, length: Int64? = nil) throws(CryptoError) -> [UInt8] {
        let context = try DigestContext(.md5)
        try FileBlocks.forEach(path: filePath, offset: offset, length: length) { (block) throws(CryptoError) in
            try context.update(block)
        }
        return try context.finalize()
    }
}

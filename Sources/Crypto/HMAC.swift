internal import COpenSSL

/// A template `EVP_MAC_CTX` for HMAC with SHA-256 already selected. Each computation duplicates it
/// (`EVP_MAC_CTX_dup`), which avoids re-fetching the digest by name on every call. The template is created once,
/// never mutated afterwards (dup only reads it) and lives as long as the process.
nonisolated(unsafe) private let hmacSHA256Template: OpaquePointer? = {
    guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { return nil }
    defer { EVP_MAC_free(mac) }  // the context keeps its own reference
    guard let context = EVP_MAC_CTX_new(mac) else { return nil }
    let ok = "digest".withCString { key in
        "SHA256".withCString { value in
            var params = [
                OSSL_PARAM_construct_utf8_string(key, UnsafeMutablePointer(mutating: value), 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_CTX_set_params(context, &params)
        }
    }
    guard ok == 1 else {
        EVP_MAC_CTX_free(context)
        return nil
    }
    return context
}()

/// Owner of one `EVP_MAC_CTX` (HMAC-SHA256), freed in `deinit`. Not `Sendable`.
final class HMACContext {
    private let context: OpaquePointer

    init(key: UnsafeRawBufferPointer) throws(CryptoError) {
        guard let template = hmacSHA256Template else { throw CryptoError.fromErrorQueue("EVP_MAC_fetch(HMAC)") }
        guard let context = EVP_MAC_CTX_dup(template) else { throw CryptoError.fromErrorQueue("EVP_MAC_CTX_dup") }
        self.context = context
        // HMAC accepts an empty key; libcrypto still wants a non-null pointer.
        let result = withUnsafeBytes(of: UInt8(0)) { empty in
            EVP_MAC_init(context, (key.baseAddress ?? empty.baseAddress)!.assumingMemoryBound(to: UInt8.self),
                         key.count, nil)
        }
        if result != 1 {
            let error = CryptoError.fromErrorQueue("EVP_MAC_init")
            EVP_MAC_CTX_free(context)
            throw error
        }
    }

    deinit { EVP_MAC_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) throws(CryptoError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try check(EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), bytes.count), "EVP_MAC_update")
    }

    func finalize() throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: HMACSHA256.byteCount)
        var length = 0
        try check(EVP_MAC_final(context, &output, &length, output.count), "EVP_MAC_final")
        return Array(output.prefix(length))
    }
}

/// HMAC (RFC 2104) with SHA-256, through libcrypto's `EVP_MAC` interface.
public enum HMACSHA256 {
    /// Size of an HMAC-SHA256 code in bytes.
    public static let byteCount = 32

    /// The HMAC-SHA256 of `message` under `key`.
    public static func authenticationCode(
        for message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer
    ) throws(CryptoError) -> [UInt8] {
        let context = try HMACContext(key: key)
        try context.update(message)
        return try context.finalize()
    }

    /// The HMAC-SHA256 of `message` under `key`.
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) throws(CryptoError) -> [UInt8] {
        try withRawBytes(key) { (rawKey) throws(CryptoError) in
            try withRawBytes(message) { (rawMessage) throws(CryptoError) in
                try authenticationCode(for: rawMessage, key: rawKey)
            }
        }
    }

    /// The HMAC-SHA256 of the UTF-8 bytes of `message` under `key`.
    public static func authenticationCode(for message: String, key: [UInt8]) throws(CryptoError) -> [UInt8] {
        try withRawBytes(key) { (rawKey) throws(CryptoError) in
            try withRawBytes(message) { (rawMessage) throws(CryptoError) in
                try authenticationCode(for: rawMessage, key: rawKey)
            }
        }
    }
}

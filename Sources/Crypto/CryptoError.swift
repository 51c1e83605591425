// The Crypto module: the project's only Swift importer of libcrypto (OpenSSL 3).
// It offers SHA-256 (incremental and one-shot), HMAC-SHA256, MD5 (for ETags / Content-MD5), hex and secure random
// bytes, all over `[UInt8]` and raw buffers. No OpenSSL type appears in a public signature.
internal import COpenSSL

/// A libcrypto failure: the operation that failed, OpenSSL's packed error code and its own message.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// The libcrypto call (or Swift-level step) that failed, e.g. `"EVP_DigestUpdate"`.
    public var operation: String
    /// The first code from OpenSSL's error queue (`ERR_get_error`), or 0 when the queue was empty.
    public var code: UInt
    /// OpenSSL's message for `code` (`ERR_error_string_n`), or a description of the Swift-level failure.
    public var message: String

    public var description: String { "libcrypto \(operation) failed: \(message) (code \(code))" }

    /// Captures and clears OpenSSL's per-thread error queue for a failed `operation`.
    static func fromErrorQueue(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        var message = "no OpenSSL error recorded"
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            message = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        return CryptoError(operation: operation, code: UInt(code), message: message)
    }
}

/// Throws a `CryptoError` for `operation` unless `result` is OpenSSL's success value (1).
@inline(__always)
func check(_ result: Int32, _ operation: StaticString) throws(CryptoError) {
    if result != 1 { throw CryptoError.fromErrorQueue("\(operation)") }
}

/// `Array.withUnsafeBytes` with a typed-throws body (the standard library's version is untyped `rethrows`).
@inline(__always)
func withRawBytes<R>(
    _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R
) throws(CryptoError) -> R {
    try bytes.withUnsafeBytes { raw in Result { () throws(CryptoError) in try body(raw) } }.get()
}

/// The UTF-8 bytes of `string` as a raw buffer, with a typed-throws body.
@inline(__always)
func withRawBytes<R>(
    _ string: String, _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R
) throws(CryptoError) -> R {
    var string = string
    return try string.withUTF8 { utf8 in
        Result { () throws(CryptoError) in try body(UnsafeRawBufferPointer(utf8)) }
    }.get()
}

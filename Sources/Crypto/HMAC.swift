internal import COpenSSL

// HMAC-SHA256 is built here on libcrypto's low-level SHA-256 (`SHA256_Init/Update/Final`; deprecated in OpenSSL 3
// in favour of EVP but still built, with the same SHA-NI/AVX2 code underneath). Its context is a plain struct, so a
// key's precomputed inner and outer states are copied by value: no allocation, no provider lookup, and no
// EVP_MAC_CTX to duplicate and free per code — SigV4 signs every AWS request with one HMAC under a cached key.

/// HMAC-SHA256 (RFC 2104) under one key, with the key schedule (one SHA-256 block of key ⊕ ipad and one of
/// key ⊕ opad) done once in `init`; each `authenticationCode` then costs the message's blocks plus one block.
public struct HMACSHA256Key: @unchecked Sendable {  // two plain C structs, never mutated after init
    private let inner: SHA256_CTX
    private let outer: SHA256_CTX

    public init(_ key: UnsafeRawBufferPointer) {
        var block = [UInt8](repeating: 0, count: 64)
        block.withUnsafeMutableBufferPointer { padded in
            if key.count > 64 {
                var context = SHA256_CTX()
                SHA256_Init(&context)
                SHA256_Update(&context, key.baseAddress, key.count)
                _ = SHA256_Final(padded.baseAddress, &context)
            } else if let base = key.baseAddress {
                padded.baseAddress!.update(from: base.assumingMemoryBound(to: UInt8.self), count: key.count)
            }
        }
        var innerState = SHA256_CTX()
        var outerState = SHA256_CTX()
        SHA256_Init(&innerState)
        SHA256_Init(&outerState)
        let innerPad = block.map { $0 ^ 0x36 }
        let outerPad = block.map { $0 ^ 0x5c }
        SHA256_Update(&innerState, innerPad, 64)
        SHA256_Update(&outerState, outerPad, 64)
        inner = innerState
        outer = outerState
    }

    public init(_ key: [UInt8]) {
        self = key.withUnsafeBytes { HMACSHA256Key($0) }
    }

    /// The HMAC-SHA256 of `message` under this key.
    public func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        var context = inner
        if let base = message.baseAddress, message.count > 0 { SHA256_Update(&context, base, message.count) }
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { out in
            _ = SHA256_Final(out.baseAddress, &context)
            context = outer
            SHA256_Update(&context, out.baseAddress, 32)
            _ = SHA256_Final(out.baseAddress, &context)
        }
        return digest
    }

    /// The HMAC-SHA256 of `message` under this key.
    public func authenticationCode(for message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { authenticationCode(for: $0) }
    }
}

/// HMAC (RFC 2104) with SHA-256.
public enum HMACSHA256 {
    /// Size of an HMAC-SHA256 code in bytes.
    public static let byteCount = 32

    /// The HMAC-SHA256 of `message` under `key`.
    public static func authenticationCode(
        for message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer
    ) throws(CryptoError) -> [UInt8] {
        HMACSHA256Key(key).authenticationCode(for: message)
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

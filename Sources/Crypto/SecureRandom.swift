internal import COpenSSL

/// Cryptographically secure random bytes from libcrypto's default DRBG (`RAND_bytes`).
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max), "SecureRandom.bytes: count out of range")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        try check(RAND_bytes(&output, Int32(count)), "RAND_bytes")
        return output
    }
}

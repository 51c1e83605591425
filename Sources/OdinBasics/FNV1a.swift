/// FNV-1a, 64 bit (http://www.isthe.com/chongo/tech/comp/fnv/): a small stable hash for ids and file names. Not for
/// security.
package enum FNV1a {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x100_0000_01b3

    /// The hash of `bytes`.
    package static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash = offsetBasis
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return hash
    }

    /// The hash of `text`'s UTF-8 bytes.
    package static func hash(_ text: String) -> UInt64 { hash(text.utf8) }

    /// The first `digits` of the hash as 16 lower-case, zero-padded hex digits.
    package static func hex(_ text: String, digits: Int = 16) -> String {
        let hex = String(hash(text), radix: 16)
        return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(digits))
    }
}

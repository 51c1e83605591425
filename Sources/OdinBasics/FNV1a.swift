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

    /// The hash of nothing: start here and `add` the parts of a text to hash it without building it.
    package static let start = offsetBasis

    /// Continues `hash` over `text`'s UTF-8 bytes (`hash(a + b)` is `add(b, to: add(a, to: start))`).
    package static func add(_ text: String, to hash: inout UInt64) {
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* prime }
    }

    /// Continues `hash` over one byte.
    package static func add(byte: UInt8, to hash: inout UInt64) { hash = (hash ^ UInt64(byte)) &* prime }

    /// The hash of `text`'s UTF-8 bytes.
    package static func hash(_ text: String) -> UInt64 { hash(text.utf8) }

    /// The first `digits` of the hash as 16 lower-case, zero-padded hex digits.
    package static func hex(_ text: String, digits: Int = 16) -> String {
        let hex = String(hash(text), radix: 16)
        return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(digits))
    }
}

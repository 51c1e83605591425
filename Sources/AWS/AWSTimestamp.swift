import OdinBasics

/// A UTC instant formatted the two ways SigV4 needs: `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd`.
public struct AWSTimestamp: Sendable, Equatable {
    public let dateTime: String
    public let date: String

    public init(_ instant: Instant) {
        let civil = CivilTime(secondsSince1970: Int64(instant.timeIntervalSince1970.rounded(.down)))
        // Written straight into the strings' storage (signing formats one per request).
        func put(_ value: Int, at offset: Int, width: Int, into bytes: UnsafeMutableBufferPointer<UInt8>) {
            var value = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[position] = UInt8(0x30 + value % 10)
                value /= 10
            }
        }
        dateTime = String(unsafeUninitializedCapacity: 16) { bytes in
            put(civil.year, at: 0, width: 4, into: bytes)
            put(civil.month, at: 4, width: 2, into: bytes)
            put(civil.day, at: 6, width: 2, into: bytes)
            bytes[8] = UInt8(ascii: "T")
            put(civil.hour, at: 9, width: 2, into: bytes)
            put(civil.minute, at: 11, width: 2, into: bytes)
            put(civil.second, at: 13, width: 2, into: bytes)
            bytes[15] = UInt8(ascii: "Z")
            return 16
        }
        date = String(unsafeUninitializedCapacity: 8) { bytes in
            put(civil.year, at: 0, width: 4, into: bytes)
            put(civil.month, at: 4, width: 2, into: bytes)
            put(civil.day, at: 6, width: 2, into: bytes)
            return 8
        }
    }
}

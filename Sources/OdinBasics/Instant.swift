#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as seconds since 1970-01-01T00:00:00Z: the Foundation-free stand-in for `Date` in everything the
/// Lambda functions link (AWS, Events, OdinKit, Odin, OdinAWS). The names mirror `Date`'s, so code reads the same;
/// executables that hold a `Foundation.Date` convert with `Instant(timeIntervalSince1970: date.timeIntervalSince1970)`.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var timeIntervalSince1970: Double

    public init(timeIntervalSince1970: Double) {
        self.timeIntervalSince1970 = timeIntervalSince1970
    }

    /// The system's wall clock now (CLOCK_REALTIME). Inject a clock wherever results must be reproducible.
    public static var now: Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(timeIntervalSince1970: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000)
    }

    /// Seconds from `other` to `self` (negative if `other` is later).
    public func timeIntervalSince(_ other: Instant) -> Double { timeIntervalSince1970 - other.timeIntervalSince1970 }

    public func addingTimeInterval(_ seconds: Double) -> Instant {
        Instant(timeIntervalSince1970: timeIntervalSince1970 + seconds)
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.timeIntervalSince1970 < rhs.timeIntervalSince1970 }
    public static func + (lhs: Instant, rhs: Double) -> Instant { lhs.addingTimeInterval(rhs) }
    public static func - (lhs: Instant, rhs: Double) -> Instant { lhs.addingTimeInterval(-rhs) }

    /// `2026-12-03 18:28:08 +0000`, as `Date` prints itself.
    public var description: String {
        let t = CivilTime(secondsSince1970: Int64(timeIntervalSince1970.rounded(.down)))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var year = String(t.year)
        while year.count < 4 { year = "0" + year }
        return "\(year)-\(two(t.month))-\(two(t.day)) \(two(t.hour)):\(two(t.minute)):\(two(t.second)) +0000"
    }
}

/// Base64 (RFC 4648 §4, with padding), Foundation-free: DynamoDB binary attributes, Content-MD5.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(n >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = input.count - index
        if rest > 0 {
            let n = UInt32(input[index]) << 16 | (rest == 2 ? UInt32(input[index + 1]) << 8 : 0)
            output.append(alphabet[Int(n >> 18 & 63)])
            output.append(alphabet[Int(n >> 12 & 63)])
            output.append(rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of padded base64 `text`, or nil if it is not valid base64 (as `Data(base64Encoded:)`).
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var n: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let c = input[index + offset]
                let value: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): value = 62
                case UInt8(ascii: "/"): value = 63
                case UInt8(ascii: "=") where offset >= 2 && index + 4 == input.count:
                    padding += 1
                    value = 0
                default: return nil
                }
                if padding > 0 && c != UInt8(ascii: "=") { return nil }
                n = n << 6 | value
            }
            output.append(UInt8(n >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(n >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(n & 0xFF)) }
            index += 4
        }
        return output
    }
}

/// Random identifiers where AWS asks for a client token (idempotency tokens): a version 4 UUID string from the
/// system's random source, as `UUID().uuidString` prints it (upper-case hex).
public enum RandomID {
    public static func uuidString() -> String {
        var generator = SystemRandomNumberGenerator()
        return uuidString(using: &generator)
    }

    public static func uuidString(using generator: inout some RandomNumberGenerator) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

import FoundationEssentials
import OdinKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes one Stage 1 JSON line into a `Stage1Record` without the generic `JSONDecoder` machinery (which dominated
/// condensation time). It accepts exactly the same documents: any line it cannot handle (a missing required key, a
/// type mismatch, malformed JSON) is handed to `JSONDecoder`, so errors and edge cases keep `Codable` semantics.
struct Stage1LineParser {
    private let fallback = JSONDecoder()

    func decode(_ line: [UInt8]) throws -> Stage1Record {
        try line.withUnsafeBufferPointer { try decode($0) }
    }

    func decode(_ line: UnsafeBufferPointer<UInt8>) throws -> Stage1Record {
        var scanner = Scanner(bytes: line)
        if let record = scanner.record() { return record }
        return try fallback.decode(Stage1Record.self, from: Data(line))
    }
}

private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skipSpace() {
        while i < bytes.count {
            let c = bytes[i]
            guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
            i += 1
        }
    }

    mutating func consume(_ c: UInt8) -> Bool {
        skipSpace()
        guard i < bytes.count, bytes[i] == c else { return false }
        i += 1
        return true
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return i < bytes.count ? bytes[i] : nil
    }

    /// The record, or nil to let JSONDecoder decide (and explain).
    mutating func record() -> Stage1Record? {
        var path: String?, camera: String?, detector: String?
        var timestamp: String?, frameTime: Double?, frameNumber: Int?, frameRate: Double?
        var localTime: String?, timeZone: String?, utcOffset: String?, timeZoneSource: String?
        var latitude: Double?, longitude: Double?, width: Int?, height: Int?
        var detections: [Detection]?, errors: [String]?
        guard consume(UInt8(ascii: "{")) else { return nil }
        if !consume(UInt8(ascii: "}")) {
            repeat {
                guard let key = key() else { return nil }
                guard consume(UInt8(ascii: ":")) else { return nil }
                switch key {
                case .path: guard let v = string() else { return nil }; path = v
                case .cameraID: guard let v = string() else { return nil }; camera = v
                case .detector: guard let v = string() else { return nil }; detector = v
                case .timestamp: guard let v = optional({ $0.string() }) else { return nil }; timestamp = v
                case .localTime: guard let v = optional({ $0.string() }) else { return nil }; localTime = v
                case .timeZone: guard let v = optional({ $0.string() }) else { return nil }; timeZone = v
                case .utcOffset: guard let v = optional({ $0.string() }) else { return nil }; utcOffset = v
                case .timeZoneSource:
                    guard let v = optional({ $0.string() }) else { return nil }
                    timeZoneSource = v
                case .frameTime: guard let v = optional({ $0.number() }) else { return nil }; frameTime = v
                case .frameNumber: guard let v = optional({ $0.integer() }) else { return nil }; frameNumber = v
                case .frameRate: guard let v = optional({ $0.number() }) else { return nil }; frameRate = v
                case .latitude: guard let v = optional({ $0.number() }) else { return nil }; latitude = v
                case .longitude: guard let v = optional({ $0.number() }) else { return nil }; longitude = v
                case .width: guard let v = optional({ $0.integer() }) else { return nil }; width = v
                case .height: guard let v = optional({ $0.integer() }) else { return nil }; height = v
                case .detections:
                    guard let v = array({ $0.detection() }) else { return nil }
                    detections = v
                case .errors:
                    guard let v = array({ $0.string() }) else { return nil }
                    errors = v
                default:
                    guard skipValue() else { return nil }
                }
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "}")) else { return nil }
        }
        skipSpace()
        guard i == bytes.count, let path, let camera, let detector, let detections, let errors else { return nil }
        return Stage1Record(path: path, cameraID: camera, timestamp: timestamp, frameTime: frameTime,
                            frameNumber: frameNumber, frameRate: frameRate, latitude: latitude, longitude: longitude,
                            width: width, height: height, detections: detections, detector: detector, errors: errors,
                            localTime: localTime, timeZone: timeZone, utcOffset: utcOffset,
                            timeZoneSource: timeZoneSource)
    }

    mutating func detection() -> Detection? {
        var category: String?, label: String?, conf: Double?, bbox: [Double]?, doubtful: Bool??
        var crop: String??, thumbnail: String??
        guard consume(UInt8(ascii: "{")) else { return nil }
        if !consume(UInt8(ascii: "}")) {
            repeat {
                guard let key = key(), consume(UInt8(ascii: ":")) else { return nil }
                switch key {
                case .category: guard let v = string() else { return nil }; category = v
                case .label: guard let v = string() else { return nil }; label = v
                case .conf: guard let v = number() else { return nil }; conf = v
                case .bbox: guard let v = array({ $0.number() }) else { return nil }; bbox = v
                case .doubtful: guard let v = optional({ $0.boolean() }) else { return nil }; doubtful = .some(v)
                case .crop: guard let v = optional({ $0.string() }) else { return nil }; crop = .some(v)
                case .thumbnail: guard let v = optional({ $0.string() }) else { return nil }; thumbnail = .some(v)
                default: guard skipValue() else { return nil }
                }
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "}")) else { return nil }
        }
        guard let category, let label, let conf, let bbox else { return nil }
        return Detection(category: category, label: label, conf: conf, bbox: bbox, doubtful: doubtful ?? nil,
                         crop: crop ?? nil, thumbnail: thumbnail ?? nil)
    }

    /// `null` → .some(nil); a value → .some(value); malformed → nil.
    mutating func optional<T>(_ body: (inout Scanner) -> T?) -> T?? {
        if literal("null") { return .some(nil) }
        guard let v = body(&self) else { return nil }
        return .some(v)
    }

    mutating func array<T>(_ element: (inout Scanner) -> T?) -> [T]? {
        guard consume(UInt8(ascii: "[")) else { return nil }
        var items: [T] = []
        if consume(UInt8(ascii: "]")) { return items }
        repeat {
            guard let v = element(&self) else { return nil }
            items.append(v)
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]")) ? items : nil
    }

    mutating func literal(_ word: StaticString) -> Bool {
        skipSpace()
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        let base = word.utf8Start
        for k in 0..<n where bytes[i + k] != base[k] { return false }
        i += n
        return true
    }

    mutating func boolean() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    mutating func number() -> Double? {
        skipSpace()
        let start = i
        if i < bytes.count && bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
        guard i > intStart, !(bytes[intStart] == 0x30 && i - intStart > 1) else { return nil }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            guard i > fracStart else { return nil }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            let expStart = i
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            guard i > expStart else { return nil }
        }
        // Exact fast path (Clinger): at most 15 significant digits make an integer m < 2^53, and 10^k for
        // k ≤ 22 is exact, so m / 10^k or m × 10^k is one correctly rounded operation, the value strtod returns.
        if let v = Self.fastDecimal(bytes, start, i) { return v }
        let length = i - start
        guard length < 64 else { return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)) }
        // strtod on a NUL-terminated copy (the grammar above already rejected what JSON does not allow).
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            for k in 0..<length { buffer[k] = CChar(bitPattern: bytes[start + k]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// The number in `bytes[start..<end]` (already checked against JSON's grammar) when the fast path is exact.
    static func fastDecimal(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var k = start
        let negative = bytes[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, scale = 0
        var fraction = false
        while k < end {
            let c = bytes[k]
            if c == UInt8(ascii: ".") {
                fraction = true
            } else if c >= 0x30 && c <= 0x39 {
                if mantissa != 0 || c != 0x30 { digits += 1 }
                guard digits <= 15 else { return nil }
                mantissa = mantissa * 10 + UInt64(c - 0x30)
                if fraction { scale -= 1 }
            } else {
                break
            }
            k += 1
        }
        if k < end {  // exponent
            k += 1
            var negativeExponent = false
            if bytes[k] == UInt8(ascii: "+") || bytes[k] == UInt8(ascii: "-") {
                negativeExponent = bytes[k] == UInt8(ascii: "-")
                k += 1
            }
            var e = 0
            while k < end {
                e = e * 10 + Int(bytes[k] - 0x30)
                guard e < 1000 else { return nil }
                k += 1
            }
            scale += negativeExponent ? -e : e
        }
        var value = Double(mantissa)
        if mantissa != 0 {
            guard scale >= -22 && scale <= 22 else { return nil }
            value = scale < 0 ? value / powersOfTen[-scale] : value * powersOfTen[scale]
        }
        return negative ? -value : value
    }

    mutating func integer() -> Int? {
        guard let d = number(), d == d.rounded(), abs(d) < 9e15 else { return nil }
        return Int(d)
    }

    /// The keys this parser reads (a record's and a detection's), matched on their bytes.
    enum Key: Int, CaseIterable {
        case path, cameraID, timestamp, latitude, longitude, detections, detector, errors, category, label, conf, bbox
        case localTime, timeZone, utcOffset, timeZoneSource, frameTime, frameNumber, frameRate, width, height
        case doubtful, crop, thumbnail
        /// Any other key (its value is skipped).
        case other

        static let names: [StaticString] = [
            "path", "camera_id", "timestamp", "latitude", "longitude", "detections", "detector", "errors",
            "category", "label", "conf", "bbox", "local_time", "time_zone", "utc_offset", "time_zone_source",
            "frame_time", "frame_number", "frame_rate", "width", "height", "doubtful", "crop", "thumbnail",
        ]

        init(_ name: String) {
            self = Self.allCases.first { $0 != .other && Self.names[$0.rawValue].description == name } ?? .other
        }
    }

    /// An object key, without building a String for the plain-ASCII spellings of the known names; an escaped
    /// spelling is decoded first (`"p\u0061th"` is `path`).
    mutating func key() -> Key? {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        var end = i + 1
        while end < bytes.count {
            let c = bytes[end]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return string().map(Key.init) }
            end += 1
        }
        guard end < bytes.count else { return nil }
        let start = i + 1, length = end - start
        i = end + 1
        for (k, name) in Key.names.enumerated() where name.utf8CodeUnitCount == length
            && memcmp(name.utf8Start, bytes.baseAddress! + start, length) == 0 {
            return Key(rawValue: k)
        }
        return .other
    }

    mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = i
        var escaped = false
        var ascii = true
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") { escaped = true; i += 2; continue }
            if c < 0x20 { return nil }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        guard i < bytes.count else { return nil }
        let end = i
        i += 1
        if !escaped && ascii {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        if !escaped {
            return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        return unescape(start, end)
    }

    private func unescape(_ start: Int, _ end: Int) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var k = start
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= end else { return nil }
            var v: UInt32 = 0
            for j in at..<(at + 4) {
                let c = bytes[j]
                v <<= 4
                switch c {
                case 0x30...0x39: v |= UInt32(c - 0x30)
                case 0x41...0x46: v |= UInt32(c - 0x37)
                case 0x61...0x66: v |= UInt32(c - 0x57)
                default: return nil
                }
            }
            return v
        }
        while k < end {
            let c = bytes[k]
            guard c == UInt8(ascii: "\\") else { out.append(c); k += 1; continue }
            guard k + 1 < end else { return nil }
            let e = bytes[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(k) else { return nil }
                k += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard k + 6 <= end, bytes[k] == 0x5C, bytes[k + 1] == UInt8(ascii: "u"),
                          let low = hex4(k + 2), (0xDC00...0xDFFF).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    k += 6
                }
                guard let u = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: return nil
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Skips any JSON value (unknown keys).
    mutating func skipValue() -> Bool {
        guard let c = peek() else { return false }
        switch c {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"):
            i += 1
            if consume(UInt8(ascii: "}")) { return true }
            repeat {
                guard string() != nil, consume(UInt8(ascii: ":")), skipValue() else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            i += 1
            if consume(UInt8(ascii: "]")) { return true }
            repeat { guard skipValue() else { return false } } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number() != nil
        }
    }
}

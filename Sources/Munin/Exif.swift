#if canImport(Glibc)
import Glibc
#endif

/// What Munin reads from a still's EXIF block: capture time, camera, GPS.
public struct ExifData: Sendable, Equatable {
    public var make: String?
    public var model: String?
    /// Raw EXIF date-times (`YYYY:MM:DD HH:MM:SS`, camera local time).
    public var dateTimeOriginal: String?
    public var dateTimeDigitized: String?
    public var dateTime: String?
    /// EXIF 2.31 UTC offsets (`+01:00`) belonging to the date-times above, when the camera writes them.
    public var offsetTimeOriginal: String?
    public var offsetTimeDigitized: String?
    public var offsetTime: String?
    /// Decimal degrees, north and east positive.
    public var latitude: Double?
    public var longitude: Double?
    /// Metres above sea level (negative below).
    public var altitude: Double?
    /// TIFF orientation 1…8, when present.
    public var orientation: Int?
    /// Problems found while reading (bad GPS values, unreadable entries); the rest of the block is still used.
    public var warnings: [String] = []

    public init() {}

    /// The capture time by preference: `DateTimeOriginal`, then `DateTimeDigitized`, then `DateTime`, with the
    /// matching offset tag and the name of the tag used.
    public var captureTime: (value: String, offset: String?, tag: String)? {
        if let value = dateTimeOriginal { return (value, offsetTimeOriginal, "DateTimeOriginal") }
        if let value = dateTimeDigitized { return (value, offsetTimeDigitized, "DateTimeDigitized") }
        if let value = dateTime { return (value, offsetTime, "DateTime") }
        return nil
    }
}

/// A malformed EXIF block, with where it broke.
public struct ExifError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "EXIF: \(message)" }
}

/// Reads the EXIF block of JPEG (APP1 `Exif\0\0`) and PNG (`eXIf` chunk) files: TIFF header in either byte order,
/// IFD0, the Exif IFD and the GPS IFD. Our own parser, bounds-checked throughout; no library.
public enum ExifReader {
    /// Reads the first `limit` bytes of the file at `path` and parses its EXIF block. Nil when the file has none.
    /// Blocking file I/O.
    public static func read(path: String, limit: Int = 256 * 1024) throws -> ExifData? {
        guard let file = fopen(path, "rb") else { throw ExifError("cannot open \(path) (errno \(errno))") }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: limit)
        let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return try parse(fileHead: buffer[0..<count])
    }

    /// Finds and parses the EXIF block in the head of a JPEG or PNG file. Nil when there is none.
    public static func parse(fileHead bytes: ArraySlice<UInt8>) throws(ExifError) -> ExifData? {
        let b = Array(bytes)
        if b.count >= 2 && b[0] == 0xFF && b[1] == 0xD8 { return try parseJPEG(b) }
        if b.count >= 8 && b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return try parsePNG(b) }
        return nil
    }

    private static func parseJPEG(_ b: [UInt8]) throws(ExifError) -> ExifData? {
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { throw ExifError("JPEG marker expected at byte \(i)") }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan / end: no EXIF before the image
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2 else { throw ExifError("JPEG segment length \(length) at byte \(i)") }
            let start = i + 4, end = i + 2 + length
            if marker == 0xE1, end <= b.count, length >= 8,
               b[start..<start + 6] == [0x45, 0x78, 0x69, 0x66, 0, 0]
            {
                return try parseTIFF(b[(start + 6)..<end])
            }
            i = end
        }
        return nil
    }

    private static func parsePNG(_ b: [UInt8]) throws(ExifError) -> ExifData? {
        var i = 8
        while i + 8 <= b.count {
            let length = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            let start = i + 8, end = start + length
            if type == "eXIf" {
                guard end <= b.count else { throw ExifError("PNG eXIf chunk runs past the bytes read") }
                return try parseTIFF(b[start..<end])
            }
            if type == "IEND" { return nil }
            i = end + 4  // skip CRC
        }
        return nil
    }

    /// Parses a TIFF structure (the payload of an EXIF block).
    public static func parseTIFF(_ slice: ArraySlice<UInt8>) throws(ExifError) -> ExifData {
        let tiff = TIFF(bytes: Array(slice))
        guard tiff.bytes.count >= 8 else { throw ExifError("TIFF header shorter than 8 bytes") }
        switch (tiff.bytes[0], tiff.bytes[1]) {
        case (0x49, 0x49): tiff.bigEndian = false
        case (0x4D, 0x4D): tiff.bigEndian = true
        default: throw ExifError("TIFF byte order mark is neither II nor MM")
        }
        guard tiff.u16(2) == 42 else { throw ExifError("TIFF magic is not 42") }
        var data = ExifData()
        let ifd0 = try tiff.entries(at: Int(tiff.u32(4)!), name: "IFD0")
        data.make = tiff.string(ifd0[0x010F])
        data.model = tiff.string(ifd0[0x0110])
        data.dateTime = tiff.string(ifd0[0x0132])
        data.orientation = tiff.integer(ifd0[0x0112])
        if let pointer = tiff.integer(ifd0[0x8769]) {
            do {
                let exif = try tiff.entries(at: pointer, name: "Exif IFD")
                data.dateTimeOriginal = tiff.string(exif[0x9003])
                data.dateTimeDigitized = tiff.string(exif[0x9004])
                data.offsetTime = tiff.string(exif[0x9010])
                data.offsetTimeOriginal = tiff.string(exif[0x9011])
                data.offsetTimeDigitized = tiff.string(exif[0x9012])
            } catch { data.warnings.append(error.description) }
        }
        if let pointer = tiff.integer(ifd0[0x8825]) {
            do {
                let gps = try tiff.entries(at: pointer, name: "GPS IFD")
                data.latitude = coordinate(tiff, gps, value: 0x0002, ref: 0x0001, positive: "N", negative: "S",
                                           limit: 90, name: "GPSLatitude", warnings: &data.warnings)
                data.longitude = coordinate(tiff, gps, value: 0x0004, ref: 0x0003, positive: "E", negative: "W",
                                            limit: 180, name: "GPSLongitude", warnings: &data.warnings)
                if data.latitude == 0 && data.longitude == 0 {
                    data.warnings.append("GPS position is 0,0 (no fix); ignored")
                    data.latitude = nil
                    data.longitude = nil
                }
                if data.latitude == nil || data.longitude == nil { data.latitude = nil; data.longitude = nil }
                if let altitude = tiff.rationals(gps[0x0006])?.first {
                    let below = tiff.integer(gps[0x0005]) == 1
                    data.altitude = below ? -altitude : altitude
                }
            } catch { data.warnings.append(error.description) }
        }
        return data
    }

    private static func coordinate(_ tiff: TIFF, _ gps: [UInt16: TIFF.Entry], value: UInt16, ref: UInt16,
                                   positive: String, negative: String, limit: Double, name: String,
                                   warnings: inout [String]) -> Double?
    {
        guard let entry = gps[value] else { return nil }
        guard let parts = tiff.rationals(entry), parts.count == 3, parts.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            warnings.append("\(name) is not three valid rationals; ignored")
            return nil
        }
        let degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
        guard degrees <= limit else {
            warnings.append("\(name) \(degrees) is out of range; ignored")
            return nil
        }
        let hemisphere = tiff.string(gps[ref])?.trimmingSpaces.uppercased()
        switch hemisphere {
        case positive: return degrees
        case negative: return -degrees
        default:
            warnings.append("\(name)Ref is \(hemisphere.map { "'\($0)'" } ?? "missing"); position ignored")
            return nil
        }
    }
}

/// A bounds-checked TIFF reader over bytes.
private final class TIFF {
    struct Entry { var type: UInt16; var count: Int; var valueOffset: Int }

    let bytes: [UInt8]
    var bigEndian = false
    init(bytes: [UInt8]) { self.bytes = bytes }

    func u16(_ at: Int) -> UInt16? {
        guard at >= 0, at + 2 <= bytes.count else { return nil }
        return bigEndian ? UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) : UInt16(bytes[at + 1]) << 8 | UInt16(bytes[at])
    }

    func u32(_ at: Int) -> UInt32? {
        guard let hi = u16(bigEndian ? at : at + 2), let lo = u16(bigEndian ? at + 2 : at) else { return nil }
        return UInt32(hi) << 16 | UInt32(lo)
    }

    static func size(of type: UInt16) -> Int? {
        switch type {
        case 1, 2, 6, 7: return 1
        case 3, 8: return 2
        case 4, 9, 11: return 4
        case 5, 10, 12: return 8
        default: return nil
        }
    }

    /// The entries of the IFD at `offset`, keyed by tag. Entries whose data lies outside the block are skipped.
    func entries(at offset: Int, name: String) throws(ExifError) -> [UInt16: Entry] {
        guard let count = u16(offset) else { throw ExifError("\(name) offset \(offset) is outside the block") }
        guard offset + 2 + Int(count) * 12 <= bytes.count else {
            throw ExifError("\(name) claims \(count) entries, more than the block holds")
        }
        var result: [UInt16: Entry] = [:]
        for i in 0..<Int(count) {
            let base = offset + 2 + i * 12
            guard let tag = u16(base), let type = u16(base + 2), let n = u32(base + 4),
                  let size = TIFF.size(of: type) else { continue }
            let total = size * Int(n)
            let valueOffset = total <= 4 ? base + 8 : Int(u32(base + 8) ?? UInt32.max)
            guard total >= 0, valueOffset + total <= bytes.count else { continue }
            result[tag] = Entry(type: type, count: Int(n), valueOffset: valueOffset)
        }
        return result
    }

    func string(_ entry: Entry?) -> String? {
        guard let entry, entry.type == 2 || entry.type == 7 || entry.type == 1 else { return nil }
        let raw = bytes[entry.valueOffset..<(entry.valueOffset + entry.count)].prefix { $0 != 0 }
        let text = String(decoding: raw, as: UTF8.self).trimmingSpaces
        return text.isEmpty ? nil : text
    }

    func integer(_ entry: Entry?) -> Int? {
        guard let entry, entry.count >= 1 else { return nil }
        switch entry.type {
        case 1, 7: return Int(bytes[entry.valueOffset])
        case 3: return u16(entry.valueOffset).map(Int.init)
        case 4: return u32(entry.valueOffset).map(Int.init)
        case 9: return u32(entry.valueOffset).map { Int(Int32(bitPattern: $0)) }
        default: return nil
        }
    }

    /// RATIONAL or SRATIONAL values as doubles (a zero denominator gives NaN, which callers reject).
    func rationals(_ entry: Entry?) -> [Double]? {
        guard let entry, entry.type == 5 || entry.type == 10 else { return nil }
        var values: [Double] = []
        for i in 0..<entry.count {
            guard let n = u32(entry.valueOffset + i * 8), let d = u32(entry.valueOffset + i * 8 + 4) else { return nil }
            let (num, den): (Double, Double) = entry.type == 5
                ? (Double(n), Double(d)) : (Double(Int32(bitPattern: n)), Double(Int32(bitPattern: d)))
            values.append(den == 0 ? .nan : num / den)
        }
        return values
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" || first == "\n" || first == "\r" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\n" || last == "\r" { s.removeLast() }
        return String(s)
    }
}

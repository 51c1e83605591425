import JSONEscaping

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered file writer (owns its FILE*; `close()` reports write errors, `deinit` only releases), or an in-memory
/// byte buffer (`init()`), so one writing routine serves files and strings.
final class FileSink {
    let path: String
    private let file: UnsafeMutablePointer<FILE>?
    fileprivate(set) var buffer: [UInt8] = []
    private var closed = false

    init(path: String) throws {
        guard let file = fopen(path, "wb") else { throw HuginError.io("cannot create \(path): errno \(errno)") }
        self.file = file
        self.path = path
        buffer.reserveCapacity(1 << 16)
    }

    /// An in-memory sink: everything written stays in `buffer`.
    init() {
        file = nil
        path = ""
    }

    deinit { if !closed, let file { fclose(file) } }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func write(bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    fileprivate func flush() throws {
        guard !buffer.isEmpty, let file else { return }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == buffer.count else { throw HuginError.io("cannot write \(path) (disk full?)") }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        closed = true
        guard let file else { return }
        guard fclose(file) == 0 else { throw HuginError.io("cannot close \(path)") }
    }
}

/// Reads back, in order, a temporary file written with `FileSink`'s binary appends (owns its FILE*).
final class FileSource {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0
    private var end = 0

    init(path: String) throws {
        guard let file = fopen(path, "rb") else { throw HuginError.io("cannot open \(path): errno \(errno)") }
        self.file = file
        self.path = path
    }

    deinit { fclose(file) }

    /// Calls `body` with the next `count` bytes; nil at a clean end of the file (no byte left). A file that ends
    /// inside the `count` bytes is damaged: that throws.
    func read<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        if end - start < count {
            if start > 0 {
                let remaining = end - start
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: remaining)
                }
                (start, end) = (0, remaining)
            }
            if buffer.count < count { buffer += [UInt8](repeating: 0, count: count - buffer.count) }
            while end < count {
                let read = buffer.withUnsafeMutableBytes { fread($0.baseAddress! + end, 1, $0.count - end, file) }
                if read == 0 { break }
                end += read
            }
            if end - start < count {
                if end == start { return nil }
                throw HuginError.io("\(path) ends inside a record (temporary file damaged)")
            }
        }
        defer { start += count }
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
    }

    /// A string written as `UInt32` byte count + UTF-8 bytes.
    func string() throws -> String {
        guard let text = try optionalString() else {
            throw HuginError.io("\(path): a text field is missing (temporary file damaged)")
        }
        return text
    }

    /// Like `string()`; a count of `UInt32.max` is nil.
    func optionalString() throws -> String? {
        guard let count = try read(4, { $0.loadUnaligned(as: UInt32.self) }) else {
            throw HuginError.io("\(path) ends inside a record (temporary file damaged)")
        }
        if count == UInt32.max { return nil }
        if count == 0 { return "" }
        guard let text = try read(Int(count), { String(decoding: $0, as: UTF8.self) }) else {
            throw HuginError.io("\(path) ends inside a record (temporary file damaged)")
        }
        return text
    }
}

/// RFC 4180 CSV fields.
enum CSV {
    /// True when `s` must be quoted (it holds a comma, quote or line break).
    static func needsQuotes(_ s: String) -> Bool {
        func special(_ c: UInt8) -> Bool { c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D }
        // Native strings are contiguous UTF-8: a plain loop over the bytes (the generic view walk was ~4 % of
        // condensation CPU).
        if let found = s.utf8.withContiguousStorageIfAvailable({ $0.contains(where: special) }) { return found }
        return s.utf8.contains(where: special)
    }

    static func field(_ s: String) -> String {
        guard needsQuotes(s) else { return s }
        var out = "\""
        for c in s {
            if c == "\"" { out += "\"\"" } else { out.append(c) }
        }
        return out + "\""
    }

    static func row(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\r\n" }

    /// Splits one CSV line into fields (quotes and doubled quotes handled; no embedded newlines).
    static func split(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = iterator.next() {
                        if n == "\"" { current.append("\"") } else { quoted = false; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(current)
                current = ""
            } else if c != "\r" {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }
}

/// Text escaping for HTML and XML attribute values.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}

// MARK: - Byte-level appends (hot paths: one call per Stage 1 record)

extension FileSink {
    func append(_ s: StaticString) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    func append(raw s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ buffer.append(contentsOf: $0) }) == nil {
            buffer.append(contentsOf: s.utf8)
        }
    }

    func append(byte: UInt8) { buffer.append(byte) }

    /// The value's bytes in native order (temporary files read back by `FileSource` in this process).
    func append<T: BitwiseCopyable>(bitsOf value: T) {
        withUnsafeBytes(of: value) { buffer.append(contentsOf: $0) }
    }

    /// Empties the buffer (an in-memory sink reused for the next item).
    func clear() { buffer.removeAll(keepingCapacity: true) }

    func append(int n: Int) {
        if n < 0 { buffer.append(0x2D) }
        var v = n.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                         0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(v % 10) + 0x30
                v /= 10
                count += 1
            } while v > 0
            for k in stride(from: count - 1, through: 0, by: -1) { buffer.append(d[k]) }
        }
    }

    /// 16 lower-case, zero-padded hex digits (`FNV1a.hex(_:digits: 16)` of a hash).
    func append(hex value: UInt64) {
        var shift: UInt64 = 60
        while true {
            let d = UInt8(truncatingIfNeeded: (value >> shift) & 0xF)
            buffer.append(d < 10 ? 0x30 + d : 0x57 + d)
            if shift == 0 { break }
            shift -= 4
        }
    }

    /// `value` with at most `digits` decimals, trailing zeros removed (as `Fixed.trimmed`).
    func append(fixed value: Double, digits: Int) {
        guard value.isFinite, abs(value) < 1e15 else { append(raw: Fixed.trimmed(value, digits)); return }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let n = UInt64((abs(value) * scale).rounded())
        if value < 0 && n != 0 { buffer.append(0x2D) }
        let p = UInt64(scale)
        append(int: Int(n / p))
        var frac = n % p
        guard frac != 0 else { return }
        var width = digits
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        buffer.append(0x2E)
        // Leading zeros of the fraction, then its digits (most significant first).
        var divisor: UInt64 = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            buffer.append(UInt8(frac / divisor % 10) + 0x30)
            divisor /= 10
        }
    }

    /// `value` as Swift's `"\(value)"` writes it (the shortest decimal that reads back as the same Double), without
    /// building a String for the common case: a finite value in [0.001, 10^15) whose shortest form has at most 15
    /// significant digits is written as the fewest fraction digits (at least one) that read back exactly; anything
    /// else goes through `description`.
    func append(shortest value: Double) {
        let magnitude = abs(value)
        guard magnitude >= 0.001, magnitude < 1e15 else { append(raw: value.description); return }
        var scale = 1.0
        for digits in 1...15 {
            scale *= 10
            let m = (magnitude * scale).rounded()
            guard m < 1e15 else { break }
            // m < 2^53 and scale = 10^digits ≤ 10^15 are exact, so m / scale is the correctly rounded value of the
            // decimal m × 10^-digits: the Double that text reads back as.
            guard m / scale == magnitude else { continue }
            let n = UInt64(m), p = UInt64(scale)
            if value < 0 { buffer.append(0x2D) }
            append(int: Int(n / p))
            buffer.append(0x2E)
            var divisor = p / 10
            let fraction = n % p
            while divisor > 0 {
                buffer.append(UInt8(fraction / divisor % 10) + 0x30)
                divisor /= 10
            }
            return
        }
        append(raw: value.description)
    }

    func append(jsonString s: String) {
        func special(_ c: UInt8) -> Bool { c < 0x20 || c == 0x22 || c == 0x5C }
        let plain = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: special) else { return false }
            buffer.append(0x22)
            buffer.append(contentsOf: bytes)
            buffer.append(0x22)
            return true
        }
        if plain == true { return }
        if plain == nil && !s.utf8.contains(where: special) {
            buffer.append(0x22)
            buffer.append(contentsOf: s.utf8)
            buffer.append(0x22)
        } else {
            append(raw: JSONString.quoted(s))
        }
    }

    func append(csvField s: String) {
        if CSV.needsQuotes(s) {
            append(raw: CSV.field(s))
        } else {
            append(raw: s)
        }
    }

    /// `CSV.row(fields)` written without building the row's String.
    func append(csvRow fields: [String]) {
        for (k, field) in fields.enumerated() {
            if k > 0 { buffer.append(0x2C) }
            append(csvField: field)
        }
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    /// ISO 8601 UTC (`Timestamp.format`).
    func append(timestamp t: Double) {
        let whole = t.rounded(.down)
        let millis = Int(((t - whole) * 1000).rounded())
        guard millis < 1000, whole > -6e10, whole < 2.5e11 else { append(raw: Timestamp.format(t)); return }
        let total = Int(whole)
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let rest = total - days * 86_400
        let (y, m, d) = Timestamp.civilFromDays(days)
        func two(_ v: Int) { buffer.append(UInt8(v / 10) + 0x30); buffer.append(UInt8(v % 10) + 0x30) }
        // Years outside 1000...9999 are written as `Timestamp.format` writes them (no padding).
        guard (1000...9999).contains(y) else { append(raw: Timestamp.format(t)); return }
        two(y / 100)
        two(y % 100)
        buffer.append(0x2D); two(m); buffer.append(0x2D); two(d); buffer.append(0x54)
        two(rest / 3600); buffer.append(0x3A); two(rest / 60 % 60); buffer.append(0x3A); two(rest % 60)
        if millis > 0 {
            buffer.append(0x2E)
            buffer.append(UInt8(millis / 100) + 0x30)
            buffer.append(UInt8(millis / 10 % 10) + 0x30)
            buffer.append(UInt8(millis % 10) + 0x30)
        }
        buffer.append(0x5A)
    }

    func flushIfNeeded() throws {
        if buffer.count >= 1 << 16 { try flush() }
    }
}

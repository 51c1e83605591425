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
    /// The pending bytes: `count` of `capacity` (a raw buffer, so the per-byte appends of the hot paths cost a store
    /// and an add, not an Array's uniqueness and capacity checks).
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    private var closed = false
    /// The day (since 1970-01-01) `append(timestamp:)` wrote last, and its date.
    fileprivate var cachedDay = Int.min
    fileprivate var cachedDate = (0, 0, 0)

    init(path: String) throws {
        guard let file = fopen(path, "wb") else { throw HuginError.io("cannot create \(path): errno \(errno)") }
        self.file = file
        self.path = path
        capacity = 1 << 17
        base = .allocate(capacity: capacity)
    }

    /// An in-memory sink: everything written stays in `buffer`.
    init() {
        file = nil
        path = ""
        capacity = 256
        base = .allocate(capacity: capacity)
    }

    deinit {
        if !closed, let file { fclose(file) }
        base.deallocate()
    }

    /// A copy of the pending bytes (everything written, for an in-memory sink).
    var buffer: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with the pending bytes.
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Makes room for `n` more bytes and returns where they go; the caller then calls `advance(n)` (or less).
    @inline(__always)
    func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count + n > capacity { grow(count + n) }
        return base + count
    }

    @inline(__always)
    func advance(_ n: Int) { count += n }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        (base, capacity) = (newBase, newCapacity)
    }

    @inline(__always)
    func append(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let n = bytes.count
        memcpy(reserve(n), source, n)
        count += n
    }

    @inline(__always)
    func append(bytes: UnsafeBufferPointer<UInt8>) { append(bytes: UnsafeRawBufferPointer(bytes)) }

    func write(_ text: String) throws {
        append(raw: text)
        if count >= 1 << 16 { try flush() }
    }

    func write(bytes: some Sequence<UInt8>) throws {
        if bytes.withContiguousStorageIfAvailable({ append(bytes: $0) }) == nil {
            for b in bytes { append(byte: b) }
        }
        if count >= 1 << 16 { try flush() }
    }

    fileprivate func flush() throws {
        guard count > 0, let file else { return }
        let written = fwrite(base, 1, count, file)
        guard written == count else { throw HuginError.io("cannot write \(path) (disk full?)") }
        count = 0
    }

    /// Appends the whole file at `source` (a finished temporary file): on Linux the kernel copies it (sendfile(2),
    /// no trip of every byte through this process), elsewhere through a buffer.
    func append(fileAt source: String) throws {
        try flush()
        guard let file else {
            let bytes = try FileSource.contents(of: source)
            return bytes.withUnsafeBufferPointer { append(bytes: $0) }
        }
        #if os(Linux)
        guard fflush(file) == 0 else { throw HuginError.io("cannot write \(path) (disk full?)") }
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw HuginError.io("cannot open \(source): errno \(errno)") }
        defer { Glibc.close(input) }
        let output = fileno(file)
        while true {
            let n = sendfile(output, input, nil, 1 << 30)
            if n == 0 { break }
            guard n > 0 else { throw HuginError.io("cannot copy \(source) into \(path): errno \(errno)") }
        }
        // The stream continues at the descriptor's new end.
        guard fseek(file, 0, SEEK_END) == 0 else { throw HuginError.io("cannot seek in \(path): errno \(errno)") }
        #else
        let bytes = try FileSource.contents(of: source)
        try write(bytes: bytes)
        #endif
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

    /// The whole file at `path`.
    static func contents(of path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw HuginError.io("cannot open \(path): errno \(errno)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

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
    @inline(__always)
    func append(_ s: StaticString) {
        append(bytes: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    func append(raw s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ append(bytes: $0) }) == nil {
            for byte in s.utf8 { append(byte: byte) }
        }
    }

    @inline(__always)
    func append(byte: UInt8) {
        reserve(1).pointee = byte
        count += 1
    }

    /// The value's bytes in native order (temporary files read back by `FileSource` in this process).
    @inline(__always)
    func append<T: BitwiseCopyable>(bitsOf value: T) {
        withUnsafeBytes(of: value) { append(bytes: $0) }
    }

    /// Empties the buffer (an in-memory sink reused for the next item).
    func clear() { count = 0 }

    func append(int n: Int) {
        let out = reserve(21)
        var k = 0
        if n < 0 { out[0] = 0x2D; k = 1 }
        var v = n.magnitude
        var digits = 1
        var t = v
        while t >= 10 { t /= 10; digits += 1 }
        var position = k + digits
        repeat {
            position -= 1
            out[position] = UInt8(truncatingIfNeeded: v % 10) + 0x30
            v /= 10
        } while v > 0
        count += k + digits
    }

    /// 16 lower-case, zero-padded hex digits (`FNV1a.hex(_:digits: 16)` of a hash).
    func append(hex value: UInt64) {
        var shift: UInt64 = 60
        while true {
            let d = UInt8(truncatingIfNeeded: (value >> shift) & 0xF)
            append(byte: d < 10 ? 0x30 + d : 0x57 + d)
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
        if value < 0 && n != 0 { append(byte: 0x2D) }
        let p = UInt64(scale)
        append(int: Int(n / p))
        var frac = n % p
        guard frac != 0 else { return }
        var width = digits
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        // The point, then the fraction's digits with their leading zeros, written from the last one back.
        let out = reserve(width + 1)
        out[0] = 0x2E
        var position = width
        while position > 0 {
            out[position] = UInt8(truncatingIfNeeded: frac % 10) + 0x30
            frac /= 10
            position -= 1
        }
        count += width + 1
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
            if value < 0 { append(byte: 0x2D) }
            append(int: Int(n / p))
            append(byte: 0x2E)
            var divisor = p / 10
            let fraction = n % p
            while divisor > 0 {
                append(byte: UInt8(fraction / divisor % 10) + 0x30)
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
            append(byte: 0x22)
            append(bytes: bytes)
            append(byte: 0x22)
            return true
        }
        if plain == true { return }
        if plain == nil && !s.utf8.contains(where: special) {
            append(byte: 0x22)
            append(raw: s)
            append(byte: 0x22)
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
            if k > 0 { append(byte: 0x2C) }
            append(csvField: field)
        }
        append(byte: 0x0D)
        append(byte: 0x0A)
    }

    /// ISO 8601 UTC (`Timestamp.format`).
    func append(timestamp t: Double) {
        let whole = t.rounded(.down)
        let millis = Int(((t - whole) * 1000).rounded())
        guard millis < 1000, whole > -6e10, whole < 2.5e11 else { append(raw: Timestamp.format(t)); return }
        let total = Int(whole)
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let rest = total - days * 86_400
        // Consecutive timestamps nearly always fall on the same day: its date is kept.
        if days != cachedDay { (cachedDay, cachedDate) = (days, Timestamp.civilFromDays(days)) }
        let (y, m, d) = cachedDate
        // Years outside 1000...9999 are written as `Timestamp.format` writes them (no padding).
        guard (1000...9999).contains(y) else { append(raw: Timestamp.format(t)); return }
        let out = reserve(24)
        func two(_ v: Int, at k: Int) {
            out[k] = UInt8(truncatingIfNeeded: v / 10) + 0x30
            out[k + 1] = UInt8(truncatingIfNeeded: v % 10) + 0x30
        }
        two(y / 100, at: 0)
        two(y % 100, at: 2)
        out[4] = 0x2D; two(m, at: 5); out[7] = 0x2D; two(d, at: 8); out[10] = 0x54
        two(rest / 3600, at: 11); out[13] = 0x3A; two(rest / 60 % 60, at: 14); out[16] = 0x3A; two(rest % 60, at: 17)
        var n = 19
        if millis > 0 {
            out[19] = 0x2E
            out[20] = UInt8(truncatingIfNeeded: millis / 100) + 0x30
            out[21] = UInt8(truncatingIfNeeded: millis / 10 % 10) + 0x30
            out[22] = UInt8(truncatingIfNeeded: millis % 10) + 0x30
            n = 23
        }
        out[n] = 0x5A
        count += n + 1
    }

    func flushIfNeeded() throws {
        if count >= 1 << 16 { try flush() }
    }
}

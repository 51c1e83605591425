// A deterministic zip writer (PKWARE APPNOTE 6.3.x, no zip64): Lambda deployment packages.
// Same entries in, same bytes out: entries are sorted by path, every timestamp is the DOS epoch (1980-01-01 00:00),
// there are no extra fields, and the permission bits are the only metadata kept.

/// One file in a zip archive.
public struct ZipEntry: Sendable, Equatable {
    /// Path inside the archive, `/`-separated, relative (`bootstrap`, `lib/libz.so.1`).
    public var path: String
    /// File contents.
    public var bytes: [UInt8]
    /// Unix permission bits (`0o755` for executables, `0o644` otherwise); stored in the external attributes.
    public var mode: UInt16

    public init(path: String, bytes: [UInt8], mode: UInt16 = 0o644) {
        self.path = path
        self.bytes = bytes
        self.mode = mode
    }
}

/// Why an archive could not be written, naming the entry and what to change.
public struct ZipError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? "zip: \(message)" : "zip entry \"\(path)\": \(message)" }
}

/// Builds zip archives in memory. Entries are compressed with raw deflate (level 9) unless storing is smaller.
public enum ZipWriter {
    /// The limits of a zip without zip64 extensions.
    static let maxEntries = 0xFFFF
    static let maxSize = UInt64(UInt32.max)

    /// Returns the archive bytes for `entries`, in path order whatever the input order.
    public static func archive(_ entries: [ZipEntry], level: Int32 = 9) throws(ZipError) -> [UInt8] {
        guard entries.count < maxEntries else {
            throw ZipError(path: "", message: "\(entries.count) entries; at most \(maxEntries - 1) without zip64")
        }
        let sorted = entries.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        var previous: String?
        for entry in sorted {
            try validate(entry)
            if entry.path == previous { throw ZipError(path: entry.path, message: "appears twice; paths must be unique") }
            previous = entry.path
        }

        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in sorted {
            let name = Array(entry.path.utf8)
            let crc = CRC32.checksum(entry.bytes)
            var method: UInt16 = 8
            var payload: [UInt8]
            do {
                let deflater = try Deflater(format: .rawDeflate, level: level)
                payload = []
                payload.reserveCapacity(entry.bytes.count / 2 + 64)
                try deflater.compress(entry.bytes, into: &payload)
                try deflater.finish(into: &payload)
            } catch {
                throw ZipError(path: entry.path, message: "deflate failed: \(error)")
            }
            if payload.count >= entry.bytes.count {  // incompressible: store
                method = 0
                payload = entry.bytes
            }
            let offset = UInt64(out.count)
            guard offset < maxSize, UInt64(payload.count) < maxSize, UInt64(entry.bytes.count) < maxSize else {
                throw ZipError(path: entry.path, message: "archive passes 4 GiB; zip64 is not supported")
            }
            // Bit 11: the name is UTF-8 (only set when it is not plain ASCII, as Info-ZIP does).
            let flags: UInt16 = name.allSatisfy { $0 < 0x80 } ? 0 : 0x0800

            // Local file header
            out.appendLE(UInt32(0x0403_4B50))
            out.appendLE(UInt16(20))  // version needed: 2.0 (deflate)
            out.appendLE(flags)
            out.appendLE(method)
            out.appendLE(UInt16(0))  // time 00:00:00
            out.appendLE(dosEpochDate)
            out.appendLE(crc)
            out.appendLE(UInt32(payload.count))
            out.appendLE(UInt32(entry.bytes.count))
            out.appendLE(UInt16(name.count))
            out.appendLE(UInt16(0))  // extra field length
            out.append(contentsOf: name)
            out.append(contentsOf: payload)

            // Central directory record
            central.appendLE(UInt32(0x0201_4B50))
            central.appendLE(UInt16(0x031E))  // made by: Unix (3), spec 3.0 — so unzip honours the mode bits
            central.appendLE(UInt16(20))
            central.appendLE(flags)
            central.appendLE(method)
            central.appendLE(UInt16(0))
            central.appendLE(dosEpochDate)
            central.appendLE(crc)
            central.appendLE(UInt32(payload.count))
            central.appendLE(UInt32(entry.bytes.count))
            central.appendLE(UInt16(name.count))
            central.appendLE(UInt16(0))  // extra
            central.appendLE(UInt16(0))  // comment
            central.appendLE(UInt16(0))  // disk number start
            central.appendLE(UInt16(0))  // internal attributes
            central.appendLE((UInt32(0o100000) | UInt32(entry.mode & 0o7777)) << 16)  // S_IFREG | mode
            central.appendLE(UInt32(offset))
            central.append(contentsOf: name)
        }
        let centralOffset = out.count
        guard UInt64(centralOffset) + UInt64(central.count) < maxSize else {
            throw ZipError(path: "", message: "archive passes 4 GiB; zip64 is not supported")
        }
        out.append(contentsOf: central)
        // End of central directory
        out.appendLE(UInt32(0x0605_4B50))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(sorted.count))
        out.appendLE(UInt16(sorted.count))
        out.appendLE(UInt32(central.count))
        out.appendLE(UInt32(centralOffset))
        out.appendLE(UInt16(0))  // comment length
        return out
    }

    /// 1980-01-01 in MS-DOS date format: ((1980 - 1980) << 9) | (1 << 5) | 1.
    static let dosEpochDate: UInt16 = (1 << 5) | 1

    static func validate(_ entry: ZipEntry) throws(ZipError) {
        let path = entry.path
        if path.isEmpty { throw ZipError(path: path, message: "empty path") }
        if path.utf8.count > 0xFFFF { throw ZipError(path: path, message: "path longer than 65535 bytes") }
        if path.hasPrefix("/") { throw ZipError(path: path, message: "absolute path; use a path relative to the archive root") }
        if path.hasSuffix("/") { throw ZipError(path: path, message: "directory entries are not written; add files only") }
        if path.contains("\\") { throw ZipError(path: path, message: "backslash in path; use / as the separator") }
        if path.utf8.contains(0) { throw ZipError(path: path, message: "NUL byte in path") }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty || component == "." || component == ".." {
                throw ZipError(path: path, message: "empty, '.' or '..' path component")
            }
        }
        if entry.mode & ~0o7777 != 0 { throw ZipError(path: path, message: "mode \(String(entry.mode, radix: 8)) has bits above 0o7777") }
    }
}

extension [UInt8] {
    fileprivate mutating func appendLE(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
    }

    fileprivate mutating func appendLE(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}

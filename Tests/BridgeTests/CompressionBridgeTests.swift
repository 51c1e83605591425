import Compression
import Foundation
import OdinBasics
import TestSupport
import Testing

/// zlib through the Compression owners.
@Suite("Compression bridge (zlib)")
struct CompressionBridgeTests {
    /// Inputs that exercise the stored, fixed and dynamic Huffman paths: empty, one byte, repetitive text,
    /// seeded incompressible bytes, and a run longer than a deflate window.
    static let samples: [(name: String, bytes: [UInt8])] = {
        var generator = SplitMix64(seed: 20_261_203)
        return [
            ("empty", []),
            ("one byte", [0x2a]),
            ("text", Array(String(repeating: "camera trap line\n", count: 20_000).utf8)),
            ("random", (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }),
            ("long run", [UInt8](repeating: 0, count: 70_000)),
        ]
    }()

    @Test("gzip members round-trip through an independent decompressor (gzip -d) and our own", arguments: [0, 1, 6, 9])
    func roundTrip(level: Int32) throws {
        for sample in Self.samples {
            let compressed = try Gzip.compress(sample.bytes, level: level)
            #expect(try Self.gzipViolations(compressed, of: sample.bytes) == [], "\(sample.name) at level \(level)")
            #expect(try Gzip.decompress(compressed) == sample.bytes, "\(sample.name) at level \(level)")
        }
        let text = Self.samples[2].bytes
        if level > 0 { #expect(try Gzip.compress(text, level: level).count < text.count / 10) }
    }

    @Test("the checks above reject broken compressors (mutation check)")
    func checksRejectBrokenCompressors() throws {
        let input = Self.samples[2].bytes
        let good = try Gzip.compress(input)
        #expect(try Self.gzipViolations(good, of: input) == [])
        var badCRC = good
        badCRC[badCRC.count - 8] ^= 0x01
        var badSize = good
        badSize[badSize.count - 4] ^= 0x01
        var badFlags = good
        badFlags[3] |= 0x80
        let deflater = try Deflater(format: .rawDeflate)
        var raw: [UInt8] = []
        try deflater.compress(input, into: &raw)
        try deflater.finish(into: &raw)
        let mutants: [(String, [UInt8])] = [
            ("returns []", []),
            ("returns the input unchanged", input),
            ("header only", Array(good.prefix(10))),
            ("no trailer", Array(good.dropLast(8))),
            ("wrong CRC-32", badCRC),
            ("wrong ISIZE", badSize),
            ("reserved flag bit set", badFlags),
            ("compresses other bytes", try Gzip.compress(input.dropLast())),
            ("raw deflate, no gzip wrapper", raw),
            ("two members", good + good),
        ]
        for (name, output) in mutants {
            #expect(try !Self.gzipViolations(output, of: input).isEmpty, "the broken compressor '\(name)' passed")
        }
    }

    /// Everything wrong with `member` as an RFC 1952 gzip member holding `original`, as judged without our
    /// decompressor: the header fields, the trailer's CRC-32 (a bitwise reference implementation) and ISIZE, and
    /// the bytes `/bin/gzip -dc` (its own inflate, not zlib) produces. Empty when the member is right.
    static func gzipViolations(_ member: [UInt8], of original: [UInt8]) throws -> [String] {
        guard member.count >= 18 else { return ["\(member.count) bytes: shorter than a gzip header and trailer"] }
        var violations: [String] = []
        if member[0] != 0x1f || member[1] != 0x8b { violations.append("magic \(member[0]) \(member[1]), not 1f 8b") }
        if member[2] != 8 { violations.append("compression method \(member[2]), not 8 (deflate)") }
        if member[3] & 0xe0 != 0 { violations.append("reserved flag bits set in \(member[3])") }
        let trailer = Array(member.suffix(8))
        let crc = trailer[0..<4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let size = trailer[4..<8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if crc != referenceCRC32(original) { violations.append("trailer CRC-32 \(crc), not \(referenceCRC32(original))") }
        if size != UInt32(truncatingIfNeeded: original.count) { violations.append("trailer ISIZE \(size), not \(original.count)") }
        let gunzip = try gunzip(member)
        if gunzip.status != 0 { violations.append("gzip -dc exited \(gunzip.status): \(gunzip.stderr)") }
        if gunzip.output != original {
            violations.append("gzip -dc gave \(gunzip.output.count) bytes, not the \(original.count) compressed")
        }
        return violations
    }

    /// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) bit by bit, independent of zlib's tables.
    static func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Runs the system `gzip -dc` on `member` (a file, so binary output survives) and returns what it wrote.
    static func gunzip(_ member: [UInt8]) throws -> (status: Int32, output: [UInt8], stderr: String) {
        let dir = try TestEnvironment.makeTemporaryDirectory("gunzip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/in.gz", contents: Data(member))
        // Through the shell's redirection, so gzip's binary output goes to a file untouched.
        let run = try Peers.run("/bin/sh", ["-c", #"exec /bin/gzip -dc -- "$0" > "$1""#, dir + "/in.gz", dir + "/out"])
        let bytes = FileManager.default.contents(atPath: dir + "/out") ?? Data()
        return (run.status, Array(bytes), run.stderr)
    }

    @Test("compression is deterministic for the same input and level")
    func deterministic() throws {
        let bytes = (0..<100_000).map { UInt8(($0 * 7) % 256) }
        #expect(try Gzip.compress(bytes) == (try Gzip.compress(bytes)))
    }

    @Test("a corrupt stream and a truncated stream are typed errors")
    func corrupt() throws {
        var compressed = try Gzip.compress(Array("hello hello hello hello".utf8))
        let truncated = Array(compressed.prefix(compressed.count - 6))
        #expect(throws: CompressionError.self) { try Gzip.decompress(truncated) }
        compressed[12] ^= 0xff
        compressed[13] ^= 0xff
        #expect(throws: CompressionError.self) { try Gzip.decompress(compressed) }
        #expect(throws: CompressionError.self) { try Gzip.decompress(Array("not gzip at all".utf8)) }
    }

    @Test("GzipLineReader streams lines of a large file")
    func lineReader() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("lines")
        var text = ""
        for index in 0..<50_000 { text += "{\"n\":\(index)}\n" }
        FileManager.default.createFile(atPath: dir + "/l.gz", contents: Data(try Gzip.compress(Array(text.utf8))))
        let reader = try GzipLineReader(path: dir + "/l.gz")
        var count = 0
        while let line = try reader.nextLine() {
            #expect(String(decoding: line, as: UTF8.self) == "{\"n\":\(count)}")
            count += 1
        }
        #expect(count == 50_000)
    }

    @Test("CRC-32 matches the standard check value")
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}

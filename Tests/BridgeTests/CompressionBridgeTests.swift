import Compression
import Foundation
import TestSupport
import Testing

/// zlib through the Compression owners.
@Suite("Compression bridge (zlib)")
struct CompressionBridgeTests {
    @Test("gzip round trip, readable by the gzip CLI")
    func roundTrip() throws {
        let text = Array(String(repeating: "camera trap line\n", count: 20_000).utf8)
        let compressed = try Gzip.compress(text)
        #expect(compressed.count < text.count / 10)
        #expect(compressed.prefix(2) == [0x1f, 0x8b])
        #expect(try Gzip.decompress(compressed) == text)

        let dir = try TestEnvironment.makeTemporaryDirectory("gzip")
        FileManager.default.createFile(atPath: dir + "/x.gz", contents: Data(compressed))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-t", dir + "/x.gz"]
        try gunzip.run()
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0)
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

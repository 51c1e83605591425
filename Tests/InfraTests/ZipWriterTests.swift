import Compression
import Foundation
import Testing

@Suite("ZipWriter")
struct ZipWriterTests {
    static let entries = [
        ZipEntry(path: "lib/libdemo.so.1", bytes: Array(repeating: 0x41, count: 10_000), mode: 0o644),
        ZipEntry(path: "bootstrap", bytes: Array("#!/bin/sh\necho hello from bootstrap\n".utf8), mode: 0o755),
        ZipEntry(path: "random.bin", bytes: (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }),
    ]

    @Test func sameEntriesGiveIdenticalBytesWhateverTheOrder() throws {
        let first = try ZipWriter.archive(Self.entries)
        let second = try ZipWriter.archive(Self.entries.reversed())
        #expect(first == second)
    }

    @Test func debianUnzipAcceptsItAndKeepsContentsAndModes() throws {
        try withTemporaryDirectory { dir in
            let zip = dir.appendingPathComponent("bootstrap.zip")
            try Data(try ZipWriter.archive(Self.entries)).write(to: zip)
            let test = try runTool("/usr/bin/unzip", ["-t", zip.path])
            #expect(test.status == 0, "unzip -t: \(test.output)")
            #expect(test.output.contains("No errors detected"))
            let info = try runTool("/usr/bin/zipinfo", [zip.path])
            #expect(info.output.contains("-rwxr-xr-x"), "bootstrap should be executable: \(info.output)")
            #expect(info.output.contains("-rw-r--r--"))
            #expect(info.output.contains("80-Jan-01 00:00"), "timestamps must be the fixed DOS epoch: \(info.output)")
            let out = dir.appendingPathComponent("x")
            let extract = try runTool("/usr/bin/unzip", ["-q", zip.path, "-d", out.path])
            #expect(extract.status == 0, "\(extract.output)")
            for entry in Self.entries {
                let data = try Data(contentsOf: out.appendingPathComponent(entry.path))
                #expect([UInt8](data) == entry.bytes, "\(entry.path) differs after unzip")
            }
            let attributes = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("bootstrap").path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o755)
        }
    }

    @Test func namesAreSortedAndCompressibleDataIsDeflated() throws {
        let bytes = try ZipWriter.archive(Self.entries)
        #expect(bytes.count < 10_000, "10 kB of one byte should deflate to almost nothing; got \(bytes.count)")
        try withTemporaryDirectory { dir in
            let zip = dir.appendingPathComponent("a.zip")
            try Data(bytes).write(to: zip)
            let list = try runTool("/usr/bin/zipinfo", ["-1", zip.path])
            #expect(list.output.split(separator: "\n") == ["bootstrap", "lib/libdemo.so.1", "random.bin"])
        }
    }

    @Test(arguments: ["", "/etc/passwd", "../up", "a/../b", "lib/", "a\\b", "a//b"])
    func rejectsUnsafePaths(_ path: String) {
        #expect(throws: ZipError.self) { try ZipWriter.archive([ZipEntry(path: path, bytes: [1])]) }
    }

    @Test func rejectsDuplicatePaths() {
        let entry = ZipEntry(path: "bootstrap", bytes: [1], mode: 0o755)
        #expect(throws: ZipError(path: "bootstrap", message: "appears twice; paths must be unique")) {
            try ZipWriter.archive([entry, entry])
        }
    }

    @Test func emptyArchiveIsValid() throws {
        let bytes = try ZipWriter.archive([])
        #expect(bytes.count == 22)  // just the end-of-central-directory record
        #expect(Array(bytes.prefix(4)) == [0x50, 0x4B, 0x05, 0x06])
    }
}

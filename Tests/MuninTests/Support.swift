import Compression
import Foundation
import OdinKit
import TestSupport
import Testing

/// Test helpers: real media made with the Debian `ffmpeg` CLI, EXIF blocks written byte by byte, temp folders.
enum Fixture {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `ffmpeg -y …`; throws with its stderr on failure.
    static func ffmpeg(_ arguments: [String]) throws {
        try run(Peer.ffmpegPath, ["-hide_banner", "-loglevel", "error", "-y"] + arguments)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure("\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    /// A fresh folder under the system temp dir; the caller removes it.
    static func directory(_ label: String = "munin") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Bounding box (minX, minY, maxX, maxY) of pixels brighter than 150 in a gray picture.
    static func brightBox(_ pixels: [UInt8], width: Int) -> (Int, Int, Int, Int)? {
        var box: (Int, Int, Int, Int)? = nil
        for (i, v) in pixels.enumerated() where v > 150 {
            let x = i % width, y = i / width
            box = box.map { (min($0.0, x), min($0.1, y), max($0.2, x), max($0.3, y)) } ?? (x, y, x, y)
        }
        return box
    }

    /// The first frame as FFmpeg's CLI shows it (autorotate on), 8-bit gray.
    static func ffmpegFirstFrameGray(_ path: String) throws -> [UInt8] {
        let out = path + ".gray"
        try ffmpeg(["-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", out])
        defer { remove(out) }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// A gray scene with a white square moving right at `speed` px/s (the motion detector's target).
    static func movingSquareVideo(_ path: String, seconds: Int = 3, size: String = "320x240", codec: [String] = [
        "-c:v", "libx264", "-pix_fmt", "yuv420p",
    ], extra: [String] = []) throws {
        // overlay evaluates x per frame (drawbox in FFmpeg 5.1 does not).
        try ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=\(size):d=\(seconds):r=10",
                    "-f", "lavfi", "-i", "color=c=white:s=40x40:r=10",
                    "-filter_complex", "[0][1]overlay=x='20+t*60':y=90:shortest=1"] + codec + extra + [path])
    }

    /// A gray scene with nothing moving.
    static func staticVideo(_ path: String, seconds: Int = 3) throws {
        try ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=320x240:d=\(seconds):r=10",
                    "-vf", "drawbox=x=100:y=90:w=40:h=40:color=white:t=fill",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", path])
    }

    /// A JPEG still (gray scene, white square at `squareX`), with `exif` (a TIFF block) inserted as APP1.
    /// `background` is a lavfi source of size `size` (a textured one gives camera-like JPEG sizes).
    static func jpeg(_ path: String, squareX: Int = 100, squareY: Int = 90, square: Int = 40, exif: [UInt8]?,
                     background: String = "color=c=gray:s=320x240:d=1") throws {
        let plain = path + ".plain.jpg"
        try ffmpeg(["-f", "lavfi", "-i", background,
                    "-vf", "drawbox=x=\(squareX):y=\(squareY):w=\(square):h=\(square):color=white:t=fill",
                    "-frames:v", "1", "-q:v", "3", plain])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        try FileManager.default.removeItem(atPath: plain)
        if let exif {
            let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + exif
            let length = payload.count + 2
            bytes.insert(contentsOf: [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload, at: 2)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a gzip JSON-lines manifest of `chunks` into the store.
    static func writeManifest(_ chunks: [Chunk], run: String, store: any ObjectStore, key: String? = nil) throws {
        var text: [UInt8] = []
        for chunk in chunks { text += try JSONEncoder().encode(chunk) + [UInt8(ascii: "\n")] }
        try store.put(key ?? StoreLayout.manifestKey(run: run), bytes: try Gzip.compress(text))
    }

    /// Reads a stage 1 chunk output back.
    static func readStage1(_ store: any ObjectStore, run: String, chunk: Int) throws -> [Stage1Record] {
        let text = try Gzip.decompress(try store.get(StoreLayout.stage1Key(run: run, chunk: chunk)))
        return try text.split(separator: UInt8(ascii: "\n")).map {
            try JSONDecoder().decode(Stage1Record.self, from: Data($0))
        }
    }
}

/// Builds an EXIF TIFF block in either byte order: IFD0, optional Exif IFD and GPS IFD.
struct TIFFBuilder {
    enum Value {
        case ascii(String)
        case short(UInt16)
        case long(UInt32)
        case byte(UInt8)
        case rationals([(UInt32, UInt32)])

        var type: UInt16 {
            switch self {
            case .ascii: 2
            case .short: 3
            case .long: 4
            case .byte: 1
            case .rationals: 5
            }
        }
    }

    var bigEndian: Bool

    func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func u32(_ v: UInt32) -> [UInt8] {
        bigEndian ? u16(UInt16(v >> 16)) + u16(UInt16(v & 0xFFFF)) : u16(UInt16(v & 0xFFFF)) + u16(UInt16(v >> 16))
    }

    func payload(_ value: Value) -> (count: UInt32, bytes: [UInt8]) {
        switch value {
        case .ascii(let s): let b = Array(s.utf8) + [0]; return (UInt32(b.count), b)
        case .short(let v): return (1, u16(v))
        case .long(let v): return (1, u32(v))
        case .byte(let v): return (1, [v])
        case .rationals(let r): return (UInt32(r.count), r.flatMap { u32($0.0) + u32($0.1) })
        }
    }

    static func size(_ entries: [(UInt16, Value)], builder: TIFFBuilder) -> Int {
        2 + entries.count * 12 + 4 + entries.reduce(0) {
            let n = builder.payload($1.1).bytes.count
            return $0 + (n > 4 ? n + (n & 1) : 0)
        }
    }

    func ifd(_ entries: [(UInt16, Value)], at offset: Int) -> [UInt8] {
        let sorted = entries.sorted { $0.0 < $1.0 }
        var head = u16(UInt16(sorted.count))
        var data: [UInt8] = []
        let dataStart = offset + 2 + sorted.count * 12 + 4
        for (tag, value) in sorted {
            let (count, bytes) = payload(value)
            head += u16(tag) + u16(value.type) + u32(count)
            if bytes.count <= 4 {
                head += bytes + [UInt8](repeating: 0, count: 4 - bytes.count)
            } else {
                head += u32(UInt32(dataStart + data.count))
                data += bytes
                if data.count & 1 == 1 { data.append(0) }
            }
        }
        return head + u32(0) + data
    }

    func build(ifd0: [(UInt16, Value)], exif: [(UInt16, Value)]? = nil, gps: [(UInt16, Value)]? = nil) -> [UInt8] {
        var first = ifd0
        if exif != nil { first.append((0x8769, .long(0))) }
        if gps != nil { first.append((0x8825, .long(0))) }
        let ifd0Size = Self.size(first, builder: self)
        let exifOffset = 8 + ifd0Size
        let gpsOffset = exifOffset + (exif.map { Self.size($0, builder: self) } ?? 0)
        first = first.map { tag, value in
            tag == 0x8769 ? (tag, .long(UInt32(exifOffset))) : tag == 0x8825 ? (tag, .long(UInt32(gpsOffset))) : (tag, value)
        }
        var out: [UInt8] = (bigEndian ? Array("MM".utf8) : Array("II".utf8)) + u16(42) + u32(8)
        out += ifd(first, at: 8)
        if let exif { out += ifd(exif, at: exifOffset) }
        if let gps { out += ifd(gps, at: gpsOffset) }
        return out
    }

    /// A typical camera block: make/model, DateTimeOriginal, optional GPS as degrees/minutes/seconds.
    static func camera(bigEndian: Bool, original: String?, digitized: String? = nil, dateTime: String? = nil,
                       latitude: (Double, String)? = nil, longitude: (Double, String)? = nil) -> [UInt8] {
        let builder = TIFFBuilder(bigEndian: bigEndian)
        var ifd0: [(UInt16, Value)] = [(0x010F, .ascii("TrailCam")), (0x0110, .ascii("TC-100"))]
        if let dateTime { ifd0.append((0x0132, .ascii(dateTime))) }
        var exif: [(UInt16, Value)] = []
        if let original { exif.append((0x9003, .ascii(original))) }
        if let digitized { exif.append((0x9004, .ascii(digitized))) }
        var gps: [(UInt16, Value)]? = nil
        if let latitude, let longitude {
            func dms(_ v: Double) -> Value {
                let d = floor(v), m = floor((v - d) * 60), s = ((v - d) * 60 - m) * 60
                return .rationals([(UInt32(d), 1), (UInt32(m), 1), (UInt32((s * 1000).rounded()), 1000)])
            }
            gps = [(0x0000, .rationals([])), (0x0001, .ascii(latitude.1)), (0x0002, dms(latitude.0)),
                   (0x0003, .ascii(longitude.1)), (0x0004, dms(longitude.0))].filter { $0.0 != 0 }
        }
        return builder.build(ifd0: ifd0, exif: exif.isEmpty ? nil : exif, gps: gps)
    }
}

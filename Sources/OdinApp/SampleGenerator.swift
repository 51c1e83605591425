import Foundation
import OdinBasics

/// Generates a camera-trap-like sample set with the `ffmpeg` CLI: per camera a burst of stills with a subject
/// moving across the frame (EXIF DateTimeOriginal and GPS written by `ExifWriter`), short videos with a moving
/// subject (ISO 6709 `location` and `creation_time` in the container), and an empty-scene burst.
package struct SampleGenerator: Sendable {
    package struct Camera: Sendable {
        package var id: String
        package var latitude: Double
        package var longitude: Double
    }

    package var cameras: [Camera]
    package var stillsPerBurst = 5
    package var videos = 2
    package var videoSeconds = 3
    package var emptyBurst = true
    /// Frame size of the stills and of the videos.
    package var stillSize = "640x360"
    package var videoSize = "320x240"
    package var ffmpeg = "/usr/bin/ffmpeg"

    package init(cameras: [Camera]) { self.cameras = cameras }

    /// Three cameras: two 3 m apart (one site), one 2 km away (another site).
    package static func standard(cameras count: Int) -> [Camera] {
        let base = [Camera(id: "cam01", latitude: 59.858600, longitude: 17.638900),
                    Camera(id: "cam02", latitude: 59.858627, longitude: 17.638900),
                    Camera(id: "cam03", latitude: 59.876500, longitude: 17.652000)]
        return (0..<count).map { index in
            if index < base.count { return base[index] }
            return Camera(id: String(format: "cam%02d", index + 1), latitude: 59.80 + Double(index) * 0.01,
                          longitude: 17.60)
        }
    }

    package struct Manifest: Sendable {
        package var files: [String] = []
        package var stills = 0
        package var videos = 0
        package var emptyStills = 0
    }

    /// Writes `<directory>/<camera>/…` and returns what was written.
    package func generate(into directory: String) throws -> Manifest {
        guard FileManager.default.isExecutableFile(atPath: ffmpeg) else {
            throw CLIError("ffmpeg not found at \(ffmpeg): install it (apt-get install ffmpeg, or make deps)")
        }
        var manifest = Manifest()
        for (cameraIndex, camera) in cameras.enumerated() {
            let folder = directory + "/" + camera.id
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // Burst with a moving subject: 1 s apart, starting 05:3x local time on 2026-06-01.
            let start = DateComponents(year: 2026, month: 6, day: 1, hour: 5, minute: 30 + cameraIndex * 7, second: 0)
            let names = try burst(folder: folder, prefix: "IMG_", count: stillsPerBurst, moving: true,
                                  seed: cameraIndex)
            for (i, name) in names.enumerated() {
                try ExifWriter.insert(into: folder + "/" + name, dateTimeOriginal: Self.exifTime(start, plusSeconds: i),
                                      latitude: camera.latitude, longitude: camera.longitude)
                manifest.files.append(folder + "/" + name)
            }
            manifest.stills += names.count
            if cameraIndex < videos {
                let name = "VID_0001.MP4"
                let creation = Self.isoTime(start, plusSeconds: 120)
                try run(["-f", "lavfi", "-i", "color=c=0x4d6b35:s=\(videoSize):d=\(videoSeconds):r=10",
                         "-f", "lavfi", "-i", "color=c=0x2b1d12:s=48x32:r=10",
                         "-filter_complex", "[0][1]overlay=x='10+t*70':y='60+t*10':shortest=1",
                         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
                         "-metadata", "creation_time=\(creation)",
                         "-metadata", "location=\(Self.iso6709(camera.latitude, camera.longitude))",
                         folder + "/" + name])
                manifest.files.append(folder + "/" + name)
                manifest.videos += 1
            }
            if emptyBurst && cameraIndex == cameras.count - 1 {
                let later = DateComponents(year: 2026, month: 6, day: 1, hour: 14, minute: 0, second: 0)
                let empty = try burst(folder: folder, prefix: "EMPTY_", count: max(3, stillsPerBurst - 1),
                                      moving: false, seed: 9)
                for (i, name) in empty.enumerated() {
                    try ExifWriter.insert(into: folder + "/" + name, dateTimeOriginal: Self.exifTime(later, plusSeconds: i),
                                          latitude: camera.latitude, longitude: camera.longitude)
                    manifest.files.append(folder + "/" + name)
                }
                manifest.emptyStills += empty.count
                manifest.stills += empty.count
            }
        }
        return manifest
    }

    /// One ffmpeg call writes the whole burst (`<prefix>0001.JPG`…): frame n has the subject at x = 40 + 90 n.
    func burst(folder: String, prefix: String, count: Int, moving: Bool, seed: Int) throws -> [String] {
        let background = ["0x4d6b35", "0x556b2f", "0x5a6e3a"][seed % 3]
        var arguments = ["-f", "lavfi", "-i", "color=c=\(background):s=\(stillSize):r=1:d=\(count)"]
        if moving {
            arguments += ["-f", "lavfi", "-i", "color=c=0x2b1d12:s=120x80:r=1",
                          "-filter_complex", "[0][1]overlay=x='40+n*90':y='150+n*8':shortest=1"]
        }
        arguments += ["-frames:v", String(count), "-q:v", "3", folder + "/" + prefix + "%04d.JPG"]
        try run(arguments)
        return (1...count).map { String(format: "\(prefix)%04d.JPG", $0) }
    }

    /// Runs ffmpeg to completion; its output (errors only) goes to a temporary file, quoted when it fails.
    func run(_ arguments: [String]) throws {
        let argv = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"] + arguments
        let log = NSTemporaryDirectory() + "/odin-ffmpeg-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(argv, environment: nil, output: .init(path: log, appending: false))
        } catch {
            throw CLIError("\(error)")
        }
        let status = ProcessSpawner.wait(pid) ?? -1
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw CLIError("ffmpeg \(argv.dropFirst().joined(separator: " ")) exited \(status): \(output.suffix(2000))")
        }
    }

    static func exifTime(_ start: DateComponents, plusSeconds: Int) -> String {
        let total = (start.hour ?? 0) * 3600 + (start.minute ?? 0) * 60 + (start.second ?? 0) + plusSeconds
        return String(format: "%04d:%02d:%02d %02d:%02d:%02d", start.year ?? 2026, start.month ?? 1, start.day ?? 1,
                      total / 3600, (total / 60) % 60, total % 60)
    }

    /// Container creation_time in UTC (local summer time in Sweden is UTC+2).
    static func isoTime(_ start: DateComponents, plusSeconds: Int) -> String {
        let total = (start.hour ?? 0) * 3600 + (start.minute ?? 0) * 60 + (start.second ?? 0) + plusSeconds - 7200
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", start.year ?? 2026, start.month ?? 1, start.day ?? 1,
                      total / 3600, (total / 60) % 60, total % 60)
    }

    static func iso6709(_ latitude: Double, _ longitude: Double) -> String {
        String(format: "%+08.4f%+09.4f/", latitude, longitude)
    }
}

/// Writes an EXIF APP1 segment (DateTimeOriginal, OffsetTimeOriginal +02:00 = Swedish summer time, GPS) right after a JPEG's SOI marker.
package enum ExifWriter {
    package static func insert(into path: String, dateTimeOriginal: String, latitude: Double, longitude: Double) throws {
        guard var bytes = FileManager.default.contents(atPath: path).map([UInt8].init), bytes.count > 2,
              bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            throw CLIError("\(path) is not a JPEG (no SOI marker)")
        }
        let payload = Array("Exif".utf8) + [0, 0] + tiff(dateTimeOriginal: dateTimeOriginal, latitude: latitude,
                                                         longitude: longitude)
        let length = payload.count + 2
        bytes.insert(contentsOf: [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload, at: 2)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw CLIError("cannot write \(path)")
        }
    }

    /// Big-endian TIFF: IFD0 (ExifIFD, GPSInfo pointers) → Exif IFD (DateTimeOriginal) → GPS IFD.
    static func tiff(dateTimeOriginal: String, offsetTimeOriginal: String = "+02:00", latitude: Double,
                     longitude: Double) -> [UInt8] {
        var out: [UInt8] = Array("MM".utf8) + [0, 42] + u32(8)
        func entry(_ tag: UInt16, _ type: UInt16, _ count: UInt32, _ value: [UInt8]) -> [UInt8] {
            u16(tag) + u16(type) + u32(count) + value + [UInt8](repeating: 0, count: 4 - value.count)
        }
        let ifd0 = 8, exifIFD = ifd0 + 2 + 2 * 12 + 4, dateData = exifIFD + 2 + 2 * 12 + 4
        let offsetData = dateData + 20, gpsIFD = offsetData + 8, latData = gpsIFD + 2 + 5 * 12 + 4
        let lonData = latData + 24
        out += u16(2) + entry(0x8769, 4, 1, u32(UInt32(exifIFD))) + entry(0x8825, 4, 1, u32(UInt32(gpsIFD))) + u32(0)
        out += u16(2) + entry(0x9003, 2, 20, u32(UInt32(dateData))) + entry(0x9011, 2, 7, u32(UInt32(offsetData)))
            + u32(0)
        out += Array(dateTimeOriginal.utf8.prefix(19)) + [0]
        out += Array(offsetTimeOriginal.utf8.prefix(6)) + [0, 0]  // 7 bytes + 1 pad byte
        out += u16(5)
        out += entry(0x0000, 1, 4, [2, 3, 0, 0])
        out += entry(0x0001, 2, 2, [latitude >= 0 ? UInt8(ascii: "N") : UInt8(ascii: "S"), 0])
        out += entry(0x0002, 5, 3, u32(UInt32(latData)))
        out += entry(0x0003, 2, 2, [longitude >= 0 ? UInt8(ascii: "E") : UInt8(ascii: "W"), 0])
        out += entry(0x0004, 5, 3, u32(UInt32(lonData)))
        out += u32(0)
        out += dms(abs(latitude)) + dms(abs(longitude))
        return out
    }

    /// Degrees, minutes, seconds as three RATIONALs (seconds with 1/10000 precision).
    static func dms(_ value: Double) -> [UInt8] {
        let degrees = floor(value)
        let minutesFull = (value - degrees) * 60
        let minutes = floor(minutesFull)
        let seconds = (minutesFull - minutes) * 60
        return u32(UInt32(degrees)) + u32(1) + u32(UInt32(minutes)) + u32(1)
            + u32(UInt32((seconds * 10_000).rounded())) + u32(10_000)
    }

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}

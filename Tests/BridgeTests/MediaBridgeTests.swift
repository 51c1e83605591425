import Foundation
import Media
import TestSupport
import Testing

/// The FFmpeg bridge: decode a short clip generated with the `ffmpeg` CLI and check frame count and size.
@Suite(.requires(.ffmpeg)) struct MediaBridgeTests {
    /// Runs the Debian `ffmpeg` CLI; fails the test with its stderr when it fails.
    static func ffmpeg(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Peer.ffmpegPath)
        process.arguments = ["-hide_banner", "-loglevel", "error", "-y"] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BridgeTestError("ffmpeg \(arguments.joined(separator: " ")) failed: "
                + String(decoding: stderr, as: UTF8.self))
        }
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "media-bridge-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func decodesEveryFrameOfAGeneratedH264Clip() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clip = dir + "/clip.mp4"
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
                         "-c:v", "libx264", "-pix_fmt", "yuv420p", clip])

        let file = try MediaFile(source: .file(clip))
        #expect(file.info.videoStream?.codecName == "h264")
        #expect(file.info.videoStream?.width == 160)
        #expect(file.info.videoStream?.height == 120)
        var count = 0
        let report = try file.sampleFrames(FrameSampling(interval: nil),
                                           outputs: [PictureSpec(format: .rgb24)]) { frame in
            #expect(frame.pictures[0].width == 160 && frame.pictures[0].height == 120)
            #expect(frame.pictures[0].pixels.count == 160 * 120 * 3)
            count += 1
            return true
        }
        #expect(count == 20)
        #expect(report.framesDecoded == 20)
        #expect(report.warnings.isEmpty)
    }

    @Test func samplesAtAnIntervalAndScales() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clip = dir + "/clip.avi"
        try Self.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2", "-c:v", "mjpeg", clip])
        let file = try MediaFile(source: .file(clip))
        var times: [Double] = []
        _ = try file.sampleFrames(FrameSampling(interval: 0.5),
                                  outputs: [PictureSpec(format: .gray8, maxDimension: 160)]) { frame in
            #expect(frame.pictures[0].width == 160 && frame.pictures[0].height == 120)
            times.append(frame.time)
            return true
        }
        #expect(times.count == 4)  // 0, 0.5, 1.0, 1.5
        #expect(abs((times.last ?? 0) - 1.5) < 0.051)
    }
}

struct BridgeTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import Media
import TestSupport
import Testing

/// The Media wrapper on real files made by the `ffmpeg` CLI.
@Suite struct MediaTests {
    @Test(.requires(.ffmpeg), arguments: [
        ("mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "h264"),
        ("avi", ["-c:v", "mjpeg"], "mjpeg"),
        ("mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "h264"),
    ])
    func probesContainersAndSamplesAtTheInterval(_ c: (String, [String], String)) throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/clip." + c.0
        try Fixture.movingSquareVideo(path, seconds: 3, codec: c.1)
        let file = try MediaFile(source: .file(path))
        let video = try #require(file.info.videoStream)
        #expect(video.codecName == c.2)
        #expect(video.width == 320 && video.height == 240)
        #expect(abs((video.frameRate ?? 0) - 10) < 0.01)
        #expect(abs((file.info.duration ?? 0) - 3) < 0.15)
        var indices: [Int] = []
        let report = try file.sampleFrames(FrameSampling(interval: 0.3),
                                           outputs: [PictureSpec(format: .gray8, maxDimension: 160)]) { frame in
            #expect(frame.pictures[0].width == 160 && frame.pictures[0].height == 120)
            indices.append(frame.index)
            return true
        }
        #expect(indices == Array(0...9))  // 0, 0.3, …, 2.7 s
        #expect(report.framesDecoded == 30)
        #expect(report.warnings.isEmpty)
    }

    @Test(.requires(.ffmpeg)) func creationTimeAndRotationFromContainerMetadata() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let plain = dir + "/plain.mp4", rotated = dir + "/rotated.mp4"
        try Fixture.movingSquareVideo(plain, seconds: 1, extra: ["-metadata", "creation_time=2024-06-01T04:05:06Z"])
        #expect(try MediaFile.probe(.file(plain)).creationTime?.hasPrefix("2024-06-01T04:05:06") == true)
        #expect(try MediaFile.probe(.file(plain)).videoStream?.rotation == 0)
        try Fixture.ffmpeg(["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated])
        let video = try #require(try MediaFile.probe(.file(rotated)).videoStream)
        #expect(video.rotation % 180 == 90)
        #expect(video.displaySize?.width == 240 && video.displaySize?.height == 320)
        // Our upright frame matches what FFmpeg's CLI shows (autorotate): the square lands in the same place.
        let pictures = try MediaFile(source: .file(rotated)).decodePicture(outputs: [PictureSpec(format: .gray8)])
        #expect(pictures[0].width == 240 && pictures[0].height == 320)
        let ours = try #require(Fixture.brightBox(pictures[0].pixels, width: 240))
        let theirs = try #require(Fixture.brightBox(try Fixture.ffmpegFirstFrameGray(rotated), width: 240))
        #expect(abs(ours.0 - theirs.0) <= 2 && abs(ours.1 - theirs.1) <= 2)
        #expect(abs(ours.2 - theirs.2) <= 2 && abs(ours.3 - theirs.3) <= 2)
    }

    /// Skipping non-reference frames between sampling targets must not change a single sampled pixel.
    @Test(.requires(.ffmpeg)) func sampledFramesEqualTheSameFramesFromAFullDecode() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/bframes.mp4"
        try Fixture.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3", "-c:v", "libx264",
                            "-bf", "3", "-pix_fmt", "yuv420p", path])
        var all: [Double: [UInt8]] = [:]
        _ = try MediaFile(source: .file(path)).sampleFrames(FrameSampling(interval: nil),
                                                            outputs: [PictureSpec(format: .gray8)]) { frame in
            all[frame.time] = frame.pictures[0].pixels
            return true
        }
        var compared = 0
        let report = try MediaFile(source: .file(path)).sampleFrames(FrameSampling(interval: 0.3),
                                                                     outputs: [PictureSpec(format: .gray8)]) { frame in
            #expect(all[frame.time] == frame.pictures[0].pixels, "frame at \(frame.time) s differs")
            compared += 1
            return true
        }
        #expect(compared == 10)
        #expect(report.framesDecoded < all.count)  // some non-reference frames were skipped
    }

    @Test(.requires(.ffmpeg)) func keyframesOnlyAndSegments() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/gop.mp4"
        try Fixture.movingSquareVideo(path, seconds: 4, codec: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10"])
        let file = try MediaFile(source: .file(path))
        var keyTimes: [Double] = []
        _ = try file.sampleFrames(FrameSampling(interval: nil, keyframesOnly: true), outputs: []) { frame in
            #expect(frame.isKeyframe)
            keyTimes.append(frame.time)
            return true
        }
        #expect(keyTimes.count == 4)
        // Segment 1 of 2 covers [2, ∞); with 0.5 s sampling that is targets 4…7 (2.0, 2.5, 3.0, 3.5 s).
        let range = try file.info.timeRange(segment: 1, of: 2)
        #expect(abs(range.lowerBound - 2) < 0.1)
        var indices: [Int] = []
        _ = try MediaFile(source: .file(path)).sampleFrames(FrameSampling(interval: 0.5, timeRange: range),
                                                            outputs: []) { frame in
            indices.append(frame.index)
            return true
        }
        #expect(indices == [4, 5, 6, 7])
        #expect(throws: MediaError.self) { try file.info.timeRange(segment: 2, of: 2) }
    }

    @Test(.requires(.ffmpeg)) func truncatedFilesAreReportedNotFatalToTheCaller() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        // moov at the end: cutting the file loses the index, so opening fails with FFmpeg's message.
        let tail = dir + "/tail.mp4"
        try Fixture.movingSquareVideo(tail, seconds: 3)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tail))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: dir + "/cut-tail.mp4"))
        do {
            _ = try MediaFile(source: .file(dir + "/cut-tail.mp4"))
            Issue.record("expected an open error")
        } catch {
            #expect(error.kind == .open)
            #expect(error.description.contains("cut-tail.mp4"))
        }
        // moov at the front: the frames before the cut decode, and the early end is reported.
        let front = dir + "/front.mp4"
        try Fixture.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=6", "-c:v", "libx264",
                            "-pix_fmt", "yuv420p", "-movflags", "+faststart", front])
        let all = try Data(contentsOf: URL(fileURLWithPath: front))
        try all.prefix(all.count * 2 / 3).write(to: URL(fileURLWithPath: dir + "/cut-front.mp4"))
        var frames = 0
        let report = try MediaFile(source: .file(dir + "/cut-front.mp4")).sampleFrames(
            FrameSampling(interval: 0.3), outputs: []) { _ in frames += 1; return true }
        #expect(frames > 0 && frames < 20)
        #expect(!report.warnings.isEmpty)
        // Not media at all.
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: dir + "/junk.mp4"))
        #expect(throws: MediaError.self) { try MediaFile(source: .file(dir + "/junk.mp4")) }
    }

    /// A custom reader source counts what FFmpeg reads: probing an MP4 with its index at the end reads the header
    /// boxes, not the media data.
    @Test(.requires(.ffmpeg)) func readerSourceProbesWithFewBytes() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/big.mp4"
        try Fixture.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=640x480:rate=25:duration=8", "-c:v", "libx264",
                            "-preset", "ultrafast", "-qp", "0", path])
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let bytes = [UInt8](data)
        let reader = RandomAccessReader(name: "big.mp4", size: Int64(bytes.count), blockSize: 16 * 1024) { offset, count in
            let start = Int(offset), end = min(bytes.count, start + count)
            return start < end ? Array(bytes[start..<end]) : []
        }
        let info = try MediaFile.probe(.reader(reader))
        #expect(info.videoStream?.width == 640)
        #expect(info.bytesRead > 0)
        #expect(info.bytesRead < Int64(bytes.count) / 10, "read \(info.bytesRead) of \(bytes.count)")
        // And decoding through the same reader works.
        var count = 0
        _ = try MediaFile(source: .reader(reader)).sampleFrames(FrameSampling(interval: 1), outputs: []) { _ in
            count += 1
            return true
        }
        #expect(count == 8)
    }

    @Test func readerFailuresBecomeIOErrors() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "connection reset" } }
        let reader = RandomAccessReader(name: "broken", size: 1_000_000) { _, _ in throw Broken() }
        do {
            _ = try MediaFile(source: .reader(reader))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .io)
            #expect(error.description.contains("connection reset"))
        }
    }

    /// A size-limited output lets the JPEG decoder work at reduced resolution; the full size is still reported.
    @Test(.requires(.ffmpeg)) func reducedResolutionStillDecodeKeepsTheSourceSize() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/big.jpg"
        try Fixture.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=1280x720:d=1", "-frames:v", "1", path])
        let frame = try MediaFile(source: .file(path), readsStreamInfo: false).decodeFirstFrame(
            outputs: [PictureSpec(format: .gray8, maxDimension: 320)])
        #expect(frame.sourceWidth == 1280 && frame.sourceHeight == 720)
        #expect(frame.pictures[0].width == 320 && frame.pictures[0].height == 180)
        let full = try MediaFile(source: .file(path)).decodeFirstFrame(outputs: [PictureSpec(format: .rgb24)])
        #expect(full.pictures[0].width == 1280 && full.sourceWidth == 1280)
    }

    @Test func jpegEncodeRoundTrip() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) { pixels[i] = 200 }
        let jpeg = try JPEG.encode(Picture(width: 64, height: 48, format: .rgb24, pixels: pixels))
        #expect(jpeg.starts(with: [0xFF, 0xD8]))
        try Data(jpeg).write(to: URL(fileURLWithPath: dir + "/red.jpg"))
        let back = try MediaFile(source: .file(dir + "/red.jpg")).decodePicture(outputs: [PictureSpec(format: .rgb24)])
        #expect(back[0].width == 64 && back[0].height == 48)
        #expect(abs(Int(back[0].pixels[0]) - 200) < 12)
    }
}

/// `.url` sources: FFmpeg's own http protocol against a real loopback HTTP server.
@Suite(.requires(.ffmpeg)) struct MediaURLTests {
    /// Starts `python3 -m http.server` on 127.0.0.1 (port chosen by the OS) serving `root`; always stops it.
    static func withHTTPServer<T>(root: String, _ body: (Int) throws -> T) throws -> T {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // SIGKILL: the test runner's signal mask is inherited, so SIGTERM may never be delivered.
        defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        var text = ""
        while !text.contains("port ") || !text.contains("(http") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw Fixture.Failure("http.server exited: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        let after = text.split(separator: "port ").last ?? ""
        guard let port = Int(after.prefix { $0.isNumber }) else { throw Fixture.Failure("no port in: \(text)") }
        return try body(port)
    }

    @Test func probesAndDecodesOverHTTP() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        try Fixture.movingSquareVideo(dir + "/clip.mp4", seconds: 2,
                                      extra: ["-movflags", "+faststart", "-metadata", "creation_time=2024-01-01T00:00:00Z"])
        try MediaURLTests.withHTTPServer(root: dir) { port in
            let url = "http://127.0.0.1:\(port)/clip.mp4?X-Amz-Signature=secret"
            let file = try MediaFile(source: .url(url))
            #expect(file.info.videoStream?.width == 320)
            #expect(file.info.creationTime?.hasPrefix("2024-01-01T00:00:00") == true)
            var frames = 0
            let report = try file.sampleFrames(FrameSampling(interval: 0.5), outputs: []) { _ in frames += 1; return true }
            #expect(frames == 4)
            #expect(report.bytesRead > 0)
            // A missing object: the error names the URL without its query (no signature in logs).
            do {
                _ = try MediaFile(source: .url("http://127.0.0.1:\(port)/missing.mp4?X-Amz-Signature=secret"))
                Issue.record("expected an error")
            } catch let error as MediaError {
                #expect(error.kind == .open)
                #expect(!error.description.contains("secret"))
                #expect(error.description.contains("missing.mp4"))
            }
        }
    }
}

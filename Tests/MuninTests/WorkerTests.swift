import Compression
import Foundation
import Media
import Munin
import OdinKit
import Synchronization
import TestSupport
import Testing

/// `munin-worker` end to end, in-process, on a directory store with generated media.
@Suite struct WorkerTests {
    final class Log: Sendable {
        let lines = Mutex<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
        var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
    }

    /// A store with a burst of three stills (cam01), a lone still without EXIF (cam02), a video (cam01), a truncated
    /// video, and a manifest of two chunks (chunk 1 holds the media).
    func makeRun(_ root: String, run: String) throws -> DirectoryObjectStore {
        let store = try DirectoryObjectStore(root: root + "/store")
        let raw = root + "/store/raw"
        for camera in ["cam01", "cam02"] {
            try FileManager.default.createDirectory(atPath: raw + "/" + camera, withIntermediateDirectories: true)
        }
        for (k, x) in [60, 140, 220].enumerated() {
            try Fixture.jpeg(raw + "/cam01/IMG_000\(k + 1).JPG", squareX: x, exif: TIFFBuilder.camera(
                bigEndian: k % 2 == 0, original: "2024:07:01 12:01:0\(2 * k)", latitude: (59.5, "N"),
                longitude: (18.25, "E")))
        }
        try Fixture.jpeg(raw + "/cam02/IMG_0100.JPG", exif: nil)
        try Fixture.movingSquareVideo(raw + "/cam01/clip.mp4", seconds: 2,
                                      extra: ["-metadata", "creation_time=2024-07-01T10:05:00Z"])
        try Fixture.movingSquareVideo(raw + "/cam01/broken.mp4", seconds: 2)
        let whole = try Data(contentsOf: URL(fileURLWithPath: raw + "/cam01/broken.mp4"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: raw + "/cam01/broken.mp4"))
        func item(_ key: String, _ camera: String) throws -> Chunk.Item {
            Chunk.Item(key: key, cameraID: camera, size: try store.head(key)?.size ?? 0)
        }
        try Fixture.writeManifest([
            Chunk(runID: run, index: 0, items: []),
            Chunk(runID: run, index: 1, items: [
                try item("raw/cam01/IMG_0003.JPG", "cam01"), try item("raw/cam02/IMG_0100.JPG", "cam02"),
                try item("raw/cam01/clip.mp4", "cam01"), try item("raw/cam01/IMG_0001.JPG", "cam01"),
                try item("raw/cam01/broken.mp4", "cam01"), try item("raw/cam01/IMG_0002.JPG", "cam01"),
            ]),
        ], run: run, store: store)
        try """
            camera_id,location,timezone,offset_seconds,clock_drift_ppm,notes
            cam01,Tyresta,Europe/Stockholm,60,0,one minute fast
            """.write(toFile: root + "/corrections.csv", atomically: true, encoding: .utf8)
        return store
    }

    @Test(.requires(.ffmpeg)) func processesAChunkAndRerunsIdempotently() throws {
        let root = try Fixture.directory("munin-worker")
        defer { Fixture.remove(root) }
        let store = try makeRun(root, run: "r1")
        let log = Log()
        let arguments = ["--store", "file://" + root + "/store", "--run", "r1",
                         "--time-corrections", root + "/corrections.csv", "--scratch", root]
        let status = WorkerCommand.main(arguments: arguments, environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "1"],
                                        log: log.sink)
        #expect(status == 0, "\(log.text)")
        let records = try Fixture.readStage1(store, run: "r1", chunk: 1)

        // Stills: one record each, manifest order kept, time corrected (12:01:0x local CEST, camera 60 s fast).
        let stills = records.filter { $0.path.hasSuffix(".JPG") }
        #expect(stills.map(\.path) == ["raw/cam01/IMG_0003.JPG", "raw/cam02/IMG_0100.JPG", "raw/cam01/IMG_0001.JPG",
                                       "raw/cam01/IMG_0002.JPG"])
        let first = try #require(stills.first { $0.path.hasSuffix("IMG_0001.JPG") })
        #expect(first.timestamp == "2024-07-01T10:00:00Z")  // 12:01:00 CEST, 60 s fast
        #expect(first.latitude == 59.5 && first.longitude == 18.25)
        #expect(first.width == 320 && first.height == 240)
        #expect(first.detector == "motion-v1")
        #expect(first.errors.isEmpty, "\(first.errors)")
        // The burst of three: the square moved between shots, so each still has a motion box.
        for still in stills where still.cameraID == "cam01" {
            #expect(!still.detections.isEmpty, "\(still.path)")
        }
        let lone = try #require(stills.first { $0.cameraID == "cam02" })
        #expect(lone.timestamp == nil)
        #expect(lone.detections.isEmpty)
        #expect(lone.errors.contains { $0.contains("no EXIF") })

        // Video: frame records with detections and times from creation_time (UTC) minus the 60 s offset.
        let frames = records.filter { $0.path == "raw/cam01/clip.mp4" && $0.frameTime != nil }
        #expect(frames.count >= 5)
        let frame3 = try #require(frames.first { $0.frameNumber == 3 })
        #expect(frame3.timestamp == "2024-07-01T10:04:00.900Z")
        #expect(frame3.detections.first.map { $0.bbox[0] < (40 + 60 * 0.9) / 320 } == true)
        // Broken video: one record with the error; the chunk carried on.
        let broken = records.filter { $0.path == "raw/cam01/broken.mp4" }
        #expect(broken.count == 1)
        #expect(broken.first?.errors.first?.contains("avformat_open_input") == true)

        // Rerun: the output is replaced, not appended to.
        let again = WorkerCommand.main(arguments: arguments + ["--index", "1"], environment: [:], log: log.sink)
        #expect(again == 0)
        #expect(try Fixture.readStage1(store, run: "r1", chunk: 1) == records)
        #expect(try store.list(prefix: "runs/r1/stage1/").map(\.key).filter { !$0.contains("/thumbnails/") }
                == ["runs/r1/stage1/chunk-1.jsonl.gz"])
    }

    /// The S3-shaped path: media read through ranged GETs on the object-store port (no local copy) gives the same
    /// records as reading the files in place.
    @Test(.requires(.ffmpeg)) func rangedReadsThroughTheStorePortMatchLocalFiles() throws {
        let root = try Fixture.directory("munin-worker")
        defer { Fixture.remove(root) }
        let store = try makeRun(root, run: "r3")
        let arguments = ["--store", root + "/store", "--run", "r3", "--index", "1",
                         "--time-corrections", root + "/corrections.csv", "--scratch", root]
        #expect(WorkerCommand.main(arguments: arguments, environment: [:], log: { _ in }) == 0)
        let local = try Fixture.readStage1(store, run: "r3", chunk: 1)
        let ranged = WorkerCommand.main(arguments: arguments, environment: [:],
                                        locator: { .rangedReads($0, blockSize: 64 * 1024) }, log: { _ in })
        #expect(ranged == 0)
        let remote = try Fixture.readStage1(store, run: "r3", chunk: 1)
        #expect(remote.count == local.count)
        for (a, b) in zip(local, remote) where a != b { Issue.record("local \(a)\nranged \(b)") }
    }

    @Test(.requires(.ffmpeg)) func externalDetectorWithCrops() throws {
        let root = try Fixture.directory("munin-worker")
        defer { Fixture.remove(root) }
        let store = try makeRun(root, run: "r2")
        let script = root + "/md.py"
        try """
            import json, sys
            images = json.load(open(sys.argv[1]))
            json.dump({"images": [{"file": p, "detections": [{"category": "1", "conf": 0.8,
                       "bbox": [0.3, 0.3, 0.25, 0.3]}]} for p in images]}, open(sys.argv[2], "w"))
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let log = Log()
        let status = WorkerCommand.main(
            arguments: ["--store", root + "/store", "--run", "r2", "--index", "1", "--detector", "external",
                        "--detector-command", "python3 \(script) {images} {output}", "--detector-name", "stub",
                        "--crops", "--default-timezone", "Europe/Stockholm", "--scratch", root,
                        "--max-frames", "3"],
            environment: [:], log: log.sink)
        #expect(status == 0, "\(log.text)")
        let records = try Fixture.readStage1(store, run: "r2", chunk: 1)
        #expect(records.allSatisfy { $0.detector == "external:stub" })
        let lone = try #require(records.first { $0.cameraID == "cam02" })
        #expect(lone.detections.count == 1)
        let crop = try #require(lone.detections.first?.crop)
        #expect(crop == "runs/r2/stage1/crops/raw/cam02/IMG_0100.JPG/still-0.jpg")
        #expect(try store.get(crop).starts(with: [0xFF, 0xD8]))
        let videoFrames = records.filter { $0.path == "raw/cam01/clip.mp4" && $0.frameNumber != nil }
        #expect(videoFrames.count == 3)
        #expect(videoFrames.allSatisfy { $0.detections.first?.crop?.contains("clip.mp4/f") == true })
    }

    @Test func badOptionsNameTheOption() {
        let log = Log()
        #expect(WorkerCommand.main(arguments: ["--store", "/tmp/x", "--run", "r", "--index", "0",
                                               "--sampling-interval", "0"], environment: [:], log: log.sink) == 2)
        #expect(log.text.contains("--sampling-interval"))
        #expect(WorkerCommand.main(arguments: ["--store", "/tmp/x", "--run", "r"], environment: [:], log: log.sink) == 2)
        #expect(log.text.contains("--index: required when AWS_BATCH_JOB_ARRAY_INDEX is not set"))
        #expect(WorkerCommand.main(arguments: ["--store", "/tmp/x", "--run", "r"],
                                   environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "x"], log: log.sink) == 2)
        #expect(log.text.contains("AWS_BATCH_JOB_ARRAY_INDEX: 'x'"))
        #expect(WorkerCommand.main(arguments: ["--store", "/tmp/x", "--run", "r", "--index", "0", "--detector",
                                               "external"], environment: [:], log: log.sink) == 2)
        #expect(log.text.contains("--detector-command"))
        #expect(WorkerCommand.main(arguments: ["--store", "/tmp/x", "--run", "../etc", "--index", "0"],
                                   environment: [:], log: log.sink) == 2)
    }

    /// EXIF orientation 6 (turn 90° clockwise): the record reports the upright size.
    @Test(.requires(.ffmpeg)) func exifOrientationIsApplied() throws {
        let root = try Fixture.directory("munin-worker")
        defer { Fixture.remove(root) }
        let store = try DirectoryObjectStore(root: root)
        try FileManager.default.createDirectory(atPath: root + "/raw/cam09", withIntermediateDirectories: true)
        let tiff = TIFFBuilder(bigEndian: false).build(ifd0: [(0x0112, .short(6))],
                                                       exif: [(0x9003, .ascii("2024:07:01 12:00:00"))])
        try Fixture.jpeg(root + "/raw/cam09/sideways.jpg", exif: tiff)
        var options = MuninOptions()
        options.defaultTimezone = "UTC"
        options.scratchDirectory = root
        let processor = try ChunkProcessor(options: options, store: store)
        let chunk = Chunk(runID: "r", index: 0, items: [Chunk.Item(key: "raw/cam09/sideways.jpg", cameraID: "cam09",
                                                                   size: 0)])
        let (records, summary) = processor.process(chunk, run: "r")
        #expect(summary.stills == 1)
        #expect(records.first?.width == 240 && records.first?.height == 320)
        #expect(records.first?.timestamp == "2024-07-01T12:00:00Z")
        #expect(records.first?.errors == [])
    }

    @Test func environmentAndFlagsBothConfigure() throws {
        let configuration = try WorkerConfiguration.parse(
            arguments: ["--max-frames=50", "--no-crops"],
            environment: ["MUNIN_STORE": "/data", "MUNIN_RUN": "r9", "AWS_BATCH_JOB_ARRAY_INDEX": "7",
                          "MUNIN_MAX_FRAMES": "10", "MUNIN_CROPS": "true", "MUNIN_KEYFRAMES_ONLY": "1"])
        #expect(configuration.index == 7)
        #expect(configuration.runID == "r9")
        #expect(configuration.options.maxFramesPerVideo == 50)
        #expect(configuration.options.cropsEnabled == false)
        #expect(configuration.options.keyframesOnly)
        #expect(configuration.options.samplingInterval == 0.3)
    }

    /// The control plane's contract: ODIN_RUN_ID, ODIN_MANIFEST, ODIN_INDEX_OFFSET and the array index pick the
    /// manifest line; a fallback manifest keeps the original chunk indices, so the output is chunk-<original index>.
    @Test func fallbackManifestThroughTheControlPlaneEnvironment() throws {
        let root = try Fixture.directory("munin-worker")
        defer { Fixture.remove(root) }
        let store = try DirectoryObjectStore(root: root)
        try Fixture.writeManifest([Chunk(runID: "r", index: 3, items: []), Chunk(runID: "r", index: 7, items: []),
                                   Chunk(runID: "r", index: 9, items: [])],
                                  run: "r", store: store, key: "runs/r/fallback-1.jsonl.gz")
        let log = Log()
        let status = WorkerCommand.main(
            arguments: [], environment: ["ODIN_STORE": root, "ODIN_RUN_ID": "r",
                                         "ODIN_MANIFEST": "runs/r/fallback-1.jsonl.gz", "ODIN_INDEX_OFFSET": "1",
                                         "AWS_BATCH_JOB_ARRAY_INDEX": "1"], log: log.sink)
        #expect(status == 0, "\(log.text)")
        #expect(try store.list(prefix: "runs/r/stage1/").map(\.key) == ["runs/r/stage1/chunk-9.jsonl.gz"])
        #expect(try WorkerConfiguration.parse(arguments: [], environment: ["ODIN_BUCKET": "data-bucket",
                                                                          "ODIN_RUN_ID": "r",
                                                                          "AWS_BATCH_JOB_ARRAY_INDEX": "0"])
            .storeURI == "s3://data-bucket")
        #expect(throws: OptionError.self) {
            try WorkerConfiguration.parse(arguments: ["--index-offset", "-1"], environment: [
                "ODIN_STORE": root, "ODIN_RUN_ID": "r", "AWS_BATCH_JOB_ARRAY_INDEX": "0"])
        }
    }

    @Test func missingManifestAndIndexOutOfRangeFail() throws {
        let root = try Fixture.directory("munin-worker")
        defer { Fixture.remove(root) }
        let log = Log()
        #expect(WorkerCommand.main(arguments: ["--store", root, "--run", "none", "--index", "0"], environment: [:],
                                   log: log.sink) == 1)
        #expect(log.text.contains("manifest"))
        let store = try DirectoryObjectStore(root: root)
        try Fixture.writeManifest([Chunk(runID: "r", index: 0, items: [])], run: "r", store: store)
        #expect(WorkerCommand.main(arguments: ["--store", root, "--run", "r", "--index", "4"], environment: [:],
                                   log: log.sink) == 1)
        #expect(log.text.contains("index 4 is out of range"))
        #expect(WorkerCommand.main(arguments: ["--store", "s3://bucket", "--run", "r", "--index", "0"],
                                   environment: [:], log: log.sink) == 1)
        #expect(log.text.contains("s3:// stores need the AWS binding"))
    }
}

/// An object store that counts ranged GETs and their bytes (wraps a directory store).
final class CountingStore: ObjectStore, Sendable {
    let inner: DirectoryObjectStore
    let counts = Mutex<(requests: Int, bytes: Int64)>((0, 0))
    init(_ inner: DirectoryObjectStore) { self.inner = inner }
    var rootURI: String { inner.rootURI }
    func get(_ key: String) throws -> [UInt8] { try inner.get(key) }
    func get(_ key: String, range: Range<Int64>) throws -> [UInt8] {
        let bytes = try inner.get(key, range: range)
        counts.withLock { $0.requests += 1; $0.bytes += Int64(bytes.count) }
        return bytes
    }
    func head(_ key: String) throws -> ObjectInfo? { try inner.head(key) }
    func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
        try inner.put(key, bytes: bytes, ifAbsent: ifAbsent)
    }
    func upload(file path: String, to key: String) throws -> ObjectInfo { try inner.upload(file: path, to: key) }
    func download(_ key: String, to path: String) throws { try inner.download(key, to: path) }
    func list(prefix: String) throws -> [ObjectInfo] { try inner.list(prefix: prefix) }
    func delete(_ key: String) throws { try inner.delete(key) }
}

@Suite(.requires(.ffmpeg)) struct RangedReadTests {
    /// Probing reads the header boxes only; decoding the whole file takes few, growing requests.
    @Test func probeIsSmallAndDecodeTakesFewRequests() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let store = CountingStore(try DirectoryObjectStore(root: dir))
        try FileManager.default.createDirectory(atPath: dir + "/raw", withIntermediateDirectories: true)
        try Fixture.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25:duration=6", "-c:v", "libx264",
                            "-preset", "ultrafast", "-qp", "0", dir + "/raw/big.mp4"])
        let size = try #require(try store.head("raw/big.mp4")).size
        let locator = MediaLocator.rangedReads(store)
        let info = try MediaFile.probe(try locator.locate("raw/big.mp4", size, dir).source)
        #expect(info.videoStream?.width == 640)
        let probe = store.counts.withLock { $0 }
        #expect(probe.bytes < 512 * 1024 && probe.bytes < size / 10, "probe fetched \(probe.bytes) of \(size)")
        store.counts.withLock { $0 = (0, 0) }
        var frames = 0
        _ = try MediaFile(source: try locator.locate("raw/big.mp4", size, dir).source).sampleFrames(
            FrameSampling(interval: 1), outputs: []) { _ in frames += 1; return true }
        #expect(frames == 6)
        let decode = store.counts.withLock { $0 }
        let fullBlocks = Int(size / (64 * 1024))
        #expect(decode.requests < fullBlocks / 4, "\(decode.requests) requests for \(size) bytes")
    }
}

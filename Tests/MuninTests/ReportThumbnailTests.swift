import Foundation
import Hugin
import Media
import Munin
import OdinBasics
import OdinKit
import Testing

import TestSupport

/// Worker → Hugin → report.html on real files: every visit shows a small JPEG of its best detection, made by the
/// worker with FFmpeg at detection time, and the report renders in headless Chromium with no network.
@Suite(.requires(.ffmpeg)) struct ReportThumbnailTests {
    struct Clock: WallClock {
        func now() -> Instant { Instant(timeIntervalSince1970: 1_780_000_000) }
    }

    /// A camera-like run: a burst of three 1920×1080 stills (textured scene, a square moving between shots, GPS in
    /// Sweden, local EXIF time without offset) and a 1280×720 video with creation_time; then Hugin.
    static func makeRun(_ root: String, thumbnails: Bool = true) throws -> (DirectoryObjectStore, [Stage1Record]) {
        let store = try DirectoryObjectStore(root: root + "/store")
        let raw = root + "/store/raw/cam01"
        try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
        for (k, x) in [300, 900, 1500].enumerated() {
            try Fixture.jpeg(raw + "/IMG_000\(k + 1).JPG", squareX: x, squareY: 400, square: 160,
                             exif: TIFFBuilder.camera(bigEndian: false, original: "2024:07:01 05:01:0\(2 * k)",
                                                      latitude: (59.5, "N"), longitude: (18.25, "E")),
                             background: "testsrc2=s=1920x1080:d=1")
        }
        try Fixture.movingSquareVideo(raw + "/clip.mp4", seconds: 2, size: "1280x720",
                                      extra: ["-metadata", "creation_time=2024-07-01T10:05:00Z"])
        let keys = ["raw/cam01/IMG_0001.JPG", "raw/cam01/IMG_0002.JPG", "raw/cam01/IMG_0003.JPG",
                    "raw/cam01/clip.mp4"]
        try Fixture.writeManifest([Chunk(runID: "rt", index: 0, items: try keys.map {
            Chunk.Item(key: $0, cameraID: "cam01", size: try store.head($0)?.size ?? 0)
        })], run: "rt", store: store)
        let log = WorkerTests.Log()
        let status = WorkerCommand.main(
            arguments: ["--store", root + "/store", "--run", "rt", "--index", "0", "--scratch", root,
                        "--max-frames", "6", "--sampling-interval", "0.3"] + (thumbnails ? [] : ["--no-thumbnails"]),
            environment: [:], log: log.sink)
        #expect(status == 0, "\(log.text)")
        // The small square in the video moves little: its motion scores are low, so keep them for the report.
        _ = try Condenser(options: CondensationOptions(minConfidence: 0.2), store: store, clock: Clock())
            .condense(run: "rt")
        return (store, try Fixture.readStage1(store, run: "rt", chunk: 0))
    }

    @Test func thumbnailsAreSmallJPEGsOfEachFramesBestDetection() throws {
        let root = try Fixture.directory("munin-thumbs")
        defer { Fixture.remove(root) }
        let (store, records) = try Self.makeRun(root)
        let withDetections = records.filter { !$0.detections.isEmpty }
        #expect(withDetections.contains { $0.frameNumber == nil } && withDetections.contains { $0.frameNumber != nil })
        var sizes: [Int] = []
        for record in withDetections {
            for species in Set(record.detections.map(\.speciesName)) {
                let named = record.detections.filter { $0.speciesName == species && $0.thumbnail != nil }
                #expect(named.count == 1, "one thumbnail per species per frame: \(record.path) \(species)")
                let best = record.detections.filter { $0.speciesName == species }.max { $0.conf < $1.conf }
                #expect(named.first?.conf == best?.conf, "the thumbnail is of the best detection")
                let key = try #require(named.first?.thumbnail)
                #expect(key == StoreLayout.thumbnailKey(stage1Prefix: "runs/rt/stage1/", media: record.path,
                                                        frame: record.frameNumber, species: species))
                let bytes = try store.get(key)
                sizes.append(bytes.count)
                #expect(bytes.count <= 12_000, "\(key): \(bytes.count) bytes")
                // FFmpeg decodes it: a real JPEG whose longer side is at most 160 px.
                let file = try MediaFile(source: .file(try store.path(for: key)))
                #expect(file.info.streams.first?.codecName == "mjpeg")
                let picture = try file.decodePicture(outputs: [PictureSpec(format: .rgb24)])[0]
                #expect(max(picture.width, picture.height) <= 160 && min(picture.width, picture.height) >= 16,
                        "\(picture.width)x\(picture.height)")
            }
        }
        print("thumbnail sizes (bytes): count \(sizes.count), min \(sizes.min() ?? 0), max \(sizes.max() ?? 0), "
              + "mean \(sizes.isEmpty ? 0 : sizes.reduce(0, +) / sizes.count)")

        // Hugin embeds one per listed visit.
        let report = try JSONDecoder().decode(Stage3Report.self,
                                              from: Data(try store.get("runs/rt/stage3/report.json")))
        let counts = try #require(report.thumbnails)
        #expect(report.totalObservations >= 2, "\(withDetections.map { ($0.path, $0.timestamp, $0.detections.map(\.conf)) })")
        #expect(counts.listedVisits == report.totalObservations)
        #expect(counts.embedded == counts.listedVisits && counts.notWritten == 0 && counts.unreadable == 0)
        let html = String(decoding: try store.get("runs/rt/stage3/report.html"), as: UTF8.self)
        #expect(html.components(separatedBy: "src=\"data:image/jpeg;base64,").count - 1 == counts.embedded)
    }

    @Test func noThumbnailsWhenSwitchedOff() throws {
        let root = try Fixture.directory("munin-thumbs")
        defer { Fixture.remove(root) }
        let (store, records) = try Self.makeRun(root, thumbnails: false)
        #expect(records.allSatisfy { $0.detections.allSatisfy { $0.thumbnail == nil } })
        #expect(try store.list(prefix: "runs/rt/stage1/thumbnails/").isEmpty)
        let html = String(decoding: try store.get("runs/rt/stage3/report.html"), as: UTF8.self)
        #expect(html.contains("no thumbnail") && !html.contains("data:image/jpeg"))
    }

    /// report.html opened from disk in headless Chromium with the network cut off: no console error, no failed or
    /// non-local request, every image (the thumbnails) loads. Without Chromium: skipped with the reason, or a failure
    /// where peers are required (CI=true).
    @Test(.requires(.chromium)) func reportRendersOfflineInHeadlessChromium() throws {
        let chromium = try #require(Peer.chromiumPath)
        let root = try Fixture.directory("munin-report")
        defer { Fixture.remove(root) }
        let (store, _) = try Self.makeRun(root)
        let html = try store.path(for: "runs/rt/stage3/report.html")
        let python = Peers.python ?? "/usr/bin/python3"
        let result = try Peers.run(python, [Peers.packageRoot + "/scripts/check-report-offline.py", "--chromium",
                                            chromium, "--timeout", "120", html])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("\"problems\": []"), "\(result.stdout)")
        let images = result.stdout.split(separator: "\n").first { $0.contains("\"images\":") }
        #expect(images != nil && !(images!.contains("\"images\": 0,")), "the report shows its thumbnails")
    }

    /// The checker itself fails on a page that reaches for the network or has a broken image, so a pass means
    /// something.
    @Test(.requires(.chromium)) func offlineCheckerCatchesNetworkAndBrokenImages() throws {
        let chromium = try #require(Peer.chromiumPath)
        let root = try Fixture.directory("munin-report")
        defer { Fixture.remove(root) }
        let page = root + "/bad.html"
        try """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>
            <img src="https://tile.openstreetmap.org/0/0/0.png" alt="tile"><img src="missing.jpg" alt="gone">
            </body></html>
            """.write(toFile: page, atomically: true, encoding: .utf8)
        let python = Peers.python ?? "/usr/bin/python3"
        let result = try Peers.run(python, [Peers.packageRoot + "/scripts/check-report-offline.py", "--chromium",
                                            chromium, page])
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("network request: https://tile.openstreetmap.org/0/0/0.png"))
        #expect(result.stdout.contains("image did not load: file://"))
    }
}

import Foundation
import Hugin
import Munin
import OdinKit
import TestSupport
import Testing

/// Files the way real trail-camera SD cards hold them, generated here: `DCIM/100MEDIA/IMG_000N.JPG` stills with
/// EXIF `DateTimeOriginal` in local time and no `OffsetTimeOriginal`, GPS in all four hemispheres (a southern DST
/// date, a half-hour zone), an MP4 with `creation_time` and a location, a truncated JPEG, a camera without GPS, and
/// NFC and NFD file names. Munin then Hugin, in process, on a directory store.
@Suite(.requires(.ffmpeg)) struct SDCardTests {
    struct Card {
        var camera: String
        var position: ((Double, String), (Double, String))?
        /// Local wall-clock time of the first still (the burst is 3 stills, 2 s apart).
        var local: String
        var zone: String?
        /// The first still's UTC instant, worked out by hand from the zone's offset on that date.
        var utc: String
        var names: [String] = ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    }

    static let cards: [Card] = [
        Card(camera: "cam-no", position: ((61.1151, "N"), (10.4663, "E")), local: "2025:07:15 06:12:0",
             zone: "Europe/Oslo", utc: "2025-07-15T04:12:00Z"),  // CEST +02:00
        Card(camera: "cam-br", position: ((15.7939, "S"), (47.8828, "W")), local: "2025:01:10 14:30:0",
             zone: "America/Sao_Paulo", utc: "2025-01-10T17:30:00Z"),  // -03:00, no DST since 2019
        Card(camera: "cam-nz", position: ((45.0312, "S"), (168.6626, "E")), local: "2025:01:10 21:00:0",
             zone: "Pacific/Auckland", utc: "2025-01-10T08:00:00Z"),  // NZDT +13:00 (southern summer)
        Card(camera: "cam-au", position: ((34.9285, "S"), (138.6007, "E")), local: "2025:01:10 09:15:0",
             zone: "Australia/Adelaide", utc: "2025-01-09T22:45:00Z"),  // ACDT +10:30 (half hour and DST)
        Card(camera: "cam-in", position: ((12.9716, "N"), (77.5946, "E")), local: "2025:03:01 07:00:0",
             zone: "Asia/Kolkata", utc: "2025-03-01T01:30:00Z"),  // +05:30
        Card(camera: "cam-us", position: ((39.7392, "N"), (104.9903, "W")), local: "2025:07:04 18:40:0",
             zone: "America/Denver", utc: "2025-07-05T00:40:00Z"),  // MDT -06:00, the next UTC day
        // No GPS and no offset: the zone is unknown; the visit is still built from the camera's local time.
        Card(camera: "cam-x", position: nil, local: "2025:05:01 08:00:0", zone: nil, utc: "2025-05-01T08:00:00Z",
             names: ["B\u{E4}ver-1.JPG", "Ba\u{308}ver-2.JPG", "IMG_0003.JPG"]),  // NFC, NFD
    ]

    @Test func realisticCardsGiveVisitsAndSites() throws {
        let root = try Fixture.directory("sdcard")
        defer { Fixture.remove(root) }
        let store = try DirectoryObjectStore(root: root + "/store")
        var keys: [(String, String)] = []
        for card in Self.cards {
            let folder = "raw/\(card.camera)/DCIM/100MEDIA/"
            try FileManager.default.createDirectory(atPath: root + "/store/" + folder,
                                                    withIntermediateDirectories: true)
            for (k, name) in card.names.enumerated() {
                try Fixture.jpeg(root + "/store/" + folder + name, squareX: [60, 140, 220][k], exif: TIFFBuilder.camera(
                    bigEndian: k % 2 == 0, original: card.local + "\(2 * k)", latitude: card.position?.0,
                    longitude: card.position?.1))
                keys.append((folder + name, card.camera))
            }
        }
        // A truncated still (the card was pulled mid-write): EXIF readable, picture not.
        let truncated = "raw/cam-no/DCIM/100MEDIA/IMG_0004.JPG"
        try Fixture.jpeg(root + "/store/" + truncated, exif: TIFFBuilder.camera(
            bigEndian: false, original: "2025:07:15 06:30:00", latitude: (61.1151, "N"), longitude: (10.4663, "E")))
        let whole = try Data(contentsOf: URL(fileURLWithPath: root + "/store/" + truncated))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: root + "/store/" + truncated))
        keys.append((truncated, "cam-no"))
        // A still whose GPS fix failed: the camera's other stills say which zone it is in.
        let noFix = "raw/cam-no/DCIM/100MEDIA/IMG_0005.JPG"
        try Fixture.jpeg(root + "/store/" + noFix,
                         exif: TIFFBuilder.camera(bigEndian: true, original: "2025:07:15 06:40:00"))
        keys.append((noFix, "cam-no"))
        // A video: creation_time is UTC by specification; its ISO 6709 location is the US camera's.
        let video = "raw/cam-us/DCIM/100MEDIA/MOVI0005.MP4"
        try Fixture.movingSquareVideo(root + "/store/" + video, seconds: 2, extra: [
            "-metadata", "creation_time=2025-07-05T01:30:00Z", "-metadata", "location=+39.7392-104.9903/"])
        keys.append((video, "cam-us"))

        let items = try keys.map { Chunk.Item(key: $0.0, cameraID: $0.1, size: try store.head($0.0)?.size ?? 0) }
        try Fixture.writeManifest([Chunk(runID: "sd1", index: 0, items: items)], run: "sd1", store: store)
        let log = WorkerTests.Log()
        let status = WorkerCommand.main(arguments: ["--store", "file://" + root + "/store", "--run", "sd1",
                                                    "--index", "0", "--scratch", root],
                                        environment: [:], log: log.sink)
        #expect(status == 0, "\(log.text)")
        // The worker's summary line counts stills by zone source.
        #expect(log.text.contains("\"stillZones\":{") && log.text.contains("\"gps_lookup\":19")
            && log.text.contains("\"unknown\":3") && log.text.contains("\"camera_gps\":1"), "\(log.text)")

        // Stage 1: every file is there under its exact key (NFC and NFD stay distinct bytes).
        let records = try Fixture.readStage1(store, run: "sd1", chunk: 0)
        let recordKeys = Set(records.map { Array($0.path.utf8) })
        for (key, _) in keys { #expect(recordKeys.contains(Array(key.utf8)), "\(key)") }
        #expect(Set(keys.map { Array($0.0.utf8) }).count == keys.count)
        for card in Self.cards {
            let stills = records.filter {
                $0.cameraID == card.camera && $0.path.hasSuffix(".JPG") && $0.path != truncated && $0.path != noFix
            }
            #expect(stills.count == 3, "\(card.camera)")
            let firstLocal = LocalDateTime(parsing: card.local + "0")!.description
            let first = try #require(stills.first { $0.localTime == firstLocal })
            #expect(first.errors.isEmpty, "\(card.camera): \(first.errors)")
            #expect(!first.detections.isEmpty, "\(card.camera): the burst's first still has a motion box")
            if let zone = card.zone {
                #expect(first.timestamp == card.utc, "\(card.camera)")
                #expect(first.timeZone == zone && first.timeZoneSource == "gps_lookup", "\(card.camera)")
            } else {
                #expect(first.timestamp == nil && first.timeZone == nil && first.timeZoneSource == "unknown")
            }
        }
        let broken = try #require(records.first { $0.path == truncated })
        #expect(!broken.errors.isEmpty && broken.detections.isEmpty)
        #expect(broken.timestamp == "2025-07-15T04:30:00Z")
        let lost = try #require(records.first { $0.path == noFix })
        #expect(lost.timestamp == "2025-07-15T04:40:00Z" && lost.timeZone == "Europe/Oslo")
        #expect(lost.timeZoneSource == "camera_gps" && lost.latitude == nil)
        // The video's instant stays its UTC creation_time; its container position gives the local time (MDT).
        let frames = records.filter { $0.path == video && $0.frameTime != nil }
        #expect(!frames.isEmpty && frames.allSatisfy {
            $0.timeZoneSource == "gps_lookup" && $0.timeZone == "America/Denver" && $0.utcOffset == "-06:00"
        })
        #expect(frames.first?.latitude == 39.7392)
        for frame in frames {
            let utc = try #require(frame.timestamp.flatMap(parseISO8601))
            #expect(abs(utc - parseISO8601("2025-07-05T01:30:00Z")! - (frame.frameTime ?? -1)) < 0.002)
            #expect(frame.localTime?.hasPrefix("2025-07-04T19:30:0") == true, "\(frame.localTime ?? "nil")")
        }
        #expect(frames.first?.localTime == "2025-07-04T19:30:00")

        // Hugin: one visit per still camera, one for the video, each at its camera's site; cam-x has no site.
        let summary = try Condenser(options: CondensationOptions(minConfidence: 0), store: store).condense(run: "sd1")
        #expect(summary.sites == 6)
        #expect(summary.visits == 8)
        let visits = try JSONDecoder().decode([CompressedObservation].self, from: Data(
            try store.get(StoreLayout.stage3Prefix(run: "sd1") + Stage3Files.compressedObservations)))
        for card in Self.cards {
            let own = visits.filter { $0.cameraID == card.camera && $0.sourceVideo == nil }
            #expect(own.count == 1, "\(card.camera): \(own.map(\.startTime))")
            #expect(own.first?.startTime == card.utc, "\(card.camera)")
            #expect(own.first?.frameCount == 3, "\(card.camera)")
            #expect((own.first?.siteID == nil) == (card.position == nil), "\(card.camera)")
        }
        let videoVisit = try #require(visits.first { $0.sourceVideo == video })
        #expect(videoVisit.startTime.hasPrefix("2025-07-05T01:30:00"))
        #expect(videoVisit.siteID == visits.first { $0.cameraID == "cam-us" && $0.sourceVideo == nil }?.siteID)

        // Stage 3 says which offsets were inferred and which zone is unknown.
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(
            try store.get(StoreLayout.stage3Prefix(run: "sd1") + Stage3Files.report)))
        let zones = Dictionary(grouping: report.timeZones, by: \.cameraID)
        for card in Self.cards {
            let stills = try #require(zones[card.camera]?.first { $0.source == "gps_lookup" || $0.source == "unknown" })
            #expect(stills.zone == card.zone && stills.inferred == (card.zone != nil), "\(card.camera)")
            #expect(stills.source == (card.zone == nil ? "unknown" : "gps_lookup"))
        }
        #expect(zones["cam-no"]?.contains { $0.source == "camera_gps" && $0.zone == "Europe/Oslo" && $0.inferred }
            == true)
        let html = String(decoding: try store.get(StoreLayout.stage3Prefix(run: "sd1") + Stage3Files.reportHTML),
                          as: UTF8.self)
        #expect(html.contains("time-zones-table") && html.contains("Australia/Adelaide")
            && html.contains("inferred from the GPS position"))
        let media = String(decoding: try store.get(StoreLayout.stage3Prefix(run: "sd1") + Stage3Files.media),
                           as: UTF8.self)
        #expect(media.contains("timestamp offset inferred from the GPS position: Pacific/Auckland (UTC+13:00)"))
        #expect(media.contains("local time zone inferred from the GPS position: America/Denver (UTC-06:00), local "
                               + "time 2025-07-04T19:30:00; the timestamp is the video's UTC creation_time"))
        // The video's visit has its local time in report.html (so the activity chart counts it).
        #expect(html.contains("<td>2025-07-05 01:30:00</td><td>2025-07-04 19:30:00 UTC−06:00</td>"))
        #expect(report.activityByLocalHour?.unknownLocalTime == 0)
        let deployments = String(decoding: try store.get(StoreLayout.stage3Prefix(run: "sd1")
                                     + Stage3Files.deployments), as: UTF8.self)
        // cam-x has neither a position nor a zone: Camtrap DP requires a deployment's latitude/longitude, so it is
        // left out of the package (counted in report.json's camtrap_dp), while its visit stays in every other file.
        #expect(!deployments.contains("cam-x"))
        let stage3Report = try JSONDecoder().decode(Stage3Report.self, from: Data(try store.get(
            StoreLayout.stage3Prefix(run: "sd1") + Stage3Files.report)))
        #expect((stage3Report.camtrapDP?.mediaWithoutPosition ?? 0) >= 1)
        #expect(stage3Report.timeZones.contains { $0.cameraID == "cam-x" && $0.source == "unknown" })
    }

    /// With a default zone set: a still without a fix still takes its camera's GPS zone (more specific than the
    /// default, and the default's notes go with it); a camera without any fix gets the default.
    @Test func cameraZoneComesBeforeTheDefault() throws {
        let root = try Fixture.directory("sdcard-default")
        defer { Fixture.remove(root) }
        let store = try DirectoryObjectStore(root: root + "/store")
        let files: [(String, String, ((Double, String), (Double, String))?)] = [
            ("raw/au/A.JPG", "au", ((34.9285, "S"), (138.6007, "E"))), ("raw/au/B.JPG", "au", nil),
            ("raw/x/C.JPG", "x", nil),
        ]
        for (key, _, position) in files {
            try FileManager.default.createDirectory(atPath: root + "/store/" + key.split(separator: "/").dropLast()
                .joined(separator: "/"), withIntermediateDirectories: true)
            // 2025-10-05 02:30 does not exist in Adelaide (clocks go forward) nor is it special in Stockholm.
            try Fixture.jpeg(root + "/store/" + key, exif: TIFFBuilder.camera(
                bigEndian: false, original: "2025:10:05 02:30:00", latitude: position?.0, longitude: position?.1))
        }
        let items = try files.map { Chunk.Item(key: $0.0, cameraID: $0.1, size: try store.head($0.0)?.size ?? 0) }
        try Fixture.writeManifest([Chunk(runID: "d1", index: 0, items: items)], run: "d1", store: store)
        let log = WorkerTests.Log()
        let status = WorkerCommand.main(arguments: ["--store", root + "/store", "--run", "d1", "--index", "0",
                                                    "--scratch", root, "--default-timezone", "Europe/Stockholm"],
                                        environment: [:], log: log.sink)
        #expect(status == 0, "\(log.text)")
        let records = Dictionary(uniqueKeysWithValues: try Fixture.readStage1(store, run: "d1", chunk: 0)
            .map { ($0.path, $0) })
        let a = try #require(records["raw/au/A.JPG"]), b = try #require(records["raw/au/B.JPG"])
        let c = try #require(records["raw/x/C.JPG"])
        #expect(a.timeZoneSource == "gps_lookup" && b.timeZoneSource == "camera_gps")
        #expect(c.timeZoneSource == "default_zone")
        #expect(a.timestamp == "2025-10-04T17:00:00Z" && b.timestamp == a.timestamp)  // read with +09:30, noted
        #expect(b.errors.count == 1 && b.errors.allSatisfy { $0.contains("Australia/Adelaide") })
        #expect(c.timestamp == "2025-10-05T00:30:00Z" && c.timeZone == "Europe/Stockholm" && c.utcOffset == "+02:00")
    }

    /// Videos (real MP4s from FFmpeg, `creation_time` in UTC, no container position) take their camera's zone in the
    /// stills' order: the time-corrections row, the zone of the camera's stills' GPS positions in the chunk, the
    /// default zone; with none, the local time stays unknown. The UTC instant never changes with the zone (only the
    /// time-corrections row's clock offset corrects it, as before).
    @Test func videosTakeTheirCameraZone() throws {
        let root = try Fixture.directory("sdcard-video-zones")
        defer { Fixture.remove(root) }
        let store = try DirectoryObjectStore(root: root + "/store")
        for camera in ["au", "tc", "x"] {
            try FileManager.default.createDirectory(atPath: root + "/store/raw/" + camera,
                                                    withIntermediateDirectories: true)
        }
        // au: a still with a fix in Adelaide (ACDT +10:30 in January), and a video without a position.
        try Fixture.jpeg(root + "/store/raw/au/A.JPG", exif: TIFFBuilder.camera(
            bigEndian: false, original: "2025:01:10 09:15:00", latitude: (34.9285, "S"), longitude: (138.6007, "E")))
        for camera in ["au", "tc", "x"] {
            try Fixture.movingSquareVideo(root + "/store/raw/\(camera)/V.MP4", seconds: 2,
                                          extra: ["-metadata", "creation_time=2025-01-10T00:00:00Z"])
        }
        // tc: a time-corrections row (Asia/Tokyo, +09:00; the camera 60 s fast).
        try """
            camera_id,location,timezone,offset_seconds,clock_drift_ppm,notes
            tc,ridge,Asia/Tokyo,60,0,
            """.write(toFile: root + "/corrections.csv", atomically: true, encoding: .utf8)
        let items = try [("raw/au/A.JPG", "au"), ("raw/au/V.MP4", "au"), ("raw/tc/V.MP4", "tc"), ("raw/x/V.MP4", "x")]
            .map { Chunk.Item(key: $0.0, cameraID: $0.1, size: try store.head($0.0)?.size ?? 0) }
        try Fixture.writeManifest([Chunk(runID: "v1", index: 0, items: items)], run: "v1", store: store)
        func run(_ extra: [String]) throws -> [String: [Stage1Record]] {
            let log = WorkerTests.Log()
            let status = WorkerCommand.main(arguments: ["--store", root + "/store", "--run", "v1", "--index", "0",
                                                        "--scratch", root, "--time-corrections",
                                                        root + "/corrections.csv"] + extra,
                                            environment: [:], log: log.sink)
            #expect(status == 0, "\(log.text)")
            return Dictionary(grouping: try Fixture.readStage1(store, run: "v1", chunk: 0), by: \.path)
        }
        func check(_ records: [Stage1Record]?, source: String, zone: String?, offset: String?, utc: String,
                   local: String?) {
            let frames = (records ?? []).filter { $0.frameTime != nil }
            #expect(!frames.isEmpty, "\(records ?? [])")
            for frame in frames {
                let seconds = frame.timestamp.flatMap(parseISO8601)
                #expect(abs((seconds ?? 0) - parseISO8601(utc)! - frame.frameTime!) < 0.002, "\(frame.path)")
                #expect(frame.timeZoneSource == source && frame.timeZone == zone && frame.utcOffset == offset,
                        "\(frame.path): \(String(describing: frame.timeZoneSource)) \(String(describing: frame.timeZone))")
                #expect(frame.errors.isEmpty, "\(frame.path): \(frame.errors)")
            }
            #expect(frames.first { $0.frameTime == 0 }?.localTime == local, "\(frames.first?.path ?? "")")
        }

        let withDefault = try run(["--default-timezone", "Europe/Stockholm"])
        #expect(withDefault["raw/au/A.JPG"]?.first?.timeZoneSource == "gps_lookup")
        check(withDefault["raw/au/V.MP4"], source: "camera_gps", zone: "Australia/Adelaide", offset: "+10:30",
              utc: "2025-01-10T00:00:00Z", local: "2025-01-10T10:30:00")
        check(withDefault["raw/tc/V.MP4"], source: "time_corrections", zone: "Asia/Tokyo", offset: "+09:00",
              utc: "2025-01-09T23:59:00Z", local: "2025-01-10T08:59:00")
        check(withDefault["raw/x/V.MP4"], source: "default_zone", zone: "Europe/Stockholm", offset: "+01:00",
              utc: "2025-01-10T00:00:00Z", local: "2025-01-10T01:00:00")

        let without = try run([])
        check(without["raw/x/V.MP4"], source: "container_utc", zone: nil, offset: nil, utc: "2025-01-10T00:00:00Z",
              local: nil)
        check(without["raw/au/V.MP4"], source: "camera_gps", zone: "Australia/Adelaide", offset: "+10:30",
              utc: "2025-01-10T00:00:00Z", local: "2025-01-10T10:30:00")

        // Hugin: the video visits get their local time; the one without a zone is left out of the activity chart.
        _ = try Condenser(options: CondensationOptions(minConfidence: 0), store: store).condense(run: "v1")
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(
            try store.get(StoreLayout.stage3Prefix(run: "v1") + Stage3Files.report)))
        #expect(report.timeZones.contains { $0.cameraID == "au" && $0.source == "camera_gps" && $0.mediaFiles == 1 })
        #expect(report.timeZones.contains { $0.cameraID == "x" && $0.source == "container_utc" && $0.zone == nil })
        let videoVisits = try JSONDecoder().decode([CompressedObservation].self, from: Data(
            try store.get(StoreLayout.stage3Prefix(run: "v1") + Stage3Files.compressedObservations)))
            .filter { $0.sourceVideo != nil }
        #expect(report.activityByLocalHour?.unknownLocalTime == videoVisits.filter { $0.cameraID == "x" }.count)
    }
}

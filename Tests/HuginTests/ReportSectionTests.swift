import FoundationEssentials
import OdinBasics
import OdinKit
import Testing

@testable import Hugin

/// report.html and the report.json fields behind it: counts that name their unit, plurals, local time beside UTC,
/// and the season sections (effort, species × site, activity by local hour) on a hand-computed fixture.
@Suite struct ReportSectionTests {
    @Test func pluralsAgreeWithTheirCount() {
        #expect(Plural.count(1, "visit") == "1 visit")
        #expect(Plural.count(2, "visit") == "2 visits")
        #expect(Plural.count(0, "visit") == "0 visits")
        #expect(Plural.count(1, "site") == "1 site")
        #expect(Plural.count(1, "box", "boxes") == "1 box")
        #expect(Plural.count(3, "box", "boxes") == "3 boxes")
        #expect(Plural.count(2, "species", "species") == "2 species")
        #expect(Plural.count(1, "media file") == "1 media file")
    }

    @Test func utcOffsetsParseAndLocalTimesRender() {
        #expect(LocalTime.offsetMinutes("+02:00") == 120)
        #expect(LocalTime.offsetMinutes("-03:30") == -210)
        #expect(LocalTime.offsetMinutes("+0545") == 345)
        #expect(LocalTime.offsetMinutes("Z") == 0)
        #expect(LocalTime.offsetMinutes("2:00") == nil)
        #expect(LocalTime.offsetMinutes("+25:00") == nil)
        let t = 1_777_608_000.0  // 2026-05-01T04:00:00Z
        #expect(LocalTime.cells(t, offset: 120) == ("2026-05-01 04:00:00", "2026-05-01 06:00:00 UTC+02:00"))
        #expect(LocalTime.cells(t, offset: -210) == ("2026-05-01 04:00:00", "2026-05-01 00:30:00 UTC−03:30"))
        #expect(LocalTime.cells(t, offset: LocalTime.unknown) == ("2026-05-01 04:00:00", "unknown (no time zone)"))
        #expect(LocalTime.cells(t, offset: LocalTime.floating)
                == ("unknown (no time zone)", "2026-05-01 04:00:00 (camera clock)"))
        #expect(LocalTime.hour(t, offset: 120) == 6)
        #expect(LocalTime.hour(t, offset: -300) == 23)
        #expect(LocalTime.hour(t, offset: LocalTime.floating) == 4)
        #expect(LocalTime.hour(t, offset: LocalTime.unknown) == nil)
    }

    static let t0 = 1_777_608_000.0  // 2026-05-01T04:00:00Z = 06:00 at UTC+02:00

    /// Hand-computed season of one run:
    /// - cam01 at site A (59.0, 18.0), zone +02:00: media at t0 (fox, 2 boxes), t0 + 1 day (fox, 1 box) and
    ///   t0 + 2 days (nothing detected): 2 visits (a day apart), trap-nights 2.0, 100 visits per 100 trap-nights;
    ///   both visits start at local hour 6.
    /// - cam02 at site B (60.0, 15.0), zone +02:00: media at t0 + 1 h (roe_deer), t0 + 13 h and t0 + 1 h + 4 days
    ///   (nothing): 1 visit, trap-nights 4.0, 25 per 100 trap-nights; local hour 7.
    /// - cam04 at site B, zone +02:00: media at t0 + 2 h and t0 + 14 h (nothing detected): trap-nights 0.5, 0 visits,
    ///   no rate (under one trap-night).
    /// - cam03, a video without a zone and without GPS: 1 visit (fox), one media file, 0 trap-nights, no rate;
    ///   local hour unknown.
    static func makeSeason() throws -> DirectoryObjectStore {
        let store = try makeStore("season")
        func still(_ path: String, _ camera: String, _ time: Double, lat: Double, lon: Double,
                   _ detections: [(String, Double)]) -> Stage1Record {
            var r = record(path, camera: camera, time: iso(time), lat: lat, lon: lon, detections)
            r.utcOffset = "+02:00"
            r.timeZone = "Europe/Stockholm"
            r.timeZoneSource = "gps_lookup"
            return r
        }
        var video = record("raw/cam03/V.MP4", camera: "cam03", time: iso(t0 + 600), lat: nil, lon: nil,
                           [("fox", 0.9)], frame: 0)
        video.timeZoneSource = "container_utc"
        try writeChunks(store, run: "season", [[
            still("raw/cam01/A1.JPG", "cam01", t0, lat: 59.0, lon: 18.0, [("fox", 0.9), ("fox", 0.7)]),
            still("raw/cam01/A2.JPG", "cam01", t0 + 86_400, lat: 59.0, lon: 18.0, [("fox", 0.95)]),
            still("raw/cam01/A3.JPG", "cam01", t0 + 2 * 86_400, lat: 59.0, lon: 18.0, []),
            still("raw/cam02/B1.JPG", "cam02", t0 + 3600, lat: 60.0, lon: 15.0, [("roe_deer", 0.85)]),
            still("raw/cam02/B2.JPG", "cam02", t0 + 13 * 3600, lat: 60.0, lon: 15.0, []),
            still("raw/cam02/B3.JPG", "cam02", t0 + 3600 + 4 * 86_400, lat: 60.0, lon: 15.0, []),
            still("raw/cam04/D1.JPG", "cam04", t0 + 2 * 3600, lat: 60.0, lon: 15.0, []),
            still("raw/cam04/D2.JPG", "cam04", t0 + 14 * 3600, lat: 60.0, lon: 15.0, []),
            video,
        ]])
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "season")
        return store
    }

    @Test func seasonSectionsMatchTheHandComputedNumbers() throws {
        let store = try Self.makeSeason()
        let report = try JSONDecoder().decode(Stage3Report.self,
                                              from: Data(try store.get("runs/season/stage3/report.json")))
        #expect(report.totalObservations == 4)
        #expect(report.detectionsUsed == 4)  // frames with a species: A1, A2, B1, the video frame
        #expect(report.boxesUsed == 5)  // A1 has two fox boxes
        #expect(report.speciesSummary["fox"]?.boxes == 4)
        #expect(report.sites.count == 2)
        let siteA = try #require(report.sites.first { abs($0.latitude - 59) < 0.01 }, "\(report.sites)").siteID
        let siteB = try #require(report.sites.first { abs($0.latitude - 60) < 0.01 }, "\(report.sites)").siteID
        #expect(report.speciesBySite == ["fox": [siteA: 2, "": 1], "roe_deer": [siteB: 1]])

        let effort = try #require(report.effort)
        let a = try #require(effort.first { $0.cameraID == "cam01" })
        #expect(a.siteID == siteA)
        #expect(a.trapNights == 2.0)
        #expect(a.visits == 2)
        #expect(a.visitsPer100TrapNights == 100)
        #expect(a.start == "2026-05-01T04:00:00Z" && a.end == "2026-05-03T04:00:00Z")
        #expect(a.startUTCOffset == "+02:00" && a.endUTCOffset == "+02:00")
        let b = try #require(effort.first { $0.cameraID == "cam02" })
        #expect(b.trapNights == 4.0)
        #expect(b.visits == 1)
        #expect(b.visitsPer100TrapNights == 25)
        let d = try #require(effort.first { $0.cameraID == "cam04" })
        #expect(d.siteID == siteB && d.trapNights == 0.5 && d.visits == 0 && d.visitsPer100TrapNights == nil)
        let c = try #require(effort.first { $0.cameraID == "cam03" })
        #expect(c.siteID == nil && c.trapNights == 0 && c.visitsPer100TrapNights == nil && c.visits == 1)
        #expect(c.startUTCOffset == nil)

        let activity = try #require(report.activityByLocalHour)
        var expected = Array(repeating: 0, count: 24)
        expected[6] = 2
        expected[7] = 1
        #expect(activity.visits == expected)
        #expect(activity.unknownLocalTime == 1)
        #expect(activity.bySpecies["roe_deer"]?[7] == 1)
    }

    @Test func reportHTMLLabelsCountsAndShowsLocalTime() throws {
        let store = try Self.makeSeason()
        let html = try readText(store, "runs/season/stage3/report.html")
        // Summary: units named, singular and plural right.
        #expect(html.contains("4 visits (0 need review) from 4 frames with detections (5 boxes) in 9 media files;"))
        #expect(html.contains("2 sites, 2 species, 3 cameras with visits."))
        #expect(!html.contains("1 visits") && !html.contains("1 visit come "))
        #expect(html.contains("1 visit comes from media without a GPS position"))
        #expect(html.contains("id=\"count-definitions\""))
        #expect(html.contains("<th>Frames</th><th>Boxes</th>"))
        // Local time beside UTC; the video has none.
        #expect(html.contains("<td>2026-05-01 04:00:00</td><td>2026-05-01 06:00:00 UTC+02:00</td>"))
        #expect(html.contains("<td>2026-05-01 04:10:00</td><td>unknown (no time zone)</td>"))
        // Season sections.
        for id in ["species-site-table", "effort-table", "effort-definition", "activity-chart", "site-map"] {
            #expect(html.contains("id=\"\(id)\""), "no #\(id)")
        }
        #expect(html.contains("<td class=\"n\">2.00</td><td class=\"n\">2</td><td class=\"n\">100.0</td>"))
        #expect(html.contains("<td class=\"n\">4.00</td><td class=\"n\">1</td><td class=\"n\">25.0</td>"))
        #expect(html.contains("<td class=\"n\">0.50</td><td class=\"n\">0</td><td class=\"n\">–</td>"))
        #expect(html.contains("3 visits charted, 1 visit left out (local time unknown)"))
        #expect(html.components(separatedBy: "<rect class=\"bar\" data-hour=").count - 1 == 24)
        // No thumbnails in these records: said, not hidden.
        #expect(html.contains("no thumbnail"))
        #expect(html.contains("4 listed visits have none"))
    }

    /// A visit whose Stage 1 record names a thumbnail gets it embedded; a name that is not the worker's key for that
    /// detection (a foreign or tampered path) is ignored, so no key from Stage 1 is ever fetched as is.
    @Test func thumbnailsAreEmbeddedOnlyUnderTheirDerivedKey() throws {
        let store = try makeStore("thumbs")
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9]
        let t = Self.t0
        var good = record("raw/cam01/G.JPG", time: iso(t), [("fox", 0.9)])
        let key = StoreLayout.thumbnailKey(stage1Prefix: "runs/th/stage1/", media: "raw/cam01/G.JPG", frame: nil,
                                           species: "fox")
        good.detections[0].thumbnail = key
        try store.put(key, bytes: jpeg)
        var bad = record("raw/cam02/B.JPG", camera: "cam02", time: iso(t), [("fox", 0.9)])
        bad.detections[0].thumbnail = "../../etc/passwd"
        try writeChunks(store, run: "th", [[good, bad]])
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "th")
        let html = try readText(store, "runs/th/stage3/report.html")
        #expect(html.components(separatedBy: "src=\"data:image/jpeg;base64,").count - 1 == 1)
        #expect(html.contains(Data(jpeg).base64EncodedString()))
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(try store.get("runs/th/stage3/report.json")))
        #expect(report.thumbnails == .init(listedVisits: 2, embedded: 1, notWritten: 1, unreadable: 0,
                                           bytes: jpeg.count))
        #expect(key.hasPrefix("runs/th/stage1/thumbnails/") && !key.dropFirst(26).contains("/"))
    }
}

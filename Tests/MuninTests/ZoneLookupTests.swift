import Foundation
import Munin
import OdinBasics
import Testing
import TestSupport

/// The offline GPS → zone table, and the zone rules it hands to the time rule.
@Suite struct ZoneLookupTests {
    let table = ZoneLookup.embedded

    @Test func knownPlacesInAllFourHemispheres() {
        let places: [(Double, Double, String)] = [
            (59.9139, 10.7522, "Europe/Oslo"), (-23.5505, -46.6333, "America/Sao_Paulo"),
            (-41.2865, 174.7762, "Pacific/Auckland"), (-34.9285, 138.6007, "Australia/Adelaide"),
            (39.7392, -104.9903, "America/Denver"), (12.9716, 77.5946, "Asia/Kolkata"),
            (64.1466, -21.9426, "Atlantic/Reykjavik"), (0, -30, "Etc/GMT+2"),  // open Atlantic: nautical zone
            (59.93, 10.66, "Europe/Oslo"),  // the Oslofjord, just off the shore: the land zone
        ]
        for (lat, lon, zone) in places {
            #expect(table.zone(latitude: lat, longitude: lon) == zone, "\(lat), \(lon)")
        }
        #expect(table.zone(latitude: 91, longitude: 0) == nil)
        #expect(table.zone(latitude: .nan, longitude: 0) == nil)
        #expect(table.zone(latitude: 90, longitude: 180) != nil)
        #expect(table.zone(latitude: -90, longitude: -180) != nil)
        #expect(table.source.contains("ODbL"))
    }

    /// The offsets come from the system tz database (Debian's /usr/share/zoneinfo): southern-hemisphere DST,
    /// half-hour zones, a zone that dropped DST (Brazil, 2019).
    @Test func zoneRulesOnTheCaptureDate() throws {
        func offset(_ zone: String, _ local: String) throws -> Int {
            try ZoneRules.load(identifier: zone).resolve(local: LocalDateTime(parsing: local)!.naiveSeconds).offset
        }
        #expect(try offset("Pacific/Auckland", "2025-01-10 12:00:00") == 13 * 3600)  // NZDT
        #expect(try offset("Pacific/Auckland", "2025-07-10 12:00:00") == 12 * 3600)  // NZST
        #expect(try offset("Australia/Adelaide", "2025-01-10 12:00:00") == 10 * 3600 + 1800)  // ACDT
        #expect(try offset("Australia/Adelaide", "2025-07-10 12:00:00") == 9 * 3600 + 1800)  // ACST
        #expect(try offset("Asia/Kolkata", "2025-01-10 12:00:00") == 5 * 3600 + 1800)
        #expect(try offset("America/Sao_Paulo", "2025-01-10 12:00:00") == -3 * 3600)  // no DST since 2019
        #expect(try offset("America/Sao_Paulo", "2018-01-10 12:00:00") == -2 * 3600)  // BRST back then
        #expect(try offset("Europe/Oslo", "2025-07-15 12:00:00") == 2 * 3600)
        #expect(try offset("America/Denver", "2025-07-04 12:00:00") == -6 * 3600)
        #expect(try offset("Etc/GMT+2", "2025-07-04 12:00:00") == -2 * 3600)
    }

    /// The time rule's order: corrections row, EXIF offset, GPS zone, default zone, unknown.
    @Test func ruleOrder() throws {
        let corrections = try TimeCorrections(csv: TimeCorrectionTests.header + "cam01,x,UTC,0,0,,\n")
        let zones = GPSZones()
        let local = LocalDateTime(parsing: "2025:01:10 09:15:00")!
        let adelaide = (latitude: -34.9285, longitude: 138.6007)
        let row = try corrections.resolve(local: local, cameraID: "cam01", exifOffset: "+01:00", position: adelaide,
                                          zones: zones, defaultZone: nil)
        #expect(row.source == .timeCorrections && row.utc.map(iso8601UTC) == "2025-01-10T09:15:00Z")
        let exif = try corrections.resolve(local: local, cameraID: "cam02", exifOffset: "+01:00", position: adelaide,
                                           zones: zones, defaultZone: nil)
        #expect(exif.source == .exifOffset && exif.utc.map(iso8601UTC) == "2025-01-10T08:15:00Z")
        let gps = try corrections.resolve(local: local, cameraID: "cam02", exifOffset: nil, position: adelaide,
                                          zones: zones, defaultZone: .utc)
        #expect(gps.source == .gpsLookup && gps.zone == "Australia/Adelaide" && gps.offset == 37_800)
        #expect(gps.utc.map(iso8601UTC) == "2025-01-09T22:45:00Z")
        let fallback = try corrections.resolve(local: local, cameraID: "cam02", exifOffset: nil, position: nil,
                                               zones: zones, defaultZone: .utc)
        #expect(fallback.source == .defaultZone && fallback.utc.map(iso8601UTC) == "2025-01-10T09:15:00Z")
        let unknown = try corrections.resolve(local: local, cameraID: "cam02", exifOffset: nil, position: nil,
                                              zones: zones, defaultZone: nil)
        #expect(unknown.source == .unknown && unknown.utc == nil && unknown.local == local)
    }

    /// Differential test against the reference (timezonefinder on the full polygons, from .venv) on seeded random
    /// points spread evenly over the sphere. Away from boundaries (the reference answers the same 0.2° around the
    /// point, beyond the table's half pixel and its 0.125° shore fill) the answers must agree exactly.
    @Test(.requires(.venv)) func agreesWithTheReferenceOnRandomPoints() throws {
        let python = try #require(Peers.python)
        var generator = SplitMix64(seed: 20_251_203)
        var points: [(Double, Double)] = []
        for _ in 0..<3000 {
            let u = Double(generator.next() >> 11) / Double(1 << 53)
            let v = Double(generator.next() >> 11) / Double(1 << 53)
            points.append((asin(2 * u - 1) * 180 / .pi, v * 360 - 180))
        }
        let d = 0.2
        var queries: [(Double, Double)] = []
        for (lat, lon) in points {
            for dy in [-d, 0, d] {
                for dx in [-d, 0, d] {
                    queries.append((max(-90, min(90, lat + dy)), max(-180, min(180, lon + dx))))
                }
            }
        }
        let script = """
            import sys
            from timezonefinder import TimezoneFinder
            tf = TimezoneFinder()
            for line in sys.stdin:
                lat, lon = map(float, line.split())
                print(tf.timezone_at(lat=lat, lng=lon) or "-")
            """
        let input = queries.map { "\($0.0) \($0.1)\n" }.joined()
        let result = try Peers.run(python, ["-c", script], input: Array(input.utf8))
        try #require(result.status == 0, "timezonefinder failed: \(result.stderr)")
        let answers = result.stdout.split(separator: "\n").map(String.init)
        try #require(answers.count == queries.count)
        var agree = 0, land = 0, landAgree = 0, interior = 0, interiorAgree = 0
        var disagreements: [String] = []
        for (i, (lat, lon)) in points.enumerated() {
            let around = answers[(i * 9)..<(i * 9 + 9)]
            let reference = around[i * 9 + 4]
            let ours = table.zone(latitude: lat, longitude: lon) ?? "-"
            let same = ours == reference
            if same { agree += 1 }
            if !reference.hasPrefix("Etc/") {
                land += 1
                if same { landAgree += 1 }
            }
            if Set(around).count == 1 {
                interior += 1
                if same { interiorAgree += 1 } else { disagreements.append("\(lat),\(lon): \(ours) vs \(reference)") }
            }
        }
        let summary = "agreement with timezonefinder on \(points.count) random points: \(agree) "
            + "(\(percent(agree, points.count))); on land \(landAgree)/\(land) (\(percent(landAgree, land))); "
            + "away from boundaries \(interiorAgree)/\(interior)"
        print(summary)
        #expect(interiorAgree == interior, "\(summary); \(disagreements.prefix(10))")
        #expect(agree * 100 >= points.count * 98, "\(summary)")
    }

    /// Every zone the table can answer loads from the system tz database, and its offsets agree with Python's
    /// zoneinfo (an independent TZif reader that also evaluates the footer rules) at instants from 1990 to 2037.
    @Test(.requires(.venv)) func everyTableZoneLoadsAndAgreesWithPythonZoneinfo() throws {
        let python = try #require(Peers.python)
        let instants: [Int64] = [631_152_000, 1_262_304_000, 1_736_942_400, 1_752_580_800, 1_774_746_000,
                                 1_792_000_000, 2_114_380_800]  // 1990 … 2037, both seasons
        let script = """
            import sys, datetime, zoneinfo
            for line in sys.stdin:
                zone, t = line.split()
                d = datetime.datetime.fromtimestamp(int(t), zoneinfo.ZoneInfo(zone))
                print(int(d.utcoffset().total_seconds()))
            """
        let input = table.names.flatMap { zone in instants.map { "\(zone) \($0)\n" } }.joined()
        let result = try Peers.run(python, ["-c", script], input: Array(input.utf8))
        try #require(result.status == 0, "python zoneinfo failed: \(result.stderr)")
        let expected = result.stdout.split(separator: "\n").map { Int($0)! }
        try #require(expected.count == table.names.count * instants.count)
        var k = 0
        for zone in table.names {
            let rules = try ZoneRules.load(identifier: zone)
            for t in instants {
                #expect(try rules.offset(atUTC: t) == expected[k], "\(zone) at \(t)")
                k += 1
            }
        }
    }

    func percent(_ a: Int, _ b: Int) -> String {
        String(format: "%.2f%%", b == 0 ? 0 : 100 * Double(a) / Double(b))
    }
}

import Foundation
import Munin
import Testing

@Suite struct TimeCorrectionTests {
    static let header = "camera_id,location,timezone,offset_seconds,clock_drift_ppm,notes,reference_time\n"

    func utc(_ csv: String, _ camera: String, _ local: String) throws -> (String, [String]) {
        let corrections = try TimeCorrections(csv: Self.header + csv)
        let time = try corrections.resolve(local: LocalDateTime(parsing: local)!, cameraID: camera, exifOffset: nil,
                                           defaultZone: nil)
        #expect(time.source == .timeCorrections)
        return (iso8601UTC(try #require(time.utc)), time.notes)
    }

    @Test func stockholmAcrossTheSpringDSTChange() throws {
        let row = "cam01,Tyresta,Europe/Stockholm,0,0,,\n"
        // 2024-03-31 02:00 CET → 03:00 CEST.
        #expect(try utc(row, "cam01", "2024:03:31 01:30:00").0 == "2024-03-31T00:30:00Z")  // CET, +1
        #expect(try utc(row, "cam01", "2024:03:31 03:30:00").0 == "2024-03-31T01:30:00Z")  // CEST, +2
        let (gap, notes) = try utc(row, "cam01", "2024:03:31 02:30:00")  // does not exist
        #expect(gap == "2024-03-31T01:30:00Z")
        #expect(notes.first?.contains("does not exist") == true)
    }

    @Test func stockholmAcrossTheAutumnDSTChange() throws {
        let row = "cam01,Tyresta,Europe/Stockholm,0,0,,\n"
        // 2024-10-27 03:00 CEST → 02:00 CET: 02:30 happens twice; the first (CEST) is taken and noted.
        let (twice, notes) = try utc(row, "cam01", "2024:10:27 02:30:00")
        #expect(twice == "2024-10-27T00:30:00Z")
        #expect(notes.first?.contains("happened twice") == true)
        #expect(try utc(row, "cam01", "2024:10:27 03:30:00").0 == "2024-10-27T02:30:00Z")
        #expect(try utc(row, "cam01", "2024:07:01 12:00:00").0 == "2024-07-01T10:00:00Z")
        #expect(try utc(row, "cam01", "2024:01:15 12:00:00").0 == "2024-01-15T11:00:00Z")
    }

    /// A fast clock's offset is subtracted (the Python project added it).
    @Test func fastCameraOffsetIsSubtracted() throws {
        let fast = try utc("cam02,Bog,Europe/Stockholm,120,0,camera 2 min fast,\n", "cam02", "2024:07:01 12:02:00")
        #expect(fast.0 == "2024-07-01T10:00:00Z")
        let slow = try utc("cam03,Bog,UTC,-30,0,camera 30 s slow,\n", "cam03", "2024:07:01 11:59:30")
        #expect(slow.0 == "2024-07-01T12:00:00Z")
    }

    /// Drift accrues from the camera's reference time, not from 1970: 10 ppm over 100 days ≈ 86.4 s.
    @Test func driftAccruesFromTheReferenceTime() throws {
        let row = "cam04,Ridge,UTC,0,10,gains 10 ppm,2024-01-01T00:00:00\n"
        let corrections = try TimeCorrections(csv: Self.header + row)
        let camera = LocalDateTime(parsing: "2024-04-10 00:00:00")!  // 100 days after the reference
        let seconds = try #require(try corrections.resolve(local: camera, cameraID: "cam04", exifOffset: nil,
                                                           defaultZone: nil).utc)
        let expected = Double(camera.naiveSeconds) - 100 * 86_400 * 10e-6 / (1 + 10e-6)
        #expect(abs(seconds - expected) < 0.01)
        #expect(abs((Double(camera.naiveSeconds) - seconds) - 86.4) < 0.01)
    }

    @Test func errorsNameTheLineAndColumn() {
        #expect(throws: TimeError.self) { try TimeCorrections(csv: "camera_id,timezone\n") }
        do {
            _ = try TimeCorrections(csv: Self.header + "cam01,x,Europe/Stockholm,abc,0,,\n")
            Issue.record("expected an error")
        } catch { #expect(error.message.contains("line 2") && error.message.contains("offset_seconds")) }
        do {
            _ = try TimeCorrections(csv: Self.header + "cam01,x,Mars/Olympus,0,0,,\n")
            Issue.record("expected an error")
        } catch { #expect(error.message.contains("timezone") && error.message.contains("Mars/Olympus")) }
        do {
            _ = try TimeCorrections(csv: Self.header + "cam01,x,UTC,0,5,,\n")
            Issue.record("expected an error")
        } catch { #expect(error.message.contains("reference_time")) }
    }

    @Test func quotedNotesAndExifOffsetAndNoZone() throws {
        let corrections = try TimeCorrections(csv: Self.header + "cam01,\"Lake, north\",UTC,0,0,\"set \"\"by hand\"\"\",\n")
        #expect(corrections.cameras["cam01"]?.location == "Lake, north")
        #expect(corrections.cameras["cam01"]?.notes == "set \"by hand\"")
        let local = LocalDateTime(parsing: "2024:05:05 10:00:00")!
        let exif = try corrections.resolve(local: local, cameraID: "other", exifOffset: "+02:00", defaultZone: nil)
        #expect(exif.utc.map(iso8601UTC) == "2024-05-05T08:00:00Z")
        #expect(exif.source == .exifOffset && exif.zone == "+02:00" && exif.offset == 7200)
        // Nothing says the zone: the local time is kept, no UTC instant is made up.
        let unknown = try corrections.resolve(local: local, cameraID: "other", exifOffset: nil, defaultZone: nil)
        #expect(unknown.utc == nil && unknown.source == .unknown && unknown.zone == nil && unknown.local == local)
    }

    @Test func isoParsingAndFormatting() {
        #expect(parseISO8601("2024-05-01T10:00:00.000000Z") == 1_714_557_600)
        #expect(parseISO8601("2024-05-01T12:00:00+02:00") == 1_714_557_600)
        #expect(iso8601UTC(1_714_557_600.25) == "2024-05-01T10:00:00.250Z")
        #expect(LocalDateTime(parsing: "0000:00:00 00:00:00") == nil)
    }
}

import Foundation
import Munin
import Testing

@Suite struct ExifTests {
    /// GPS in all four hemispheres, in both byte orders.
    @Test(arguments: [
        (59.3293, "N", 18.0686, "E", 59.3293, 18.0686),
        (33.8688, "S", 151.2093, "E", -33.8688, 151.2093),
        (40.7128, "N", 74.0060, "W", 40.7128, -74.0060),
        (22.9068, "S", 43.1729, "W", -22.9068, -43.1729),
    ], [false, true])
    func gpsInEveryHemisphere(_ c: (Double, String, Double, String, Double, Double), bigEndian: Bool) throws {
        let tiff = TIFFBuilder.camera(bigEndian: bigEndian, original: "2024:06:01 12:30:05",
                                      latitude: (c.0, c.1), longitude: (c.2, c.3))
        let exif = try ExifReader.parseTIFF(tiff[...])
        #expect(abs(exif.latitude! - c.4) < 1e-6)
        #expect(abs(exif.longitude! - c.5) < 1e-6)
        #expect(exif.make == "TrailCam")
        #expect(exif.model == "TC-100")
        #expect(exif.captureTime?.value == "2024:06:01 12:30:05")
        #expect(exif.captureTime?.tag == "DateTimeOriginal")
        #expect(exif.warnings.isEmpty)
    }

    @Test func readsTheBlockOfARealJPEG() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/IMG_0001.JPG"
        try Fixture.jpeg(path, exif: TIFFBuilder.camera(bigEndian: true, original: "2023:12:24 18:00:00",
                                                        latitude: (62.5, "N"), longitude: (16.25, "E")))
        let exif = try #require(try ExifReader.read(path: path))
        #expect(exif.dateTimeOriginal == "2023:12:24 18:00:00")
        #expect(abs(exif.latitude! - 62.5) < 1e-9 && abs(exif.longitude! - 16.25) < 1e-9)
    }

    @Test func fallsBackToDigitizedThenDateTime() throws {
        let digitized = try ExifReader.parseTIFF(TIFFBuilder.camera(
            bigEndian: false, original: nil, digitized: "2024:01:02 03:04:05", dateTime: "2024:09:09 09:09:09")[...])
        #expect(digitized.captureTime?.tag == "DateTimeDigitized")
        #expect(digitized.captureTime?.value == "2024:01:02 03:04:05")
        let plain = try ExifReader.parseTIFF(TIFFBuilder.camera(bigEndian: true, original: nil,
                                                                dateTime: "2024:09:09 09:09:09")[...])
        #expect(plain.captureTime?.tag == "DateTime")
    }

    @Test func missingTagsAndMissingBlock() throws {
        let none = try ExifReader.parseTIFF(TIFFBuilder.camera(bigEndian: false, original: nil)[...])
        #expect(none.captureTime == nil)
        #expect(none.latitude == nil && none.longitude == nil)
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        try Fixture.jpeg(dir + "/bare.jpg", exif: nil)
        #expect(try ExifReader.read(path: dir + "/bare.jpg") == nil)
    }

    @Test func gpsWithoutHemisphereIsRejectedWithAWarning() throws {
        let builder = TIFFBuilder(bigEndian: false)
        let tiff = builder.build(ifd0: [], gps: [(0x0002, .rationals([(10, 1), (0, 1), (0, 1)])),
                                                 (0x0004, .rationals([(20, 1), (0, 1), (0, 1)]))])
        let exif = try ExifReader.parseTIFF(tiff[...])
        #expect(exif.latitude == nil)
        #expect(exif.warnings.contains { $0.contains("GPSLatitudeRef is missing") })
    }

    @Test func malformedBlocksThrowOrWarn() {
        #expect(throws: ExifError.self) { try ExifReader.parseTIFF([0x41, 0x41, 0, 42, 0, 0, 0, 8][...]) }
        // IFD0 offset far outside the block.
        #expect(throws: ExifError.self) { try ExifReader.parseTIFF([0x49, 0x49, 42, 0, 0xFF, 0xFF, 0, 0][...]) }
    }
}

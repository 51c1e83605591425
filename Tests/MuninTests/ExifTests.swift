import Compression
import Foundation
import Media
import Munin
import TestSupport
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

    @Test(.requires(.ffmpeg)) func readsTheBlockOfARealJPEG() throws {
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

    @Test(.requires(.ffmpeg)) func missingTagsAndMissingBlock() throws {
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

@Suite(.requires(.ffmpeg)) struct ContainerMetadataTests {
    /// PNG stills carry EXIF in an `eXIf` chunk; the reader finds it and FFmpeg decodes the picture.
    @Test func pngWithEXIfChunk() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let plain = dir + "/plain.png"
        try Fixture.ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=64x48:d=1", "-frames:v", "1", plain])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        let tiff = TIFFBuilder.camera(bigEndian: false, original: "2024:02:29 23:59:59", latitude: (1.5, "S"),
                                      longitude: (36.75, "E"))
        let type = Array("eXIf".utf8)
        let length = UInt32(tiff.count)
        let crc = CRC32.checksum(type + tiff)
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        bytes.insert(contentsOf: be(length) + type + tiff + be(crc), at: 8 + 25)  // after the IHDR chunk
        let path = dir + "/still.png"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let exif = try #require(try ExifReader.read(path: path))
        #expect(exif.dateTimeOriginal == "2024:02:29 23:59:59")
        #expect(abs(exif.latitude! + 1.5) < 1e-9 && abs(exif.longitude! - 36.75) < 1e-9)
        let picture = try MediaFile(source: .file(path)).decodePicture(outputs: [PictureSpec(format: .gray8)])
        #expect(picture[0].width == 64 && picture[0].height == 48)
    }

    /// MP4/MOV `location` (ISO 6709) is read as the video's position.
    @Test(arguments: ["mp4", "mov"])
    func videoLocationFromContainer(_ container: String) throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let path = dir + "/clip." + container
        try Fixture.movingSquareVideo(path, seconds: 1, extra: ["-metadata", "location=-33.8688+151.2093/"])
        let info = try MediaFile.probe(.file(path))
        let (lat, lon) = try #require(info.location.flatMap(parseISO6709))
        #expect(abs(lat + 33.8688) < 1e-9 && abs(lon - 151.2093) < 1e-9)
        #expect(parseISO6709("+59.3293+018.0686+012.5/")! == (59.3293, 18.0686))
        #expect(parseISO6709("north") == nil)
    }
}

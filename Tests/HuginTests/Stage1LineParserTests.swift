import FoundationEssentials
import OdinBasics
import OdinKit
import Testing

@testable import Hugin

@Suite struct Stage1LineParserTests {
    func both(_ line: String) -> (Result<Stage1Record, Error>, Result<Stage1Record, Error>) {
        let bytes = Array(line.utf8)
        return (Result { try Stage1LineParser().decode(bytes) },
                Result { try JSONDecoder().decode(Stage1Record.self, from: Data(bytes)) })
    }

    @Test(arguments: [
        #"{"path":"raw/c/1.JPG","camera_id":"c","timestamp":"2026-05-01T04:00:00Z","latitude":59.5,"longitude":-18.25,"detections":[{"category":"1","label":"roe_deer","conf":0.91,"bbox":[0.1,0.2,0.3,0.4]}],"detector":"motion-v1","errors":[]}"#,
        #" { "path" : "a\"b\\c\/d\u00e5\ud83e\udd8c" , "camera_id":"c", "timestamp":null, "frame_time":1.5e0, "frame_number":3, "width":1920, "height":1080, "extra":{"x":[1,true,null,"s"]}, "detections":[], "detector":"d", "errors":["bad\nthing"] } "#,
        #"{"path":"p","camera_id":"c","detections":[{"category":"2","label":"person","conf":1,"bbox":[],"doubtful":true,"other":-0.5E-3}],"detector":"d","errors":[]}"#,
        #"{"path":"p","camera_id":"c","latitude":null,"detections":[],"detector":"d","errors":[]}"#,
        // Zone provenance (Munin's time rule): a GPS-inferred zone, and an unknown one with only the local time.
        #"{"path":"p","camera_id":"c","timestamp":"2025-01-09T22:45:00Z","local_time":"2025-01-10T09:15:00","time_zone":"Australia/Adelaide","utc_offset":"+10:30","time_zone_source":"gps_lookup","detections":[],"detector":"d","errors":[]}"#,
        #"{"path":"p","camera_id":"c","timestamp":null,"local_time":"2025-05-01T08:00:00","time_zone":null,"time_zone_source":"unknown","detections":[],"detector":"d","errors":[]}"#,
        // Escaped key names are the same keys; a detection's key at the top level is an unknown key.
        #"{"p\u0061th":"p","camera_\u0069d":"c","conf":2,"detections":[{"category":"1","label":"fox","c\u006fnf":0.5,"bbox":[]}],"detector":"d","errors":[]}"#,
        // JSONDecoder tolerates a trailing comma; the fast path hands such lines to it.
        #"{"path":"p","camera_id":"c","detections":[],"detector":"d","errors":[],}"#,
    ])
    func agreesWithJSONDecoder(_ line: String) throws {
        let (fast, reference) = both(line)
        #expect(try fast.get() == reference.get())
    }

    /// Numbers are read without strtod when that is exact (Clinger's fast path); every spelling must give the double
    /// strtod gives (`Double(String)`), bit for bit, fast path or not.
    @Test func numbersAreReadExactly() throws {
        var random = SplitMix64(seed: 1703)
        var spellings = ["0", "-0", "0.0", "1e22", "1e23", "9007199254740993", "123456789012345", "1234567890123456",
                         "0.1", "0.30000000000000004", "2.2250738585072014e-308", "5e-324", "1.7976931348623157e308",
                         "999999999999999e-22", "999999999999999e-23", "4.35", "0.000001", "1E+2", "-12.5e-1"]
        for _ in 0..<20_000 {
            let digits = String(random.next() % 10_000_000_000_000_000)
            let point = Int(random.next() % UInt64(digits.count + 1))
            var text = String(digits.prefix(point)) + (point < digits.count ? "." + digits.dropFirst(point) : "")
            if text.hasPrefix(".") || text.isEmpty { text = "0" + text }
            while text.count > 1 && text.hasPrefix("0") && !text.hasPrefix("0.") { text.removeFirst() }
            if random.next() % 3 == 0 { text += "e" + String(Int(random.next() % 50) - 25) }
            if random.next() % 2 == 0 { text = "-" + text }
            spellings.append(text)
        }
        for text in spellings {
            let line = #"{"path":"p","camera_id":"c","latitude":"# + text
                + #","detections":[],"detector":"d","errors":[]}"#
            let record = try Stage1LineParser().decode(Array(line.utf8))
            let expected = try #require(Double(text), "\(text)")
            #expect(record.latitude?.bitPattern == expected.bitPattern, "\(text)")
        }
    }

    @Test(arguments: [
        #"{"path":"p","camera_id":"c","detections":[],"errors":[]}"#,  // detector missing
        #"{"path":"p","camera_id":5,"detections":[],"detector":"d","errors":[]}"#,  // wrong type
        #"{"path":"p","camera_id":"c","detections":[{"category":"1","label":"x","conf":"high","bbox":[]}],"detector":"d","errors":[]}"#,
        "not json",
        #"{"path":"p","camera_id":"c","latitude":01,"detections":[],"detector":"d","errors":[]}"#,
    ])
    func rejectsWhatJSONDecoderRejects(_ line: String) {
        let (fast, reference) = both(line)
        #expect(throws: (any Error).self) { try reference.get() }
        #expect(throws: (any Error).self) { try fast.get() }
    }
}

@Suite struct HandWrittenJSONTests {
    @Test func compressedObservationTextDecodesToTheSameValue() throws {
        let o = CompressedObservation(
            visitID: "v-1", siteID: nil, siteName: "Sk\"og\\s\u{1}", cameraID: "c/1", species: "roe_deer",
            startTime: "2026-05-01T04:00:00Z", endTime: "2026-05-01T04:00:10.500Z", durationSeconds: 10.5,
            maxConfidence: 0.9, avgConfidence: 0.1 + 0.2, frameCount: 2,
            detectionTimeline: [
                .init(timestamp: "2026-05-01T04:00:00Z", confidence: 0.9, frameNumber: nil, cropPath: "a", frameTime: nil),
                .init(timestamp: "2026-05-01T04:00:10.500Z", confidence: 1e-7, frameNumber: 3, cropPath: "b",
                      frameTime: 0.25),
            ],
            sourceVideo: "b", sourceMedia: ["a", "b"], needsReview: true, detector: "motion-v1")
        let decoded = try JSONDecoder().decode(CompressedObservation.self, from: Data(o.jsonText().utf8))
        #expect(decoded == o)
    }
}

@Suite struct DirectObservationJSONTests {
    @Test func directWriterMatchesTheDocumentType() throws {
        let visit = Visit(
            id: "v-9", siteID: "site-00000001", cameraID: "cam \"1\"", species: "roe_deer", detector: "motion-v1",
            start: 1_777_600_000.25, end: 1_777_600_600, frameCount: 2, maxConfidence: 0.9, meanConfidence: 0.75,
            maxBoxes: 2,
            timeline: [
                TimelineEntry(time: 1_777_600_000.25, confidence: 0.6, frameNumber: nil, frameTime: nil, path: "a.jpg"),
                TimelineEntry(time: 1_777_600_600, confidence: 0.9, frameNumber: 12, frameTime: 6.5, path: "v.mp4"),
            ],
            media: ["a.jpg", "v.mp4"], needsReview: false, hasVideo: true)
        let sink = FileSink()
        Stage3Writer.writeObservationJSON(visit, siteName: "Skogsbacken", to: sink)
        let direct = String(decoding: sink.buffer, as: UTF8.self)
        #expect(direct == CompressedObservation(visit: visit, siteName: "Skogsbacken").jsonText())
        let decoded = try JSONDecoder().decode(CompressedObservation.self, from: Data(direct.utf8))
        #expect(decoded == CompressedObservation(visit: visit, siteName: "Skogsbacken"))
    }
}

@Suite struct SinkFormattingTests {
    @Test(arguments: [0.0, 1.0, 0.5, 0.05, 0.0049, 0.91234, -0.25, 12.5, 0.00005, 0.99999, 123456.0001])
    func fixedMatchesFixedTrimmed(_ x: Double) {
        let sink = FileSink()
        sink.append(fixed: x, digits: 4)
        #expect(String(decoding: sink.buffer, as: UTF8.self) == Fixed.trimmed(x, 4))
    }

    @Test(arguments: [0.0, 1_777_600_000.25, 1_709_208_000.999, -1.0, 951_782_400.0])
    func timestampMatchesFormat(_ t: Double) {
        let sink = FileSink()
        sink.append(timestamp: t)
        #expect(String(decoding: sink.buffer, as: UTF8.self) == Timestamp.format(t))
    }
}

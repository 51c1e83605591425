import Compression
import FoundationEssentials
import OdinBasics
import OdinKit
import Testing

@testable import Hugin

/// The optimised condenser (byte parser, external sort, streaming byte writers) against `ReferenceCondenser`
/// (JSONDecoder, one in-memory sort, String-built rows) on a generated season: the per-detection, per-media and
/// per-visit Stage 3 files must be the same bytes (CSV) or the same values (JSON), and report.json's counts must
/// agree. The Stage 1 lines are written in several legal JSON spellings (escapes, exponents, spacing, key order,
/// unknown keys, explicit nulls) so a field the byte parser mis-reads shows up as a difference.
@Suite struct ReferenceCondenserTests {
    static let t0 = 1_777_600_000.0

    /// A seeded season: `runs` runs of `chunks` chunks over several cameras (two sharing a site, one moving, one
    /// without GPS, one with unicode and CSV-special names), stills, videos, empty media, below-threshold
    /// detections, errors, unknown zones, equal timestamps across cameras and species.
    static func generate(seed: UInt64, runs: Int, chunksPerRun: Int, mediaPerChunk: Int) -> [ReferenceCondenser.Input] {
        var random = SplitMix64(seed: seed)
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        let cameras: [(name: String, lat: Double?, lon: Double?)] = [
            ("cam01", 59.0, 18.0), ("cam02", 59.00001, 18.00001), ("Älgkamera \"norr\"", 61.5, -12.25),
            ("cam,04", nil, nil), ("kamera-ø/5", 59.1, 18.2), ("café", 0.5, 179.9999),
        ]
        let species = ["roe_deer", "fox", "elk", "rådjur", "person", "motion", "wild boar, \"big\"", ""]
        var inputs: [ReferenceCondenser.Input] = []
        var clock = [Double](repeating: t0, count: cameras.count)
        var counter = 0
        for run in 0..<runs {
            var chunks: [[UInt8]] = []
            for _ in 0..<chunksPerRun {
                var text: [UInt8] = []
                for _ in 0..<mediaPerChunk {
                    let c = Int(random.next() % UInt64(cameras.count))
                    var camera = cameras[c]
                    // cam01 moves to another site halfway through the season.
                    if c == 0 && run * 2 >= runs { camera.lat = 59.3; camera.lon = 18.5 }
                    // Same second across cameras now and then (ties broken by content).
                    clock[c] += random.next() % 4 == 0 ? 0 : Double(random.next() % 900) + Double(random.next() % 1000) / 1000
                    let time = max(clock[c], clock.max()! - 3600)
                    clock[c] = time
                    counter += 1
                    let video = random.next() % 7 == 0
                    let path = "raw/\(camera.name)/" + (video ? "V\(counter).MP4" : "IMG_\(counter).JPG")
                    let frames = video ? 1 + Int(random.next() % 4) : 1
                    let rate: Double? = video && random.next() % 5 != 0 ? pick([25, 29.97, 30]) : nil
                    let zoneUnknown = random.next() % 11 == 0
                    for f in 0..<frames {
                        var detections: [Detection] = []
                        let n = Int(random.next() % 4)  // 0: an empty media file
                        for _ in 0..<n {
                            let label = pick(species)
                            let x = Double(random.next() % 900) / 1000, y = Double(random.next() % 900) / 1000
                            detections.append(Detection(
                                category: label == "person" ? "2" : label == "motion" ? "motion"
                                    : label.isEmpty ? "x-\(random.next() % 3)" : "1",
                                label: label, conf: pick([0.5, 1, 0.95, 0.8]) - Double(random.next() % 600) / 1000,
                                bbox: random.next() % 9 == 0 ? [] : [x, y, Double(random.next() % 500) / 1000 + 0.001,
                                                                     Double(random.next() % 500) / 1000 + 0.001]))
                        }
                        let frameTime = video ? Double(f) * 1.5 : nil
                        var r = Stage1Record(
                            path: path, cameraID: camera.name,
                            timestamp: zoneUnknown ? nil : Timestamp.format(time + (frameTime ?? 0)),
                            frameTime: frameTime, frameNumber: video ? f * 37 : nil, frameRate: rate,
                            latitude: camera.lat, longitude: camera.lon,
                            width: video ? nil : 1920, height: video ? nil : 1080, detections: detections,
                            detector: random.next() % 3 == 0 ? "external:megadetector-v5a" : "motion-v1",
                            errors: random.next() % 13 == 0 ? ["EXIF \"DateTime\" missing"] : [])
                        if zoneUnknown {
                            r.localTime = String(Timestamp.format(time.rounded(.down)).dropLast())
                            r.timeZoneSource = random.next() % 2 == 0 ? "unknown" : nil
                        } else if random.next() % 3 == 0 {
                            r.timeZone = "Europe/Stockholm"
                            r.utcOffset = "+02:00"
                            r.timeZoneSource = pick(["gps_lookup", "exif_offset", "default_zone"])
                            r.localTime = "2026-05-01T12:00:00"
                        }
                        text += Array(Self.line(r, style: Int(random.next() % 4), random: &random).utf8)
                        text.append(0x0A)
                    }
                    if random.next() % 50 == 0 { text += Array("{\"path\": 12}\n   \n".utf8) }  // malformed, blank
                }
                chunks.append(try! Gzip.compress(text))
            }
            inputs.append(.init(id: "r\(run + 1)", chunks: chunks))
        }
        // A season re-reads a media file a later run holds again: that copy is skipped.
        if runs > 1, let first = inputs.first?.chunks.first { inputs[runs - 1].chunks.append(first) }
        return inputs
    }

    /// One Stage 1 line: style 0 is JSONEncoder's; the others are hand-written JSON with the same values (keys
    /// reversed, spaces, `\u` and `\/` escapes, exponents, explicit nulls, unknown keys).
    static func line(_ r: Stage1Record, style: Int, random: inout SplitMix64) -> String {
        if style == 0 { return String(decoding: try! JSONEncoder().encode(r), as: UTF8.self) }
        func string(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "/": out += style == 2 ? "\\/" : "/"
                case _ where u.value < 0x20 || (style == 3 && u.value > 0x7E):
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += hex(0xD800 + (v >> 10)) + hex(0xDC00 + (v & 0x3FF))
                    } else {
                        out += hex(u.value)
                    }
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        func hex(_ v: UInt32) -> String {
            let digits = String(v, radix: 16, uppercase: style == 3)
            return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        }
        // The same double in another decimal spelling: mantissa digits with an exponent.
        func number(_ d: Double) -> String {
            let plain = "\(d)"
            guard style != 1, !plain.contains("e"), d.isFinite else { return plain }
            let negative = plain.hasPrefix("-")
            let parts = plain.dropFirst(negative ? 1 : 0).split(separator: ".", omittingEmptySubsequences: false)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            var digits = String(parts[0]) + fraction
            while digits.count > 1 && digits.hasPrefix("0") { digits.removeFirst() }
            return (negative ? "-" : "") + digits + (style == 2 ? "e-" : "E-") + "\(fraction.count)"
        }
        func optional(_ s: String?) -> String { s.map(string) ?? "null" }
        func optional(_ d: Double?) -> String { d.map(number) ?? "null" }
        let sep = style == 2 ? " , " : ","
        let colon = style == 3 ? " : " : ":"
        let detections = r.detections.map { d in
            "{" + [
                "\"bbox\"" + colon + "[" + d.bbox.map(number).joined(separator: sep) + "]",
                "\"conf\"" + colon + number(d.conf), "\"label\"" + colon + string(d.label),
                "\"category\"" + colon + string(d.category), "\"crop\"" + colon + "null",
            ].joined(separator: sep) + "}"
        }
        var fields = [
            "\"errors\"" + colon + "[" + r.errors.map(string).joined(separator: sep) + "]",
            "\"detector\"" + colon + string(r.detector),
            "\"detections\"" + colon + "[" + detections.joined(separator: sep) + "]",
            "\"height\"" + colon + (r.height.map { "\($0)" } ?? "null"),
            "\"width\"" + colon + (r.width.map { "\($0)" } ?? "null"),
            "\"longitude\"" + colon + optional(r.longitude), "\"latitude\"" + colon + optional(r.latitude),
            "\"frame_rate\"" + colon + optional(r.frameRate), "\"frame_number\"" + colon
                + (r.frameNumber.map { "\($0)" } ?? "null"),
            "\"frame_time\"" + colon + optional(r.frameTime),
            "\"time_zone_source\"" + colon + optional(r.timeZoneSource), "\"utc_offset\"" + colon + optional(r.utcOffset),
            "\"time_zone\"" + colon + optional(r.timeZone), "\"local_time\"" + colon + optional(r.localTime),
            "\"timestamp\"" + colon + optional(r.timestamp), "\"camera_id\"" + colon + string(r.cameraID),
            "\"path\"" + colon + string(r.path),
            "\"extra\"" + colon + "{\"a\":[1,-2.5e3,{\"b\":null,\"c\":true}],\"s\":\"x\\\"y\\\\\"}",
        ]
        if random.next() % 2 == 0 { fields.reverse() }
        return (style == 2 ? " { " : "{") + fields.joined(separator: sep) + (style == 2 ? " }\t" : "}")
    }

    static func store(_ inputs: [ReferenceCondenser.Input]) throws -> DirectoryObjectStore {
        let store = try makeStore("reference")
        for input in inputs {
            for (i, chunk) in input.chunks.enumerated() {
                try store.put(StoreLayout.stage1Key(run: input.id, chunk: i), bytes: chunk)
            }
        }
        return store
    }

    static func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> Int? {
        (0..<min(a.count, b.count)).first { a[$0] != b[$0] }
    }

    /// Compares one Stage 3 folder with the reference's outputs; `report` is the optimised report.json.
    static func compare(_ files: (String) throws -> [UInt8], _ expected: ReferenceCondenser.Output) throws {
        // Not a comparison of two empty outputs.
        #expect(expected.visits > 100 && expected.recordsRead > 500 && expected.malformedLines > 0)
        #expect(expected.belowMin > 0 && expected.withoutTime > 0 && expected.invalidGPS == 0)
        #expect((expected.files[Stage3Files.media]?.count ?? 0) > 50_000)
        for name in [Stage3Files.visitsCSV, Stage3Files.observations, Stage3Files.media] {
            let got = try files(name), want = try #require(expected.files[name])
            if got != want {
                // Lines split on LF bytes (a Character split would keep CRLF rows together).
                let g = got.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                let w = want.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                let k = firstDifference(g, w) ?? min(g.count, w.count)
                let gotLine = k < g.count ? g[k] : "<end>"
                let wantLine = k < w.count ? w[k] : "<end>"
                Issue.record("\(name) differs at line \(k + 1) (\(g.count) vs \(w.count) lines):\n got: \(gotLine)\nwant: \(wantLine)")
            }
        }
        let observations = try JSONValue.parse(try files(Stage3Files.compressedObservations))
        if observations != expected.compressedObservations {
            if case .array(let g) = observations, case .array(let w) = expected.compressedObservations {
                #expect(g.count == w.count, "compressed_observations.json: visit count")
                if let k = firstDifference(g, w) {
                    Issue.record("compressed_observations.json differs at visit \(k):\n got: \(g[k])\nwant: \(w[k])")
                }
            } else {
                Issue.record("compressed_observations.json is not an array")
            }
        }
        let md = try JSONValue.parse(try files(Stage3Files.megadetector))
        #expect(md["detection_categories"] == expected.detectionCategories)
        #expect(md["classification_categories"] == expected.classificationCategories)
        if case .array(let g)? = md["images"], case .array(let w) = expected.megadetectorImages {
            #expect(g.count == w.count, "megadetector.json: image count")
            if let k = firstDifference(g, w) {
                Issue.record("megadetector.json differs at image \(k):\n got: \(g[k])\nwant: \(w[k])")
            }
        } else {
            Issue.record("megadetector.json has no images array")
        }
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(try files(Stage3Files.report)))
        #expect(report.recordsRead == expected.recordsRead)
        #expect(report.mediaFiles == expected.mediaFiles)
        #expect(report.filesWithErrors == expected.filesWithErrors)
        #expect(report.detectionsUsed == expected.detectionsUsed)
        #expect(report.totalObservations == expected.visits)
        #expect(report.needsReviewCount == expected.needsReview)
        #expect(report.excluded == .init(belowMinConfidence: expected.belowMin, withoutTimestamp: expected.withoutTime,
                                         invalidGPSRecords: expected.invalidGPS, malformedLines: expected.malformedLines,
                                         mediaWithoutTimestamp: expected.mediaWithoutTime))
    }

    @Test func oneRunMatchesTheReference() throws {
        let inputs = Self.generate(seed: 17, runs: 1, chunksPerRun: 3, mediaPerChunk: 400)
        let store = try Self.store(inputs)
        let summary = try Condenser(store: store, clock: FixedClock()).condense(run: "r1")
        #expect(summary.visits > 100)
        let expected = try ReferenceCondenser(mediaRoot: store.rootURI, season: false, name: "r1",
                                              now: Timestamp.format(FixedClock().seconds)).condense(inputs)
        #expect(expected.visits == summary.visits)
        try Self.compare({ try store.get("runs/r1/stage3/" + $0) }, expected)
    }

    @Test func seasonMatchesTheReference() throws {
        let inputs = Self.generate(seed: 2026, runs: 3, chunksPerRun: 2, mediaPerChunk: 300)
        let store = try Self.store(inputs)
        let output = store.root + "/season-out"
        let runs = inputs.map { SeasonRun(id: $0.id, store: store, prefix: "runs/\($0.id)/") }
        _ = try SeasonCondenser(registryStore: ObjectStoreSiteRegistryStore(store: store))
            .condense(runs: runs, name: "season", mediaRoot: store.rootURI, output: output)
        let expected = try ReferenceCondenser(mediaRoot: store.rootURI, season: true, name: "season", now: "")
            .condense(inputs)
        try Self.compare({ name in
            Array(try #require(FileManager.default.contents(atPath: output + "/" + name)))
        }, expected)
    }

    /// The comparison is not blind: a byte parser that misread one field would be caught. A confidence changed
    /// in one Stage 1 line's spelling-independent value makes the reference differ from the condenser's input.
    @Test func aChangedFieldIsCaught() throws {
        var inputs = Self.generate(seed: 5, runs: 1, chunksPerRun: 1, mediaPerChunk: 200)
        let store = try Self.store(inputs)
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "r1")
        // The reference reads a copy where one kept detection's confidence differs in the 4th decimal.
        var text = String(decoding: try Gzip.decompress(inputs[0].chunks[0]), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let target = try #require(lines.firstIndex { line in
            guard let r = try? JSONDecoder().decode(Stage1Record.self, from: Data(line.utf8)) else { return false }
            return r.timestamp != nil && r.latitude != nil && r.detections.count == 1 && r.detections[0].conf >= 0.6
        })
        var record = try JSONDecoder().decode(Stage1Record.self, from: Data(lines[target].utf8))
        let k = try #require(record.detections.firstIndex { $0.conf >= 0.6 })
        record.detections[k].conf -= 0.0003
        var changed = lines
        changed[target] = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        text = changed.joined(separator: "\n")
        inputs[0].chunks[0] = try Gzip.compress(Array(text.utf8))
        let expected = try ReferenceCondenser(mediaRoot: store.rootURI, season: false, name: "r1",
                                              now: Timestamp.format(FixedClock().seconds)).condense(inputs)
        var differences = 0
        for name in [Stage3Files.visitsCSV, Stage3Files.observations] where try store.get("runs/r1/stage3/" + name)
            != expected.files[name] { differences += 1 }
        let observations = try JSONValue.parse(try store.get("runs/r1/stage3/" + Stage3Files.compressedObservations))
        if observations != expected.compressedObservations { differences += 1 }
        #expect(differences >= 2)
    }
}

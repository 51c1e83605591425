import FoundationEssentials
import OdinKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

import TestSupport

@testable import Hugin

/// Schema checks of every Stage 3 output: the real validators of each format (`stage3PassesTheFormatValidators`:
/// MegaDetector's validate_batch_results, frictionless with the official Camtrap DP 1.0 schemas, the GeoJSON JSON
/// Schema) and field-level checks typed in from the specifications, independently of the writer's own lists.
@Suite struct OutputSchemaTests {
    static let t0 = 1_777_600_000.0

    /// One run with stills, a video, a person, a detection without GPS and a low-confidence one.
    static func makeRun() throws -> DirectoryObjectStore {
        let store = try makeStore("schema")
        try writeChunks(store, run: "s1", [[
            record("raw/cam01/IMG_1.JPG", time: iso(t0), [("roe_deer", 0.92), ("roe_deer", 0.81)]),
            record("raw/cam01/IMG_2.JPG", time: iso(t0 + 30), [("roe_deer", 0.7)]),
            record("raw/cam01/IMG_3.JPG", time: iso(t0 + 90), [("fox", 0.3)]),
        ], [
            record("raw/cam02/V1.MP4", camera: "cam02", time: iso(t0 + 100), lat: 59.2, lon: 17.9, [("animal", 0.95)],
                   frame: 0),
            record("raw/cam02/V1.MP4", camera: "cam02", time: iso(t0 + 101), lat: 59.2, lon: 17.9, [("animal", 0.9)],
                   frame: 1),
            record("raw/cam03/IMG_7.JPG", camera: "cam03", time: iso(t0 + 500), lat: nil, lon: nil,
                   [("person", 0.99)]),
        ]])
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "s1", failedChunks: [4])
        return store
    }

    func key(_ name: String) -> String { "runs/s1/stage3/" + name }

    @Test func compressedObservationsKeepTheOriginalFields() throws {
        let store = try Self.makeRun()
        let array = try #require(try readJSON(store, key("compressed_observations.json")) as? [[String: Any]])
        #expect(array.count == 3)
        let original = ["camera_id", "species", "start_time", "end_time", "duration_seconds", "max_confidence",
                        "avg_confidence", "frame_count", "detection_timeline", "source_video", "needs_review"]
        for item in array {
            for field in original { #expect(item[field] != nil, "missing \(field)") }
            let timeline = try #require(item["detection_timeline"] as? [[String: Any]])
            for entry in timeline {
                for field in ["timestamp", "confidence", "frame_number", "crop_path"] {
                    #expect(entry[field] != nil, "timeline missing \(field)")
                }
            }
        }
        let video = try #require(array.first { ($0["camera_id"] as? String) == "cam02" })
        #expect(video["source_video"] as? String == "raw/cam02/V1.MP4")
        #expect(video["source_media"] as? [Any] as? [String] == ["raw/cam02/V1.MP4"])
        let still = try #require(array.first { ($0["camera_id"] as? String) == "cam01" })
        #expect(still["source_video"] is NSNullMarker)
    }

    @Test func reportJSONKeepsTheOriginalKeys() throws {
        let store = try Self.makeRun()
        let report = try #require(try readJSON(store, key("report.json")) as? [String: Any])
        for field in ["total_observations", "species_summary", "camera_summary", "time_range", "video_observations",
                      "image_observations", "compression_stats"] {
            #expect(report[field] != nil, "missing \(field)")
        }
        let species = try #require(report["species_summary"] as? [String: [String: Any]])
        for (_, s) in species {
            for field in ["count", "total_duration", "max_confidence", "avg_confidence"] { #expect(s[field] != nil) }
        }
        let stats = try #require(report["compression_stats"] as? [String: Any])
        for field in ["compression_window_minutes", "min_confidence", "min_duration_seconds"] {
            #expect(stats[field] != nil)
        }
        let range = try #require(report["time_range"] as? [String: Any])
        for field in ["start", "end", "duration_hours"] { #expect(range[field] != nil) }
        #expect(report["video_observations"] as? Double == 1)
        #expect(report["image_observations"] as? Double == 2)
        let failed = try #require(report["failed_chunks"] as? [[String: Any]])
        #expect(failed.map { $0["chunk"] as? Double } == [4])
    }

    @Test func emptyReportStillHasCompressionStats() throws {
        let store = try makeStore()
        try writeChunks(store, run: "e", [[record("raw/c/1.JPG", time: iso(Self.t0), [("fox", 0.1)])]])
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "e")
        let report = try #require(try readJSON(store, "runs/e/stage3/report.json") as? [String: Any])
        #expect(report["compression_stats"] != nil)
        #expect(report["time_range"] is NSNullMarker)
        #expect(report["total_observations"] as? Double == 0)
        #expect(try readJSON(store, "runs/e/stage3/compressed_observations.json") as? [Any] != nil)
    }

    @Test func megadetectorBatchFormat() throws {
        let store = try Self.makeRun()
        let md = try #require(try readJSON(store, key("megadetector.json")) as? [String: Any])
        let info = try #require(md["info"] as? [String: Any])
        #expect(info["format_version"] as? String == "1.4")
        #expect(info["detector"] as? String == "motion-v1")
        let categories = try #require(md["detection_categories"] as? [String: String])
        #expect(categories["1"] != nil)
        #expect(categories.keys.allSatisfy { Int($0) != nil })
        let images = try #require(md["images"] as? [[String: Any]])
        #expect(images.count == 5)  // one entry per media file (the video once), below-threshold detections included
        for image in images {
            #expect(image["file"] is String)
            let detections = try #require(image["detections"] as? [[String: Any]])
            for d in detections {
                #expect(d["category"] is String)
                #expect(d["conf"] is Double)
                #expect((d["bbox"] as? [Any])?.count == 4)
            }
        }
        let video = try #require(images.first { ($0["file"] as? String) == "raw/cam02/V1.MP4" })
        #expect(video["frame_rate"] as? Double == 25)
        let frames = (video["detections"] as? [[String: Any]])?.map { $0["frame_number"] as? Double }
        #expect(frames == [0, 25])  // frame_time 0 s and 1 s at 25 fps
        #expect(!images.contains { ($0["file"] as? String)?.contains(".MP4/") == true })
    }

    /// A file that failed is `failure` + `"detections": null`; motion-v1's category is the documented id 4; a
    /// video without its frame rate in Stage 1 is a failure rather than invented frame numbers.
    @Test(.requires(.venv)) func megadetectorFailuresAndMotionCategory() throws {
        let store = try makeStore()
        try writeChunks(store, run: "f", [[
            Stage1Record(path: "raw/c/BAD.JPG", cameraID: "c", detector: "motion-v1", errors: ["truncated JPEG"]),
            Stage1Record(path: "raw/c/OK.JPG", cameraID: "c", timestamp: iso(Self.t0), latitude: 59, longitude: 18,
                         detections: [Detection(category: "motion", label: "motion", conf: 1, bbox: [0, 0, 1, 1])],
                         detector: "motion-v1"),
            Stage1Record(path: "raw/c/OLD.MP4", cameraID: "c", timestamp: iso(Self.t0 + 60), frameTime: 2,
                         frameNumber: 7, latitude: 59, longitude: 18,
                         detections: [Detection(category: "motion", label: "motion", conf: 0.5, bbox: [0, 0, 1, 1])],
                         detector: "motion-v1"),
        ]])
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "f")
        let md = try #require(try readJSON(store, "runs/f/stage3/megadetector.json") as? [String: Any])
        #expect(md["detection_categories"] as? [String: String] == ["4": "motion"])
        let images = try #require(md["images"] as? [[String: Any]])
        let bad = try #require(images.first { $0["file"] as? String == "raw/c/BAD.JPG" })
        #expect(bad["failure"] as? String == "truncated JPEG")
        #expect(bad["detections"] is NSNullMarker)
        let ok = try #require(images.first { $0["file"] as? String == "raw/c/OK.JPG" })
        #expect((ok["detections"] as? [[String: Any]])?.first?["category"] as? String == "4")
        let old = try #require(images.first { $0["file"] as? String == "raw/c/OLD.MP4" })
        #expect(old["detections"] is NSNullMarker)
        #expect((old["failure"] as? String)?.contains("frame rate") == true)
        let text = try readText(store, "runs/f/stage3/megadetector.json")
        #expect(text.contains("\"conf\":1.0"), "conf must read back as a float")
        let result = try Stage3Validators.validate(stage3: try store.path(for: "runs/f/stage3"))
        #expect(Stage3Validators.errors(result) == [])
    }

    /// Two sites on one parallel: the bounding box would have no height, so it is padded (never a zero-area polygon).
    @Test(.requires(.venv)) func spatialIsNeverAZeroAreaPolygon() throws {
        let store = try makeStore()
        try writeChunks(store, run: "p", [[
            record("raw/a/1.JPG", camera: "a", time: iso(Self.t0), lat: 59, lon: 18, [("fox", 0.9)]),
            record("raw/b/1.JPG", camera: "b", time: iso(Self.t0), lat: 59, lon: 18.5, [("fox", 0.9)]),
        ]])
        _ = try Condenser(store: store, clock: FixedClock()).condense(run: "p")
        let package = try #require(try readJSON(store, "runs/p/stage3/datapackage.json") as? [String: Any])
        let spatial = try #require(package["spatial"] as? [String: Any])
        #expect(spatial["type"] as? String == "Polygon")
        let ring = try #require((spatial["coordinates"] as? [Any])?.first as? [Any])
        let latitudes = Set(ring.compactMap { ($0 as? [Double])?.last })
        #expect(latitudes.count == 2 && latitudes.allSatisfy { abs($0 - 59) < 0.001 })
        let result = try Stage3Validators.validate(stage3: try store.path(for: "runs/p/stage3"))
        #expect(Stage3Validators.errors(result) == [])
    }

    /// Without any media file that has a position and a time there is no deployment: no Camtrap DP package is
    /// written (rather than one the profile rejects), and nothing says files are missing.
    @Test func noCamtrapDPPackageWithoutADeployment() throws {
        let store = try makeStore()
        try writeChunks(store, run: "n", [[
            record("raw/c/1.JPG", time: iso(Self.t0), lat: nil, lon: nil, [("fox", 0.9)]),
            record("raw/c/2.JPG", time: nil, [("fox", 0.9)]),
        ]])
        let summary = try Condenser(store: store, clock: FixedClock()).condense(run: "n")
        #expect(summary.files == Stage3Files.all.filter { !Stage3Files.camtrapDP.contains($0) })
        for name in Stage3Files.camtrapDP { #expect(try store.head("runs/n/stage3/" + name) == nil, "\(name)") }
        let report = try #require(try readJSON(store, "runs/n/stage3/report.json") as? [String: Any])
        #expect((report["camtrap_dp"] as? [String: Any])?["deployments"] as? Double == 0)
        let text = try Stage3Analysis.summarize(directory: try store.path(for: "runs/n/stage3"))
        #expect(text.contains("Camtrap DP: not written"))
        #expect(!text.contains("Missing files"))
    }

    /// Every Stage 3 file passes the validator of the tool that reads it, and a second reader (frictionless'
    /// Package API) counts the same Camtrap DP rows as report.json says the writer wrote.
    @Test(.requires(.venv)) func stage3PassesTheFormatValidators() throws {
        let store = try Self.makeRun()
        let result = try Stage3Validators.validate(stage3: try store.path(for: "runs/s1/stage3"))
        #expect(Stage3Validators.errors(result) == [])
        let report = try #require(try readJSON(store, key("report.json")) as? [String: Any])
        let written = try #require(report["camtrap_dp"] as? [String: Any])
        let read = try #require((result["camtrap_dp"] as? [String: Any])?["counts"] as? [String: Any])
        #expect(read["deployments"] as? Int == (written["deployments"] as? Double).map(Int.init))
        #expect(read["media"] as? Int == (written["media"] as? Double).map(Int.init))
        #expect(read["event_observations"] as? Int == (written["event_observations"] as? Double).map(Int.init))
        #expect(read["media_observations"] as? Int == (written["media_observations"] as? Double).map(Int.init))
        #expect(read["media_observations"] as? Int == read["media_observations_with_bbox"] as? Int)
        #expect(written["media_without_position"] as? Double == 1)  // cam03 has no GPS
        let md = try #require(result["megadetector"] as? [String: Any])
        #expect(md["videos"] as? Int == 1)
        #expect((result["geojson"] as? [String: Any])?["features"] as? Int == 2)
    }

    @Test func sitesGeoJSONIsLonLat() throws {
        let store = try Self.makeRun()
        let geo = try #require(try readJSON(store, key("sites.geojson")) as? [String: Any])
        #expect(geo["type"] as? String == "FeatureCollection")
        let features = try #require(geo["features"] as? [[String: Any]])
        #expect(features.count == 2)
        for f in features {
            #expect(f["type"] as? String == "Feature")
            let geometry = try #require(f["geometry"] as? [String: Any])
            #expect(geometry["type"] as? String == "Point")
            let c = try #require(geometry["coordinates"] as? [Double])
            // Our sites are at latitude ~59, longitude ~18: [lon, lat].
            #expect(c.count == 2 && c[0] < 20 && c[1] > 58)
            #expect((f["properties"] as? [String: Any])?["site_id"] is String)
        }
    }

    @Test func visitsCSV() throws {
        let store = try Self.makeRun()
        let rows = csvRows(try readText(store, key("visits.csv")))
        #expect(rows[0].first == "visit_id")
        #expect(rows.count == 4)
        #expect(rows.dropFirst().allSatisfy { $0.count == rows[0].count })
    }

    // Camtrap DP 1.0 field lists, from the published table schemas.
    static let deployments = ["deploymentID", "locationID", "locationName", "latitude", "longitude",
                              "coordinateUncertainty", "deploymentStart", "deploymentEnd", "setupBy", "cameraID",
                              "cameraModel", "cameraDelay", "cameraHeight", "cameraDepth", "cameraTilt",
                              "cameraHeading", "detectionDistance", "timestampIssues", "baitUse", "featureType",
                              "habitat", "deploymentGroups", "deploymentTags", "deploymentComments"]
    static let media = ["mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic", "fileName",
                        "fileMediatype", "exifData", "favorite", "mediaComments"]
    static let observations = ["observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd",
                               "observationLevel", "observationType", "cameraSetupType", "scientificName", "count",
                               "lifeStage", "sex", "behavior", "individualID", "individualPositionRadius",
                               "individualPositionAngle", "individualSpeed", "bboxX", "bboxY", "bboxWidth",
                               "bboxHeight", "classificationMethod", "classifiedBy", "classificationTimestamp",
                               "classificationProbability", "observationTags", "observationComments"]

    func table(_ store: DirectoryObjectStore, _ name: String, columns: [String]) throws -> [[String: String]] {
        let rows = csvRows(try readText(store, key(name)))
        #expect(rows.first == columns, "\(name) header")
        return rows.dropFirst().map { row in
            #expect(row.count == columns.count, "\(name) row width")
            return Dictionary(uniqueKeysWithValues: zip(columns, row))
        }
    }

    func isDateTime(_ s: String?) -> Bool { s.flatMap(Timestamp.parse) != nil }

    @Test func camtrapDPPackage() throws {
        let store = try Self.makeRun()
        let dep = try table(store, "deployments.csv", columns: Self.deployments)
        let med = try table(store, "media.csv", columns: Self.media)
        let obs = try table(store, "observations.csv", columns: Self.observations)
        // Required fields and constraints.
        let deploymentIDs = Set(dep.map { $0["deploymentID"]! })
        #expect(deploymentIDs.count == dep.count)
        #expect(dep.count == 2)  // cam01@site, cam02@site; cam03 has no GPS (Camtrap DP requires a position)
        for d in dep {
            #expect(isDateTime(d["deploymentStart"]) && isDateTime(d["deploymentEnd"]))
            let lat = try #require(Double(d["latitude"]!)), lon = try #require(Double(d["longitude"]!))
            #expect((-90...90).contains(lat) && (-180...180).contains(lon))
        }
        #expect(Set(med.map { $0["mediaID"]! }).count == med.count)
        #expect(med.count == 4)  // IMG_1..3, V1.MP4 once (IMG_7 has no GPS)
        let root = store.rootURI + "/"
        for m in med {
            #expect(deploymentIDs.contains(m["deploymentID"]!))
            #expect(isDateTime(m["timestamp"]))
            #expect(m["captureMethod"] == "activityDetection")
            #expect(m["filePath"]!.hasPrefix(root + "raw/"), "filePath is the media's URI in the store")
            #expect(["true", "false"].contains(m["filePublic"]!))
            #expect(m["fileMediatype"]!.hasPrefix("image/") || m["fileMediatype"]!.hasPrefix("video/"))
        }
        #expect(med.first { $0["fileName"] == "V1.MP4" }?["fileMediatype"] == "video/mp4")
        // Two event-level observations (the person visit has no GPS), and one media-level observation per species
        // per frame at or above min_confidence with a position: IMG_1 (two roe deer), IMG_2, V1.MP4 (2 frames).
        let events = obs.filter { $0["observationLevel"] == "event" }
        #expect(events.count == 2)
        let mediaLevel = obs.filter { $0["observationLevel"] == "media" }
        #expect(mediaLevel.count == 4)
        #expect(mediaLevel.first { med.first { $0["fileName"] == "IMG_1.JPG" }?["mediaID"] == $0["mediaID"] }?[
            "count"] == "2")
        for o in mediaLevel {
            #expect(med.contains { $0["mediaID"] == o["mediaID"] })
            #expect(events.contains { $0["eventID"] == o["eventID"] }, "a media-level observation names its visit")
            #expect(o["bboxX"] == "0.1" && o["bboxY"] == "0.2" && o["bboxWidth"] == "0.3" && o["bboxHeight"] == "0.4")
            #expect(o["classifiedBy"] == "motion-v1" && o["classificationMethod"] == "machine")
            #expect(Double(o["classificationProbability"]!) != nil)
        }
        for o in obs {
            // Camtrap DP's datetime format has no fractional seconds.
            #expect(!(o["eventStart"]! + o["eventEnd"]!).contains("."))
            #expect(!o["observationID"]!.isEmpty)
            #expect(deploymentIDs.contains(o["deploymentID"]!))
            #expect(isDateTime(o["eventStart"]) && isDateTime(o["eventEnd"]))
            #expect(["media", "event"].contains(o["observationLevel"]!))
            #expect(["animal", "human", "vehicle", "blank", "unknown", "unclassified"].contains(o["observationType"]!))
            #expect(["human", "machine", ""].contains(o["classificationMethod"]!))
            if let p = Double(o["classificationProbability"]!) { #expect((0...1).contains(p)) }
        }
        #expect(obs.first { $0["observationType"] == "human" } == nil)  // only seen without GPS
        #expect(obs.first { $0["scientificName"] == "Capreolus capreolus" && $0["observationLevel"] == "event" }?[
            "count"] == "2")

        let package = try #require(try readJSON(store, key("datapackage.json")) as? [String: Any])
        for field in ["resources", "profile", "created", "contributors", "project", "spatial", "temporal",
                      "taxonomic"] {
            #expect(package[field] != nil, "datapackage.json missing \(field)")
        }
        #expect((package["profile"] as? String)?.contains("camtrap-dp/1.0") == true)
        let resources = try #require(package["resources"] as? [[String: Any]])
        #expect(resources.map { $0["name"] as? String } == ["deployments", "media", "observations"])
        for r in resources {
            for field in ["name", "path", "profile", "schema"] { #expect(r[field] != nil) }
            #expect(r["profile"] as? String == "tabular-data-resource")
        }
        let project = try #require(package["project"] as? [String: Any])
        for field in ["title", "samplingDesign", "captureMethod", "individualAnimals", "observationLevel"] {
            #expect(project[field] != nil)
        }
        let temporal = try #require(package["temporal"] as? [String: String])
        #expect(temporal["start"]?.count == 10 && temporal["end"]?.count == 10)
        #expect(temporal["start"] == String(Timestamp.format(Self.t0).prefix(10)), "the capture dates, not today")
        // Two sites: a bounding-box polygon with an area.
        let spatial = try #require(package["spatial"] as? [String: Any])
        #expect(spatial["type"] as? String == "Polygon")
        #expect((package["description"] as? String)?.contains("1 media file and 1 visit") == true)
    }

    /// Opens report.html in headless Chromium and checks that the DOM holds the rendered map and tables.
    @Test(.requires(.chromium)) func reportOpensInHeadlessChromium() throws {
        let browser = try #require(Peer.chromiumPath)
        let store = try Self.makeRun()
        let html = try store.path(for: key("report.html"))
        let profile = html + ".profile"
        let output = html + ".dom"
        // `timeout` keeps a hung browser from hanging the suite.
        let command = "timeout 120 '\(browser)' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
            + "--no-first-run --user-data-dir='\(profile)' --dump-dom 'file://\(html)' > '\(output)' 2>/dev/null"
        let status = system(command)
        #expect(status == 0, "chromium exited with \(status)")
        let dom = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
        #expect(dom.contains("id=\"site-map\""))
        #expect(dom.contains("<circle"))
        #expect(dom.components(separatedBy: "class=\"site-marker\"").count - 1 == 2)
        for id in ["sites-table", "species-table", "cameras-table", "visits-table", "failed-chunks"] {
            #expect(dom.contains("id=\"\(id)\""), "DOM lacks #\(id)")
        }
        #expect(dom.contains("chunk 4: failed"))
        #expect(dom.contains("roe_deer"))
    }
}

@Suite struct AnalyzeTests {
    @Test func summarizesADownloadedStage3Folder() throws {
        let store = try OutputSchemaTests.makeRun()
        let folder = try store.path(for: "runs/s1/stage3")
        let text = try Stage3Analysis.summarize(directory: folder)
        #expect(text.contains("Run s1"))
        #expect(text.contains("Visits: 3"))
        #expect(text.contains("roe_deer"))
        #expect(text.contains("FAILED or missing: 4"))
        #expect(!text.contains("Missing files"))
        #expect(throws: HuginError.self) { try Stage3Analysis.summarize(directory: folder + "/nope") }
        // The report's vocabulary: frames (with detections), boxes, visits, media files; never "detections" for
        // frames.
        #expect(text.contains(" frames with detections (") && text.contains(" boxes) in ")
                && text.contains(" media files\n"), "\(text)")
        #expect(!text.contains(" detections in"), "\(text)")
        #expect(text.contains("Excluded: 1 box below min_confidence 0.5"), "\(text)")
    }

    /// Counts of one are singular, every other count plural, in every line of the summary.
    @Test func summaryCountsSayWhatTheyCountWithPlurals() throws {
        let store = try OutputSchemaTests.makeRun()
        let folder = try store.path(for: "runs/s1/stage3")
        var report = try JSONDecoder().decode(Stage3Report.self, from: try #require(
            FileManager.default.contents(atPath: folder + "/" + Stage3Files.report)))
        report.totalObservations = 1
        report.needsReviewCount = 1
        report.detectionsUsed = 1
        report.boxesUsed = 1
        report.mediaFiles = 1
        report.unlocatedObservations = 1
        report.excluded = .init(belowMinConfidence: 1, withoutTimestamp: 1, invalidGPSRecords: 0, malformedLines: 1,
                                mediaWithoutTimestamp: 1)
        let one = Stage3Analysis.render(report)
        #expect(one.contains("Visits: 1 (1 needs review; ") && one.contains(" from 1 frame with detections (1 box) in "
                                                                             + "1 media file\n"), "\(one)")
        #expect(one.contains("(+1 visit without GPS)"), "\(one)")
        #expect(one.contains("Excluded: 1 box below min_confidence") && one.contains("1 frame with detections but no "
            + "capture time, 1 media file without a capture time, 1 malformed line\n"), "\(one)")
        report.totalObservations = 2
        report.needsReviewCount = 0
        report.detectionsUsed = 0
        report.boxesUsed = 2
        report.mediaFiles = 2
        report.excluded = .init(belowMinConfidence: 0, withoutTimestamp: 2, invalidGPSRecords: 0, malformedLines: 0,
                                mediaWithoutTimestamp: 0)
        let many = Stage3Analysis.render(report)
        #expect(many.contains("Visits: 2 (0 need review; ") && many.contains(" from 0 frames with detections "
                                                                              + "(2 boxes) in 2 media files\n"), "\(many)")
        #expect(many.contains("Excluded: 0 boxes below") && many.contains("2 frames with detections but no capture "
            + "time, 0 media files without a capture time, 0 malformed lines\n"), "\(many)")
        for line in (one + many).split(separator: "\n") {
            #expect(line.firstRange(of: /(^|[^0-9.])1 (visits|frames|boxes|media files|runs|chunks|deployments|days)\b/)
                    == nil, "\(line)")
        }
    }
}

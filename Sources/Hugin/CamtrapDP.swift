import JSONEscaping
import OdinBasics
import OdinKit

/// Camtrap DP 1.0 (TDWG camera-trap data package): column lists from the 1.0 table schemas, one deployment per
/// (site, camera), one media row per file, one event-level observation per visit and one media-level observation
/// per species per frame (count = its boxes, bbox = the box around them, eventID = its visit). Checked in the tests by `frictionless` against the official 1.0
/// profile and table schemas.
///
/// - Date-times are whole seconds in UTC (`2025-09-14T12:13:03Z`): the schemas' format `%Y-%m-%dT%H:%M:%S%z` has
///   no fraction. Starts are rounded down and ends up, so a range never shrinks.
/// - Deployments need a latitude and longitude: media without a GPS position (and their observations) are left
///   out of the package, and `datapackage.json`'s description says how many.
/// - `filePath` is the media's URI in the store that holds `raw/` (`s3://bucket/raw/…`, or `file:///…` for a
///   local run): the media are not copied into the package.
/// - `spatial` is a Point for one location, else the bounding box of the deployments (padded where it would have
///   no area); `temporal` is the span of the deployments' dates. A package without any deployment is not written
///   (`Stage3Files.camtrapDP`).
public enum CamtrapDP {
    public static let profile = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0/camtrap-dp-profile.json"
    static func schema(_ table: String) -> String {
        "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0/\(table)-table-schema.json"
    }

    public static let deploymentsColumns = [
        "deploymentID", "locationID", "locationName", "latitude", "longitude", "coordinateUncertainty",
        "deploymentStart", "deploymentEnd", "setupBy", "cameraID", "cameraModel", "cameraDelay", "cameraHeight",
        "cameraDepth", "cameraTilt", "cameraHeading", "detectionDistance", "timestampIssues", "baitUse",
        "featureType", "habitat", "deploymentGroups", "deploymentTags", "deploymentComments",
    ]

    public static let mediaColumns = [
        "mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic", "fileName",
        "fileMediatype", "exifData", "favorite", "mediaComments",
    ]

    public static let observationsColumns = [
        "observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd", "observationLevel",
        "observationType", "cameraSetupType", "scientificName", "count", "lifeStage", "sex", "behavior",
        "individualID", "individualPositionRadius", "individualPositionAngle", "individualSpeed", "bboxX", "bboxY",
        "bboxWidth", "bboxHeight", "classificationMethod", "classifiedBy", "classificationTimestamp",
        "classificationProbability", "observationTags", "observationComments",
    ]

    /// Scientific names for common detector labels (Nordic fauna first). Labels not listed keep an empty
    /// `scientificName` and carry the label in `observationTags`.
    public static let scientificNames: [String: String] = [
        "roe_deer": "Capreolus capreolus", "elk": "Alces alces", "moose": "Alces alces",
        "wild_boar": "Sus scrofa", "fox": "Vulpes vulpes", "red_fox": "Vulpes vulpes", "badger": "Meles meles",
        "lynx": "Lynx lynx", "wolf": "Canis lupus", "brown_bear": "Ursus arctos", "bear": "Ursus arctos",
        "red_deer": "Cervus elaphus", "fallow_deer": "Dama dama", "hare": "Lepus", "mountain_hare": "Lepus timidus",
        "european_hare": "Lepus europaeus", "squirrel": "Sciurus vulgaris", "red_squirrel": "Sciurus vulgaris",
        "pine_marten": "Martes martes", "otter": "Lutra lutra", "wolverine": "Gulo gulo",
        "reindeer": "Rangifer tarandus", "beaver": "Castor fiber", "raccoon_dog": "Nyctereutes procyonoides",
        "hedgehog": "Erinaceus europaeus",
    ]

    static func observationType(_ label: String) -> String {
        switch label.lowercased() {
        case "person", "human", "people": return "human"
        case "vehicle", "car": return "vehicle"
        case "motion", "unknown", "": return "unclassified"
        default: return "animal"
        }
    }

    /// Padding (degrees, about 1 m) of a bounding box that would have no width or height.
    static let spatialPadding = 0.00001

    static func deploymentRow(_ d: Stage3Writer.Deployment, site: RegisteredSite) -> [String] {
        var row = [String](repeating: "", count: deploymentsColumns.count)
        row[0] = d.id
        row[1] = site.id
        row[2] = site.name ?? ""
        row[3] = Fixed.trimmed(site.latitude, 7)
        row[4] = Fixed.trimmed(site.longitude, 7)
        row[6] = Timestamp.format(d.start.rounded(.down))
        row[7] = Timestamp.format(d.end.rounded(.up))
        row[9] = d.camera
        row[17] = d.timestampIssues ? "true" : "false"
        if d.timestampIssues { row[23] = TimeZoneUse.unknownZoneComment }
        return row
    }

    static func observationRow(_ v: Visit, deploymentID: String) -> [String] {
        var row = [String](repeating: "", count: observationsColumns.count)
        row[0] = v.id
        row[1] = deploymentID
        row[3] = v.id
        row[4] = Timestamp.format(v.start.rounded(.down))
        row[5] = Timestamp.format(v.end.rounded(.up))
        row[6] = "event"
        row[7] = observationType(v.species)
        row[9] = scientificNames[v.species.lowercased()] ?? ""
        row[10] = row[7] == "animal" || row[7] == "human" ? "\(max(1, v.maxBoxes))" : ""
        row[22] = "machine"
        row[23] = v.detector
        row[25] = Fixed.trimmed(v.maxConfidence, 4)
        row[26] = "label:\(v.species)" + (v.needsReview ? " | needs_review" : "")
        row[27] = Plural.count(v.frameCount, "detection") + ", mean confidence \(Fixed.trimmed(v.meanConfidence, 3))"
        return row
    }

    /// Appends `observationRow(v, deploymentID:)` as `CSV.row` writes it, field by field (one row per visit).
    /// `type` and `scientificName` are `observationType(v.species)` and the species' scientific name ("" if none).
    static func appendEventObservation(_ v: Visit, deploymentID: String, type: String, scientificName: String,
                                       to sink: FileSink) {
        sink.append(csvField: v.id)
        sink.append(byte: 0x2C)
        sink.append(csvField: deploymentID)
        sink.append(",,")
        sink.append(csvField: v.id)
        sink.append(byte: 0x2C)
        sink.append(timestamp: v.start.rounded(.down))
        sink.append(byte: 0x2C)
        sink.append(timestamp: v.end.rounded(.up))
        sink.append(",event,")
        sink.append(csvField: type)
        sink.append(",,")
        sink.append(csvField: scientificName)
        sink.append(byte: 0x2C)
        if type == "animal" || type == "human" { sink.append(int: max(1, v.maxBoxes)) }
        // count, then lifeStage … bboxHeight (11 empty fields), then classificationMethod.
        sink.append(",,,,,,,,,,,,machine,")
        sink.append(csvField: v.detector)
        sink.append(",,")
        sink.append(fixed: v.maxConfidence, digits: 4)
        sink.append(byte: 0x2C)
        if CSV.needsQuotes(v.species) {
            sink.append(csvField: "label:\(v.species)" + (v.needsReview ? " | needs_review" : ""))
        } else {
            sink.append("label:")
            sink.append(raw: v.species)
            if v.needsReview { sink.append(" | needs_review") }
        }
        // observationComments holds a comma, so it is always quoted (and holds no quote).
        sink.append(",\"")
        sink.append(int: v.frameCount)
        sink.append(v.frameCount == 1 ? " detection, mean confidence " : " detections, mean confidence ")
        sink.append(fixed: v.meanConfidence, digits: 3)
        sink.append("\"\r\n")
    }

    /// Appends one media-level observation row: one species in one frame of a media file, `count` boxes, `bbox` the
    /// box around them (`[x, y, width, height]` relative to the frame, top-left origin: the convention MegaDetector
    /// and Camtrap DP share), `eventID` the visit's id, `time` the frame's capture time. `type` and `scientificName`
    /// are `observationType(label)` and the label's scientific name. Written field by field: one row per species
    /// per frame, the hot path of large runs.
    /// `idHash` and `mediaHash` are the FNV-1a hashes behind `o-…` and `m-…` (`Stage3Writer.mediaID`).
    static func appendMediaObservation(to sink: FileSink, idHash: UInt64, deploymentID: String, mediaHash: UInt64,
                                       eventID: String, time: Double, type: String, scientificName: String,
                                       label: String, detector: String, confidence: Double, count: Int,
                                       bbox: SIMD4<Float>, frameTime: Double?) {
        sink.append("o-")
        sink.append(hex: idHash)
        sink.append(byte: 0x2C)
        sink.append(csvField: deploymentID)
        sink.append(",m-")
        sink.append(hex: mediaHash)
        sink.append(byte: 0x2C)
        sink.append(csvField: eventID)
        sink.append(byte: 0x2C)
        // eventStart and eventEnd: the same second (the schema requires both).
        sink.append(timestamp: time.rounded(.down))
        sink.append(byte: 0x2C)
        sink.append(timestamp: time.rounded(.down))
        sink.append(",media,")
        sink.append(raw: type)
        sink.append(",,")
        sink.append(csvField: scientificName)
        sink.append(byte: 0x2C)
        if type == "animal" || type == "human" { sink.append(int: max(1, count)) }
        // lifeStage, sex, behavior, individualID, individualPositionRadius/Angle, individualSpeed
        sink.append(",,,,,,,,")
        let x = min(max(Double(bbox[0]), 0), 1), y = min(max(Double(bbox[1]), 0), 1)
        let w = min(Double(bbox[2]), 1 - x), h = min(Double(bbox[3]), 1 - y)
        if x.isFinite && y.isFinite && w > 0 && h > 0 {
            sink.append(fixed: x, digits: 4)
            sink.append(byte: 0x2C)
            sink.append(fixed: y, digits: 4)
            sink.append(byte: 0x2C)
            sink.append(fixed: max(w, 0.0001), digits: 4)
            sink.append(byte: 0x2C)
            sink.append(fixed: max(h, 0.0001), digits: 4)
        } else {
            sink.append(",,,")
        }
        sink.append(",machine,")
        sink.append(csvField: detector)
        sink.append(",,")
        sink.append(fixed: min(max(confidence, 0), 1), digits: 4)
        sink.append(byte: 0x2C)
        if CSV.needsQuotes(label) {
            sink.append(csvField: "label:" + label)
        } else {
            sink.append("label:")
            sink.append(raw: label)
        }
        sink.append(byte: 0x2C)
        if let frameTime {
            sink.append("video frame at ")
            sink.append(raw: Fixed.trimmed(frameTime, 3))
            sink.append(" s")
        }
        sink.append("\r\n")
    }

    /// `spatial`: a GeoJSON Point for one location, else a counter-clockwise bounding-box Polygon (RFC 7946)
    /// padded by `spatialPadding` where it would have no area; nil without locations.
    static func spatial(_ sites: [RegisteredSite]) -> String? {
        guard !sites.isEmpty else { return nil }
        func point(_ lon: Double, _ lat: Double) -> String {
            "[" + Fixed.trimmed(lon, 7) + "," + Fixed.trimmed(lat, 7) + "]"
        }
        let lats = sites.map(\.latitude), lons = sites.map(\.longitude)
        var (s, n, w, e) = (lats.min()!, lats.max()!, lons.min()!, lons.max()!)
        if s == n && w == e { return "{\"type\":\"Point\",\"coordinates\":" + point(w, s) + "}" }
        if s == n { s = max(-90, s - spatialPadding); n = min(90, n + spatialPadding) }
        if w == e { w = max(-180, w - spatialPadding); e = min(180, e + spatialPadding) }
        return "{\"type\":\"Polygon\",\"coordinates\":[["
            + [(w, s), (e, s), (e, n), (w, n), (w, s)].map { point($0.0, $0.1) }.joined(separator: ",") + "]]}"
    }

    /// `seasonRuns`: the runs of a season (empty for one run); the title and project name say which.
    static func datapackage(run: String, created: String, report: Stage3Report,
                            deployments: [Stage3Writer.Deployment], counts: Stage3Report.CamtrapDPCounts,
                            seasonRuns: [String] = []) -> String {
        let name = "odins-ravne-" + String(run.lowercased().map { c in
            c.isLetter && c.isASCII || c.isNumber && c.isASCII || c == "-" || c == "_" || c == "." ? c : "-"
        })
        let located = deployments.filter { $0.site != nil }
        var optional = ""
        if let spatial = spatial(located.compactMap(\.site)) {
            optional += "\"spatial\":" + spatial + ","
        }
        if let start = located.map(\.start).min(), let end = located.map(\.end).max() {
            optional += "\"temporal\":{\"start\":" + JSONString.quoted(String(Timestamp.format(start).prefix(10)))
                + ",\"end\":" + JSONString.quoted(String(Timestamp.format(end.rounded(.up)).prefix(10))) + "},"
        }
        let taxa = Set(report.speciesSummary.keys.compactMap { scientificNames[$0.lowercased()] }).sorted()
        func resource(_ table: String) -> String {
            "{\"name\":\"\(table)\",\"path\":\"\(table).csv\",\"profile\":\"tabular-data-resource\","
                + "\"format\":\"csv\",\"mediatype\":\"text/csv\",\"encoding\":\"utf-8\",\"schema\":"
                + JSONString.quoted(schema(table)) + "}"
        }
        var description = "Machine-classified camera-trap data. One event-level observation per visit (consecutive "
            + "detections of one species by one camera at one site at most "
            + Fixed.trimmed(report.compressionStats.compressionWindowMinutes, 3) + " minutes apart) and one "
            + "media-level observation per detection with its bounding box; detections below confidence "
            + Fixed.trimmed(report.compressionStats.minConfidence, 3) + " excluded. Media files are referenced by "
            + "their URI in the store that holds raw/, not copied."
        if counts.mediaWithoutPosition > 0 || counts.visitsWithoutPosition > 0 {
            description += " Left out for lacking a GPS position (Camtrap DP deployments need one): "
                + "\(Plural.count(counts.mediaWithoutPosition, "media file")) and \(Plural.count(counts.visitsWithoutPosition, "visit"))."
        }
        let title = seasonRuns.isEmpty ? "Odins Ravne run \(run)"
            : "Odins Ravne season \(run) (\(seasonRuns.count) runs: \(seasonRuns.joined(separator: ", ")))"
        // Compact JSON (no indentation): the package descriptor is read by programs.
        return "{\"name\":" + JSONString.quoted(name) + ",\"id\":" + JSONString.quoted(run)
            + ",\"profile\":" + JSONString.quoted(profile) + ",\"created\":" + JSONString.quoted(created)
            + ",\"title\":" + JSONString.quoted(title + ": visits condensed by Hugin")
            + ",\"description\":" + JSONString.quoted(description)
            + ",\"contributors\":[{\"title\":\"Odins Ravne pipeline (Hugin)\",\"role\":\"contributor\"}]"
            + ",\"project\":{\"title\":" + JSONString.quoted(title) + ",\"samplingDesign\":\"opportunistic\","
            + "\"captureMethod\":[\"activityDetection\"],\"individualAnimals\":false,"
            + "\"observationLevel\":[\"media\",\"event\"]}," + optional
            + "\"taxonomic\":[" + taxa.map { "{\"scientificName\":" + JSONString.quoted($0) + "}" }.joined(separator: ",")
            + "],\"resources\":[" + resource("deployments") + "," + resource("media") + "," + resource("observations")
            + "]}\n"
    }
}

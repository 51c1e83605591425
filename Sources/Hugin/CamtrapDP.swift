import JSONEscaping

/// Camtrap DP 1.0 (TDWG camera-trap data package): column lists from the 1.0 table schemas, one deployment per
/// (site, camera), one media row per file, one event-level observation per visit.
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

    static func deploymentRow(_ d: Stage3Writer.Deployment) -> [String] {
        var row = [String](repeating: "", count: deploymentsColumns.count)
        row[0] = d.id
        row[1] = d.site?.id ?? ""
        row[2] = d.site?.name ?? ""
        row[3] = d.site.map { Fixed.trimmed($0.latitude, 7) } ?? ""
        row[4] = d.site.map { Fixed.trimmed($0.longitude, 7) } ?? ""
        row[6] = Timestamp.format(d.start)
        row[7] = Timestamp.format(d.end)
        row[9] = d.camera
        row[17] = d.timestampIssues ? "true" : "false"
        row[23] = [d.site == nil ? "no GPS position in the media: latitude/longitude unknown" : "",
                   d.timestampIssues ? TimeZoneUse.unknownZoneComment : ""].filter { !$0.isEmpty }
            .joined(separator: "; ")
        return row
    }

    static func observationRow(_ v: Visit, deploymentID: String) -> [String] {
        var row = [String](repeating: "", count: observationsColumns.count)
        row[0] = v.id
        row[1] = deploymentID
        row[3] = v.id
        row[4] = Timestamp.format(v.start)
        row[5] = Timestamp.format(v.end)
        row[6] = "event"
        row[7] = observationType(v.species)
        row[9] = scientificNames[v.species.lowercased()] ?? ""
        row[10] = row[7] == "animal" || row[7] == "human" ? "\(max(1, v.maxBoxes))" : ""
        row[22] = "machine"
        row[23] = v.detector
        row[25] = Fixed.trimmed(v.maxConfidence, 4)
        row[26] = "label:\(v.species)" + (v.needsReview ? " | needs_review" : "")
        row[27] = "\(v.frameCount) detection(s), mean confidence \(Fixed.trimmed(v.meanConfidence, 3))"
        return row
    }

    static func datapackage(run: String, created: String, report: Stage3Report,
                            deployments: [Stage3Writer.Deployment]) -> String {
        let name = "odins-ravne-" + String(run.lowercased().map { c in
            c.isLetter && c.isASCII || c.isNumber && c.isASCII || c == "-" || c == "_" || c == "." ? c : "-"
        })
        let located = deployments.compactMap(\.site)
        var spatial = "{\"type\":\"MultiPoint\",\"coordinates\":[]}"
        if !located.isEmpty {
            let lats = located.map(\.latitude), lons = located.map(\.longitude)
            let (s, n, w, e) = (lats.min()!, lats.max()!, lons.min()!, lons.max()!)
            spatial = "{\"type\":\"Polygon\",\"coordinates\":[[" + [(w, s), (e, s), (e, n), (w, n), (w, s)].map {
                "[" + Fixed.trimmed($0.0, 7) + "," + Fixed.trimmed($0.1, 7) + "]"
            }.joined(separator: ",") + "]]}"
        }
        let start = deployments.map(\.start).min().map { String(Timestamp.format($0).prefix(10)) }
            ?? String(created.prefix(10))
        let end = deployments.map(\.end).max().map { String(Timestamp.format($0).prefix(10)) }
            ?? String(created.prefix(10))
        let taxa = Set(report.speciesSummary.keys.compactMap { scientificNames[$0.lowercased()] }).sorted()
        func resource(_ table: String) -> String {
            "{\"name\":\"\(table)\",\"path\":\"\(table).csv\",\"profile\":\"tabular-data-resource\","
                + "\"format\":\"csv\",\"mediatype\":\"text/csv\",\"encoding\":\"utf-8\",\"schema\":"
                + JSONString.quoted(schema(table)) + "}"
        }
        return """
        {
          "name": \(JSONString.quoted(name)),
          "id": \(JSONString.quoted(run)),
          "profile": \(JSONString.quoted(profile)),
          "created": \(JSONString.quoted(created)),
          "title": \(JSONString.quoted("Odins Ravne run \(run): visits condensed by Hugin")),
          "description": \(JSONString.quoted("Machine-classified camera-trap visits. One event-level observation per visit (consecutive detections of one species by one camera at one site at most \(Fixed.trimmed(report.compressionStats.compressionWindowMinutes, 3)) minutes apart); detections below confidence \(Fixed.trimmed(report.compressionStats.minConfidence, 3)) excluded.")),
          "contributors": [{"title": "Odins Ravne pipeline (Hugin)", "role": "contributor"}],
          "project": {"title": \(JSONString.quoted("Odins Ravne run \(run)")), "samplingDesign": "opportunistic", "captureMethod": ["activityDetection"], "individualAnimals": false, "observationLevel": ["event"]},
          "spatial": \(spatial),
          "temporal": {"start": \(JSONString.quoted(start)), "end": \(JSONString.quoted(end))},
          "taxonomic": [\(taxa.map { "{\"scientificName\":" + JSONString.quoted($0) + "}" }.joined(separator: ","))],
          "resources": [\(resource("deployments")), \(resource("media")), \(resource("observations"))]
        }

        """
    }
}

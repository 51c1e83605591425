import FoundationEssentials
import JSONEscaping
import OdinKit
import OdinBasics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the Stage 3 files into a local folder: per-visit outputs are streamed as visits close, whole-run documents
/// are written by `finish`. Aggregates kept here are per species, camera and site, never per detection.
final class Stage3Writer {
    struct Deployment {
        var id: String
        var site: RegisteredSite?
        var camera: String
        var start: Double
        var end: Double
        /// Some media's zone is unknown: their local times are written as if UTC.
        var timestampIssues = false
        /// UTC offsets (minutes) of the camera's local time at the first and last media (`LocalTime` markers).
        var startOffset = LocalTime.unknown
        var endOffset = LocalTime.unknown
    }

    struct SpeciesTotals {
        var visits = 0
        var duration = 0.0
        var maxConfidence = 0.0
        var sumConfidence = 0.0
        var frames = 0
        var boxes = 0
    }

    let work: String
    let options: CondensationOptions
    let run: String
    let now: String
    let sites: [RegisteredSite]
    let cameras: [String]
    let species: [String]
    let detectors: [String]
    /// Which deployment each capture belongs to (settled before the first visit is written).
    let plan: DeploymentPlan
    /// The runs of a season (empty for one run): named in datapackage.json's title.
    let seasonRuns: [String]

    private let observationsJSON: FileSink
    private let visitsCSV: FileSink
    private let observationsCSV: FileSink
    private let encoder = JSONEncoder()
    private var firstObservation = true

    private(set) var visitCount = 0
    private(set) var needsReviewCount = 0
    private(set) var detectionsUsed = 0
    private(set) var visitsWithoutPosition = 0
    private(set) var mediaObservationCount = 0
    /// What `finish` wrote (`Stage3Files.expected`).
    private(set) var writtenFiles: [String] = []
    /// Camtrap DP event-level observations (one CSV row per visit with a site), appended to observations.csv by
    /// `finish` after the media-level rows (streamed straight into it: the larger part is never copied).
    private let eventObservations: FileSink
    /// Per species: Camtrap DP observationType and scientificName.
    private let speciesTypes: [String]
    private let scientificNames: [String]
    private var speciesTotals: [String: SpeciesTotals] = [:]
    private var cameraVisits: [String: (Int, Set<String>)] = [:]
    private var siteVisits: [String: (Int, Set<String>, Set<String>)] = [:]
    private var unlocated = 0
    private var videoVisits = 0
    private var imageVisits = 0
    private var earliest = Double.infinity
    private var latest = -Double.infinity
    private(set) var firstVisits: [Visit] = []
    /// Stage 1 folders (`DetectionEntry.thumbnailFolder` indexes them), for the visits' thumbnail keys.
    var stage1Folders: [String] = []
    /// Visits per species per site id ("" for visits without a site).
    private var speciesBySite: [String: [String: Int]] = [:]
    private var deploymentVisits: [String: Int] = [:]
    /// Visits per species by the local hour of their start; visits whose local time is unknown are counted apart.
    private var activity: [String: [Int]] = [:]
    private var activityUnknown = 0
    private var boxesUsed = 0

    var speciesSeen: Int { speciesTotals.count }
    var camerasSeen: Int { cameraVisits.count }

    init(work: String, options: CondensationOptions, run: String, now: String, sites: [RegisteredSite],
         cameras: [String], species: [String], detectors: [String], plan: DeploymentPlan,
         seasonRuns: [String] = []) throws {
        self.work = work
        self.plan = plan
        self.seasonRuns = seasonRuns
        self.options = options
        self.run = run
        self.now = now
        self.sites = sites
        self.cameras = cameras
        self.species = species
        self.detectors = detectors
        speciesTypes = species.map(CamtrapDP.observationType)
        scientificNames = species.map { CamtrapDP.scientificNames[$0.lowercased()] ?? "" }
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        observationsJSON = try FileSink(path: work + "/out/" + Stage3Files.compressedObservations)
        visitsCSV = try FileSink(path: work + "/out/" + Stage3Files.visitsCSV)
        observationsCSV = try FileSink(path: work + "/out/" + Stage3Files.observations)
        eventObservations = try FileSink(path: work + "/event-observations.csv")
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try observationsJSON.write("[")
        try visitsCSV.write(CSV.row(Self.visitsColumns))
        try observationsCSV.write(CSV.row(CamtrapDP.observationsColumns))
    }

    func outputPath(_ name: String) -> String { work + "/out/" + name }

    static let visitsColumns = [
        "visit_id", "site_id", "site_name", "camera_id", "species", "start_time", "end_time", "duration_seconds",
        "frame_count", "max_confidence", "avg_confidence", "max_count", "needs_review", "media_count", "first_media",
        "source_video", "deployment_id", "detector",
    ]

    static func deploymentID(site: String?, camera: String) -> String { camera + "@" + (site ?? "unlocated") }

    static func mediaID(_ path: String) -> String { "m-" + FNV1a.hex(path, digits: 16) }

    static func mediaType(fileName: String, isVideo: Bool) -> String {
        // The common spellings, matched on the last bytes (one call per media file).
        var name = fileName
        if let common = name.withUTF8(commonMediaType) { return common.description }
        guard let dot = fileName.utf8.lastIndex(of: 0x2E) else { return isVideo ? "video/unknown" : "image/unknown" }
        let ext = String(fileName[fileName.index(after: dot)...]).lowercased()
        switch ext {
        case "jpg", "jpeg": return "image/jpeg"
        case "png": return "image/png"
        case "tif", "tiff": return "image/tiff"
        case "mp4", "m4v": return "video/mp4"
        case "mov": return "video/quicktime"
        case "avi": return "video/x-msvideo"
        default: return (isVideo ? "video/" : "image/") + (ext.isEmpty ? "unknown" : ext)
        }
    }

    /// The media type of the two common spellings (`.jpg`, `.mp4`, any case), matched on a file name's last bytes.
    static func commonMediaType(_ b: UnsafeBufferPointer<UInt8>) -> StaticString? {
        guard b.count >= 4, b[b.count - 4] == 0x2E else { return nil }
        let ext = (b[b.count - 3] | 0x20, b[b.count - 2] | 0x20, b[b.count - 1])
        if ext.0 == 0x6A && ext.1 == 0x70 && ext.2 | 0x20 == 0x67 { return "image/jpeg" }  // jpg, JPG
        if ext.0 == 0x6D && ext.1 == 0x70 && ext.2 == 0x34 { return "video/mp4" }  // mp4, MP4
        return nil
    }

    /// Keeps one media file's row for media.csv in the temporary `sink` (deploymentID is only known once sites and
    /// deployments are settled; `appendRows` writes the row then). The temporary record is binary and small:
    /// location, camera, capture time, video flag, path and comment (`MediaRowRecord`). Files without a location
    /// are not kept (Camtrap DP deployments need a position). `comment` goes to `mediaComments` (e.g. how the time
    /// zone was inferred).
    static func writeMediaRow(location: Int32, camera: Int32, path: String, timestamp: Double, isVideo: Bool,
                              comment: String? = nil, to sink: FileSink) throws {
        guard location >= 0 else { return }
        sink.append(bitsOf: location)
        sink.append(bitsOf: camera)
        sink.append(bitsOf: timestamp.bitPattern)
        sink.append(byte: isVideo ? 1 : 0)
        sink.append(bitsOf: UInt32(path.utf8.count))
        sink.append(raw: path)
        sink.append(bitsOf: comment.map { UInt32($0.utf8.count) } ?? UInt32.max)
        if let comment { sink.append(raw: comment) }
        try sink.flushIfNeeded()
    }

    /// Writes one media.csv row: mediaID, deploymentID, captureMethod, timestamp, filePath, filePublic, fileName,
    /// fileMediatype, exifData, favorite, mediaComments. `mediaRoot` is the URI of the store that holds `raw/`.
    static func appendMediaRow(path: String, deployment: String, mediaRoot: String, timestamp: Double,
                               isVideo: Bool, comment: String?, to sink: FileSink) {
        let fileName = path.utf8.lastIndex(of: 0x2F).map { String(path[path.index(after: $0)...]) } ?? path
        sink.append("m-")
        sink.append(hex: FNV1a.hash(path))
        sink.append(byte: 0x2C)
        sink.append(csvField: deployment)
        sink.append(",activityDetection,")
        sink.append(timestamp: timestamp.rounded(.down))
        sink.append(byte: 0x2C)
        if CSV.needsQuotes(mediaRoot) || CSV.needsQuotes(path) {
            sink.append(csvField: mediaRoot + "/" + path)
        } else {
            sink.append(raw: mediaRoot)
            sink.append(byte: 0x2F)
            sink.append(raw: path)
        }
        sink.append(",false,")
        sink.append(csvField: fileName)
        sink.append(byte: 0x2C)
        sink.append(raw: mediaType(fileName: fileName, isVideo: isVideo))
        sink.append(",,,")
        if let comment { sink.append(csvField: comment) }
        sink.append("\r\n")
    }

    // MARK: - Per visit

    func deploymentID(site: Int32, camera: Int32, time: Double) -> String {
        plan.deploymentID(site: site, camera: camera, time: time, cameras: cameras, sites: sites)
    }

    func add(_ open: VisitBuilder.Open) throws {
        let site = open.key.site >= 0 ? sites[Int(open.key.site)] : nil
        let camera = cameras[Int(open.key.camera)]
        let speciesName = species[Int(open.key.species)]
        let count = open.timeline.count
        let visit = Visit(
            id: open.id ?? Self.visitID(site: site?.id, camera: camera, species: speciesName, start: open.start),
            siteID: site?.id, cameraID: camera, species: speciesName, detector: detectors[Int(open.detector)],
            start: open.start, end: open.end, frameCount: count, maxConfidence: open.maxConfidence,
            meanConfidence: open.sum / Double(count), maxBoxes: Int(open.maxBoxes), timeline: open.timeline,
            media: open.media, needsReview: open.maxConfidence < options.reviewThreshold, hasVideo: open.hasVideo,
            thumbnail: open.thumbnailFolder >= 0 && Int(open.thumbnailFolder) < stage1Folders.count
                ? StoreLayout.thumbnailKey(stage1Prefix: stage1Folders[Int(open.thumbnailFolder)],
                                           media: open.thumbnailPath,
                                           frame: open.thumbnailFrame >= 0 ? Int(open.thumbnailFrame) : nil,
                                           species: speciesName) : nil,
            thumbnailInput: Int(open.thumbnailFolder), startOffset: open.startOffset, endOffset: open.endOffset,
            boxes: open.boxes)
        try write(visit, site: site,
                  deployment: deploymentID(site: open.key.site, camera: open.key.camera, time: open.start),
                  speciesIndex: Int(open.key.species))
    }

    static func visitID(site: String?, camera: String, species: String, start: Double) -> String {
        "v-" + FNV1a.hex((site ?? "-") + "|" + camera + "|" + species + "|" + Timestamp.format(start), digits: 16)
    }

    /// A Camtrap DP media-level observation: one species in one frame (`e`), part of `visit` at site `siteIndex`.
    func addMediaObservation(_ e: DetectionEntry, siteIndex: Int32, visit: VisitBuilder.Open) throws {
        let site = sites[Int(siteIndex)]
        let camera = cameras[Int(e.camera)], s = Int(e.species)
        if visit.id == nil {
            visit.id = Self.visitID(site: site.id, camera: camera, species: species[s], start: visit.start)
        }
        // o-FNV(path#frame#species), m-FNV(path), hashed without building the texts.
        var mediaHash = FNV1a.start
        FNV1a.add(e.path, to: &mediaHash)
        var idHash = mediaHash
        FNV1a.add(byte: 0x23, to: &idHash)
        if e.frameNumber >= 0 { FNV1a.add(String(e.frameNumber), to: &idHash) }
        FNV1a.add(byte: 0x23, to: &idHash)
        FNV1a.add(species[s], to: &idHash)
        CamtrapDP.appendMediaObservation(
            to: observationsCSV, idHash: idHash,
            deploymentID: deploymentID(site: siteIndex, camera: e.camera, time: e.time), mediaHash: mediaHash,
            eventID: visit.id!, time: e.time, type: speciesTypes[s], scientificName: scientificNames[s],
            label: species[s], detector: detectors[Int(e.detector)], confidence: e.confidence, count: Int(e.boxes),
            bbox: e.bbox, frameTime: e.frameTime.isNaN ? nil : e.frameTime)
        try observationsCSV.flushIfNeeded()
        mediaObservationCount += 1
    }

    /// `speciesIndex`: the visit's species in `species`, when the caller knows it.
    func write(_ visit: Visit, site: RegisteredSite?, deployment: String, speciesIndex: Int? = nil) throws {
        visitCount += 1
        detectionsUsed += visit.frameCount
        if visit.needsReview { needsReviewCount += 1 }
        if visit.hasVideo { videoVisits += 1 } else { imageVisits += 1 }
        earliest = min(earliest, visit.start)
        latest = max(latest, visit.end)
        do {
            // Updated in place (a copy out and back would copy the sets below at every visit).
            let t = visit
            func update(_ totals: inout SpeciesTotals) {
                totals.visits += 1
                totals.duration += t.durationSeconds
                totals.maxConfidence = max(totals.maxConfidence, t.maxConfidence)
                totals.sumConfidence += t.meanConfidence * Double(t.frameCount)
                totals.frames += t.frameCount
                totals.boxes += t.boxes
            }
            update(&speciesTotals[visit.species, default: SpeciesTotals()])
        }
        boxesUsed += visit.boxes
        speciesBySite[visit.species, default: [:]][visit.siteID ?? "", default: 0] += 1
        deploymentVisits[deployment, default: 0] += 1
        if let hour = LocalTime.hour(visit.start, offset: visit.startOffset) {
            activity[visit.species, default: Array(repeating: 0, count: 24)][hour] += 1
        } else {
            activityUnknown += 1
        }
        cameraVisits[visit.cameraID, default: (0, [])].0 += 1
        cameraVisits[visit.cameraID, default: (0, [])].1.insert(visit.species)
        if let id = visit.siteID {
            siteVisits[id, default: (0, [], [])].0 += 1
            siteVisits[id, default: (0, [], [])].1.insert(visit.species)
            siteVisits[id, default: (0, [], [])].2.insert(visit.cameraID)
        } else {
            unlocated += 1
        }
        if firstVisits.count < options.htmlVisitLimit { firstVisits.append(visit) }

        try observationsJSON.write(firstObservation ? "\n" : ",\n")
        firstObservation = false
        Self.writeObservationJSON(visit, siteName: site?.name, to: observationsJSON)

        Self.appendVisitRow(visit, siteName: site?.name, deployment: deployment, to: visitsCSV)
        try visitsCSV.flushIfNeeded()
        // Camtrap DP deployments need a position: visits without one are counted, not written.
        if visit.siteID == nil {
            visitsWithoutPosition += 1
        } else {
            CamtrapDP.appendEventObservation(visit, deploymentID: deployment,
                                             type: speciesIndex.map { speciesTypes[$0] }
                                                 ?? CamtrapDP.observationType(visit.species),
                                             scientificName: speciesIndex.map { scientificNames[$0] }
                                                 ?? CamtrapDP.scientificNames[visit.species.lowercased()] ?? "",
                                             to: eventObservations)
            try eventObservations.flushIfNeeded()
        }
    }

    /// One visits.csv row (`visitsColumns`), field by field: `CSV.row` of the fields' texts.
    static func appendVisitRow(_ visit: Visit, siteName: String?, deployment: String, to sink: FileSink) {
        sink.append(csvField: visit.id)
        sink.append(byte: 0x2C)
        if let id = visit.siteID { sink.append(csvField: id) }
        sink.append(byte: 0x2C)
        if let siteName { sink.append(csvField: siteName) }
        sink.append(byte: 0x2C)
        sink.append(csvField: visit.cameraID)
        sink.append(byte: 0x2C)
        sink.append(csvField: visit.species)
        sink.append(byte: 0x2C)
        sink.append(timestamp: visit.start)
        sink.append(byte: 0x2C)
        sink.append(timestamp: visit.end)
        sink.append(byte: 0x2C)
        sink.append(fixed: visit.durationSeconds, digits: 3)
        sink.append(byte: 0x2C)
        sink.append(int: visit.frameCount)
        sink.append(byte: 0x2C)
        sink.append(fixed: visit.maxConfidence, digits: 4)
        sink.append(byte: 0x2C)
        sink.append(fixed: visit.meanConfidence, digits: 4)
        sink.append(byte: 0x2C)
        sink.append(int: visit.maxBoxes)
        sink.append(visit.needsReview ? ",true," : ",false,")
        sink.append(int: visit.media.count)
        sink.append(byte: 0x2C)
        if let first = visit.media.first { sink.append(csvField: first) }
        sink.append(byte: 0x2C)
        if let video = visit.sourceVideo { sink.append(csvField: video) }
        sink.append(byte: 0x2C)
        sink.append(csvField: deployment)
        sink.append(byte: 0x2C)
        sink.append(csvField: visit.detector)
        sink.append("\r\n")
    }

    /// `compressed_observations.json` element for a visit: the bytes `CompressedObservation.init(visit:siteName:)`
    /// then `write(to:)` produce, without building the intermediate strings (one timeline entry per detection).
    static func writeObservationJSON(_ v: Visit, siteName: String?, to sink: FileSink) {
        func optional(_ s: String?) {
            if let s { sink.append(jsonString: s) } else { sink.append("null") }
        }
        sink.append("{\"visit_id\":")
        sink.append(jsonString: v.id)
        sink.append(",\"site_id\":")
        optional(v.siteID)
        sink.append(",\"site_name\":")
        optional(siteName)
        sink.append(",\"camera_id\":")
        sink.append(jsonString: v.cameraID)
        sink.append(",\"species\":")
        sink.append(jsonString: v.species)
        sink.append(",\"start_time\":\"")
        sink.append(timestamp: v.start)
        sink.append("\",\"end_time\":\"")
        sink.append(timestamp: v.end)
        sink.append("\",\"duration_seconds\":")
        sink.append(shortest: v.durationSeconds)
        sink.append(",\"max_confidence\":")
        sink.append(shortest: v.maxConfidence)
        sink.append(",\"avg_confidence\":")
        sink.append(shortest: v.meanConfidence)
        sink.append(",\"frame_count\":")
        sink.append(int: v.frameCount)
        sink.append(",\"detection_timeline\":[")
        for (k, item) in v.timeline.enumerated() {
            sink.append(k == 0 ? "{\"timestamp\":\"" : ",{\"timestamp\":\"")
            sink.append(timestamp: item.time)
            sink.append("\",\"confidence\":")
            sink.append(shortest: item.confidence)
            sink.append(",\"frame_number\":")
            if let n = item.frameNumber { sink.append(int: n) } else { sink.append("null") }
            sink.append(",\"crop_path\":")
            sink.append(jsonString: item.path)
            if let t = item.frameTime {
                sink.append(",\"frame_time\":")
                sink.append(shortest: t)
            }
            sink.append(byte: 0x7D)
        }
        sink.append("],\"source_video\":")
        optional(v.sourceVideo)
        sink.append(",\"source_media\":[")
        for (k, m) in v.media.enumerated() {
            if k > 0 { sink.append(byte: 0x2C) }
            sink.append(jsonString: m)
        }
        sink.append(v.needsReview ? "],\"needs_review\":true,\"detector\":" : "],\"needs_review\":false,\"detector\":")
        sink.append(jsonString: v.detector)
        sink.append(byte: 0x7D)
    }

    // MARK: - Whole run

    func makeReport(chunksRead: [Int], problems: [Stage3Report.ChunkProblem], recordsRead: Int, mediaFiles: Int,
                    filesWithErrors: Int, errorSamples: [String], excluded: Stage3Report.Excluded,
                    newSites: Set<String>, mergeCandidates: [[String]],
                    camtrapDP: Stage3Report.CamtrapDPCounts, timeZones: [TimeZoneUse] = []) -> Stage3Report {
        var speciesSummary: [String: Stage3Report.SpeciesSummary] = [:]
        for (name, t) in speciesTotals {
            speciesSummary[name] = .init(count: t.visits, totalDuration: t.duration, maxConfidence: t.maxConfidence,
                                         avgConfidence: t.frames > 0 ? t.sumConfidence / Double(t.frames) : 0,
                                         frameCount: t.frames, boxes: t.boxes)
        }
        var cameraSummary: [String: Stage3Report.CameraSummary] = [:]
        for (name, c) in cameraVisits { cameraSummary[name] = .init(count: c.0, species: c.1.sorted()) }
        let siteEntries = sites.map { site -> Stage3Report.SiteEntry in
            let v = siteVisits[site.id] ?? (0, [], [])
            return .init(siteID: site.id, name: site.name, displayName: site.displayName, latitude: site.latitude,
                         longitude: site.longitude, visits: v.0, species: v.1.sorted(), cameras: v.2.sorted(),
                         isNew: newSites.contains(site.id))
        }
        let range: Stage3Report.TimeRange? = visitCount == 0 ? nil : .init(
            start: Timestamp.format(earliest), end: Timestamp.format(latest),
            durationHours: (latest - earliest) / 3600)
        var report = Stage3Report(
            totalObservations: visitCount, speciesSummary: speciesSummary, cameraSummary: cameraSummary,
            timeRange: range, videoObservations: videoVisits, imageObservations: imageVisits,
            compressionStats: .init(compressionWindowMinutes: options.visitGapMinutes,
                                    minConfidence: options.minConfidence, minDurationSeconds: 0,
                                    visitSemantics: "gap-based: consecutive detections of one (site, camera, species) "
                                        + "at most compression_window_minutes apart form one visit; a single "
                                        + "detection is a visit of duration 0",
                                    reviewThreshold: options.reviewThreshold, radiusMeters: options.radiusMeters),
            runID: run, generatedAt: now, needsReviewCount: needsReviewCount, sites: siteEntries,
            unlocatedObservations: unlocated, mergeCandidates: mergeCandidates, failedChunks: problems,
            chunksRead: chunksRead, recordsRead: recordsRead, mediaFiles: mediaFiles, filesWithErrors: filesWithErrors,
            errorSamples: errorSamples, detectionsUsed: detectionsUsed, excluded: excluded, timeZones: timeZones)
        report.camtrapDP = camtrapDP
        report.boxesUsed = boxesUsed
        report.speciesBySite = speciesBySite
        report.effort = plan.deployments.map { d in
            Stage3Report.Effort(deployment: d, visits: deploymentVisits[d.id] ?? 0)
        }
        var total = Array(repeating: 0, count: 24)
        for hours in activity.values { for h in 0..<24 { total[h] += hours[h] } }
        report.activityByLocalHour = .init(visits: total, bySpecies: activity, unknownLocalTime: activityUnknown)
        return report
    }

    /// `mediaRows` is the file `writeMediaRow` wrote; `siteOfLocation` the site index of each location in it;
    /// `mediaRoot` the URI of the store that holds `raw/` (media.csv's filePath).
    /// `thumbnail` reads a thumbnail's bytes: (input index, object key); those of the listed visits are embedded.
    func finish(report: Stage3Report, mediaRows: String, mediaRoot: String, siteOfLocation: [Int32],
                megadetector: MegadetectorBatch, detectors: [String],
                thumbnail: ((Int, String) throws -> [UInt8])? = nil) throws {
        try observationsJSON.write(firstObservation ? "]\n" : "\n]\n")
        try observationsJSON.close()
        try visitsCSV.close()
        try eventObservations.close()
        try observationsCSV.append(fileAt: work + "/event-observations.csv")
        try observationsCSV.close()
        writtenFiles = Stage3Files.expected(report)

        // Thumbnails of the listed visits: a missing or unreadable one is counted, never fatal.
        var report = report
        var thumbnails: [String: [UInt8]] = [:]
        var thumbnailCounts = Stage3Report.ThumbnailCounts(listedVisits: firstVisits.count, embedded: 0, notWritten: 0,
                                                  unreadable: 0, bytes: 0)
        for visit in firstVisits {
            guard let key = visit.thumbnail, let thumbnail else {
                thumbnailCounts.notWritten += 1
                continue
            }
            if let bytes = try? thumbnail(visit.thumbnailInput, key), bytes.starts(with: [0xFF, 0xD8]) {
                thumbnails[visit.id] = bytes
                thumbnailCounts.embedded += 1
                thumbnailCounts.bytes += bytes.count
            } else {
                thumbnailCounts.unreadable += 1
            }
        }
        report.thumbnails = thumbnailCounts
        // Compact (a whole-run document read by programs and report.html's generator, not by people).
        let compact = JSONEncoder()
        compact.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try write(Stage3Files.report, Array(try compact.encode(report)) + [0x0A])
        try write(Stage3Files.sitesGeoJSON, Array(GeoJSON.sites(report.sites).utf8))
        try write(Stage3Files.reportHTML, Array(ReportHTML.render(report, visits: firstVisits,
                                                                  thumbnails: thumbnails).utf8))

        // Camtrap DP, unless it would have no deployment (see Stage3Files.camtrapDP).
        guard writtenFiles.contains(Stage3Files.datapackage) else {
            unlink(outputPath(Stage3Files.observations))
            return try megadetector.finish(detectors: detectors, completionTime: now)
        }
        let deploymentsSink = try FileSink(path: outputPath(Stage3Files.deployments))
        try deploymentsSink.write(CSV.row(CamtrapDP.deploymentsColumns))
        for d in plan.deployments {
            guard let site = d.site else { continue }  // Camtrap DP needs a position (see CamtrapDP)
            try deploymentsSink.write(CSV.row(CamtrapDP.deploymentRow(d, site: site)))
        }
        try deploymentsSink.close()
        let mediaSink = try FileSink(path: outputPath(Stage3Files.media))
        try mediaSink.write(CSV.row(CamtrapDP.mediaColumns))
        try appendRows(from: mediaRows, to: mediaSink, siteOfLocation: siteOfLocation, mediaRoot: mediaRoot)
        try mediaSink.close()
        let counts = report.camtrapDP ?? .init(deployments: 0, media: 0, eventObservations: 0, mediaObservations: 0,
                                               mediaWithoutPosition: 0, visitsWithoutPosition: 0)
        try write(Stage3Files.datapackage, Array(CamtrapDP.datapackage(
            run: run, created: now, report: report, deployments: plan.deployments, counts: counts,
            seasonRuns: seasonRuns).utf8))

        try megadetector.finish(detectors: detectors, completionTime: now)
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws {
        let sink = try FileSink(path: outputPath(name))
        try sink.write(bytes: bytes)
        try sink.close()
    }

    /// Writes the media rows `writeMediaRow` kept in `path` to `sink` as media.csv rows, in the same order.
    private func appendRows(from path: String, to sink: FileSink, siteOfLocation: [Int32],
                            mediaRoot: String) throws {
        let source = try FileSource(path: path)
        let rootNeedsQuotes = CSV.needsQuotes(mediaRoot)
        while let head = try source.read(17, { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: Int32.self), raw.loadUnaligned(fromByteOffset: 4, as: Int32.self),
             raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self), raw[16] != 0)
        }) {
            let (location, camera, bits, isVideo) = head
            let time = Double(bitPattern: bits)
            let deployment = deploymentID(site: siteOfLocation[Int(location)], camera: camera, time: time)
            guard let length = try source.read(4, { $0.loadUnaligned(as: UInt32.self) }), length != UInt32.max else {
                throw HuginError.io("\(path): a text field is missing (temporary file damaged)")
            }
            // The common row (no field to quote) is written from the path's bytes in the read buffer; the others
            // through `appendMediaRow`.
            guard let media = try source.read(Int(length), { raw -> String? in
                let bytes = raw.bindMemory(to: UInt8.self)
                if rootNeedsQuotes || bytes.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                    return String(decoding: bytes, as: UTF8.self)
                }
                var hash = FNV1a.start
                for byte in bytes { FNV1a.add(byte: byte, to: &hash) }
                sink.append("m-")
                sink.append(hex: hash)
                sink.append(byte: 0x2C)
                sink.append(csvField: deployment)
                sink.append(",activityDetection,")
                sink.append(timestamp: time.rounded(.down))
                sink.append(byte: 0x2C)
                sink.append(raw: mediaRoot)
                sink.append(byte: 0x2F)
                sink.append(bytes: bytes)
                sink.append(",false,")
                let name = bytes.lastIndex(of: 0x2F).map { UnsafeBufferPointer(rebasing: bytes[($0 + 1)...]) } ?? bytes
                sink.append(bytes: name)
                sink.append(byte: 0x2C)
                if let common = Self.commonMediaType(name) {
                    sink.append(common)
                } else {
                    sink.append(raw: Self.mediaType(fileName: String(decoding: name, as: UTF8.self), isVideo: isVideo))
                }
                sink.append(",,,")
                return nil
            }) else { throw HuginError.io("\(path) ends inside a record (temporary file damaged)") }
            let comment = try source.optionalString()
            if let media {
                Self.appendMediaRow(path: media, deployment: deployment, mediaRoot: mediaRoot, timestamp: time,
                                    isVideo: isVideo, comment: comment, to: sink)
            } else {
                if let comment { sink.append(csvField: comment) }
                sink.append("\r\n")
            }
            try sink.flushIfNeeded()
        }
    }
}

/// `sites.geojson`: an RFC 7946 FeatureCollection of points, coordinates `[longitude, latitude]`.
enum GeoJSON {
    static func sites(_ sites: [Stage3Report.SiteEntry]) -> String {
        let features = sites.map { s in
            "{\"type\":\"Feature\",\"id\":" + JSONString.quoted(s.siteID)
                + ",\"geometry\":{\"type\":\"Point\",\"coordinates\":[" + Fixed.trimmed(s.longitude, 7) + ","
                + Fixed.trimmed(s.latitude, 7) + "]},\"properties\":{\"site_id\":" + JSONString.quoted(s.siteID)
                + ",\"name\":" + (s.name.map(JSONString.quoted) ?? "null")
                + ",\"display_name\":" + JSONString.quoted(s.displayName)
                + ",\"visits\":\(s.visits),\"species\":[" + s.species.map(JSONString.quoted).joined(separator: ",")
                + "],\"cameras\":[" + s.cameras.map(JSONString.quoted).joined(separator: ",") + "],\"new\":"
                + (s.isNew ? "true" : "false") + "}}"
        }
        return "{\"type\":\"FeatureCollection\",\"features\":[\n" + features.joined(separator: ",\n") + "\n]}\n"
    }
}

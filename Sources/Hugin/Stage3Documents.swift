import OdinBasics

/// The files Hugin writes under `runs/<run>/stage3/`.
public enum Stage3Files {
    public static let compressedObservations = "compressed_observations.json"
    public static let report = "report.json"
    public static let reportHTML = "report.html"
    public static let megadetector = "megadetector.json"
    public static let sitesGeoJSON = "sites.geojson"
    public static let visitsCSV = "visits.csv"
    public static let datapackage = "datapackage.json"
    public static let deployments = "deployments.csv"
    public static let media = "media.csv"
    public static let observations = "observations.csv"
    public static let all = [compressedObservations, report, reportHTML, megadetector, sitesGeoJSON, visitsCSV,
                             datapackage, deployments, media, observations]
    /// The Camtrap DP package: not written when it would have no deployment (no media file had both a GPS position
    /// and a capture time), since Camtrap DP requires a position per deployment and a spatial and temporal coverage.
    public static let camtrapDP = [datapackage, deployments, media, observations]

    /// The files a run's Stage 3 holds, given its report.
    public static func expected(_ report: Stage3Report) -> [String] {
        report.camtrapDP?.deployments == 0 ? all.filter { !camtrapDP.contains($0) } : all
    }
}

/// One element of `compressed_observations.json`. The original field names (domain-origin.md §1.3) are kept so
/// existing scripts work; the timeline is `detection_timeline` (the name the original writer used; its README's
/// `timeline` was never written). New fields are added, none renamed.
public struct CompressedObservation: Codable, Sendable, Equatable {
    public struct TimelineItem: Codable, Sendable, Equatable {
        public var timestamp: String
        public var confidence: Double
        public var frameNumber: Int?
        /// The source media key (Hugin produces no crops; the original field name is kept).
        public var cropPath: String
        public var frameTime: Double?

        enum CodingKeys: String, CodingKey {
            case timestamp, confidence
            case frameNumber = "frame_number"
            case cropPath = "crop_path"
            case frameTime = "frame_time"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(timestamp, forKey: .timestamp)
            try c.encode(confidence, forKey: .confidence)
            try c.encode(frameNumber, forKey: .frameNumber)  // explicit null for stills, as the original
            try c.encode(cropPath, forKey: .cropPath)
            try c.encodeIfPresent(frameTime, forKey: .frameTime)
        }
    }

    public var visitID: String
    public var siteID: String?
    public var siteName: String?
    public var cameraID: String
    public var species: String
    public var startTime: String
    public var endTime: String
    public var durationSeconds: Double
    public var maxConfidence: Double
    public var avgConfidence: Double
    public var frameCount: Int
    public var detectionTimeline: [TimelineItem]
    public var sourceVideo: String?
    public var sourceMedia: [String]
    public var needsReview: Bool
    public var detector: String

    /// The element for `visit` at a site named `siteName`.
    public init(visit v: Visit, siteName: String?) {
        self.init(
            visitID: v.id, siteID: v.siteID, siteName: siteName, cameraID: v.cameraID, species: v.species,
            startTime: Timestamp.format(v.start), endTime: Timestamp.format(v.end), durationSeconds: v.durationSeconds,
            maxConfidence: v.maxConfidence, avgConfidence: v.meanConfidence, frameCount: v.frameCount,
            detectionTimeline: v.timeline.map {
                .init(timestamp: Timestamp.format($0.time), confidence: $0.confidence, frameNumber: $0.frameNumber,
                      cropPath: $0.path, frameTime: $0.frameTime)
            },
            sourceVideo: v.sourceVideo, sourceMedia: v.media, needsReview: v.needsReview, detector: v.detector)
    }

    public init(visitID: String, siteID: String?, siteName: String?, cameraID: String, species: String,
                startTime: String, endTime: String, durationSeconds: Double, maxConfidence: Double,
                avgConfidence: Double, frameCount: Int, detectionTimeline: [TimelineItem], sourceVideo: String?,
                sourceMedia: [String], needsReview: Bool, detector: String) {
        self.visitID = visitID
        self.siteID = siteID
        self.siteName = siteName
        self.cameraID = cameraID
        self.species = species
        self.startTime = startTime
        self.endTime = endTime
        self.durationSeconds = durationSeconds
        self.maxConfidence = maxConfidence
        self.avgConfidence = avgConfidence
        self.frameCount = frameCount
        self.detectionTimeline = detectionTimeline
        self.sourceVideo = sourceVideo
        self.sourceMedia = sourceMedia
        self.needsReview = needsReview
        self.detector = detector
    }

    enum CodingKeys: String, CodingKey {
        case visitID = "visit_id"
        case siteID = "site_id"
        case siteName = "site_name"
        case cameraID = "camera_id"
        case species
        case startTime = "start_time"
        case endTime = "end_time"
        case durationSeconds = "duration_seconds"
        case maxConfidence = "max_confidence"
        case avgConfidence = "avg_confidence"
        case frameCount = "frame_count"
        case detectionTimeline = "detection_timeline"
        case sourceVideo = "source_video"
        case sourceMedia = "source_media"
        case needsReview = "needs_review"
        case detector
    }

    /// The same JSON `encode(to:)` produces, built directly (the per-visit hot path of large runs).
    func jsonText() -> String {
        let sink = FileSink()
        write(to: sink)
        return String(decoding: sink.buffer, as: UTF8.self)
    }

    func write(to sink: FileSink) {
        func optional(_ s: String?) {
            if let s { sink.append(jsonString: s) } else { sink.append("null") }
        }
        sink.append("{\"visit_id\":")
        sink.append(jsonString: visitID)
        sink.append(",\"site_id\":")
        optional(siteID)
        sink.append(",\"site_name\":")
        optional(siteName)
        sink.append(",\"camera_id\":")
        sink.append(jsonString: cameraID)
        sink.append(",\"species\":")
        sink.append(jsonString: species)
        sink.append(",\"start_time\":")
        sink.append(jsonString: startTime)
        sink.append(",\"end_time\":")
        sink.append(jsonString: endTime)
        sink.append(",\"duration_seconds\":")
        sink.append(raw: "\(durationSeconds)")
        sink.append(",\"max_confidence\":")
        sink.append(raw: "\(maxConfidence)")
        sink.append(",\"avg_confidence\":")
        sink.append(raw: "\(avgConfidence)")
        sink.append(",\"frame_count\":")
        sink.append(int: frameCount)
        sink.append(",\"detection_timeline\":[")
        for (k, item) in detectionTimeline.enumerated() {
            sink.append(k == 0 ? "{\"timestamp\":" : ",{\"timestamp\":")
            sink.append(jsonString: item.timestamp)
            sink.append(",\"confidence\":")
            sink.append(raw: "\(item.confidence)")
            sink.append(",\"frame_number\":")
            if let n = item.frameNumber { sink.append(int: n) } else { sink.append("null") }
            sink.append(",\"crop_path\":")
            sink.append(jsonString: item.cropPath)
            if let t = item.frameTime {
                sink.append(",\"frame_time\":")
                sink.append(raw: "\(t)")
            }
            sink.append(byte: 0x7D)
        }
        sink.append("],\"source_video\":")
        optional(sourceVideo)
        sink.append(",\"source_media\":[")
        for (k, m) in sourceMedia.enumerated() {
            if k > 0 { sink.append(byte: 0x2C) }
            sink.append(jsonString: m)
        }
        sink.append(needsReview ? "],\"needs_review\":true,\"detector\":" : "],\"needs_review\":false,\"detector\":")
        sink.append(jsonString: detector)
        sink.append(byte: 0x7D)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(visitID, forKey: .visitID)
        try c.encode(siteID, forKey: .siteID)
        try c.encode(siteName, forKey: .siteName)
        try c.encode(cameraID, forKey: .cameraID)
        try c.encode(species, forKey: .species)
        try c.encode(startTime, forKey: .startTime)
        try c.encode(endTime, forKey: .endTime)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(maxConfidence, forKey: .maxConfidence)
        try c.encode(avgConfidence, forKey: .avgConfidence)
        try c.encode(frameCount, forKey: .frameCount)
        try c.encode(detectionTimeline, forKey: .detectionTimeline)
        try c.encode(sourceVideo, forKey: .sourceVideo)
        try c.encode(sourceMedia, forKey: .sourceMedia)
        try c.encode(needsReview, forKey: .needsReview)
        try c.encode(detector, forKey: .detector)
    }
}

/// `report.json`: the original keys (§1.3) with correct values, plus Hugin's additions. `compression_stats` is always
/// present (the original dropped it for empty reports). `species_summary.*.avg_confidence` is the mean over all the
/// species' detections (the original's running pairwise mean seeded with 0 is not reproduced).
public struct Stage3Report: Codable, Sendable, Equatable {
    public struct SpeciesSummary: Codable, Sendable, Equatable {
        public var count: Int
        public var totalDuration: Double
        public var maxConfidence: Double
        public var avgConfidence: Double
        /// Frames (stills and sampled video frames) with the species, summed over its visits.
        public var frameCount: Int
        /// Bounding boxes of the species at or above min_confidence, summed over its visits (absent in reports
        /// written before it was added).
        public var boxes: Int? = nil
        enum CodingKeys: String, CodingKey {
            case count
            case totalDuration = "total_duration"
            case maxConfidence = "max_confidence"
            case avgConfidence = "avg_confidence"
            case frameCount = "frame_count"
            case boxes
        }
    }

    public struct CameraSummary: Codable, Sendable, Equatable {
        public var count: Int
        public var species: [String]
    }

    public struct TimeRange: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
        public var durationHours: Double
        enum CodingKeys: String, CodingKey {
            case start, end
            case durationHours = "duration_hours"
        }
    }

    public struct CompressionStats: Codable, Sendable, Equatable {
        /// The visit gap (gap-based, not an anchored window); the original key name is kept.
        public var compressionWindowMinutes: Double
        public var minConfidence: Double
        /// Always 0: no visit is dropped for being short (a single still is a visit of duration 0).
        public var minDurationSeconds: Double
        public var visitSemantics: String
        public var reviewThreshold: Double
        public var radiusMeters: Double
        enum CodingKeys: String, CodingKey {
            case compressionWindowMinutes = "compression_window_minutes"
            case minConfidence = "min_confidence"
            case minDurationSeconds = "min_duration_seconds"
            case visitSemantics = "visit_semantics"
            case reviewThreshold = "review_threshold"
            case radiusMeters = "radius_meters"
        }
    }

    public struct SiteEntry: Codable, Sendable, Equatable {
        public var siteID: String
        public var name: String?
        public var displayName: String
        public var latitude: Double
        public var longitude: Double
        public var visits: Int
        public var species: [String]
        public var cameras: [String]
        public var isNew: Bool
        enum CodingKeys: String, CodingKey {
            case siteID = "site_id"
            case name
            case displayName = "display_name"
            case latitude, longitude, visits, species, cameras
            case isNew = "new"
        }
    }

    public struct ChunkProblem: Codable, Sendable, Equatable {
        public var chunk: Int
        public var reason: String
    }

    public struct Excluded: Codable, Sendable, Equatable {
        public var belowMinConfidence: Int
        public var withoutTimestamp: Int
        public var invalidGPSRecords: Int
        public var malformedLines: Int
        public var mediaWithoutTimestamp: Int
        enum CodingKeys: String, CodingKey {
            case belowMinConfidence = "below_min_confidence"
            case withoutTimestamp = "detections_without_timestamp"
            case invalidGPSRecords = "records_with_invalid_gps"
            case malformedLines = "malformed_lines"
            case mediaWithoutTimestamp = "media_without_timestamp"
        }
    }

    public var totalObservations: Int
    public var speciesSummary: [String: SpeciesSummary]
    public var cameraSummary: [String: CameraSummary]
    public var timeRange: TimeRange?
    public var videoObservations: Int
    public var imageObservations: Int
    public var compressionStats: CompressionStats
    // Additions.
    public var runID: String
    public var generatedAt: String
    public var needsReviewCount: Int
    public var sites: [SiteEntry]
    public var unlocatedObservations: Int
    public var mergeCandidates: [[String]]
    public var failedChunks: [ChunkProblem]
    public var chunksRead: [Int]
    public var recordsRead: Int
    public var mediaFiles: Int
    public var filesWithErrors: Int
    public var errorSamples: [String]
    public var detectionsUsed: Int
    public var excluded: Excluded
    /// Rows of the Camtrap DP tables (absent in reports written before it was added).
    public var camtrapDP: CamtrapDPCounts? = nil

    /// What the Camtrap DP package holds, and what it leaves out for lacking a GPS position.
    public struct CamtrapDPCounts: Codable, Sendable, Equatable {
        public var deployments: Int
        public var media: Int
        public var eventObservations: Int
        public var mediaObservations: Int
        public var mediaWithoutPosition: Int
        public var visitsWithoutPosition: Int
        enum CodingKeys: String, CodingKey {
            case deployments, media
            case eventObservations = "event_observations"
            case mediaObservations = "media_observations"
            case mediaWithoutPosition = "media_without_position"
            case visitsWithoutPosition = "visits_without_position"
        }
    }
    /// Per camera: the zone its media times were made with and how it was found (inferred ones say so).
    public var timeZones: [TimeZoneUse] = []
    /// Bounding boxes behind the visits (at or above min_confidence); `detections_used` counts frames per species.
    public var boxesUsed: Int? = nil
    /// Visits per species per site id ("" for visits without a GPS position).
    public var speciesBySite: [String: [String: Int]]? = nil
    /// Sampling effort per deployment (one camera at one site); see `Effort`.
    public var effort: [Effort]? = nil
    /// Visits by the local hour of day of their start.
    public var activityByLocalHour: Activity? = nil
    /// The thumbnails of the visits report.html lists.
    public var thumbnails: ThumbnailCounts? = nil

    /// Effort of one deployment (`DeploymentPlan`: a camera at a site for one time span). Trap-nights = (time of its
    /// last media file − time of its first media file) / 24 h,
    /// over every media file with a capture time, with or without detections (the camera was deployed and working
    /// in between). Rate = visits / trap-nights × 100, given only from one trap-night up (a shorter span, such as
    /// a single video, would give a meaningless rate).
    public struct Effort: Codable, Sendable, Equatable {
        public var deploymentID: String
        public var cameraID: String
        public var siteID: String?
        public var start: String
        public var end: String
        /// UTC offsets of the camera's local time at the start and end (`+02:00`), nil when the zone is unknown.
        public var startUTCOffset: String?
        public var endUTCOffset: String?
        /// True when the zone is unknown and start/end are the camera's local clock written as if UTC.
        public var cameraClockOnly: Bool
        public var trapNights: Double
        public var visits: Int
        public var visitsPer100TrapNights: Double?
        enum CodingKeys: String, CodingKey {
            case deploymentID = "deployment_id"
            case cameraID = "camera_id"
            case siteID = "site_id"
            case start, end
            case startUTCOffset = "start_utc_offset"
            case endUTCOffset = "end_utc_offset"
            case cameraClockOnly = "camera_clock_only"
            case trapNights = "trap_nights"
            case visits
            case visitsPer100TrapNights = "visits_per_100_trap_nights"
        }

        init(deployment d: Stage3Writer.Deployment, visits: Int) {
            deploymentID = d.id
            cameraID = d.camera
            siteID = d.site?.id
            start = Timestamp.format(d.start)
            end = Timestamp.format(d.end)
            func offset(_ m: Int32) -> String? {
                m == LocalTime.unknown || m == LocalTime.floating ? nil : LocalTime.isoOffset(m)
            }
            startUTCOffset = offset(d.startOffset)
            endUTCOffset = offset(d.endOffset)
            cameraClockOnly = d.startOffset == LocalTime.floating || d.endOffset == LocalTime.floating
            trapNights = Self.trapNights(start: d.start, end: d.end)
            self.visits = visits
            visitsPer100TrapNights = trapNights >= 1 ? Double(visits) / trapNights * 100 : nil
        }

        static func trapNights(start: Double, end: Double) -> Double { max(0, end - start) / 86_400 }

        static let definition = "Trap-nights of a deployment (one camera at one site for one time span) = (time of "
            + "its last media file "
            + "− time of its first media file) / 24 h, over every media file with a capture time, with or without "
            + "detections. Visits per 100 trap-nights = visits / trap-nights × 100, given only for deployments of at "
            + "least one trap-night (a shorter span, such as a single video, would give a meaningless rate)."
    }

    public struct Activity: Codable, Sendable, Equatable {
        /// 24 counts: visits whose start falls in local hour 0, 1, … 23 (the camera's local time: its zone's UTC
        /// offset at the capture, or the camera clock when the zone is unknown).
        public var visits: [Int]
        public var bySpecies: [String: [Int]]
        /// Visits whose local time is unknown (videos without a known zone); not in `visits`.
        public var unknownLocalTime: Int
        enum CodingKeys: String, CodingKey {
            case visits
            case bySpecies = "by_species"
            case unknownLocalTime = "unknown_local_time"
        }
    }

    public struct ThumbnailCounts: Codable, Sendable, Equatable {
        public var listedVisits: Int
        public var embedded: Int
        /// Listed visits none of whose detections has a thumbnail (worker run with --no-thumbnails, or older).
        public var notWritten: Int
        /// Thumbnails Stage 1 names that could not be read.
        public var unreadable: Int
        public var bytes: Int
        enum CodingKeys: String, CodingKey {
            case listedVisits = "listed_visits"
            case embedded
            case notWritten = "not_written"
            case unreadable, bytes
        }
    }

    /// Every deployment (camera × site × time span, the Camtrap DP deployments plus the unlocated ones): what
    /// per-camera effort (deployment days, trap-nights) is computed from. Absent in reports written before it.
    public var deployments: [DeploymentSpan]? = nil
    /// Set for a season (many runs condensed together): which runs, and what was read from each.
    public var season: Season? = nil

    /// One deployment: a camera at one site for one time span (first to last capture time of its media).
    public struct DeploymentSpan: Codable, Sendable, Equatable {
        public var deploymentID: String
        /// Nil for media without a GPS position (not in the Camtrap DP package).
        public var siteID: String?
        public var cameraID: String
        public var start: String
        public var end: String
        /// `(end - start)` in days (3 decimals): the deployment's effort.
        public var days: Double
        /// The runs whose media the deployment holds.
        public var runs: [String]
        enum CodingKeys: String, CodingKey {
            case deploymentID = "deployment_id"
            case siteID = "site_id"
            case cameraID = "camera_id"
            case start, end, days, runs
        }
    }

    /// A season's inputs. `run_id` is the season's name; `generated_at` is the newest capture time among its media
    /// (never the processing time), so a rerun over the same runs writes the same bytes. The top-level
    /// `chunks_read` and `failed_chunks` concatenate the runs' (failed chunks' reasons name their run); `runs` says
    /// which run each belongs to.
    public struct Season: Codable, Sendable, Equatable {
        public struct Run: Codable, Sendable, Equatable {
            public var runID: String
            public var chunksRead: [Int]
            public var failedChunks: [ChunkProblem]
            public var recordsRead: Int
            public var mediaFiles: Int
            /// Stage 1 records of media an earlier run (by run id) already held: not counted twice.
            public var duplicateRecordsSkipped: Int
            enum CodingKeys: String, CodingKey {
                case runID = "run_id"
                case chunksRead = "chunks_read"
                case failedChunks = "failed_chunks"
                case recordsRead = "records_read"
                case mediaFiles = "media_files"
                case duplicateRecordsSkipped = "duplicate_records_skipped"
            }
        }
        public var name: String
        public var runs: [Run]
        public var generatedAtSource: String
        enum CodingKeys: String, CodingKey {
            case name, runs
            case generatedAtSource = "generated_at_source"
        }
    }

    enum CodingKeys: String, CodingKey {
        case totalObservations = "total_observations"
        case speciesSummary = "species_summary"
        case cameraSummary = "camera_summary"
        case timeRange = "time_range"
        case videoObservations = "video_observations"
        case imageObservations = "image_observations"
        case compressionStats = "compression_stats"
        case runID = "run_id"
        case generatedAt = "generated_at"
        case needsReviewCount = "needs_review_count"
        case sites
        case unlocatedObservations = "unlocated_observations"
        case mergeCandidates = "merge_candidates"
        case failedChunks = "failed_chunks"
        case chunksRead = "chunks_read"
        case recordsRead = "records_read"
        case mediaFiles = "media_files"
        case filesWithErrors = "files_with_errors"
        case errorSamples = "error_samples"
        case detectionsUsed = "detections_used"
        case excluded
        case camtrapDP = "camtrap_dp"
        case timeZones = "time_zones"
        case boxesUsed = "boxes_used"
        case speciesBySite = "species_by_site"
        case effort
        case activityByLocalHour = "activity_by_local_hour"
        case thumbnails
        case deployments, season
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(totalObservations, forKey: .totalObservations)
        try c.encode(speciesSummary, forKey: .speciesSummary)
        try c.encode(cameraSummary, forKey: .cameraSummary)
        try c.encode(timeRange, forKey: .timeRange)  // explicit null when empty, as the original
        try c.encode(videoObservations, forKey: .videoObservations)
        try c.encode(imageObservations, forKey: .imageObservations)
        try c.encode(compressionStats, forKey: .compressionStats)
        try c.encode(runID, forKey: .runID)
        try c.encode(generatedAt, forKey: .generatedAt)
        try c.encode(needsReviewCount, forKey: .needsReviewCount)
        try c.encode(sites, forKey: .sites)
        try c.encode(unlocatedObservations, forKey: .unlocatedObservations)
        try c.encode(mergeCandidates, forKey: .mergeCandidates)
        try c.encode(failedChunks, forKey: .failedChunks)
        try c.encode(chunksRead, forKey: .chunksRead)
        try c.encode(recordsRead, forKey: .recordsRead)
        try c.encode(mediaFiles, forKey: .mediaFiles)
        try c.encode(filesWithErrors, forKey: .filesWithErrors)
        try c.encode(errorSamples, forKey: .errorSamples)
        try c.encode(detectionsUsed, forKey: .detectionsUsed)
        try c.encode(excluded, forKey: .excluded)
        try c.encodeIfPresent(camtrapDP, forKey: .camtrapDP)
        try c.encode(timeZones, forKey: .timeZones)
        try c.encodeIfPresent(boxesUsed, forKey: .boxesUsed)
        try c.encodeIfPresent(speciesBySite, forKey: .speciesBySite)
        try c.encodeIfPresent(effort, forKey: .effort)
        try c.encodeIfPresent(activityByLocalHour, forKey: .activityByLocalHour)
        try c.encodeIfPresent(thumbnails, forKey: .thumbnails)
        try c.encodeIfPresent(deployments, forKey: .deployments)
        try c.encodeIfPresent(season, forKey: .season)
    }
}

/// What one condensation did, for logs, notifications and the caller.
public struct CondensationSummary: Codable, Sendable, Equatable {
    public var runID: String
    public var outputPrefix: String
    public var files: [String]
    public var chunksRead: Int
    public var failedChunks: [Int]
    public var recordsRead: Int
    public var mediaFiles: Int
    public var detectionsUsed: Int
    public var excludedBelowMinConfidence: Int
    public var excludedWithoutTimestamp: Int
    public var malformedLines: Int
    public var visits: Int
    public var needsReview: Int
    public var sites: Int
    public var newSites: [String]
    public var mergeCandidates: [[String]]
    public var species: Int
    public var cameras: Int
    /// Sorted runs written to disk by the external sort (0 when everything fit in memory).
    public var spilledRuns: Int
    /// Most visits open at once (what bounds visit memory).
    public var peakOpenVisits: Int

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case outputPrefix = "output_prefix"
        case files
        case chunksRead = "chunks_read"
        case failedChunks = "failed_chunks"
        case recordsRead = "records_read"
        case mediaFiles = "media_files"
        case detectionsUsed = "detections_used"
        case excludedBelowMinConfidence = "excluded_below_min_confidence"
        case excludedWithoutTimestamp = "excluded_without_timestamp"
        case malformedLines = "malformed_lines"
        case visits
        case needsReview = "needs_review"
        case sites
        case newSites = "new_sites"
        case mergeCandidates = "merge_candidates"
        case species, cameras
        case spilledRuns = "spilled_runs"
        case peakOpenVisits = "peak_open_visits"
    }

    /// One paragraph for people (CLI output, notifications).
    public var paragraph: String {
        var text = "Run \(runID): read \(Plural.count(recordsRead, "Stage 1 record")) from \(Plural.count(chunksRead, "chunk")) "
            + "covering \(Plural.count(mediaFiles, "media file")); condensed \(Plural.count(detectionsUsed, "detection")) into "
            + "\(Plural.count(visits, "visit")) (\(needsReview) flagged for review) of \(Plural.count(species, "species", "species")) "
            + "at \(Plural.count(sites, "site")) by \(Plural.count(cameras, "camera"))"
        text += newSites.isEmpty ? "" : ", \(Plural.count(newSites.count, "new site"))"
        text += ". Excluded \(Plural.count(excludedBelowMinConfidence, "detection")) below min_confidence"
        text += " and \(excludedWithoutTimestamp) without a capture time"
        if malformedLines > 0 { text += "; skipped \(Plural.count(malformedLines, "malformed line"))" }
        text += "."
        if !failedChunks.isEmpty {
            text += " Chunks failed, missing or unreadable (their media are not, or not fully, condensed; see "
                + "report.json failed_chunks): " + failedChunks.map(String.init).joined(separator: ", ") + "."
        }
        if !mergeCandidates.isEmpty {
            text += " Sites that this run's points connect but that stay separate until merged explicitly: "
                + mergeCandidates.map { $0.joined(separator: " + ") }.joined(separator: "; ") + "."
        }
        text += " Outputs: \(outputPrefix) (\(files.count) files)."
        return text
    }
}

/// One detection in a visit's timeline.
public struct TimelineEntry: Sendable, Equatable {
    public var time: Double
    public var confidence: Double
    /// Sampled frame index for video frames, nil for stills.
    public var frameNumber: Int?
    /// Position inside the video in seconds, nil for stills.
    public var frameTime: Double?
    /// Object key of the source media file.
    public var path: String
}

/// One visit: consecutive detections of one species by one camera at one site whose gaps are all ≤ the visit gap.
/// A single detection is a visit of duration 0.
public struct Visit: Sendable, Equatable {
    public var id: String
    public var siteID: String?
    public var cameraID: String
    public var species: String
    public var detector: String
    public var start: Double
    public var end: Double
    public var frameCount: Int
    public var maxConfidence: Double
    /// Mean over the visit's detections (sum / frame_count).
    public var meanConfidence: Double
    /// Most boxes of this species seen in one frame (a lower bound on the group size).
    public var maxBoxes: Int
    public var timeline: [TimelineEntry]
    /// Distinct source media, in time order.
    public var media: [String]
    public var needsReview: Bool
    /// True when at least one detection comes from a video frame.
    public var hasVideo: Bool
    /// Object key of the thumbnail of the visit's best-confidence detection that has one (the worker's
    /// `StoreLayout.thumbnailKey`), nil when none has.
    public var thumbnail: String? = nil
    /// The condensation input (run) whose store holds `thumbnail`.
    var thumbnailInput = -1
    /// UTC offsets (minutes) of the camera's local time at the start and the end (`LocalTime` markers otherwise).
    var startOffset: Int32 = LocalTime.unknown
    var endOffset: Int32 = LocalTime.unknown
    /// Bounding boxes of the species over all the visit's frames (at or above min_confidence).
    public var boxes: Int = 0
    public var durationSeconds: Double { end - start }
    /// The first video the visit was seen in (the original `source_video`), nil for stills only.
    public var sourceVideo: String? { timeline.first { $0.frameNumber != nil || $0.frameTime != nil }?.path }
}

/// Turns time-ordered detections into visits, holding only open visits: a visit closes once time has moved more
/// than `gap` seconds past its last detection. Visits are emitted in the order they started (ties broken by the
/// detection order), so the output is deterministic; a visit that stays open holds back those that started after it.
final class VisitBuilder {
    struct Key: Hashable {
        var site: Int32
        var camera: Int32
        var species: Int32
    }

    final class Open {
        let key: Key
        let detector: Int32
        let start: Double
        var end: Double
        var sum = 0.0
        var maxConfidence = 0.0
        var maxBoxes: Int32 = 0
        var timeline: [TimelineEntry] = []
        var media: [String] = []
        /// Membership for `media` once it is long (a long visit of stills has thousands of distinct files);
        /// short lists are scanned, which is cheaper than hashing.
        var mediaSeen: Set<String>? = nil
        var closed = false
        var hasVideo = false
        /// The visit's id, once the writer has computed it (media-level observations name their visit).
        var id: String?
        var startOffset = LocalTime.unknown
        var endOffset = LocalTime.unknown
        var boxes = 0
        /// The best-confidence detection with a thumbnail: its confidence, Stage 1 folder, media and frame.
        var thumbnailConfidence = -1.0
        var thumbnailFolder: Int32 = -1
        var thumbnailPath = ""
        var thumbnailFrame: Int32 = -1
        init(key: Key, detector: Int32, start: Double) {
            self.key = key
            self.detector = detector
            self.start = start
            self.end = start
        }
    }

    private let gap: Double
    private let review: Double
    private var open: [Key: Open] = [:]
    private var queue: [Open] = []
    private var queueHead = 0
    private var lastSweep = -Double.infinity
    private var sinceSweep = 0
    private let emit: (Open) throws -> Void
    private(set) var maxOpen = 0

    init(gapSeconds: Double, reviewThreshold: Double, emit: @escaping (Open) throws -> Void) {
        self.gap = gapSeconds
        self.review = reviewThreshold
        self.emit = emit
    }

    /// Adds a detection; returns the (still open) visit it joined.
    @discardableResult
    func add(_ e: DetectionEntry, site: Int32) throws -> Open {
        let key = Key(site: site, camera: e.camera, species: e.species)
        let visit: Open
        if let current = open[key], e.time - current.end <= gap {
            visit = current
        } else {
            if let current = open[key] { current.closed = true }
            visit = Open(key: key, detector: e.detector, start: e.time)
            visit.startOffset = e.utcOffsetMinutes
            open[key] = visit
            queue.append(visit)
            if open.count > maxOpen { maxOpen = open.count }
        }
        if e.time >= visit.end { visit.endOffset = e.utcOffsetMinutes }
        visit.end = max(visit.end, e.time)
        visit.boxes += Int(e.boxes)
        if e.thumbnailFolder >= 0 && e.confidence > visit.thumbnailConfidence {
            visit.thumbnailConfidence = e.confidence
            visit.thumbnailFolder = e.thumbnailFolder
            visit.thumbnailPath = e.path
            visit.thumbnailFrame = e.frameNumber
        }
        visit.sum += e.confidence
        visit.maxConfidence = max(visit.maxConfidence, e.confidence)
        visit.maxBoxes = max(visit.maxBoxes, e.boxes)
        let isVideo = e.frameNumber >= 0 || !e.frameTime.isNaN
        visit.hasVideo = visit.hasVideo || isVideo
        visit.timeline.append(TimelineEntry(time: e.time, confidence: e.confidence,
                                            frameNumber: e.frameNumber >= 0 ? Int(e.frameNumber) : nil,
                                            frameTime: e.frameTime.isNaN ? nil : e.frameTime, path: e.path))
        if visit.media.last != e.path {
            if visit.mediaSeen == nil && visit.media.count >= 16 { visit.mediaSeen = Set(visit.media) }
            if visit.mediaSeen != nil {
                if visit.mediaSeen!.insert(e.path).inserted { visit.media.append(e.path) }
            } else if !visit.media.contains(e.path) {
                visit.media.append(e.path)
            }
        }

        sinceSweep += 1
        if e.time - lastSweep > gap || sinceSweep >= 65_536 {
            sweep(now: e.time)
            try flush()
        } else if queue[queueHead].closed {
            try flush()
        }
        return visit
    }

    /// Closes every visit that ended more than `gap` before `now`.
    private func sweep(now: Double) {
        lastSweep = now
        sinceSweep = 0
        for (key, visit) in open where now - visit.end > gap {
            visit.closed = true
            open[key] = nil
        }
    }

    private func flush() throws {
        while queueHead < queue.count && queue[queueHead].closed {
            try emit(queue[queueHead])
            queueHead += 1
        }
        if queueHead > 4096 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    func finish() throws {
        for visit in open.values { visit.closed = true }
        open = [:]
        try flush()
    }
}

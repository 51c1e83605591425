import JSONEscaping
import OdinBasics

/// One detection in a Stage 1 record, in the MegaDetector batch-output convention: `bbox` is `[x, y, width, height]`
/// relative to the image (0…1, origin top-left).
public struct Detection: Codable, Sendable, Equatable {
    /// The detector's category id as a string (MegaDetector: "1" animal, "2" person, "3" vehicle).
    public var category: String
    /// Human-readable label, e.g. "animal", "roe_deer", "motion".
    public var label: String
    public var conf: Double
    public var bbox: [Double]
    /// Stage 1 filter verdict: true when the detection is "doubtful" (domain-origin.md §5 review heuristics).
    public var doubtful: Bool?
    /// Object key of this detection's JPEG crop (`runs/<run>/stage1/crops/…`), when crops were written.
    public var crop: String?
    /// Object key of the small JPEG thumbnail of this detection (`StoreLayout.thumbnailKey`): written for the
    /// best-confidence detection of each species label in a frame, when thumbnails are on (the default).
    public var thumbnail: String?

    public init(category: String, label: String, conf: Double, bbox: [Double], doubtful: Bool? = nil,
                crop: String? = nil, thumbnail: String? = nil) {
        self.category = category
        self.label = label
        self.conf = conf
        self.bbox = bbox
        self.doubtful = doubtful
        self.crop = crop
        self.thumbnail = thumbnail
    }

    /// The species name Hugin groups by: the label, or the category id when the label is empty.
    public var speciesName: String { label.isEmpty ? category : label }
}

/// One media file's Stage 1 result: one JSON line in `runs/<run>/stage1/chunk-<index>.jsonl.gz`.
/// A video contributes one record per sampled frame that has detections, plus one record carrying any error.
public struct Stage1Record: Codable, Sendable, Equatable {
    /// Object key (or path) of the source media, e.g. `raw/cam01/DCIM/IMG_0001.JPG`.
    public var path: String
    public var cameraID: String
    /// Corrected UTC capture time of this frame (ISO 8601 with `Z`), nil when unknown (also when the zone is).
    public var timestamp: String?
    /// The camera's wall-clock reading as written in the file (`YYYY-MM-DDTHH:MM:SS`, no zone); stills only.
    public var localTime: String?
    /// The zone `timestamp` was made with: an IANA name, or the EXIF offset (`+02:00`); nil when unknown.
    public var timeZone: String?
    /// The UTC offset in force at the capture (`+02:00`), when the zone is known.
    public var utcOffset: String?
    /// How the zone was found: `time_corrections`, `exif_offset`, `gps_lookup` (inferred from the GPS position),
    /// `camera_gps` (inferred: no position in this file, the camera's other stills in the chunk agree on one zone),
    /// `default_zone` (inferred: the worker's default), `container_utc` (video `creation_time`) or `unknown` (no
    /// `timestamp`; `local_time` only, which still orders one camera's captures).
    public var timeZoneSource: String?
    /// Frame position inside a video (seconds from start); nil for stills.
    public var frameTime: Double?
    /// Index of the sampled frame inside a video; nil for stills.
    public var frameNumber: Int?
    /// The video stream's frame rate (frames per second) as the container reports it; nil for stills and when
    /// unknown. Stage 3 derives MegaDetector's per-detection `frame_number` from it (`frame_time × frame_rate`).
    public var frameRate: Double?
    public var latitude: Double?
    public var longitude: Double?
    public var width: Int?
    public var height: Int?
    public var detections: [Detection]
    /// Detector id and version, e.g. `motion-v1` or `external:megadetector-v5a`.
    public var detector: String
    /// Per-file errors (corrupt media, missing EXIF time…). A record with errors and no detections is still written.
    public var errors: [String]

    enum CodingKeys: String, CodingKey {
        case path
        case cameraID = "camera_id"
        case timestamp
        case localTime = "local_time"
        case timeZone = "time_zone"
        case utcOffset = "utc_offset"
        case timeZoneSource = "time_zone_source"
        case frameTime = "frame_time"
        case frameNumber = "frame_number"
        case frameRate = "frame_rate"
        case latitude, longitude, width, height, detections, detector, errors
    }

    public init(path: String, cameraID: String, timestamp: String? = nil, frameTime: Double? = nil,
                frameNumber: Int? = nil, frameRate: Double? = nil, latitude: Double? = nil, longitude: Double? = nil,
                width: Int? = nil, height: Int? = nil, detections: [Detection] = [], detector: String, errors: [String] = [],
                localTime: String? = nil, timeZone: String? = nil, utcOffset: String? = nil,
                timeZoneSource: String? = nil) {
        self.path = path
        self.localTime = localTime
        self.timeZone = timeZone
        self.utcOffset = utcOffset
        self.timeZoneSource = timeZoneSource
        self.cameraID = cameraID
        self.timestamp = timestamp
        self.frameTime = frameTime
        self.frameNumber = frameNumber
        self.frameRate = frameRate
        self.latitude = latitude
        self.longitude = longitude
        self.width = width
        self.height = height
        self.detections = detections
        self.detector = detector
        self.errors = errors
    }
}

/// One chunk of a run: what one Batch array child processes. The run's manifest is
/// `runs/<run>/manifest.jsonl.gz`, one `Chunk` per line, line `i` is array index `i`.
public struct Chunk: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        /// Object key of the media file.
        public var key: String
        public var cameraID: String
        public var size: Int64
        /// For long videos cut into K segments: this item's segment `index` of `count`; the worker resolves it to a
        /// time range after probing. Nil means the whole file.
        public var segment: Segment?

        enum CodingKeys: String, CodingKey {
            case key
            case cameraID = "camera_id"
            case size, segment
        }

        public init(key: String, cameraID: String, size: Int64, segment: Segment? = nil) {
            self.key = key
            self.cameraID = cameraID
            self.size = size
            self.segment = segment
        }
    }

    public struct Segment: Codable, Sendable, Equatable {
        public var index: Int
        public var count: Int
        public init(index: Int, count: Int) {
            self.index = index
            self.count = count
        }
    }

    public var runID: String
    public var index: Int
    public var items: [Item]

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case index, items
    }

    public init(runID: String, index: Int, items: [Item]) {
        self.runID = runID
        self.index = index
        self.items = items
    }
}

extension Chunk {
    /// The chunk as one JSON line (no newline), with the keys JSONEncoder's `.sortedKeys` gives; written by hand
    /// because manifests are built on every sealed run and the generic encoder dominated that (BENCHMARKS.md).
    /// `JSONDecoder` reads it back as `Chunk`.
    public func appendJSON(to output: inout String) {
        output += "{\"index\":" + String(index) + ",\"items\":["
        for (position, item) in items.enumerated() {
            if position > 0 { output += "," }
            output += "{\"camera_id\":"
            JSONString.append(item.cameraID, to: &output)
            output += ",\"key\":"
            JSONString.append(item.key, to: &output)
            if let segment = item.segment {
                output += ",\"segment\":{\"count\":" + String(segment.count) + ",\"index\":" + String(segment.index) + "}"
            }
            output += ",\"size\":" + String(item.size) + "}"
        }
        output += "],\"run_id\":"
        JSONString.append(runID, to: &output)
        output += "}"
    }
}

/// Where things live in the object store. One place for the key layout shared by every binding.
public enum StoreLayout {
    public static let rawPrefix = "raw/"
    public static func manifestKey(run: String) -> String { "runs/\(run)/manifest.jsonl.gz" }
    public static func stage1Key(run: String, chunk: Int) -> String { "runs/\(run)/stage1/chunk-\(chunk).jsonl.gz" }
    public static func stage1Prefix(run: String) -> String { "runs/\(run)/stage1/" }
    public static func stage3Prefix(run: String) -> String { "runs/\(run)/stage3/" }
    public static func runRecordKey(run: String) -> String { "runs/\(run)/run.json" }
    public static let siteRegistryKey = "state/sites.json"

    /// The thumbnail of the best detection of `species` in one frame of `media` (`frame` nil for stills), in the
    /// Stage 1 folder whose prefix is `stage1Prefix`: `<stage1Prefix>thumbnails/<16 hex digits>.jpg`. The name is a
    /// 64-bit FNV-1a hash of media key, frame and species, so the worker and Hugin derive the same key, and no
    /// media key (`..`, `/`, any byte) can make it leave the `thumbnails/` folder.
    public static func thumbnailKey(stage1Prefix: String, media: String, frame: Int?, species: String) -> String {
        stage1Prefix + "thumbnails/" + FNV1a.hex(media + "#" + (frame.map(String.init) ?? "") + "#" + species) + ".jpg"
    }
}

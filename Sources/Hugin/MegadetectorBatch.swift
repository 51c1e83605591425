import JSONEscaping
import OdinKit

/// `megadetector.json`: the MegaDetector batch output format 1.4 (what Timelapse and MegaDetector's postprocessing
/// read; checked in the tests by MegaDetector's own `validate_batch_results`).
///
/// - `file` is the Stage 1 path, relative to the root that holds `raw/` (the bucket, or the `--local-root` folder).
/// - One entry per media file: a video is one entry with the stream's `frame_rate` and a `frame_number` on every
///   detection (`round(frame_time × frame_rate)`), never invented per-frame files.
/// - Category ids are integer strings. Integer categories from the detector are kept (MegaDetector: 1 animal,
///   2 person, 3 vehicle). The built-in motion detector (`motion-v1`, Stage 1 category `motion`) is category
///   `4` (`motion`); any other non-integer category gets an id from 100 up, in the order first seen. A category's
///   name is the first label seen for it; a detection whose label differs carries it as a classification
///   (`classifications`, `classification_categories`).
/// - A file with errors and no detection is a failure: `failure` (the errors) and `"detections": null`.
/// - `images` comes first, then `info` and the category tables (JSON objects are unordered; readers such as
///   MegaDetector's `validate_batch_results` and Timelapse parse the whole document), so the entries are written
///   straight into the file as the records are read, never copied after a header that is only known at the end.
final class MegadetectorBatch {
    static let formatVersion = "1.4"
    static let motionCategory = "4"
    static let firstAssignedCategory = 100
    static let videoExtensions: Set<String> = ["mp4", "avi", "mpeg", "mpg", "mov", "mkv", "flv"]

    private let sink: FileSink
    private var first = true
    private(set) var detectionCategories: [String: String] = [:]
    private(set) var classificationCategories: [String: String] = [:]
    private var classificationOfLabel: [String: String] = [:]
    private var assigned: [String: String] = [:]
    private var nextAssigned = MegadetectorBatch.firstAssignedCategory
    private(set) var entries = 0

    /// The entry being gathered: the records of one file follow each other in a chunk.
    private var path: String?
    private var isVideo = false
    private var frameRate: Double?
    /// Capture time of the file (its first timestamped record, minus its frame time).
    private var datetime: Double?
    private var errors: [String] = []
    private var detectionCount = 0
    private var missingFrameRate = false
    private let detections = FileSink()

    /// Creates the file at `path` and opens its `images` array (the entries are written there as they come;
    /// `finish` adds the category tables and `info`, which are only known at the end, after it).
    init(path: String) throws {
        sink = try FileSink(path: path)
        sink.append("{\"images\":[\n")
    }

    static func isVideo(_ path: String) -> Bool {
        // The extension, lower-cased, compared without building a String (one call per media file).
        var ext: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
        var count = 0, dot = false
        for c in path.utf8.reversed() {
            if c == 0x2E { dot = true; break }
            count += 1
            guard count <= 4 else { return false }
            let lower = c >= 0x41 && c <= 0x5A ? c + 0x20 : c
            ext = (lower, ext.0, ext.1, ext.2, ext.3)
        }
        guard dot, count >= 3 else { return false }
        if count == 3 && ext.0 == 0x6A && ext.1 == 0x70 && ext.2 == 0x67 { return false }  // jpg, the common case
        let text = withUnsafeBytes(of: ext) { String(decoding: $0.prefix(count), as: UTF8.self) }
        return videoExtensions.contains(text)
    }

    /// The last (category, label) seen and what it maps to: consecutive detections nearly always repeat it.
    private var lastCategory = "", lastLabel = "", lastID = "", lastClassification: String? = nil
    private var hasLast = false

    /// Adds one Stage 1 record; records of the same file must be consecutive. `time` is the record's `timestamp`
    /// parsed (`Timestamp.parse`), when the caller has it already.
    func add(_ record: Stage1Record, time: Double?? = nil) throws {
        if path != record.path {
            try flush()
            path = record.path
            isVideo = Self.isVideo(record.path)
            frameRate = nil
            datetime = nil
            errors = []
            detectionCount = 0
            missingFrameRate = false
        }
        let frameInfo = record.frameNumber != nil || record.frameTime != nil
        if frameInfo { isVideo = true }
        if let rate = record.frameRate, rate.isFinite, rate > 0 { frameRate = rate }
        if datetime == nil, let t = time ?? record.timestamp.flatMap(Timestamp.parse) {
            datetime = t - (record.frameTime ?? 0)
        }
        if !record.errors.isEmpty { errors += record.errors }
        for d in record.detections {
            let category: String, classification: String?
            if hasLast && d.category == lastCategory && d.label == lastLabel {
                (category, classification) = (lastID, lastClassification)
            } else {
                category = categoryID(d)
                classification = detectionCategories[category] != d.label && !d.label.isEmpty
                    ? classificationID(d.label) : nil
                (lastCategory, lastLabel, lastID, lastClassification, hasLast) = (d.category, d.label, category,
                                                                                 classification, true)
            }
            detections.append(detectionCount == 0 ? "{\"category\":" : ",{\"category\":")
            detectionCount += 1
            detections.append(jsonString: category)
            detections.append(",\"conf\":")
            Self.appendFloat(d.conf, to: detections)
            detections.append(",\"bbox\":[")
            for (j, v) in d.bbox.enumerated() {
                if j > 0 { detections.append(byte: 0x2C) }
                detections.append(fixed: v, digits: 4)
            }
            detections.append(byte: 0x5D)
            if let classification {
                detections.append(",\"classifications\":[[")
                detections.append(jsonString: classification)
                detections.append(byte: 0x2C)
                Self.appendFloat(d.conf, to: detections)
                detections.append("]]")
            }
            if frameInfo {
                // frame_time is seconds from the stream start; 1.4 wants the frame's index in the video.
                if let rate = record.frameRate ?? frameRate, let time = record.frameTime {
                    detections.append(",\"frame_number\":")
                    detections.append(int: Int((time * rate).rounded()))
                } else {
                    missingFrameRate = true
                }
            }
            detections.append(byte: 0x7D)
        }
    }

    /// Writes the last entry (more may not be added).
    func endEntries() throws {
        try flush()
    }

    /// Closes `images`, writes `info` and the category tables, and closes the file.
    func finish(detectors: [String], completionTime: String) throws {
        try flush()
        try sink.write(tail(detectors: detectors, completionTime: completionTime))
        try sink.close()
    }

    private func flush() throws {
        guard let path else { return }
        sink.append(first ? "{\"file\":" : ",\n{\"file\":")
        first = false
        entries += 1
        sink.append(jsonString: path)
        var failure: String? = nil
        if detectionCount == 0 && !errors.isEmpty {
            failure = errors.joined(separator: "; ")
        } else if isVideo && (frameRate == nil || missingFrameRate) && detectionCount > 0 {
            failure = "the video's frame rate is not in Stage 1 (frame_rate), so its detections have no frame "
                + "numbers; re-run the worker to record it"
        }
        if let failure {
            sink.append(",\"failure\":")
            sink.append(jsonString: failure)
            sink.append(",\"detections\":null")
        } else {
            sink.append(",\"detections\":[")
            detections.withBytes { sink.append(bytes: $0) }
            sink.append(byte: 0x5D)
        }
        if isVideo {
            sink.append(",\"frame_rate\":")
            if let frameRate { Self.appendFloat(frameRate, to: sink, digits: 6) } else { sink.append("-1.0") }
        }
        if let datetime {
            sink.append(",\"datetime\":\"")
            sink.append(timestamp: datetime)
            sink.append(byte: 0x22)
        }
        sink.append(byte: 0x7D)
        detections.clear()
        self.path = nil
        try sink.flushIfNeeded()
    }

    /// The id for a detection's category (see the type's documentation); registers its name.
    private func categoryID(_ d: Detection) -> String {
        let id: String
        if let n = Int(d.category), n >= 0 {
            id = String(n)
        } else if d.category == "motion" {
            id = Self.motionCategory
        } else if let known = assigned[d.category] {
            id = known
        } else {
            while detectionCategories[String(nextAssigned)] != nil { nextAssigned += 1 }
            id = String(nextAssigned)
            nextAssigned += 1
            assigned[d.category] = id
        }
        if detectionCategories[id] == nil {
            detectionCategories[id] = d.label.isEmpty ? d.category : d.label
        }
        return id
    }

    private func classificationID(_ label: String) -> String {
        if let id = classificationOfLabel[label] { return id }
        let id = String(classificationOfLabel.count + 1)
        classificationOfLabel[label] = id
        classificationCategories[id] = label
        return id
    }

    /// A JSON number that always reads back as a float (`1.0`, never `1`): the validator requires float `conf`.
    static func appendFloat(_ value: Double, to sink: FileSink, digits: Int = 4) {
        let before = sink.count
        sink.append(fixed: value, digits: digits)
        if !sink.withBytes({ $0[before...].contains(0x2E) }) { sink.append(".0") }
    }

    /// The document's end: the close of `images`, then `info` and the category tables.
    func tail(detectors: [String], completionTime: String) -> String {
        func table(_ t: [String: String]) -> String {
            t.sorted { (Int($0.key) ?? 0, $0.key) < (Int($1.key) ?? 0, $1.key) }
                .map { JSONString.quoted($0.key) + ":" + JSONString.quoted($0.value) }.joined(separator: ",")
        }
        let detector = detectors.isEmpty ? "unknown" : detectors.sorted().joined(separator: ", ")
        var text = "\n],\n\"info\":{\"format_version\":\"" + Self.formatVersion + "\",\"detector\":"
            + JSONString.quoted(detector) + ",\"detection_completion_time\":" + JSONString.quoted(completionTime)
            + ",\"detector_metadata\":{\"generator\":\"hugin\",\"detectors\":["
            + detectors.sorted().map(JSONString.quoted).joined(separator: ",") + "],\"file_root\":"
            + "\"the folder or bucket that holds raw/\"}},\n\"detection_categories\":{"
            + table(detectionCategories) + "}"
        if !classificationCategories.isEmpty {
            text += ",\n\"classification_categories\":{" + table(classificationCategories) + "}"
        }
        return text + "}\n"
    }
}

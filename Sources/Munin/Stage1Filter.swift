import OdinKit

/// The Stage 1 filters and review heuristics (defaults from the profile, domain-origin.md §5).
///
/// A detection is **dropped** when its confidence is below `minConfidence`, its relative area (w × h of the relative
/// box) is outside `minRelativeArea…maxRelativeArea`, or its pixel aspect ratio (width / height) is outside
/// `minAspect…maxAspect`. A kept detection is marked **doubtful** (for human review) when its confidence is in
/// `[minConfidence, minConfidence + 0.05)`, its box comes within `edgeMargin` pixels of the frame edge, its relative
/// area is below `tinyRelativeArea` (0.01), or in `[minRelativeArea, 1.5 × minRelativeArea)`.
public struct Stage1Filter: Sendable, Equatable {
    public var minConfidence = 0.3
    public var minRelativeArea = 0.003
    public var maxRelativeArea = 0.8
    public var minAspect = 0.2
    public var maxAspect = 5.0
    public var edgeMargin = 12
    public var tinyRelativeArea = 0.01
    public var doubtfulConfidenceBand = 0.05

    public init() {}

    /// Checks ranges; the error names the option (its CLI flag).
    public func validate() throws(OptionError) {
        guard (0...1).contains(minConfidence) else {
            throw OptionError(option: "--min-confidence", "must be in 0…1 (got \(minConfidence))")
        }
        guard minRelativeArea >= 0, minRelativeArea < maxRelativeArea, maxRelativeArea <= 1 else {
            throw OptionError(option: "--min-rel-area/--max-rel-area",
                              "need 0 ≤ min < max ≤ 1 (got \(minRelativeArea), \(maxRelativeArea))")
        }
        guard minAspect > 0, minAspect < maxAspect else {
            throw OptionError(option: "--min-aspect/--max-aspect", "need 0 < min < max (got \(minAspect), \(maxAspect))")
        }
        guard edgeMargin >= 0 else { throw OptionError(option: "--edge-margin", "must be ≥ 0 (got \(edgeMargin))") }
    }

    /// Why a detection was dropped.
    public enum Rejection: String, Sendable, CaseIterable {
        case lowConfidence = "confidence", area, aspect, malformedBox = "bbox"
    }

    /// Filters detections of a `width × height` frame: the kept ones (with `doubtful` set) and the dropped ones with
    /// the reason, so callers can count them instead of losing them silently.
    public func apply(_ detections: [Detection], width: Int, height: Int)
        -> (kept: [Detection], dropped: [(Detection, Rejection)])
    {
        var kept: [Detection] = []
        var dropped: [(Detection, Rejection)] = []
        for var detection in detections {
            guard detection.bbox.count == 4, detection.bbox.allSatisfy({ $0.isFinite }),
                  detection.bbox[2] > 0, detection.bbox[3] > 0 else {
                dropped.append((detection, .malformedBox))
                continue
            }
            let (x, y, w, h) = (detection.bbox[0], detection.bbox[1], detection.bbox[2], detection.bbox[3])
            let area = w * h
            let aspect = (w * Double(width)) / (h * Double(height))
            if detection.conf < minConfidence { dropped.append((detection, .lowConfidence)); continue }
            if area < minRelativeArea || area > maxRelativeArea { dropped.append((detection, .area)); continue }
            if aspect < minAspect || aspect > maxAspect { dropped.append((detection, .aspect)); continue }
            let margin = Double(edgeMargin)
            let nearEdge = x * Double(width) < margin || y * Double(height) < margin
                || (1 - x - w) * Double(width) < margin || (1 - y - h) * Double(height) < margin
            detection.doubtful = detection.conf < minConfidence + doubtfulConfidenceBand || nearEdge
                || area < tinyRelativeArea || area < 1.5 * minRelativeArea
            kept.append(detection)
        }
        return (kept, dropped)
    }
}

/// A bad option value, naming the option (CLI flag; the environment variable is listed in `--help`).
public struct OptionError: Error, CustomStringConvertible, Sendable, Equatable {
    public let option: String
    public let message: String
    public init(option: String, _ message: String) {
        self.option = option
        self.message = message
    }
    public var description: String { "\(option): \(message)" }
}

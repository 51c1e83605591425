/// Settings of one condensation, with the defaults. Build it once (from the profile or CLI flags) and
/// `validate()` it; `Condenser` validates again before it starts.
public struct CondensationOptions: Sendable, Equatable, Codable {
    /// Points at most this far apart (Haversine metres, `<=`) belong to the same site. Default 5 m.
    public var radiusMeters: Double = 5
    /// Consecutive detections of one (site, camera, species) at most this far apart form one visit. Default 10 min.
    public var visitGapMinutes: Double = 10
    /// Detections below this confidence are excluded (and counted). Default 0.5.
    public var minConfidence: Double = 0.5
    /// A visit whose maximum confidence is below this is flagged `needs_review`. Default 0.8.
    public var reviewThreshold: Double = 0.8
    /// Detections held in memory before a sorted run is spilled to disk (bounds memory; see `DetectionSorter`).
    public var maxBufferedDetections: Int = 1_000_000
    /// Visits listed in `report.html` (all of them are in `visits.csv` and `compressed_observations.json`).
    public var htmlVisitLimit: Int = 500
    /// Folder for temporary files (spilled runs, outputs before upload). Default: `$TMPDIR` or `/tmp`.
    public var temporaryDirectory: String?

    public init(radiusMeters: Double = 5, visitGapMinutes: Double = 10, minConfidence: Double = 0.5,
                reviewThreshold: Double = 0.8) {
        self.radiusMeters = radiusMeters
        self.visitGapMinutes = visitGapMinutes
        self.minConfidence = minConfidence
        self.reviewThreshold = reviewThreshold
    }

    /// Throws `HuginError.invalidOption` naming the first option out of range and the accepted range.
    public func validate() throws(HuginError) {
        guard radiusMeters.isFinite, radiusMeters > 0, radiusMeters <= 100_000 else {
            throw .invalidOption("radius_meters", "\(radiusMeters)", "must be a number > 0 and <= 100000 (metres)")
        }
        guard visitGapMinutes.isFinite, visitGapMinutes >= 0, visitGapMinutes <= 7 * 24 * 60 else {
            throw .invalidOption("visit_gap_minutes", "\(visitGapMinutes)", "must be between 0 and 10080 (minutes)")
        }
        guard minConfidence.isFinite, (0...1).contains(minConfidence) else {
            throw .invalidOption("min_confidence", "\(minConfidence)", "must be between 0 and 1")
        }
        guard reviewThreshold.isFinite, (0...1).contains(reviewThreshold) else {
            throw .invalidOption("review_threshold", "\(reviewThreshold)", "must be between 0 and 1")
        }
        guard maxBufferedDetections >= 1000 else {
            throw .invalidOption("max_buffered_detections", "\(maxBufferedDetections)", "must be at least 1000")
        }
        guard htmlVisitLimit >= 0 else {
            throw .invalidOption("html_visit_limit", "\(htmlVisitLimit)", "must be >= 0")
        }
    }

    var visitGapSeconds: Double { visitGapMinutes * 60 }
}

/// Errors from Hugin, each naming what was wrong and how to fix it.
public struct HuginError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case invalidOption
        case invalidInput
        case unknownSite
        case registry
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func invalidOption(_ name: String, _ value: String, _ rule: String) -> HuginError {
        HuginError(.invalidOption, "invalid option \(name) = \(value): \(rule)")
    }

    public static func invalidInput(_ message: String) -> HuginError { HuginError(.invalidInput, message) }
    public static func io(_ message: String) -> HuginError { HuginError(.io, message) }
}

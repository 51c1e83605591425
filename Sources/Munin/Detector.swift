import Media
import OdinKit

/// One frame handed to a detector: a small grayscale picture for built-in analysis, and (for detectors that read
/// files) an image file on disk.
public struct DetectorFrame: Sendable {
    /// Unique within a batch; used in error messages.
    public var name: String
    /// Grayscale, longer side at most `MuninOptions.analysisSize`.
    public var analysis: Picture
    /// A JPEG or PNG of the full frame, when the detector needs files (`Detector.needsImageFiles`).
    public var imagePath: String?
    /// Full-size dimensions of the frame (pixel-based filters use these).
    public var width: Int
    public var height: Int

    public init(name: String, analysis: Picture, imagePath: String? = nil, width: Int, height: Int) {
        self.name = name
        self.analysis = analysis
        self.imagePath = imagePath
        self.width = width
        self.height = height
    }
}

/// A detector's answer for one frame: detections (MegaDetector convention: relative `[x, y, w, h]`) or an error.
public struct FrameDetections: Sendable, Equatable {
    public var detections: [Detection]
    public var error: String?

    public init(detections: [Detection] = [], error: String? = nil) {
        self.detections = detections
        self.error = error
    }
}

/// A detector plug-in. Detection runs per *sequence* (a burst of stills or a video), so detectors that compare frames
/// (motion) keep state between the batches of one sequence.
public protocol Detector: Sendable {
    /// Detector id and version written into every record, e.g. `motion-v1`, `external:megadetector-v5a`.
    var id: String { get }
    /// True when frames must come with `imagePath` (external commands read files).
    var needsImageFiles: Bool { get }
    /// A fresh state for one sequence.
    func makeSequence() -> any DetectionSequence
}

/// The per-sequence state of a detector. Batches of one sequence arrive in time order. Blocking; not `Sendable`.
public protocol DetectionSequence: AnyObject {
    /// One result per frame, in order.
    func detect(_ frames: [DetectorFrame]) throws -> [FrameDetections]
}

/// A detector failure that affects a whole batch (the command failed, its output is unreadable).
public struct DetectorError: Error, CustomStringConvertible, Sendable, Equatable {
    public let detector: String
    public let message: String
    public init(detector: String, _ message: String) {
        self.detector = detector
        self.message = message
    }
    public var description: String { "detector \(detector): \(message)" }
}

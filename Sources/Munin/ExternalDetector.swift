import FoundationEssentials
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

/// Runs a user command on a batch of frame files and reads its output in the MegaDetector batch format:
/// `{"images": [{"file": …, "detections": [{"category": "1", "conf": 0.92, "bbox": [x, y, w, h]}], "failure": …}],
///   "detection_categories": {"1": "animal", …}}` with `bbox` relative to the image, origin top-left.
///
/// The command is run by `/bin/sh -c` with `{images}` replaced by the path of a JSON file listing the frame paths
/// (MegaDetector's `run_detector_batch.py` accepts such a list) and `{output}` by the path the command must write;
/// both paths are shell-quoted. Example:
/// `python run_detector_batch.py md_v5a.0.0.pt {images} {output}`.
/// Blocking: waits for the command.
public struct ExternalDetector: Detector {
    public let command: String
    /// Written into records as `external:<name>`.
    public let name: String
    public var id: String { "external:" + name }
    public let needsImageFiles = true
    /// Where list and output files go (one subfolder per batch, removed afterwards).
    public let scratchDirectory: String

    public init(command: String, name: String, scratchDirectory: String) {
        self.command = command
        self.name = name
        self.scratchDirectory = scratchDirectory
    }

    public func makeSequence() -> any DetectionSequence { ExternalSequence(self) }

    /// MegaDetector's default category names.
    static let defaultCategories = ["1": "animal", "2": "person", "3": "vehicle"]

    struct Output: Decodable {
        struct Image: Decodable {
            var file: String
            var detections: [Item]?
            var failure: String?
        }
        struct Item: Decodable {
            var category: String
            var conf: Double
            var bbox: [Double]
        }
        var images: [Image]
        var detection_categories: [String: String]?
    }

    /// Runs the command on `frames` and maps its output back to them.
    func run(_ frames: [DetectorFrame]) throws -> [FrameDetections] {
        let paths = try frames.map { frame in
            guard let path = frame.imagePath else {
                throw DetectorError(detector: id, "frame \(frame.name) has no image file")
            }
            return path
        }
        let folder = scratchDirectory + "/external-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard mkdir(folder, 0o700) == 0 else {
            throw DetectorError(detector: id, "cannot create \(folder): errno \(errno)")
        }
        defer { removeTree(folder) }
        let listPath = folder + "/images.json", outputPath = folder + "/output.json", logPath = folder + "/log.txt"
        try writeFile(listPath, Array(try JSONEncoder().encode(paths)))
        let line = command.replacing("{images}", with: shellQuote(listPath))
            .replacing("{output}", with: shellQuote(outputPath))
        let status = try spawnShell(line, log: logPath)
        guard status == 0 else {
            throw DetectorError(detector: id, "command exited with status \(status): " + tail(of: logPath))
        }
        guard let bytes = readFile(outputPath) else {
            throw DetectorError(detector: id, "command wrote no output file ({output}); log: " + tail(of: logPath))
        }
        let output: Output
        do { output = try JSONDecoder().decode(Output.self, from: Data(bytes)) } catch {
            throw DetectorError(detector: id, "output is not MegaDetector batch JSON: \(error)")
        }
        let categories = output.detection_categories ?? Self.defaultCategories
        var byFile: [String: Output.Image] = [:]
        for image in output.images { byFile[image.file] = image }
        return zip(frames, paths).map { frame, path in
            let fileName = String(path.split(separator: "/").last ?? "")
            guard let image = byFile[path] ?? byFile[fileName]
                ?? output.images.first(where: { path.hasSuffix("/" + $0.file) })
            else {
                return FrameDetections(error: "\(id): no result for \(frame.name) in the command's output")
            }
            if let failure = image.failure { return FrameDetections(error: "\(id): \(failure)") }
            let detections = (image.detections ?? []).map {
                Detection(category: $0.category, label: categories[$0.category] ?? $0.category, conf: $0.conf,
                          bbox: $0.bbox)
            }
            return FrameDetections(detections: detections)
        }
    }
}

final class ExternalSequence: DetectionSequence {
    let detector: ExternalDetector
    init(_ detector: ExternalDetector) { self.detector = detector }
    func detect(_ frames: [DetectorFrame]) throws -> [FrameDetections] {
        frames.isEmpty ? [] : try detector.run(frames)
    }
}

// MARK: - Process and file helpers (blocking)

/// Runs `/bin/sh -c line` with stdout and stderr appended to `log`; returns the exit status (128+signal if killed).
func spawnShell(_ line: String, log: String) throws -> Int32 {
    let pid: pid_t
    do {
        pid = try ProcessSpawner.spawn(["/bin/sh", "-c", line], environment: nil,
                                       output: .init(path: log, appending: true, mode: 0o600))
    } catch {
        throw DetectorError(detector: "external", "cannot start /bin/sh: errno \(error.code)")
    }
    guard let status = ProcessSpawner.wait(pid) else {
        throw DetectorError(detector: "external", "waitpid failed: errno \(errno)")
    }
    return status
}

func shellQuote(_ text: String) -> String {
    "'" + text.replacing("'", with: "'\\''") + "'"
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else { throw DetectorError(detector: "io", "cannot create \(path)") }
    defer { fclose(file) }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    guard written == bytes.count else { throw DetectorError(detector: "io", "short write to \(path)") }
}

/// The whole file at `path`, or nil when it cannot be opened (the callers name the file and the fix).
func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

/// The last 500 bytes of a log file, for error messages.
func tail(of path: String) -> String {
    guard let bytes = readFile(path), !bytes.isEmpty else { return "(no output)" }
    return String(decoding: bytes.suffix(500), as: UTF8.self).trimmingSpaces
}

/// Removes a scratch folder we created (files one level deep).
func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

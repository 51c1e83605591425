import FoundationEssentials
import OdinBasics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `odin sites cluster POINTS.csv [--radius M] [--output LABELS.csv]` and `hugin sites cluster`: clusters any list of
/// `lat,lon` rows (a header line, decimal degrees) and labels every input row, in input order.
public enum PointClustering {
    public struct Result: Sendable, Equatable {
        /// One label per data row, in input order (`0..<clusterCount`, numbered by each cluster's smallest point).
        public var labels: [Int]
        public var clusterCount: Int
    }

    /// Parses the CSV text. The header must name the latitude and longitude columns (`lat`/`latitude`,
    /// `lon`/`lng`/`long`/`longitude`, any case); other columns are ignored. Every bad row is an error naming the
    /// line, so nothing is dropped silently.
    public static func parse(_ text: String) throws(HuginError) -> [GeoPoint] {
        try parse(bytes: Array(text.utf8))
    }

    /// Byte-level parser (a million rows are common); quoted rows go through the general CSV splitter.
    public static func parse(bytes: [UInt8]) throws(HuginError) -> [GeoPoint] {
        var lines: [Range<Int>] = []
        var start = 0
        for (k, b) in bytes.enumerated() where b == 0x0A {
            lines.append(start..<k)
            start = k + 1
        }
        if start < bytes.count { lines.append(start..<bytes.count) }
        func text(_ r: Range<Int>) -> Substring {
            var end = r.upperBound
            if end > r.lowerBound && bytes[end - 1] == 0x0D { end -= 1 }
            return Substring(String(decoding: bytes[r.lowerBound..<end], as: UTF8.self))
        }
        while let last = lines.last, text(last).allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard let headerRange = lines.first else {
            throw .invalidInput("the points file is empty; expected a header line such as `lat,lon`")
        }
        let header = text(headerRange)
        let names = CSV.split(header).map { $0.trimmedSpaces().lowercased() }
        guard let latColumn = names.firstIndex(where: { ["lat", "latitude"].contains($0) }),
              let lonColumn = names.firstIndex(where: { ["lon", "lng", "long", "longitude"].contains($0) })
        else {
            throw .invalidInput("the header line `\(header)` must name a `lat` and a `lon` column")
        }
        var points: [GeoPoint] = []
        points.reserveCapacity(lines.count)
        for (number, range) in lines.enumerated().dropFirst() {
            var lat: Double? = nil, lon: Double? = nil
            if !bytes[range].contains(0x22) {
                var column = 0
                var fieldStart = range.lowerBound
                for k in range.lowerBound...range.upperBound where k == range.upperBound || bytes[k] == 0x2C {
                    if column == latColumn { lat = decimal(bytes, fieldStart..<k) }
                    if column == lonColumn { lon = decimal(bytes, fieldStart..<k) }
                    column += 1
                    fieldStart = k + 1
                }
            } else {
                let fields = CSV.split(text(range))
                if fields.count > max(latColumn, lonColumn) {
                    lat = Double(fields[latColumn].trimmedSpaces())
                    lon = Double(fields[lonColumn].trimmedSpaces())
                }
            }
            guard let lat, let lon else {
                throw .invalidInput("line \(number + 1): expected decimal degrees in columns \(latColumn + 1) (lat) and "
                                    + "\(lonColumn + 1) (lon), got `\(text(range))`")
            }
            let p = GeoPoint(latitude: lat, longitude: lon)
            guard p.isValid else {
                throw .invalidInput("line \(number + 1): latitude must be within [-90, 90] and longitude within "
                                    + "[-180, 180], got \(lat),\(lon)")
            }
            points.append(p)
        }
        return points
    }

    /// A decimal number filling the whole field (spaces and a trailing CR allowed), else nil.
    private static func decimal(_ bytes: [UInt8], _ range: Range<Int>) -> Double? {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi && (bytes[lo] == 0x20 || bytes[lo] == 0x09) { lo += 1 }
        while hi > lo && (bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 || bytes[hi - 1] == 0x0D) { hi -= 1 }
        guard hi > lo, hi - lo < 64 else { return nil }
        for k in lo..<hi {
            let c = bytes[k]
            guard (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x2B || c == 0x65 || c == 0x45 else {
                return nil
            }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Double? in
            for k in lo..<hi { buffer[k - lo] = CChar(bitPattern: bytes[k]) }
            buffer[hi - lo] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + (hi - lo) ? value : nil
        }
    }

    public static func cluster(_ points: [GeoPoint], radius: Double) throws(HuginError) -> Result {
        guard radius.isFinite, radius > 0 else {
            throw .invalidOption("--radius", "\(radius)", "must be a number of metres > 0")
        }
        let labels = SiteClustering.labels(for: points, radius: radius)
        return Result(labels: labels, clusterCount: (labels.max() ?? -1) + 1)
    }

    /// The labels file: header `site` and one label per input row.
    public static func labelsCSV(_ result: Result) -> String {
        var out = "site\n"
        out.reserveCapacity(result.labels.count * 6)
        for label in result.labels { out += "\(label)\n" }
        return out
    }
}

/// `odin analyze DIR` / `hugin analyze DIR`: a text summary of a downloaded Stage 3 folder (a run's or a season's).
public enum Stage3Analysis {
    /// Reads `DIR/report.json` (and checks the other Stage 3 files are there) and renders a summary.
    public static func summarize(directory: String) throws(HuginError) -> String {
        let path = directory.hasSuffix("/") ? directory + Stage3Files.report : directory + "/" + Stage3Files.report
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidInput("no \(Stage3Files.report) in \(directory): pass the folder a run's stage3/ was "
                                + "downloaded to")
        }
        let report: Stage3Report
        do {
            report = try JSONDecoder().decode(Stage3Report.self, from: data)
        } catch {
            throw .invalidInput("\(path) is not a Hugin report.json: \(error)")
        }
        let missing = Stage3Files.expected(report).filter {
            !FileManager.default.fileExists(atPath: (directory.hasSuffix("/") ? directory : directory + "/") + $0)
        }
        return render(report, missingFiles: missing)
    }

    /// The text summary, in report.html's vocabulary: media files, frames (with detections, once per species),
    /// boxes (at or above min_confidence) and visits, each count with its plural.
    public static func render(_ r: Stage3Report, missingFiles: [String] = []) -> String {
        var lines: [String] = []
        if let season = r.season {
            lines.append("Season \(r.runID): \(Plural.count(season.runs.count, "run")) (generated_at \(r.generatedAt) "
                         + "is its newest capture time)")
            for run in season.runs {
                lines.append("  \(run.runID): \(Plural.count(run.chunksRead.count, "chunk")) read, "
                             + Plural.count(run.mediaFiles, "media file")
                             + (run.failedChunks.isEmpty ? ""
                                : ", \(Plural.count(run.failedChunks.count, "chunk")) failed or missing")
                             + (run.duplicateRecordsSkipped > 0
                                ? ", \(Plural.count(run.duplicateRecordsSkipped, "record")) of media an earlier run "
                                    + "held skipped" : ""))
            }
        } else {
            lines.append("Run \(r.runID) (generated \(r.generatedAt))")
        }
        lines.append("Visits: \(r.totalObservations) (\(r.needsReviewCount) \(r.needsReviewCount == 1 ? "needs" : "need") "
                     + "review; \(r.imageObservations) from stills only, \(r.videoObservations) with video) from "
                     + "\(Plural.count(r.detectionsUsed, "frame")) with detections"
                     + (r.boxesUsed.map { " (" + Plural.count($0, "box", "boxes") + ")" } ?? "")
                     + " in \(Plural.count(r.mediaFiles, "media file"))")
        if let t = r.timeRange {
            lines.append("Time range (UTC): \(t.start) – \(t.end) (\(Fixed.trimmed(t.durationHours, 2)) h)")
        } else {
            lines.append("Time range: none (no visits)")
        }
        lines.append("Sites: \(r.sites.count)" + (r.unlocatedObservations > 0
            ? " (+\(Plural.count(r.unlocatedObservations, "visit")) without GPS)" : ""))
        for s in r.sites {
            lines.append("  \(s.siteID)  \(s.displayName)  \(Fixed.format(s.latitude, 6)),\(Fixed.format(s.longitude, 6))"
                         + "  \(Plural.count(s.visits, "visit"))  \(s.species.joined(separator: ", "))"
                         + (s.isNew ? "  [new]" : ""))
        }
        lines.append("Species:")
        for (name, s) in r.speciesSummary.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name): \(Plural.count(s.count, "visit")), \(Fixed.trimmed(s.totalDuration, 1)) s, max "
                         + "\(Fixed.format(s.maxConfidence, 3)), mean \(Fixed.format(s.avgConfidence, 3))")
        }
        lines.append("Cameras:")
        for (name, c) in r.cameraSummary.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name): \(Plural.count(c.count, "visit")) (\(c.species.joined(separator: ", ")))")
        }
        let x = r.excluded
        lines.append("Excluded: \(Plural.count(x.belowMinConfidence, "box", "boxes")) below min_confidence "
                     + "\(Fixed.trimmed(r.compressionStats.minConfidence, 3)), "
                     + "\(Plural.count(x.withoutTimestamp, "frame")) with detections but no capture time, "
                     + "\(Plural.count(x.mediaWithoutTimestamp, "media file")) without a capture time, "
                     + "\(Plural.count(x.malformedLines, "malformed line"))")
        if r.failedChunks.isEmpty {
            lines.append("Chunks: \(r.chunksRead.count) read, none failed")
        } else {
            lines.append("Chunks: \(r.chunksRead.count) read; FAILED or missing: "
                         + r.failedChunks.map { "\($0.chunk) (\($0.reason))" }.joined(separator: ", "))
        }
        if !r.mergeCandidates.isEmpty {
            lines.append("Merge candidates: " + r.mergeCandidates.map { $0.joined(separator: " + ") }
                .joined(separator: "; "))
        }
        if let c = r.camtrapDP {
            lines.append(c.deployments == 0
                ? "Camtrap DP: not written (no media file had both a GPS position and a capture time)"
                : "Camtrap DP: \(Plural.count(c.deployments, "deployment")), \(c.media) media, "
                    + "\(c.eventObservations) event and \(Plural.count(c.mediaObservations, "media observation"))"
                    + (c.mediaWithoutPosition > 0 ? "; \(c.mediaWithoutPosition) media without GPS left out" : ""))
        }
        if let deployments = r.deployments, !deployments.isEmpty {
            lines.append("Deployments (camera at a site for a time span):")
            for d in deployments {
                lines.append("  \(d.deploymentID)  \(d.start) – \(d.end)  \(Fixed.trimmed(d.days, 3)) \(d.days == 1 ? "day" : "days")")
            }
        }
        if !missingFiles.isEmpty { lines.append("Missing files in the folder: " + missingFiles.joined(separator: ", ")) }
        return lines.joined(separator: "\n") + "\n"
    }
}

import FoundationEssentials

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
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let header = lines.first else {
            throw .invalidInput("the points file is empty; expected a header line such as `lat,lon`")
        }
        let names = CSV.split(header).map { $0.trimmedSpaces().lowercased() }
        guard let latColumn = names.firstIndex(where: { ["lat", "latitude"].contains($0) }),
              let lonColumn = names.firstIndex(where: { ["lon", "lng", "long", "longitude"].contains($0) })
        else {
            throw .invalidInput("the header line `\(header)` must name a `lat` and a `lon` column")
        }
        var points: [GeoPoint] = []
        points.reserveCapacity(lines.count)
        for (number, line) in lines.enumerated().dropFirst() {
            let fields = fastSplit(line) ?? CSV.split(line)
            guard fields.count > max(latColumn, lonColumn),
                  let lat = Double(fields[latColumn].trimmedSpaces()),
                  let lon = Double(fields[lonColumn].trimmedSpaces())
            else {
                throw .invalidInput("line \(number + 1): expected decimal degrees in columns \(latColumn + 1) (lat) and "
                                    + "\(lonColumn + 1) (lon), got `\(line)`")
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

    /// Unquoted lines split on commas without allocation-heavy parsing; nil when the line has quotes.
    private static func fastSplit(_ line: Substring) -> [Substring]? {
        guard !line.contains("\"") else { return nil }
        return line.split(separator: ",", omittingEmptySubsequences: false)
    }

    private static func fastSplit(_ line: Substring) -> [String]? {
        let parts: [Substring]? = fastSplit(line)
        return parts?.map(String.init)
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

/// `odin analyze DIR` / `hugin analyze DIR`: a text summary of a downloaded Stage 3 folder.
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
        let missing = Stage3Files.all.filter {
            !FileManager.default.fileExists(atPath: (directory.hasSuffix("/") ? directory : directory + "/") + $0)
        }
        return render(report, missingFiles: missing)
    }

    public static func render(_ r: Stage3Report, missingFiles: [String] = []) -> String {
        var lines: [String] = []
        lines.append("Run \(r.runID) (generated \(r.generatedAt))")
        lines.append("Visits: \(r.totalObservations) (\(r.needsReviewCount) need review; \(r.imageObservations) from "
                     + "stills only, \(r.videoObservations) with video) from \(r.detectionsUsed) detections in "
                     + "\(r.mediaFiles) media files")
        if let t = r.timeRange {
            lines.append("Time range: \(t.start) – \(t.end) (\(Fixed.trimmed(t.durationHours, 2)) h)")
        } else {
            lines.append("Time range: none (no visits)")
        }
        lines.append("Sites: \(r.sites.count)" + (r.unlocatedObservations > 0
            ? " (+\(r.unlocatedObservations) visits without GPS)" : ""))
        for s in r.sites {
            lines.append("  \(s.siteID)  \(s.displayName)  \(Fixed.format(s.latitude, 6)),\(Fixed.format(s.longitude, 6))"
                         + "  \(s.visits) visits  \(s.species.joined(separator: ", "))" + (s.isNew ? "  [new]" : ""))
        }
        lines.append("Species:")
        for (name, s) in r.speciesSummary.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name): \(s.count) visits, \(Fixed.trimmed(s.totalDuration, 1)) s, max "
                         + "\(Fixed.format(s.maxConfidence, 3)), mean \(Fixed.format(s.avgConfidence, 3))")
        }
        lines.append("Cameras:")
        for (name, c) in r.cameraSummary.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name): \(c.count) visits (\(c.species.joined(separator: ", ")))")
        }
        let x = r.excluded
        lines.append("Excluded: \(x.belowMinConfidence) below min_confidence \(Fixed.trimmed(r.compressionStats.minConfidence, 3)), "
                     + "\(x.withoutTimestamp) without capture time, \(x.malformedLines) malformed lines")
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
        if !missingFiles.isEmpty { lines.append("Missing files in the folder: " + missingFiles.joined(separator: ", ")) }
        return lines.joined(separator: "\n") + "\n"
    }
}

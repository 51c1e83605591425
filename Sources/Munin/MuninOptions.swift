/// How the worker processes media. Built once from the environment and the command line (flags win), then
/// validated; every error names the option.
public struct MuninOptions: Sendable, Equatable {
    /// Which detector runs.
    public enum DetectorChoice: Sendable, Equatable {
        /// The built-in `motion-v1` (no model; finds change).
        case motion
        /// A user command emitting MegaDetector batch JSON (see `ExternalDetector`).
        case external(command: String, name: String)
    }

    /// Seconds between sampled video frames.
    public var samplingInterval = 0.3
    /// At most this many sampled frames per video item (per segment when the video is cut into segments).
    public var maxFramesPerVideo = 1000
    /// Decode keyframes only (fast, coarse).
    public var keyframesOnly = false
    public var detector: DetectorChoice = .motion
    public var filter = Stage1Filter()
    /// The per-camera time-corrections CSV.
    public var timeCorrectionsPath: String?
    /// IANA zone for stills with no CSV row, no EXIF offset and no GPS position; unset means such times keep their
    /// local time with the zone marked unknown (timestamp null).
    public var defaultTimezone: String?
    /// Write a JPEG crop per kept detection under `runs/<run>/stage1/crops/`.
    public var cropsEnabled = false
    /// Crop padding as a fraction of the box size on each side (crops and thumbnails).
    public var cropPadding = 0.15
    /// Write a small JPEG thumbnail of the best detection of each species in each frame with detections
    /// (`StoreLayout.thumbnailKey`, next to Stage 1): what report.html shows per visit.
    public var thumbnailsEnabled = true
    /// Longer side of a thumbnail in pixels.
    public var thumbnailSize = 160
    /// Thumbnail JPEG quality, FFmpeg qscale 2 (best) … 31 (worst).
    public var thumbnailQuality = 6
    /// Files processed at once (threads).
    public var concurrency = 2
    /// Longer side of the grayscale picture the motion detector analyses.
    public var analysisSize = 320
    /// Frames per detector call (external commands get this many files at once).
    public var batchSize = 16
    /// Stills of one camera closer than this many seconds form one burst (one motion sequence).
    public var burstGapSeconds = 10.0
    /// Where IANA zone files live.
    public var zoneDirectory = "/usr/share/zoneinfo"
    /// Scratch folder for downloads, frame files and detector I/O.
    public var scratchDirectory = "/tmp"

    public init() {}

    /// Checks every value; the error names the flag.
    public func validate() throws(OptionError) {
        guard samplingInterval > 0, samplingInterval.isFinite else {
            throw OptionError(option: "--sampling-interval", "must be > 0 seconds (got \(samplingInterval))")
        }
        guard maxFramesPerVideo >= 1 else {
            throw OptionError(option: "--max-frames", "must be ≥ 1 (got \(maxFramesPerVideo))")
        }
        if case .external(let command, let name) = detector {
            guard !command.trimmingSpaces.isEmpty else {
                throw OptionError(option: "--detector-command", "required with --detector external")
            }
            guard command.contains("{images}") && command.contains("{output}") else {
                throw OptionError(option: "--detector-command",
                                  "must contain {images} and {output} placeholders (got '\(command)')")
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw OptionError(option: "--detector-name", "must be letters, digits, - _ . (got '\(name)')")
            }
        }
        try filter.validate()
        guard (0...1).contains(cropPadding) else {
            throw OptionError(option: "--crop-padding", "must be in 0…1 (got \(cropPadding))")
        }
        guard (16...1024).contains(thumbnailSize) else {
            throw OptionError(option: "--thumbnail-size", "must be 16…1024 pixels (got \(thumbnailSize))")
        }
        guard (2...31).contains(thumbnailQuality) else {
            throw OptionError(option: "--thumbnail-quality", "must be 2 (best) … 31 (got \(thumbnailQuality))")
        }
        guard (1...256).contains(concurrency) else {
            throw OptionError(option: "--concurrency", "must be 1…256 (got \(concurrency))")
        }
        guard (32...4096).contains(analysisSize) else {
            throw OptionError(option: "--analysis-size", "must be 32…4096 (got \(analysisSize))")
        }
        guard (1...1024).contains(batchSize) else {
            throw OptionError(option: "--batch-size", "must be 1…1024 (got \(batchSize))")
        }
        guard burstGapSeconds >= 0 else {
            throw OptionError(option: "--burst-gap", "must be ≥ 0 seconds (got \(burstGapSeconds))")
        }
    }

    // MARK: - Parsing

    struct Spec: Sendable {
        var flag: String
        var environment: String
        var help: String
        /// Flags without a value (`--keyframes-only`) set "true".
        var takesValue = true
        var apply: @Sendable (inout MuninOptions, String, String) throws(OptionError) -> Void
    }

    static func number(_ text: String, _ name: String) throws(OptionError) -> Double {
        guard let value = Double(text.trimmingSpaces), value.isFinite else {
            throw OptionError(option: name, "'\(text)' is not a number")
        }
        return value
    }

    static func integer(_ text: String, _ name: String) throws(OptionError) -> Int {
        guard let value = Int(text.trimmingSpaces) else { throw OptionError(option: name, "'\(text)' is not an integer") }
        return value
    }

    static func boolean(_ text: String, _ name: String) throws(OptionError) -> Bool {
        switch text.trimmingSpaces.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw OptionError(option: name, "'\(text)' is not true/false")
        }
    }

    static let specs: [Spec] = [
        Spec(flag: "--sampling-interval", environment: "MUNIN_SAMPLING_INTERVAL",
             help: "seconds between sampled video frames (default 0.3)") { o, v, n throws(OptionError) in
            o.samplingInterval = try number(v, n) },
        Spec(flag: "--max-frames", environment: "MUNIN_MAX_FRAMES",
             help: "sampled frames per video item at most (default 1000)") { o, v, n throws(OptionError) in
            o.maxFramesPerVideo = try integer(v, n) },
        Spec(flag: "--keyframes-only", environment: "MUNIN_KEYFRAMES_ONLY", help: "decode keyframes only",
             takesValue: false) { o, v, n throws(OptionError) in o.keyframesOnly = try boolean(v, n) },
        Spec(flag: "--detector", environment: "MUNIN_DETECTOR",
             help: "motion (built-in motion-v1, default) or external") { o, v, n throws(OptionError) in
            switch v.trimmingSpaces.lowercased() {
            case "motion", "motion-v1": o.detector = .motion
            case "external":
                if case .external = o.detector { return }
                o.detector = .external(command: "", name: "external")
            default: throw OptionError(option: n, "'\(v)' is not a detector; use motion or external")
            }
        },
        Spec(flag: "--detector-command", environment: "MUNIN_DETECTOR_COMMAND",
             help: "shell command with {images} and {output} (external detector)") { o, v, n throws(OptionError) in
            if case .external(_, let name) = o.detector { o.detector = .external(command: v, name: name) }
            else { o.detector = .external(command: v, name: "external") }
        },
        Spec(flag: "--detector-name", environment: "MUNIN_DETECTOR_NAME",
             help: "name recorded as external:<name> (default external)") { o, v, n throws(OptionError) in
            if case .external(let command, _) = o.detector { o.detector = .external(command: command, name: v) }
            else { o.detector = .external(command: "", name: v) }
        },
        Spec(flag: "--min-confidence", environment: "MUNIN_MIN_CONFIDENCE",
             help: "drop detections below this confidence (default 0.3)") { o, v, n throws(OptionError) in
            o.filter.minConfidence = try number(v, n) },
        Spec(flag: "--min-rel-area", environment: "MUNIN_MIN_REL_AREA",
             help: "drop boxes smaller than this fraction of the frame (default 0.003)") { o, v, n throws(OptionError) in
            o.filter.minRelativeArea = try number(v, n) },
        Spec(flag: "--max-rel-area", environment: "MUNIN_MAX_REL_AREA",
             help: "drop boxes larger than this fraction (default 0.8)") { o, v, n throws(OptionError) in
            o.filter.maxRelativeArea = try number(v, n) },
        Spec(flag: "--min-aspect", environment: "MUNIN_MIN_ASPECT",
             help: "drop boxes with width/height below (default 0.2)") { o, v, n throws(OptionError) in
            o.filter.minAspect = try number(v, n) },
        Spec(flag: "--max-aspect", environment: "MUNIN_MAX_ASPECT",
             help: "drop boxes with width/height above (default 5.0)") { o, v, n throws(OptionError) in
            o.filter.maxAspect = try number(v, n) },
        Spec(flag: "--edge-margin", environment: "MUNIN_EDGE_MARGIN",
             help: "pixels; boxes this close to the edge are marked doubtful (default 12)") { o, v, n throws(OptionError) in
            o.filter.edgeMargin = try integer(v, n) },
        Spec(flag: "--time-corrections", environment: "MUNIN_TIME_CORRECTIONS",
             help: "per-camera time corrections CSV") { o, v, n throws(OptionError) in
            o.timeCorrectionsPath = v.isEmpty ? nil : v },
        Spec(flag: "--default-timezone", environment: "MUNIN_DEFAULT_TIMEZONE",
             help: "IANA zone for stills with no CSV row, EXIF offset or GPS zone") { o, v, n throws(OptionError) in
            o.defaultTimezone = v.isEmpty ? nil : v },
        Spec(flag: "--crops", environment: "MUNIN_CROPS", help: "write JPEG crops of kept detections",
             takesValue: false) { o, v, n throws(OptionError) in o.cropsEnabled = try boolean(v, n) },
        Spec(flag: "--crop-padding", environment: "MUNIN_CROP_PADDING",
             help: "crop padding per side, fraction of the box (default 0.15)") { o, v, n throws(OptionError) in
            o.cropPadding = try number(v, n) },
        Spec(flag: "--thumbnails", environment: "MUNIN_THUMBNAILS",
             help: "write a small JPEG of each frame's best detection per species (default on; --no-thumbnails)",
             takesValue: false) { o, v, n throws(OptionError) in o.thumbnailsEnabled = try boolean(v, n) },
        Spec(flag: "--thumbnail-size", environment: "MUNIN_THUMBNAIL_SIZE",
             help: "longer side of a thumbnail in pixels (default 160)") { o, v, n throws(OptionError) in
            o.thumbnailSize = try integer(v, n) },
        Spec(flag: "--thumbnail-quality", environment: "MUNIN_THUMBNAIL_QUALITY",
             help: "thumbnail JPEG qscale, 2 best … 31 (default 6)") { o, v, n throws(OptionError) in
            o.thumbnailQuality = try integer(v, n) },
        Spec(flag: "--concurrency", environment: "MUNIN_CONCURRENCY",
             help: "files processed at once (default 2)") { o, v, n throws(OptionError) in
            o.concurrency = try integer(v, n) },
        Spec(flag: "--analysis-size", environment: "MUNIN_ANALYSIS_SIZE",
             help: "longer side of the motion analysis picture (default 320)") { o, v, n throws(OptionError) in
            o.analysisSize = try integer(v, n) },
        Spec(flag: "--batch-size", environment: "MUNIN_BATCH_SIZE",
             help: "frames per detector call (default 16)") { o, v, n throws(OptionError) in
            o.batchSize = try integer(v, n) },
        Spec(flag: "--burst-gap", environment: "MUNIN_BURST_GAP",
             help: "seconds; closer stills of a camera form one burst (default 10)") { o, v, n throws(OptionError) in
            o.burstGapSeconds = try number(v, n) },
        Spec(flag: "--zone-directory", environment: "MUNIN_ZONE_DIRECTORY",
             help: "IANA zone files (default /usr/share/zoneinfo)") { o, v, n throws(OptionError) in
            o.zoneDirectory = v },
        Spec(flag: "--scratch", environment: "MUNIN_SCRATCH",
             help: "scratch folder (default /tmp)") { o, v, n throws(OptionError) in o.scratchDirectory = v },
    ]

    /// Applies environment variables, then command-line flags, over `self`; returns the arguments it did not
    /// recognise (the caller's own flags). `--flag value` and `--flag=value` are both accepted; `--no-crops` and
    /// `--no-keyframes-only` turn switches off.
    public func applying(arguments: [String], environment: [String: String]) throws(OptionError)
        -> (options: MuninOptions, remaining: [String])
    {
        var options = self
        for spec in Self.specs {
            if let value = environment[spec.environment] { try spec.apply(&options, value, spec.environment) }
        }
        var remaining: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            var flag = argument, inline: String? = nil
            if let eq = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                flag = String(argument[..<eq])
                inline = String(argument[argument.index(after: eq)...])
            }
            if flag.hasPrefix("--no-"), let spec = Self.specs.first(where: { !$0.takesValue && $0.flag == "--" + flag.dropFirst(5) }) {
                try spec.apply(&options, "false", flag)
            } else if let spec = Self.specs.first(where: { $0.flag == flag }) {
                if !spec.takesValue {
                    try spec.apply(&options, inline ?? "true", flag)
                } else if let inline {
                    try spec.apply(&options, inline, flag)
                } else {
                    guard i + 1 < arguments.count else { throw OptionError(option: flag, "needs a value") }
                    i += 1
                    try spec.apply(&options, arguments[i], flag)
                }
            } else {
                remaining.append(argument)
            }
            i += 1
        }
        return (options, remaining)
    }

    /// One line per option: flag, environment variable, meaning.
    public static var helpText: String {
        specs.map { spec in
            let flag = spec.takesValue ? spec.flag + " V" : spec.flag
            return "  " + flag.padding(24) + spec.environment.padding(26) + spec.help
        }.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

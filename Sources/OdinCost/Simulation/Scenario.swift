import FoundationEssentials
import Odin

/// A bad trace line, spec entry or input: names where and how to fix it.
public struct ScenarioError: Error, CustomStringConvertible, Sendable, Equatable {
    public var location: String
    public var message: String
    public init(_ location: String, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): \(message)" }
}

/// One SD-card dump: `images` stills (and `videoSeconds` of video) uploaded by `camera` from `at` over `over` seconds.
public struct UploadBurst: Sendable, Equatable, Codable {
    public var at: Double
    public var camera: String
    public var images: Int
    public var over: Double
    public var videoSeconds: Double
    public init(at: Double, camera: String, images: Int, over: Double, videoSeconds: Double = 0) {
        self.at = at
        self.camera = camera
        self.images = images
        self.over = over
        self.videoSeconds = videoSeconds
    }
}

/// The simulated world: every value here is a SIMULATION INPUT (echoed in the report), not a measurement. Defaults
/// name their source; the scenario files under `scenarios/` set them explicitly.
public struct SimulationInputs: Sendable, Equatable, Codable {
    /// Seconds from the first possible upload to the end of accounting (every policy is charged up to here).
    public var durationSeconds: Double?
    /// Instance boot + image pull, uniform in [low, high] seconds. Default 70–300 s: "VM 1–4 min + image pull
    /// 10 s–10 min" (aws-batch-facts.md §3, lower part of the range).
    public var scaleUpLow = 70.0
    public var scaleUpHigh = 300.0
    /// Spot interruptions per instance-hour (Poisson). Default 0.
    public var interruptionsPerHour = 0.0
    /// Windows `[start, start + duration)` in which no Spot instance can be launched (INSUFFICIENT_INSTANCE_CAPACITY).
    public var capacityGaps: [[Double]] = []
    /// Actual detector seconds per still image on the simulated instance (default: the profile's assumption).
    public var secondsPerImage: Double?
    /// Seconds of container start per job attempt. Default 0.
    public var jobStartSeconds = 0.0
    /// Batch's own scale-down of an idle instance above minvCpus. No published figure (Batch terminates idle
    /// instances "not within seconds", aws-batch-facts.md §1.1); default 600 s, set it in the scenario.
    public var batchScaleDownSeconds = 600.0
    /// Seconds until an instance stops billing after Batch decides to terminate it. Default 0.
    public var terminateSeconds = 0.0
    /// The sweeper's schedule (rate(5 minutes) in the stack).
    public var sweeperSeconds = 300.0
    /// Uploads are delivered to the ingest function in batches of this many seconds.
    public var ingestBatchSeconds = 10.0
    /// Budget (in the profile's budget currency) at which the alarm fires; nil: the profile's budget.amount.
    public var budget: Double?
    /// Seconds from the spend crossing the budget until the alarm reaches the budget-guard function.
    public var alarmDelaySeconds = 0.0
    /// Spot price per instance-hour (prices currency); nil: the profile's prices.spot table (an assumption).
    public var spotPricePerHour: Double?
    /// On-Demand price per instance-hour; nil: the profile's prices.on_demand table (an assumption).
    public var onDemandPricePerHour: Double?
    /// Synthetic generation only: images uploaded per second during a dump.
    public var uploadImagesPerSecond = 20.0

    public init() {}

    /// Sets one input by its trace/spec name (`scale_up=70-300`, `interruptions_per_hour=0.1`, `gap=2d+6h`, …).
    public mutating func set(_ name: String, _ value: String, at location: String) throws(ScenarioError) {
        func number() throws(ScenarioError) -> Double { try SimulationInputs.duration(value, at: "\(location) \(name)") }
        func plain() throws(ScenarioError) -> Double {
            guard let v = Double(value), v.isFinite, v >= 0 else {
                throw ScenarioError("\(location) \(name)", "expected a number ≥ 0, found \"\(value)\"")
            }
            return v
        }
        switch name {
        case "duration": durationSeconds = try number()
        case "scale_up":
            let parts = value.split(separator: "-", maxSplits: 1).map(String.init)
            let low = try SimulationInputs.duration(parts[0], at: "\(location) scale_up")
            let high = parts.count > 1 ? try SimulationInputs.duration(parts[1], at: "\(location) scale_up") : low
            guard low <= high else { throw ScenarioError("\(location) scale_up", "low \(low) above high \(high); write LOW-HIGH") }
            scaleUpLow = low
            scaleUpHigh = high
        case "interruptions_per_hour": interruptionsPerHour = try plain()
        case "gap":
            let parts = value.split(separator: "+", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ScenarioError("\(location) gap", "expected START+DURATION (e.g. 2d+6h), found \"\(value)\"") }
            capacityGaps.append([try SimulationInputs.duration(parts[0], at: "\(location) gap"),
                                 try SimulationInputs.duration(parts[1], at: "\(location) gap")])
        case "seconds_per_image": secondsPerImage = try plain()
        case "job_start": jobStartSeconds = try number()
        case "batch_scale_down": batchScaleDownSeconds = try number()
        case "terminate": terminateSeconds = try number()
        case "sweeper": sweeperSeconds = max(1, try number())
        case "ingest_batch": ingestBatchSeconds = max(1, try number())
        case "budget": budget = try plain()
        case "alarm_delay": alarmDelaySeconds = try number()
        case "spot_price": spotPricePerHour = try plain()
        case "on_demand_price": onDemandPricePerHour = try plain()
        case "upload_rate": uploadImagesPerSecond = max(0.001, try plain())
        default:
            throw ScenarioError("\(location) \(name)", "unknown input; known: \(SimulationInputs.names.joined(separator: ", "))")
        }
    }

    public static let names = ["duration", "scale_up", "interruptions_per_hour", "gap", "seconds_per_image",
                               "job_start", "batch_scale_down", "terminate", "sweeper", "ingest_batch", "budget",
                               "alarm_delay", "spot_price", "on_demand_price", "upload_rate"]

    /// Seconds from `90`, `90s`, `15m`, `6h`, `2d` or a sum like `1h30m`.
    public static func duration(_ text: String, at location: String) throws(ScenarioError) -> Double {
        var total = 0.0
        var digits = ""
        var sawUnit = false
        func fail() -> ScenarioError {
            ScenarioError(location, "expected a duration like 90, 90s, 15m, 6h, 2d or 1h30m, found \"\(text)\"")
        }
        for character in text {
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default:
                digits.append(character)
                continue
            }
            guard let value = Double(digits), value.isFinite, value >= 0 else { throw fail() }
            total += value * unit
            digits = ""
            sawUnit = true
        }
        if !digits.isEmpty || !sawUnit {
            guard let value = Double(digits), value.isFinite, value >= 0, !(sawUnit && digits.isEmpty) else { throw fail() }
            total += value
        }
        return total
    }

    func inGap(_ t: Double) -> Bool { capacityGaps.contains { t >= $0[0] && t < $0[0] + $0[1] } }
    /// The end of the gap containing `t` (nil when none).
    func gapEnd(_ t: Double) -> Double? { capacityGaps.filter { t >= $0[0] && t < $0[0] + $0[1] }.map { $0[0] + $0[1] }.max() }
}

/// An upload trace plus the simulated world.
public struct Scenario: Sendable, Equatable, Codable {
    public var name: String
    public var inputs: SimulationInputs
    public var bursts: [UploadBurst]

    public init(name: String, inputs: SimulationInputs, bursts: [UploadBurst]) {
        self.name = name
        self.inputs = inputs
        self.bursts = bursts.sorted { ($0.at, $0.camera) < ($1.at, $1.camera) }
    }

    public var totalImages: Int { bursts.reduce(0) { $0 + $1.images } }
    public var totalVideoSeconds: Double { bursts.reduce(0) { $0 + $1.videoSeconds } }
    public var lastUploadEnd: Double { bursts.map { $0.at + $0.over }.max() ?? 0 }

    /// Parses a trace file:
    /// ```
    /// # comment
    /// name field-season
    /// set interruptions_per_hour 0.05
    /// set gap 3d+6h
    /// upload <at> <camera> <images> [over] [video=<seconds>]
    /// ```
    /// Times accept s/m/h/d suffixes.
    public static func parseTrace(_ text: String, file: String) throws(ScenarioError) -> Scenario {
        var inputs = SimulationInputs()
        var bursts: [UploadBurst] = []
        var name = file.split(separator: "/").last.map { String($0.split(separator: ".").first ?? $0) } ?? "trace"
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let verb = words.first else { continue }
            let location = "\(file):\(number + 1)"
            switch verb {
            case "name":
                guard words.count == 2 else { throw ScenarioError(location, "expected: name <word>") }
                name = words[1]
            case "set":
                guard words.count == 3 else { throw ScenarioError(location, "expected: set <input> <value>") }
                try inputs.set(words[1], words[2], at: location)
            case "upload":
                guard (4...6).contains(words.count) else {
                    throw ScenarioError(location, "expected: upload <at> <camera> <images> [over] [video=<seconds>]")
                }
                let at = try SimulationInputs.duration(words[1], at: "\(location) at")
                guard let images = Int(words[3]), images >= 0 else {
                    throw ScenarioError("\(location) images", "expected a whole number ≥ 0, found \"\(words[3])\"")
                }
                var over = 0.0
                var video = 0.0
                for extra in words.dropFirst(4) {
                    if extra.hasPrefix("video=") {
                        video = try SimulationInputs.duration(String(extra.dropFirst(6)), at: "\(location) video")
                    } else {
                        over = try SimulationInputs.duration(extra, at: "\(location) over")
                    }
                }
                bursts.append(UploadBurst(at: at, camera: words[2], images: images, over: over, videoSeconds: video))
            default:
                throw ScenarioError(location, "unknown line \"\(verb)\"; expected name, set or upload")
            }
        }
        guard !bursts.isEmpty else { throw ScenarioError(file, "no upload lines; add `upload <at> <camera> <images>`") }
        return Scenario(name: name, inputs: inputs, bursts: bursts)
    }

    /// A synthetic season from `key=value,…`: `days`, `images`, `cameras`, `dumps` (per camera), `video_hours`, plus
    /// any input name (`interruptions_per_hour=0.1`, `gap=2d+6h`, …). Deterministic for `seed`.
    public static func synthetic(_ spec: String, seed: UInt64) throws(ScenarioError) -> Scenario {
        var inputs = SimulationInputs()
        var days = 30.0
        var images = 100_000
        var cameras = 20
        var dumps = 4
        var videoHours = 0.0
        var name = "synthetic"
        for entry in spec.split(separator: ",") {
            let pair = entry.split(separator: "=", maxSplits: 1).map { String($0.filter { $0 != " " }) }
            guard pair.count == 2 else { throw ScenarioError("--synthetic \(entry)", "expected key=value") }
            let location = "--synthetic"
            func int() throws(ScenarioError) -> Int {
                guard let v = Int(pair[1].filter { $0 != "_" }), v >= 0 else {
                    throw ScenarioError("\(location) \(pair[0])", "expected a whole number ≥ 0, found \"\(pair[1])\"")
                }
                return v
            }
            switch pair[0] {
            case "days":
                guard let v = Double(pair[1]), v > 0 else { throw ScenarioError("\(location) days", "expected a number > 0") }
                days = v
            case "images": images = try int()
            case "cameras": cameras = max(1, try int())
            case "dumps": dumps = max(1, try int())
            case "video_hours":
                guard let v = Double(pair[1]), v >= 0 else { throw ScenarioError("\(location) video_hours", "expected a number ≥ 0") }
                videoHours = v
            case "name": name = pair[1]
            default: try inputs.set(pair[0], pair[1], at: location)
            }
        }
        var random = SimRandom(seed: seed).derived(0x7472_6163)
        let count = cameras * dumps
        let weights = (0..<count).map { _ in random.uniform(0.5, 1.5) }
        let total = weights.reduce(0, +)
        var bursts: [UploadBurst] = []
        var assigned = 0
        let horizon = days * 86_400
        for index in 0..<count {
            let camera = "cam\(String(index % cameras).leftPadded(3))"
            let dump = index / cameras
            let share = index == count - 1 ? images - assigned : Int((Double(images) * weights[index] / total).rounded(.down))
            assigned += share
            // Dumps are spread over the season: dump d of a camera lands in the d-th slice, at a random moment.
            let slice = horizon / Double(dumps)
            let at = (Double(dump) + random.uniform(0.05, 0.75)) * slice
            let video = videoHours * 3600 * weights[index] / total
            bursts.append(UploadBurst(at: at.rounded(.down), camera: camera, images: share,
                                      over: (Double(share) / inputs.uploadImagesPerSecond).rounded(.up),
                                      videoSeconds: video))
        }
        if inputs.durationSeconds == nil { inputs.durationSeconds = horizon }
        return Scenario(name: name, inputs: inputs, bursts: bursts)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}


/// The validated profile: every key of `profiles/default.yaml`, with the seed's defaults (architecture.md,
/// Configuration; domain-origin.md §5). Built once at cold start and injected.
public struct Profile: Sendable, Equatable {
    /// `cloud.aws.*` and the names of the stack's Batch resources.
    public struct Compute: Sendable, Equatable {
        public var region = "eu-north-1"
        public var spotInstances = true
        /// Spot price cap as % of On-Demand (seed: 70). Used by the deploy template, not by the functions.
        public var bidPercentage = 70
        public var fallbackToOnDemand = true
        public var maxVcpus = 100
        public var minVcpus = 0
        /// The seed's `desired_vcpus`. Only 0 is accepted: AWS rejects lowering desiredvCpus, and Odin never sets it.
        public var desiredVcpus = 0
        /// `minvCpus` set while a burst starts (reset to `min_vcpus` once a job runs); 0 = no warm capacity.
        public var warmMinVcpus = 0
        /// `maxvCpus = 0` on every CE at teardown (a hard freeze), in addition to `minvCpus = 0`.
        public var freezeOnTeardown = true
        /// In-queue Spot retries on `Host EC2*` before a chunk falls back to On-Demand (retryStrategy attempts = N + 1).
        public var reclaimRetries = 2
        public var instanceTypes = ["g4dn.xlarge", "g4dn.2xlarge"]
        public var spotQueue = "odin-spot"
        public var onDemandQueue = "odin-on-demand"
        public var spotComputeEnvironment = "odin-spot-gpu"
        public var onDemandComputeEnvironment = "odin-on-demand-gpu"
        public var workerJobDefinition = "odin-munin-worker"
        public var condenseJobDefinition = "odin-hugin"
        /// vCPUs one worker child requests (g4dn.xlarge has 4).
        public var vcpusPerJob = 4
        /// Per-child timeout (attemptDurationSeconds).
        public var jobTimeoutSeconds = 3600
    }

    /// `pipeline.cost_optimization.*` (seed keys).
    public struct CostOptimization: Sendable, Equatable {
        public var enabled = true
        public var spotPreferred = true
        /// Seconds a Spot child may stay RUNNABLE before the queue's jobStateTimeLimitActions cancels it.
        public var fallbackTimeout = 300
        public var costThreshold = 0.5
        public var maxParallelJobs = 10
    }

    /// `pipeline.chunking.*`: how a run is cut into array children.
    public struct Chunking: Sendable, Equatable {
        /// Target minutes of work per child (Batch guidance: 3–5 min; ≤ 30 min suits Spot).
        public var targetMinutes = 5.0
        /// ASSUMPTION (edit after measuring): seconds of detector work per still image.
        public var secondsPerImage = 0.5
        /// ASSUMPTION: bytes per second of camera-trap video, to estimate duration from the object size.
        public var videoBytesPerSecond = 2_000_000.0
        /// ASSUMPTION: seconds of work per second of video (frame sampling + detection).
        public var workSecondsPerVideoSecond = 1.0
        public var maxSegmentsPerVideo = 64
        /// Images are extension-matched, case-insensitive.
        public var imageExtensions = ["jpg", "jpeg", "png", "tif", "tiff"]
        public var videoExtensions = ["mp4", "mov", "avi", "mkv", "m4v"]
    }

    /// `pipeline.ingest.*`: how a burst of uploads becomes a bounded number of runs.
    public struct Ingest: Sendable, Equatable {
        /// A camera's collecting run is sealed when no new upload arrived for this long…
        public var settleSeconds = 60
        /// …or when it has been open this long…
        public var maxWaitSeconds = 900
        /// …or holds this many objects.
        public var maxObjectsPerRun = 100_000
        /// De-duplication keys live this many days (DynamoDB TTL).
        public var dedupTTLDays = 30
    }

    /// `pipeline.clustering.*` (Hugin).
    public struct Clustering: Sendable, Equatable {
        public var radiusMeters = 5.0
        public var visitGapMinutes = 10.0
        /// Runs with at most this many chunks are condensed in-process instead of as a Batch job.
        public var inProcessMaxChunks = 20
    }

    /// `pipeline.time.*` (Munin).
    public struct Time: Sendable, Equatable {
        /// IANA zone for stills with no time-corrections row, no EXIF offset and no GPS zone (their own position or
        /// their camera's other stills'); the worker's `MUNIN_DEFAULT_TIMEZONE`. Nil: their local time is kept and
        /// marked unknown.
        public var defaultTimezone: String? = nil
    }

    /// `storage.lifecycle.*` (seed keys; days; used by the deploy template).
    public struct Lifecycle: Sendable, Equatable {
        public var transitionToIA = 30
        public var transitionToGlacier = 90
        public var deleteOldVersions = 30
    }

    /// `budget.*`.
    public struct Budget: Sendable, Equatable {
        public enum OnAlarm: String, Sendable, Equatable { case terminate, drain }
        /// What a FORECASTED AWS Budgets alert does: `notify` publishes a warning to the notify topic; `stop` runs
        /// the kill-switch (in `onAlarm`'s mode) when the forecast reaches the stop amount, like an ACTUAL alert.
        public enum OnForecast: String, Sendable, Equatable { case notify, stop }
        /// Spend cap for pacing, in `currency`.
        public var amount = 100.0
        public var currency = "USD"
        /// Units of `currency` per 1 unit of `prices.currency`.
        public var exchangeRate = 1.0
        /// AWS Budgets names whose exceeded-threshold notifications trigger the kill-switch.
        public var actOnBudgets = ["odin-monthly"]
        /// CloudWatch alarm names whose ALARM state triggers the kill-switch.
        public var actOnAlarms = ["odin-spend"]
        public var onAlarm = OnAlarm.terminate
        public var onForecast = OnForecast.notify
        /// The spend (in the budget's currency) at which a Budgets notification stops everything: the stack's
        /// BudgetStopAmount, handed to the functions as ODIN_BUDGET_STOP_AMOUNT. A notification whose threshold and
        /// reported amount are both below it (the BudgetWarnAmount warning) only notifies. Nil (no stack, e.g. local
        /// mode): every exceeded-threshold notification of a named budget stops.
        public var stopAmount: Double?
        public var pacingEnabled = true
        /// maxvCpus is capped so the remaining budget lasts at least this many hours at full capacity.
        public var pacingHorizonHours = 24.0
        /// Quote each sealed run before submitting it and hold (status waiting_for_budget, refusal recorded, notified)
        /// a run whose upper estimate exceeds the remaining budget (issue 9).
        public var quoteBeforeRun = false
    }

    /// `prices.*`: EDITABLE ASSUMPTIONS, per instance-hour.
    public struct Prices: Sendable, Equatable {
        public var currency = "USD"
        /// The seed's hard-coded On-Demand table (USD/h, region not stated there; eu-north-1 differs: edit).
        public var onDemand: [String: Double] = [
            "g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176,
            "p3.2xlarge": 3.06, "p3.8xlarge": 12.24, "m5.large": 0.096, "m5.xlarge": 0.192,
        ]
        /// Spot estimates (aws-batch-facts.md §3, third-party figures marked "verify"); types missing here are
        /// charged at the On-Demand price (conservative).
        public var spot: [String: Double] = ["g4dn.xlarge": 0.16, "g5.xlarge": 0.30]
        /// vCPUs per instance type (AWS instance specifications).
        public var vcpus: [String: Double] = [
            "g4dn.xlarge": 4, "g4dn.2xlarge": 8, "g4dn.4xlarge": 16, "g4dn.8xlarge": 32, "g5.xlarge": 4,
            "g6.xlarge": 4, "p3.2xlarge": 8, "p3.8xlarge": 32, "m5.large": 2, "m5.xlarge": 4,
        ]
    }

    public var name = "default"
    public var compute = Compute()
    public var costOptimization = CostOptimization()
    public var chunking = Chunking()
    public var ingest = Ingest()
    public var clustering = Clustering()
    public var time = Time()
    public var lifecycle = Lifecycle()
    public var budget = Budget()
    public var prices = Prices()

    /// The defaults (equal to `profiles/default.yaml`).
    public init() {}

    /// Validates a tree; unknown keys and out-of-range values throw naming the full key path.
    public init(_ tree: ConfigValue) throws(ProfileError) {
        var root = try ConfigReader(path: "", value: tree)
        name = try root.string("name", name)

        var cloud = try root.section("cloud")
        var aws = try cloud.section("aws")
        compute.region = try aws.string("region", compute.region)
        var c = try aws.section("compute")
        compute.spotInstances = try c.bool("spot_instances", compute.spotInstances)
        compute.bidPercentage = try c.int("bid_percentage", compute.bidPercentage, 1...100)
        compute.fallbackToOnDemand = try c.bool("fallback_to_ondemand", compute.fallbackToOnDemand)
        compute.maxVcpus = try c.int("max_vcpus", compute.maxVcpus, 0...100_000)
        compute.minVcpus = try c.int("min_vcpus", compute.minVcpus, 0...100_000)
        compute.desiredVcpus = try c.int("desired_vcpus", compute.desiredVcpus, 0...0)
        compute.warmMinVcpus = try c.int("warm_min_vcpus", compute.warmMinVcpus, 0...100_000)
        compute.freezeOnTeardown = try c.bool("freeze_on_teardown", compute.freezeOnTeardown)
        compute.reclaimRetries = try c.int("reclaim_retries", compute.reclaimRetries, 0...9)
        compute.instanceTypes = try c.strings("instance_types", compute.instanceTypes, allowEmpty: false)
        compute.spotQueue = try c.string("spot_queue", compute.spotQueue)
        compute.onDemandQueue = try c.string("on_demand_queue", compute.onDemandQueue)
        compute.spotComputeEnvironment = try c.string("spot_compute_environment", compute.spotComputeEnvironment)
        compute.onDemandComputeEnvironment = try c.string("on_demand_compute_environment",
                                                          compute.onDemandComputeEnvironment)
        compute.workerJobDefinition = try c.string("worker_job_definition", compute.workerJobDefinition)
        compute.condenseJobDefinition = try c.string("condense_job_definition", compute.condenseJobDefinition)
        compute.vcpusPerJob = try c.int("vcpus_per_job", compute.vcpusPerJob, 1...192)
        compute.jobTimeoutSeconds = try c.int("job_timeout", compute.jobTimeoutSeconds, 60...1_209_600)
        try c.finish()
        if compute.minVcpus > compute.maxVcpus {
            throw ProfileError(keyPath: "cloud.aws.compute.min_vcpus",
                               "\(compute.minVcpus) exceeds max_vcpus \(compute.maxVcpus); allowed: 0…max_vcpus")
        }
        if compute.warmMinVcpus > compute.maxVcpus {
            throw ProfileError(keyPath: "cloud.aws.compute.warm_min_vcpus",
                               "\(compute.warmMinVcpus) exceeds max_vcpus \(compute.maxVcpus); allowed: 0…max_vcpus")
        }
        try aws.finish()
        try cloud.finish()

        var pipeline = try root.section("pipeline")
        var cost = try pipeline.section("cost_optimization")
        costOptimization.enabled = try cost.bool("enabled", costOptimization.enabled)
        costOptimization.spotPreferred = try cost.bool("spot_preferred", costOptimization.spotPreferred)
        costOptimization.fallbackTimeout = try cost.int("fallback_timeout", costOptimization.fallbackTimeout, 60...86_400)
        costOptimization.costThreshold = try cost.double("cost_threshold", costOptimization.costThreshold, 0...1)
        costOptimization.maxParallelJobs = try cost.int("max_parallel_jobs", costOptimization.maxParallelJobs, 1...1024)
        try cost.finish()
        var chunk = try pipeline.section("chunking")
        chunking.targetMinutes = try chunk.double("target_minutes", chunking.targetMinutes, 0.5...120)
        chunking.secondsPerImage = try chunk.double("seconds_per_image", chunking.secondsPerImage, 0.001...3600)
        chunking.videoBytesPerSecond = try chunk.double("video_bytes_per_second", chunking.videoBytesPerSecond,
                                                        1_000...1e10)
        chunking.workSecondsPerVideoSecond = try chunk.double("work_seconds_per_video_second",
                                                              chunking.workSecondsPerVideoSecond, 0.001...1000)
        chunking.maxSegmentsPerVideo = try chunk.int("max_segments_per_video", chunking.maxSegmentsPerVideo, 1...1000)
        chunking.imageExtensions = try chunk.strings("image_extensions", chunking.imageExtensions).map { $0.lowercased() }
        chunking.videoExtensions = try chunk.strings("video_extensions", chunking.videoExtensions).map { $0.lowercased() }
        try chunk.finish()
        var ing = try pipeline.section("ingest")
        ingest.settleSeconds = try ing.int("settle_seconds", ingest.settleSeconds, 0...86_400)
        ingest.maxWaitSeconds = try ing.int("max_wait_seconds", ingest.maxWaitSeconds, 0...604_800)
        ingest.maxObjectsPerRun = try ing.int("max_objects_per_run", ingest.maxObjectsPerRun, 1...10_000_000)
        ingest.dedupTTLDays = try ing.int("dedup_ttl_days", ingest.dedupTTLDays, 1...3650)
        try ing.finish()
        var clus = try pipeline.section("clustering")
        clustering.radiusMeters = try clus.double("radius_m", clustering.radiusMeters, 0.1...10_000)
        clustering.visitGapMinutes = try clus.double("visit_gap_minutes", clustering.visitGapMinutes, 0.1...10_080)
        clustering.inProcessMaxChunks = try clus.int("in_process_max_chunks", clustering.inProcessMaxChunks, 0...10_000)
        try clus.finish()
        var tm = try pipeline.section("time")
        if let zone = try tm.optionalString("default_timezone") {
            let allowed = zone.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "/_-+".unicodeScalars.contains($0)
            }
            guard allowed, !zone.hasPrefix("/"), !zone.split(separator: "/").contains("..") else {
                throw ProfileError(keyPath: "pipeline.time.default_timezone",
                                   "\"\(zone)\" is not an IANA zone name; write one such as Europe/Stockholm, or null")
            }
            time.defaultTimezone = zone
        }
        try tm.finish()
        try pipeline.finish()

        var storage = try root.section("storage")
        var life = try storage.section("lifecycle")
        lifecycle.transitionToIA = try life.int("transition_to_ia", lifecycle.transitionToIA, 1...3650)
        lifecycle.transitionToGlacier = try life.int("transition_to_glacier", lifecycle.transitionToGlacier, 1...3650)
        lifecycle.deleteOldVersions = try life.int("delete_old_versions", lifecycle.deleteOldVersions, 1...3650)
        try life.finish()
        try storage.finish()

        var b = try root.section("budget")
        budget.amount = try b.double("amount", budget.amount, 0...1e9)
        budget.currency = try b.string("currency", budget.currency)
        budget.exchangeRate = try b.double("exchange_rate", budget.exchangeRate, 1e-6...1e6)
        budget.actOnBudgets = try b.strings("act_on_budgets", budget.actOnBudgets)
        budget.actOnAlarms = try b.strings("act_on_alarms", budget.actOnAlarms)
        budget.quoteBeforeRun = try b.bool("quote_before_run", budget.quoteBeforeRun)
        budget.onAlarm = Budget.OnAlarm(rawValue: try b.string("on_alarm", budget.onAlarm.rawValue,
                                                               allowed: ["terminate", "drain"]))!
        budget.onForecast = Budget.OnForecast(rawValue: try b.string("on_forecast", budget.onForecast.rawValue,
                                                                     allowed: ["notify", "stop"]))!
        var pacing = try b.section("pacing")
        budget.pacingEnabled = try pacing.bool("enabled", budget.pacingEnabled)
        budget.pacingHorizonHours = try pacing.double("horizon_hours", budget.pacingHorizonHours, 0.1...8760)
        try pacing.finish()
        try b.finish()

        var p = try root.section("prices")
        prices.currency = try p.string("currency", prices.currency)
        prices.onDemand = try p.numberTable("on_demand", prices.onDemand, 0...1000)
        prices.spot = try p.numberTable("spot", prices.spot, 0...1000)
        prices.vcpus = try p.numberTable("vcpus", prices.vcpus, 1...1024)
        try p.finish()
        try root.finish()

        for (index, type) in compute.instanceTypes.enumerated() where prices.onDemand[type] == nil || prices.vcpus[type] == nil {
            throw ProfileError(keyPath: "cloud.aws.compute.instance_types[\(index)]",
                               "\(type) has no entry in prices.on_demand and prices.vcpus; add both")
        }
    }

    /// Reads the profile from the function's environment: `ODIN_PROFILE_JSON` (the profile as JSON), else defaults.
    public static func fromEnvironment(_ environment: [String: String]) throws(ProfileError) -> Profile {
        guard let json = environment["ODIN_PROFILE_JSON"], !json.isEmpty else { return Profile() }
        do {
            return try Profile(ConfigValue.parseJSON(Array(json.utf8)))
        } catch {
            throw ProfileError(keyPath: "ODIN_PROFILE_JSON." + error.keyPath, error.message)
        }
    }

    // MARK: - Derived values

    /// The queue new runs go to.
    public var primaryQueue: String {
        compute.spotInstances && costOptimization.spotPreferred ? compute.spotQueue : compute.onDemandQueue
    }
    public var queues: [String] { [compute.spotQueue, compute.onDemandQueue] }
    public var computeEnvironments: [String] { [compute.spotComputeEnvironment, compute.onDemandComputeEnvironment] }

    /// Price per vCPU-hour (in `prices.currency`) of the first instance type, on Spot or On-Demand.
    public func pricePerVcpuHour(spot: Bool) -> Double {
        let type = compute.instanceTypes[0]
        let perHour = spot ? (prices.spot[type] ?? prices.onDemand[type] ?? 0) : (prices.onDemand[type] ?? 0)
        return perHour / (prices.vcpus[type] ?? 1)
    }

    /// The smallest vCPU count among the instance types (maxvCpus below it strands jobs RUNNABLE).
    public var smallestInstanceVcpus: Int {
        Int(compute.instanceTypes.compactMap { prices.vcpus[$0] }.min() ?? 1)
    }
}

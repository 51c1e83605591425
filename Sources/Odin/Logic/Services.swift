import Events
import OdinBasics
import OdinKit

/// Everything the control logic runs against, injected: the profile, the ports, the clock and the logger. The
/// Lambda mains build one at cold start (AWS binding); the local mode, tests and the simulator build theirs.
public struct OdinServices: Sendable {
    public var profile: Profile
    public var objects: any ObjectStore
    public var state: any StateStore
    public var compute: any Compute
    public var notifier: any Notifier
    public var metrics: any MetricsSink
    public var condensation: any Condensation
    public var clock: any WallClock
    public var log: Logger

    public init(profile: Profile, objects: any ObjectStore, state: any StateStore, compute: any Compute,
                notifier: any Notifier, metrics: any MetricsSink, condensation: any Condensation,
                clock: any WallClock, log: Logger = .silent) {
        self.profile = profile
        self.objects = objects
        self.state = state
        self.compute = compute
        self.notifier = notifier
        self.metrics = metrics
        self.condensation = condensation
        self.clock = clock
        self.log = log
    }

    /// When the current invocation must have answered (the Lambda context's deadline); nil outside Lambda.
    public var deadline: Instant?
    /// No new work is started with less than this left before `deadline`; the rest is left for the redelivery (or
    /// the sweeper's next run).
    public var deadlineReserveSeconds: Double = 10

    /// These services for one invocation that must answer by `deadlineMs` (epoch milliseconds; 0: no deadline).
    public func until(deadlineMs: Int64) -> OdinServices {
        var services = self
        services.deadline = deadlineMs > 0 ? Instant(timeIntervalSince1970: Double(deadlineMs) / 1000) : nil
        return services
    }

    /// True when the invocation is too close to its deadline to start another step.
    var nearDeadline: Bool {
        guard let deadline else { return false }
        return deadline.timeIntervalSince(clock.now()) < deadlineReserveSeconds
    }

    var nowSeconds: Int64 { Int64(clock.now().timeIntervalSince1970.rounded(.down)) }
    var nowMillis: Int64 { Int64((clock.now().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// A control-logic failure that is not a port error: names what is wrong and where.
public struct OdinError: Error, CustomStringConvertible, Sendable, Equatable {
    public let context: String
    public let message: String
    public init(_ context: String, _ message: String) {
        self.context = context
        self.message = message
    }
    public var description: String { "\(context): \(message)" }
}

// MARK: - Cost ledger and pacing

/// The cost ledger: vCPU-milliseconds of finished attempts × the price in effect, per month and per run.
public enum CostLedger {
    /// Estimated spend recorded for `month` (`yyyy-MM`), in the prices' currency.
    public static func spend(month: String, state: any StateStore) throws -> Double {
        guard let item = try state.get(Schema.ledger(month: month)) else { return 0 }
        return Double(item["costMicros"]?.intValue ?? 0) / 1_000_000
    }

    /// vCPU-ms of a job's attempts (each attempt's stoppedAt − startedAt × vCPUs).
    static func vcpuMillis(_ detail: BatchJobDetail, defaultVcpus: Int) -> Int64 {
        let vcpus = detail.vcpus ?? Double(defaultVcpus)
        var total: Int64 = 0
        for attempt in detail.attempts ?? [] {
            if let start = attempt.startedAt, let stop = attempt.stoppedAt, stop > start {
                total += Int64(Double(stop - start) * vcpus)
            }
        }
        return total
    }

    /// The writes that charge a finished job's usage to the run and the month (two ADDs), to commit in the same
    /// transaction as the marker that makes the charge happen once; empty when the job used nothing measurable.
    static func charge(_ detail: BatchJobDetail, runID: String, spot: Bool, services: OdinServices) -> [StateWrite] {
        let millis = vcpuMillis(detail, defaultVcpus: services.profile.compute.vcpusPerJob)
        guard millis > 0 else { return [] }
        let cost = Double(millis) / 3_600_000 * services.profile.pricePerVcpuHour(spot: spot)
        let micros = Int64((cost * 1_000_000).rounded())
        let field = spot ? "vcpuMsSpot" : "vcpuMsOnDemand"
        return [.add(Schema.runCounters(runID), counters: [field: millis, "costMicros": micros], set: [:]),
                .add(Schema.ledger(month: UTC.month(services.clock.now())),
                     counters: [field: millis, "costMicros": micros], set: [:])]
    }
}

/// Budget pacing of `maxvCpus` (HyP3-style): the remaining budget must last `pacing.horizon_hours` at full capacity.
public enum Pacer {
    /// The `maxvCpus` cap given the spend so far (in the prices' currency). 0 means "no budget left".
    public static func cap(profile: Profile, spent: Double) -> Int {
        let maximum = profile.compute.maxVcpus
        guard profile.budget.pacingEnabled else { return maximum }
        let remaining = profile.budget.amount - spent * profile.budget.exchangeRate
        guard remaining > 0 else { return 0 }
        let perVcpuHour = profile.pricePerVcpuHour(spot: profile.compute.spotInstances) * profile.budget.exchangeRate
        guard perVcpuHour > 0 else { return maximum }
        let affordable = remaining / (perVcpuHour * profile.budget.pacingHorizonHours)
        let smallest = profile.smallestInstanceVcpus
        if affordable >= Double(maximum) { return maximum }
        if affordable >= Double(smallest) { return Int(affordable.rounded(.down)) }
        // Below one instance over the horizon: allow one instance while an hour of it is still affordable.
        return remaining >= Double(smallest) * perVcpuHour ? min(smallest, maximum) : 0
    }

    public static func currentCap(services: OdinServices) throws -> Int {
        cap(profile: services.profile, spent: try CostLedger.spend(month: UTC.month(services.clock.now()),
                                                                     state: services.state))
    }
}

// MARK: - Capacity

/// Opening and tearing down capacity. Only minvCpus/maxvCpus and ENABLED/DISABLED are ever changed; desiredvCpus is
/// never set (AWS rejects lowering it).
public enum Capacity {
    /// The budget guard has stopped the spend; nothing may open capacity until `odin resume` clears it.
    public static func budgetStopped(_ services: OdinServices) throws -> Bool {
        try services.state.get(Schema.budgetStop)?["active"]?.boolValue ?? false
    }

    /// Enables our queues and CEs and raises maxvCpus to `cap` (and minvCpus to the warm value). Skips calls whose
    /// target state already holds. Returns the number of update calls made.
    /// - Parameter adjustMinimum: false leaves minvCpus alone (the sweeper's pacing keeps warm capacity warm).
    @discardableResult
    public static func open(cap: Int, warm: Bool, adjustMinimum: Bool = true, services: OdinServices) throws -> Int {
        let profile = services.profile
        var calls = 0
        for queue in try services.compute.describeQueues(profile.queues) where !queue.isEnabled {
            try services.compute.setQueueEnabled(queue.name, true)
            calls += 1
        }
        let baseMinimum = warm && profile.compute.warmMinVcpus > 0 ? min(profile.compute.warmMinVcpus, cap)
                                                                     : min(profile.compute.minVcpus, cap)
        for ce in try services.compute.describeComputeEnvironments(profile.computeEnvironments) {
            var update = ComputeEnvironmentUpdate()
            if !ce.isEnabled { update.isEnabled = true }
            let maximum = pacedMaximum(ce, cap: cap)
            if ce.maxvCpus != maximum { update.maxvCpus = maximum }
            let minimum = min(baseMinimum, maximum)
            if adjustMinimum && ce.minvCpus != minimum && (warm || ce.minvCpus > minimum) { update.minvCpus = minimum }
            if !adjustMinimum && ce.minvCpus > maximum { update.minvCpus = maximum }
            if update != ComputeEnvironmentUpdate() {
                try services.compute.updateComputeEnvironment(ce.name, update)
                calls += 1
            }
        }
        return calls
    }

    /// The update that takes a CE to zero: minvCpus=0, and with `freeze` maxvCpus=0. desiredvCpus must stay within
    /// [min, max] and cannot be lowered by us (aws-batch-facts.md §1.2), so while instances still count in
    /// desiredvCpus the CE is DISABLED instead of lowering maxvCpus below it (HyP3's approach); the sweeper re-applies
    /// teardown and sets maxvCpus=0 once desiredvCpus has drained. Nil when nothing needs to change.
    static func scaleDown(_ ce: ComputeEnvironmentInfo, freeze: Bool) -> ComputeEnvironmentUpdate? {
        var update = ComputeEnvironmentUpdate()
        if ce.minvCpus != 0 { update.minvCpus = 0 }
        if freeze && ce.maxvCpus != 0 {
            if ce.desiredvCpus == 0 { update.maxvCpus = 0 } else if ce.isEnabled { update.isEnabled = false }
        }
        return update == ComputeEnvironmentUpdate() ? nil : update
    }

    /// maxvCpus for pacing: never below the current desiredvCpus (the update would be rejected).
    static func pacedMaximum(_ ce: ComputeEnvironmentInfo, cap: Int) -> Int { max(cap, ce.desiredvCpus) }

    /// True when no job is SUBMITTED/PENDING/RUNNABLE/STARTING/RUNNING in any of our queues.
    public static func isIdle(_ services: OdinServices) throws -> Bool {
        for queue in services.profile.queues {
            for status in BatchJobStatus.active where !(try services.compute.listJobs(.queue(queue, status: status))).isEmpty {
                return false
            }
        }
        return true
    }

    /// Tears down when idle: minvCpus=0 on every CE (and maxvCpus=0 when the profile freezes), then checks again and
    /// re-opens when a job arrived meanwhile (an upload during teardown still completes). Records the time.
    @discardableResult
    public static func teardownIfIdle(reason: String, services: OdinServices) throws -> Bool {
        guard try isIdle(services) else { return false }
        let freeze = services.profile.compute.freezeOnTeardown
        for ce in try services.compute.describeComputeEnvironments(services.profile.computeEnvironments) {
            if let update = scaleDown(ce, freeze: freeze) { try services.compute.updateComputeEnvironment(ce.name, update) }
        }
        if !(try isIdle(services)) {
            if !(try budgetStopped(services)) {
                try open(cap: try Pacer.currentCap(services: services), warm: false, services: services)
            }
            services.log.info("teardown raced a new job; capacity re-opened", ["reason": reason])
            return false
        }
        try services.state.add(Schema.teardown, counters: ["count": 1],
                               set: ["at": .string(UTC.iso(services.clock.now())), "atEpoch": .int(services.nowSeconds),
                                     "reason": .string(reason), "froze": .bool(freeze)])
        services.metrics.emit([Metric("Teardowns", 1)], dimensions: ["Service": "odin"], properties: ["reason": reason])
        services.log.info("teardown", ["reason": reason, "freeze": String(freeze)])
        return true
    }
}

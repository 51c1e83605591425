import Events
import FoundationEssentials
import Odin
import OdinBasics
import OdinKit
import OdinLocal

/// The control policy a simulation runs.
public enum SimulationPolicy: String, CaseIterable, Sendable, Codable {
    /// Odin's production control logic (IngestService, JobEventsService, SweeperService, BudgetGuardService).
    case ours
    /// The seed's old behaviour: the Spot CE holds minvCpus = maxvCpus for the whole season; one array job per dump;
    /// no fallback, no teardown, no kill-switch.
    case staticFleet = "static"
    /// One Spot CE with minvCpus 0 and Batch's own idle scale-down; one array job per dump; in-queue retries on
    /// reclaim only; no fallback, no kill-switch.
    case batchDefault = "batch-default"
    /// Reference: Odin's control logic with `spot_instances: false` (everything On-Demand).
    case onDemand = "on-demand"
}

/// What a simulation measured. Money is in `prices.currency`; times in seconds.
public struct SimulationReport: Codable, Sendable, Equatable {
    public struct Prices: Codable, Sendable, Equatable {
        public var instanceType: String
        public var currency: String
        public var spotPerHour: Double
        public var spotOrigin: String
        public var onDemandPerHour: Double
        public var onDemandOrigin: String
    }
    public struct Distribution: Codable, Sendable, Equatable {
        public var count: Int
        public var mean: Double
        public var p50: Double
        public var p95: Double
        public var max: Double
        init(_ values: [Double]) {
            let sorted = values.sorted()
            count = sorted.count
            mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
            func at(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(q * Double(sorted.count - 1)))] }
            p50 = at(0.5)
            p95 = at(0.95)
            max = sorted.last ?? 0
        }
    }
    public struct Budget: Codable, Sendable, Equatable {
        /// The alarm threshold in the prices' currency (budget / exchange rate).
        public var threshold: Double
        public var alarmReachedFunctionAt: Double?
        public var costWhenAlarmArrived: Double?
        /// Fleet cost accrued after the alarm reached the function.
        public var overshootCost: Double?
        /// `overshootCost` in seconds of the fleet's cost rate when the alarm arrived.
        public var overshootSecondsOfFleetCost: Double?
        public var killSwitch: Bool
    }
    public struct Invariants: Codable, Sendable, Equatable {
        public var jobsStartedWhileKillSwitchActive: Int
        /// Seconds from each drain (no job RUNNABLE or RUNNING) to zero instances.
        public var teardownAfterDrain: Distribution
        /// Drains the fleet did not reach zero from before new work arrived or the simulation ended.
        public var drainsWithoutTeardown: Int
        public var eventErrors: Int
        public var firstEventError: String?
    }
    public struct Sample: Codable, Sendable, Equatable {
        public var t: Double
        public var spotVcpus: Int
        public var onDemandVcpus: Int
        public var runnable: Int
        public var running: Int
    }

    public var scenario: String
    public var policy: String
    public var seed: UInt64
    public var inputs: SimulationInputs
    public var prices: Prices
    public var simulatedSeconds: Double
    public var imagesUploaded: Int
    public var videoSecondsUploaded: Double
    public var runs: Int
    public var runsCompleted: Int
    public var imagesInCompletedRuns: Int
    public var chunks: Int
    public var chunksSucceeded: Int
    public var chunksFailed: Int
    public var attemptsReclaimed: Int
    public var chunksFallenBack: Int
    public var instancesLaunchedSpot: Int
    public var instancesLaunchedOnDemand: Int
    public var totalCost: Double
    public var spotCost: Double
    public var onDemandCost: Double
    public var costPer1000Images: Double
    /// Odin's own cost ledger (job vCPU-time × the profile's price table) at the end: `ours`/`on-demand` only.
    public var ledgerEstimate: Double?
    public var makespan: Distribution
    public var idleVcpuMinutesAfterDrain: Double
    public var idleVcpuMinutesPerRun: Double
    public var spotWorkShare: Double
    public var budget: Budget
    public var invariants: Invariants
    public var samples: [Sample]
}

/// Runs one policy over one scenario with a simulated clock and compute model. For `ours` (and `on-demand`) every
/// decision is made by Odin's production services over `OdinServices` built here — the simulator only delivers
/// events (S3 uploads, Batch job state changes, scheduled sweeps, the budget alarm) and advances time.
public final class Simulator {
    public let profile: Profile
    public let scenario: Scenario
    public let policy: SimulationPolicy
    public let seed: UInt64
    /// The simulated clock (starts at 2026-06-01T00:00:00Z).
    public let clock: ManualClock
    /// The state store the control logic used (inspect it after `run()`).
    public let state: SimulationStateStore
    public let notifier = MemoryNotifier()
    /// The services the control logic ran with (nil for `static` / `batch-default`).
    public private(set) var services: OdinServices?

    static let startEpoch = 1_780_272_000.0

    let batch: SimulatedBatch
    let objects = MemoryObjectStore()
    var heap = EventHeap()
    var now = 0.0
    var cost = [0.0, 0.0]
    var idleVcpuSeconds = 0.0
    var samples: [SimulationReport.Sample] = []
    var alarmScheduled = false
    var budgetInfo: SimulationReport.Budget
    var runStarted: [String: Double] = [:]
    var runFinished: [String: Double] = [:]
    var runImages: [String: Int] = [:]
    var drainStart: Double?
    var wasDrained = true
    var teardownDelays: [Double] = []
    var drainsWithoutTeardown = 0
    var eventErrors = 0
    var firstEventError: String?
    // Alternative policies' own bookkeeping.
    var altRuns: [String: (chunks: Int, terminal: Int, failed: Int)] = [:]
    var altSucceeded = 0
    var altFailed = 0
    var burstCursor: [Int]
    var nextBurst = 0
    var uploadsDone = false

    public init(profile: Profile, scenario: Scenario, policy: SimulationPolicy, seed: UInt64) {
        var effective = profile
        if policy == .onDemand { effective.compute.spotInstances = false }
        self.profile = effective
        self.scenario = scenario
        self.policy = policy
        self.seed = seed
        clock = ManualClock(Instant(timeIntervalSince1970: Self.startEpoch))
        state = SimulationStateStore(clock: clock, expectedObjects: scenario.totalImages)
        let prices = Self.prices(profile: effective, inputs: scenario.inputs)
        batch = SimulatedBatch(profile: effective, inputs: scenario.inputs, objects: objects, seed: seed,
                               spotPrice: prices.spotPerHour, onDemandPrice: prices.onDemandPerHour, epoch: Self.startEpoch)
        let threshold = (scenario.inputs.budget ?? effective.budget.amount) / effective.budget.exchangeRate
        budgetInfo = .init(threshold: threshold, killSwitch: policy == .ours || policy == .onDemand)
        burstCursor = Array(repeating: 0, count: scenario.bursts.count)
    }

    /// The prices the fleet is charged at, with their origin (never an invented figure).
    public static func prices(profile: Profile, inputs: SimulationInputs) -> SimulationReport.Prices {
        let type = profile.compute.instanceTypes[0]
        let od = inputs.onDemandPricePerHour.map { ($0, "simulation input") }
            ?? (profile.prices.onDemand[type] ?? 0, "profile prices.on_demand (editable assumption)")
        let spot = inputs.spotPricePerHour.map { ($0, "simulation input") }
            ?? profile.prices.spot[type].map { ($0, "profile prices.spot (editable assumption)") }
            ?? (od.0, "no Spot entry: charged at On-Demand (profile rule)")
        return .init(instanceType: type, currency: profile.prices.currency, spotPerHour: spot.0, spotOrigin: spot.1,
                     onDemandPerHour: od.0, onDemandOrigin: od.1)
    }

    // MARK: - Run

    public func run() throws -> SimulationReport {
        let inputs = scenario.inputs
        let horizon = max(inputs.durationSeconds ?? (scenario.lastUploadEnd + 86_400), scenario.lastUploadEnd)
        let hardStop = horizon + 30 * 86_400
        batch.scheduleTimer = { [unowned self] time, timer in heap.push(time, .batch(timer)) }
        switch policy {
        case .ours, .onDemand:
            let services = OdinServices(profile: profile, objects: objects, state: state, compute: batch,
                                        notifier: notifier, metrics: NoMetrics(), condensation: SimCondensation(),
                                        clock: clock, log: .silent)
            self.services = services
            batch.runnableTimeLimit[0] = Double(profile.costOptimization.fallbackTimeout)
            batch.killSwitchActive = { (try? Capacity.budgetStopped(services)) ?? false }
            heap.push(inputs.sweeperSeconds, .sweep)
        case .staticFleet:
            batch.machine.environments[0].minvCpus = profile.compute.maxVcpus
            batch.machine.environments[0].maxvCpus = profile.compute.maxVcpus
        case .batchDefault:
            batch.machine.environments[0].maxvCpus = profile.compute.maxVcpus
        }
        if let first = scenario.bursts.first { heap.push(first.at, .ingest) }
        if policy == .staticFleet || policy == .batchDefault {
            for (index, burst) in scenario.bursts.enumerated() { heap.push(burst.at + burst.over, .burstEnd(index)) }
        }
        let sampleEvery = max(inputs.sweeperSeconds, horizon / 1500)
        heap.push(0, .sample(sampleEvery))
        settle()
        while let event = heap.pop() {
            if event.time > horizon {
                let busy = !batch.isDrained || !uploadsDone
                if !busy || event.time > hardStop { advance(to: max(now, horizon)); break }
            }
            advance(to: event.time)
            switch event.kind {
            case .batch(let timer): batch.handle(timer)
            case .ingest: ingestTick()
            case .sweep:
                if let services {
                    deliver {
                        let result = try SweeperService(services: services).sweep()
                        for run in result.runsSealed { noteRunStarted(run) }
                        for run in result.condensationsStarted { runFinished[run] = now }
                    }
                    heap.push(now + inputs.sweeperSeconds, .sweep)
                }
            case .sample(let every):
                record()
                heap.push(now + every, .sample(every))
            case .burstEnd(let index): submitAlternativeRun(index)
            case .alarm: alarmArrives()
            }
            settle()
        }
        if drainStart != nil { drainsWithoutTeardown += 1 }
        record()
        return report()
    }

    /// Moves time forward, integrating cost and idle capacity.
    func advance(to time: Double) {
        let dt = time - now
        guard dt > 0 else { return }
        let rate = batch.costPerHour
        let before = cost[0] + cost[1]
        cost[0] += Double(batch.aliveInstances[0]) * batch.spotPrice * dt / 3600
        cost[1] += Double(batch.aliveInstances[1]) * batch.onDemandPrice * dt / 3600
        if batch.isDrained { idleVcpuSeconds += Double(batch.aliveVcpus[0] + batch.aliveVcpus[1]) * dt }
        let after = cost[0] + cost[1] + batch.tailCost
        if !alarmScheduled && after >= budgetInfo.threshold && rate > 0 {
            alarmScheduled = true
            let crossing = now + max(0, (budgetInfo.threshold - before - batch.tailCost) / rate * 3600)
            heap.push(max(time, crossing + scenario.inputs.alarmDelaySeconds), .alarm)
        }
        now = time
        batch.now = time
        clock.advance(seconds: dt)
    }

    /// Lets the compute model act and delivers its job events to the control logic until nothing changes.
    func settle() {
        batch.now = now
        var rounds = 0
        repeat {
            batch.step()
            let events = batch.machine.takeEvents()
            if events.isEmpty { break }
            for event in events { handleJobEvent(event) }
            rounds += 1
        } while rounds < 10_000
        let drained = batch.isDrained
        defer { wasDrained = drained }
        if drained {
            if drainStart == nil && !wasDrained { drainStart = now }
            if let start = drainStart, batch.aliveVcpus[0] + batch.aliveVcpus[1] == 0 {
                teardownDelays.append(now - start)
                drainStart = nil
            }
        } else if drainStart != nil {
            drainsWithoutTeardown += 1
            drainStart = nil
        }
    }

    func handleJobEvent(_ event: BatchJobStateChange) {
        if let services {
            deliver {
                let result = try JobEventsService(services: services).handle(event)
                if result.condensationStarted, let run = result.runID { runFinished[run] = now }
            }
            return
        }
        // static / batch-default: count terminal children per run.
        let detail = event.detail
        guard detail.status.isTerminal, !detail.isArrayParent, let run = detail.tags?[JobTags.run],
              var entry = altRuns[run] else { return }
        entry.terminal += 1
        if detail.status == .failed { entry.failed += 1; altFailed += 1 } else { altSucceeded += 1 }
        altRuns[run] = entry
        if entry.terminal == entry.chunks { runFinished[run] = now }
    }

    func deliver(_ body: () throws -> Void) {
        do { try body() } catch {
            eventErrors += 1
            if firstEventError == nil { firstEventError = "t=\(Int(now)) s: \(error)" }
        }
    }

    /// Delivers the objects uploaded since the last tick as one ingest invocation (`ours`), and schedules the next.
    func ingestTick() {
        let inputs = scenario.inputs
        var objectsNow: [ObjectCreated] = []
        var active = false
        for index in nextBurst..<scenario.bursts.count {
            let burst = scenario.bursts[index]
            if burst.at > now { break }
            let total = burst.images + (burst.videoSeconds > 0 ? 1 : 0)
            guard burstCursor[index] < total else { continue }
            // Objects i arrive at at + over·(i+1)/total.
            let elapsed = now - burst.at
            let due = burst.over <= 0 ? total : min(total, Int((elapsed / burst.over * Double(total)).rounded(.down)))
            if (policy == .ours || policy == .onDemand) && due > burstCursor[index] {
                for i in burstCursor[index]..<due {
                    objectsNow.append(object(burst: index, item: i))
                }
            }
            burstCursor[index] = max(burstCursor[index], due)
            if burstCursor[index] < total { active = true }
        }
        while nextBurst < scenario.bursts.count,
              burstCursor[nextBurst] >= scenario.bursts[nextBurst].images + (scenario.bursts[nextBurst].videoSeconds > 0 ? 1 : 0) {
            nextBurst += 1
        }
        if let services, !objectsNow.isEmpty {
            deliver {
                let result = try IngestService(services: services).handle(.objects(objectsNow, testEvents: 0, otherRecords: 0))
                for run in result.runsStarted { noteRunStarted(run) }
            }
        }
        if active {
            heap.push(now + inputs.ingestBatchSeconds, .ingest)
        } else if nextBurst < scenario.bursts.count {
            heap.push(max(now + inputs.ingestBatchSeconds, scenario.bursts[nextBurst].at), .ingest)
        } else {
            uploadsDone = true
        }
    }

    func object(burst: Int, item: Int) -> ObjectCreated {
        let b = scenario.bursts[burst]
        if item >= b.images {
            let size = Int64(b.videoSeconds * profile.chunking.videoBytesPerSecond)
            return ObjectCreated(bucket: "sim", key: "raw/\(b.camera)/d\(burst)/VID_0001.MP4", size: size, eTag: "v\(burst)")
        }
        return ObjectCreated(bucket: "sim", key: "raw/\(b.camera)/d\(burst)/IMG_\(String(item).leftPadded(7)).JPG",
                             size: 3_000_000, eTag: "e\(burst)-\(item)")
    }

    func noteRunStarted(_ run: String) {
        if runStarted[run] == nil { runStarted[run] = now }
        if let record = try? RunRecord.load(run, state: state) { runImages[run] = record.objectCount }
    }

    /// `static` / `batch-default`: the dump becomes one run submitted straight to the Spot queue.
    func submitAlternativeRun(_ index: Int) {
        let burst = scenario.bursts[index]
        let total = burst.images + (burst.videoSeconds > 0 ? 1 : 0)
        var media: [MediaObject] = []
        media.reserveCapacity(total)
        let planner = IngestPlanner(chunking: profile.chunking)
        for item in 0..<total {
            let o = object(burst: index, item: item)
            if case .success(let m) = planner.classify(bucket: o.bucket, key: o.key, size: o.size) { media.append(m) }
        }
        let run = "\(burst.camera)-d\(index)"
        let chunks = planner.plan(runID: run, objects: media)
        guard !chunks.isEmpty else { return }
        let key = StoreLayout.manifestKey(run: run)
        deliver {
            try objects.put(key, bytes: try IngestPlanner.manifest(chunks))
            for (part, range) in IngestPlanner.parts(chunkCount: chunks.count).enumerated() {
                _ = try batch.submitJob(JobSubmission(
                    name: "munin-\(run)-p\(part)", queue: profile.compute.spotQueue,
                    jobDefinition: profile.compute.workerJobDefinition, arraySize: range.count,
                    environment: ["ODIN_RUN_ID": run, "ODIN_MANIFEST": key, "ODIN_INDEX_OFFSET": String(range.lowerBound)],
                    tags: [JobTags.run: run], attempts: profile.compute.reclaimRetries + 1,
                    retryOnStatusReason: ["Host EC2*"], timeoutSeconds: profile.compute.jobTimeoutSeconds,
                    vcpus: profile.compute.vcpusPerJob))
            }
        }
        altRuns[run] = (chunks.count, 0, 0)
        runStarted[run] = now
        runImages[run] = media.count
    }

    func alarmArrives() {
        budgetInfo.alarmReachedFunctionAt = now
        budgetInfo.costWhenAlarmArrived = cost[0] + cost[1] + batch.tailCost
        alarmRate = batch.costPerHour
        guard let services else { return }
        let name = profile.budget.actOnAlarms.first ?? "odin-spend"
        let alarm = #"{"AlarmName":"\#(name)","NewStateValue":"ALARM","NewStateReason":"simulated spend crossed the budget","OldStateValue":"OK"}"#
        let escaped = alarm.replacingQuotes()
        let sns = #"{"Records":[{"EventSource":"aws:sns","Sns":{"Subject":"ALARM: \"\#(name)\"","Message":"\#(escaped)"}}]}"#
        deliver {
            let signals = try BudgetSignal.decode(Array(sns.utf8))
            _ = try BudgetGuardService(services: services).handle(signals)
        }
    }
    var alarmRate = 0.0

    func record() {
        samples.append(.init(t: now, spotVcpus: batch.aliveVcpus[0], onDemandVcpus: batch.aliveVcpus[1],
                             runnable: batch.runnableCount, running: batch.runningCount))
    }

    func report() -> SimulationReport {
        let prices = Self.prices(profile: profile, inputs: scenario.inputs)
        let total = cost[0] + cost[1] + batch.tailCost
        var budget = budgetInfo
        if let at = budget.costWhenAlarmArrived {
            budget.overshootCost = total - at
            budget.overshootSecondsOfFleetCost = alarmRate > 0 ? (total - at) / (alarmRate / 3600) : 0
        }
        let makespans = runFinished.compactMap { run, end in runStarted[run].map { end - $0 } }
        var completedImages = 0
        for run in runFinished.keys {
            if runImages[run] == nil, let record = try? RunRecord.load(run, state: state) { runImages[run] = record.objectCount }
            completedImages += runImages[run] ?? 0
        }
        var succeeded = altSucceeded
        var failed = altFailed
        var ledger: Double?
        var runCount = altRuns.count
        if services != nil {
            succeeded = 0
            failed = 0
            let runs = (try? state.query(partition: "runs", sortPrefix: "")) ?? []
            runCount = runs.count
            for run in runs {
                let counters = (try? state.get(StateKey("run#\(run.key.sort)", "counters")))??.attributes ?? [:]
                succeeded += Int(counters["succeeded"]?.intValue ?? 0)
                failed += Int(counters["failed"]?.intValue ?? 0)
            }
            var months = Set<String>()
            for sample in [0.0, now] + stride(from: 0.0, to: now, by: 86_400).map({ $0 }) {
                months.insert(Self.month(Self.startEpoch + sample))
            }
            ledger = months.reduce(0) { $0 + ((try? CostLedger.spend(month: $1, state: state)) ?? 0) }
        }
        let work = batch.workVcpuSeconds[0] + batch.workVcpuSeconds[1]
        let idleMinutes = (idleVcpuSeconds + batch.tailIdleVcpuSeconds) / 60
        return SimulationReport(
            scenario: scenario.name, policy: policy.rawValue, seed: seed, inputs: scenario.inputs, prices: prices,
            simulatedSeconds: now, imagesUploaded: scenario.totalImages, videoSecondsUploaded: scenario.totalVideoSeconds,
            runs: runCount, runsCompleted: runFinished.count, imagesInCompletedRuns: completedImages,
            chunks: batch.childrenSubmitted[0] + batch.childrenSubmitted[1] - (services == nil ? 0 : batch.childrenSubmitted[1]),
            chunksSucceeded: succeeded, chunksFailed: failed, attemptsReclaimed: batch.attemptsReclaimed,
            chunksFallenBack: profile.compute.spotInstances && services != nil ? batch.childrenSubmitted[1] : 0,
            instancesLaunchedSpot: batch.instancesLaunched[0], instancesLaunchedOnDemand: batch.instancesLaunched[1],
            totalCost: total, spotCost: cost[0], onDemandCost: cost[1],
            costPer1000Images: scenario.totalImages > 0 ? total / Double(scenario.totalImages) * 1000 : 0,
            ledgerEstimate: ledger, makespan: .init(makespans), idleVcpuMinutesAfterDrain: idleMinutes,
            idleVcpuMinutesPerRun: runCount > 0 ? idleMinutes / Double(runCount) : 0,
            spotWorkShare: work > 0 ? batch.workVcpuSeconds[0] / work : 0, budget: budget,
            invariants: .init(jobsStartedWhileKillSwitchActive: batch.killSwitchViolations,
                              teardownAfterDrain: .init(teardownDelays), drainsWithoutTeardown: drainsWithoutTeardown,
                              eventErrors: eventErrors, firstEventError: firstEventError),
            samples: samples)
    }

    static func month(_ epoch: Double) -> String {
        let (year, month, _) = CivilCalendar.date(days: Int(epoch / 86_400))
        return "\(year)-\(month < 10 ? "0" : "")\(month)"
    }
}

/// Condensation in-process (the simulator does not model Hugin's cost).
struct SimCondensation: Condensation {
    func startCondensation(_ request: CondensationRequest) throws -> String? { nil }
}

/// The simulator's event queue: a binary min-heap on (time, sequence), so ties keep insertion order.
struct EventHeap {
    enum Kind { case batch(SimulatedBatch.Timer), ingest, sweep, sample(Double), burstEnd(Int), alarm }
    struct Entry { var time: Double; var sequence: Int; var kind: Kind }
    var items: [Entry] = []
    var sequence = 0

    func less(_ a: Entry, _ b: Entry) -> Bool { a.time < b.time || (a.time == b.time && a.sequence < b.sequence) }

    mutating func push(_ time: Double, _ kind: Kind) {
        sequence += 1
        items.append(Entry(time: time, sequence: sequence, kind: kind))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && less(items[left], items[smallest]) { smallest = left }
            if right < items.count && less(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

extension String {
    /// Escapes `"` and `\` for embedding in a JSON string.
    func replacingQuotes() -> String {
        var out = ""
        for character in self {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

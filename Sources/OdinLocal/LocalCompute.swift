import Dispatch
import Events
import FoundationEssentials
import Odin
import OdinKit
import OdinBasics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The local binding of the compute port: queues and compute environments in memory, array children run as child
/// processes with bounded parallelism, and Batch-shaped job events (RUNNABLE, RUNNING, SUCCEEDED, FAILED with
/// attempts) delivered one at a time to `eventSink` (the same job-events logic the Lambda function runs).
///
/// Fault mode (for the demo and tests): reclaim a fraction of Spot child attempts ("Host EC2 (instance i-local)
/// terminated.", retried in-queue per the job's retry strategy), and exhaust Spot capacity after N starts or T
/// seconds, after which RUNNABLE Spot children are cancelled by the queue's RUNNABLE time limit.
public final class LocalCompute: Compute, Sendable {
    public struct Faults: Sendable, Equatable {
        /// Fraction (0…1) of Spot child attempts that get reclaimed.
        public var reclaimFraction: Double
        /// Seed of the deterministic reclaim choice.
        public var seed: UInt64
        /// Spot capacity is gone after this many Spot starts…
        public var exhaustSpotAfterStarts: Int?
        /// …or this many seconds after the compute was created.
        public var exhaustSpotAfterSeconds: Double?
        /// How long a Spot child stays RUNNABLE without capacity before it is cancelled (the profile's
        /// `fallback_timeout` on AWS; small locally).
        public var runnableTimeLimitSeconds: Double

        public init(reclaimFraction: Double = 0, seed: UInt64 = 1, exhaustSpotAfterStarts: Int? = nil,
                    exhaustSpotAfterSeconds: Double? = nil, runnableTimeLimitSeconds: Double = 0) {
            self.reclaimFraction = reclaimFraction
            self.seed = seed
            self.exhaustSpotAfterStarts = exhaustSpotAfterStarts
            self.exhaustSpotAfterSeconds = exhaustSpotAfterSeconds
            self.runnableTimeLimitSeconds = runnableTimeLimitSeconds
        }
    }

    /// How children run.
    public enum Runner: Sendable {
        /// `argv` run per child attempt (posix_spawnp), with the job's environment plus AWS_BATCH_JOB_ARRAY_INDEX,
        /// AWS_BATCH_JOB_ATTEMPT, AWS_BATCH_JOB_ID, AWS_BATCH_JQ_NAME. Exit 0 = SUCCEEDED.
        case command([String], environment: [String: String], logDirectory: String?)
        /// Children stay RUNNABLE until `complete(...)` is called (tests and the simulator drive time).
        case manual
    }

    public struct Configuration: Sendable {
        public var spotQueue: String
        public var onDemandQueue: String
        public var spotComputeEnvironment: String
        public var onDemandComputeEnvironment: String
        public var maxParallel: Int
        public var runner: Runner
        public var faults: Faults
        /// Job ids are `<prefix>-<n>`. Processes that share a state folder need distinct prefixes: the state keys
        /// job#<id> and the event de-duplication keys are per job id (LocalBinding numbers its sessions).
        public var jobIDPrefix = "local"

        public init(profile: Profile, runner: Runner, faults: Faults = Faults()) {
            spotQueue = profile.compute.spotQueue
            onDemandQueue = profile.compute.onDemandQueue
            spotComputeEnvironment = profile.compute.spotComputeEnvironment
            onDemandComputeEnvironment = profile.compute.onDemandComputeEnvironment
            maxParallel = profile.costOptimization.maxParallelJobs
            self.runner = runner
            self.faults = faults
        }
    }

    struct Job {
        var detail: BatchJobDetail
        var queue: String
        var maxAttempts: Int
        var retryGlobs: [String]
        var environment: [String: String]
        var vcpus: Int
        /// The submission's scheduling priority (higher starts first).
        var priority: Int
        var children: [String] = []
        var terminalChildren = 0
        var failedChildren = 0
        var runnableSince: Double = 0
        var pid: pid_t?
        var reclaimThisAttempt = false
    }

    struct State {
        var queues: [String: Bool] = [:]
        var environments: [String: ComputeEnvironmentInfo] = [:]
        var jobs: [String: Job] = [:]
        /// Every job id in submission order.
        var order: [String] = []
        /// The order RUNNABLE jobs are considered for a start: highest priority first, then submission order (Batch
        /// within one fair-share identifier).
        var startOrder: [String] = []
        var nextID = 1
        var running = 0
        /// vCPUs of RUNNING jobs per compute environment.
        var runningVcpus: [String: Int] = [:]
        var spotStarts = 0
        var outbox: [BatchJobStateChange] = []
        var delivering = false
        var timerArmed = false
        var submitted: [JobSubmission] = []
    }

    public let configuration: Configuration
    let clock: any WallClock
    let created: Double
    let sink: Mutex<(@Sendable (BatchJobStateChange) -> Void)?>
    let state = Mutex(State())
    let delivery = DispatchQueue(label: "odin.local-compute.events")

    public init(configuration: Configuration, clock: any WallClock = SystemClock()) {
        self.configuration = configuration
        self.clock = clock
        created = clock.now().timeIntervalSince1970
        sink = Mutex(nil)
        state.withLock { state in
            state.queues = [configuration.spotQueue: true, configuration.onDemandQueue: true]
            for name in [configuration.spotComputeEnvironment, configuration.onDemandComputeEnvironment] {
                state.environments[name] = ComputeEnvironmentInfo(name: name, isEnabled: true, minvCpus: 0,
                                                                  maxvCpus: 0, desiredvCpus: 0)
            }
        }
    }

    /// Where events go (set once, before submitting).
    public func setEventSink(_ body: @escaping @Sendable (BatchJobStateChange) -> Void) {
        sink.withLock { $0 = body }
    }

    /// Every SubmitJob request received (for tests and the demo's summary).
    public var submissions: [JobSubmission] { state.withLock { $0.submitted } }

    var nowMillis: Int64 { Int64(clock.now().timeIntervalSince1970 * 1000) }

    func environment(for queue: String) -> String {
        queue == configuration.spotQueue ? configuration.spotComputeEnvironment : configuration.onDemandComputeEnvironment
    }

    func checkQueue(_ name: String) throws {
        guard name == configuration.spotQueue || name == configuration.onDemandQueue else {
            throw OdinError("local compute", "no job queue named \(name)")
        }
    }

    // MARK: - Compute

    public func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        try names.forEach(checkQueue)
        return state.withLock { state in names.map { QueueInfo(name: $0, isEnabled: state.queues[$0] ?? false) } }
    }

    public func setQueueEnabled(_ name: String, _ enabled: Bool) throws {
        try checkQueue(name)
        state.withLock { $0.queues[name] = enabled }
        pump()
    }

    public func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        try state.withLock { state in
            try names.map { name in
                guard var ce = state.environments[name] else {
                    throw OdinError("local compute", "no compute environment named \(name)")
                }
                let used = state.runningVcpus[name] ?? 0
                ce.desiredvCpus = max(ce.minvCpus, min(ce.maxvCpus, used))
                return ce
            }
        }
    }

    public func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        try state.withLock { state in
            guard var ce = state.environments[name] else {
                throw OdinError("local compute", "no compute environment named \(name)")
            }
            let newMin = update.minvCpus ?? ce.minvCpus
            let newMax = update.maxvCpus ?? ce.maxvCpus
            guard newMin >= 0, newMin <= newMax else {
                throw OdinError("UpdateComputeEnvironment \(name)", "minvCpus \(newMin) must be in 0…maxvCpus \(newMax)")
            }
            // Like Batch: desiredvCpus (here: vCPUs of running jobs) must stay within [min, max].
            let desired = max(ce.minvCpus, min(ce.maxvCpus, state.runningVcpus[name] ?? 0))
            guard newMax >= desired else {
                throw OdinError("UpdateComputeEnvironment \(name)",
                                "maxvCpus \(newMax) is below desiredvCpus \(desired); desiredvCpus cannot be lowered")
            }
            ce.minvCpus = newMin
            ce.maxvCpus = newMax
            if let enabled = update.isEnabled { ce.isEnabled = enabled }
            state.environments[name] = ce
        }
        pump()
    }

    public func submitJob(_ submission: JobSubmission) throws -> String {
        try checkQueue(submission.queue)
        guard (1...10_000).contains(submission.arraySize) else {
            throw OdinError("SubmitJob \(submission.name)", "array size \(submission.arraySize) outside 2…10,000")
        }
        let now = nowMillis
        let id = state.withLock { state -> String in
            state.submitted.append(submission)
            let id = "\(configuration.jobIDPrefix)-\(state.nextID)"
            state.nextID += 1
            let isArray = submission.arraySize > 1
            var parent = Job(detail: BatchJobDetail(jobArn: "arn:local:batch:job/\(id)", jobName: submission.name,
                                                    jobId: id, jobQueue: submission.queue, status: .runnable,
                                                    attempts: [], createdAt: now,
                                                    container: .init(environment: submission.environment.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) },
                                                                     resourceRequirements: [.init(type: "VCPU", value: String(submission.vcpus ?? 1))]),
                                                    arrayProperties: isArray ? .init(size: submission.arraySize) : nil,
                                                    tags: submission.tags),
                             queue: submission.queue, maxAttempts: max(1, submission.attempts),
                             retryGlobs: submission.retryOnStatusReason, environment: submission.environment,
                             vcpus: submission.vcpus ?? 1,
                             priority: submission.priority?.schedulingPriority ?? RunPriority.normal.schedulingPriority)
            parent.runnableSince = Double(now) / 1000
            var added: [String] = []
            if isArray {
                let template = parent
                for index in 0..<submission.arraySize {
                    var child = template
                    child.detail.jobId = "\(id):\(index)"
                    child.detail.jobArn = "arn:local:batch:job/\(id):\(index)"
                    child.detail.arrayProperties = .init(index: index)
                    parent.children.append(child.detail.jobId)
                    state.jobs[child.detail.jobId] = child
                    added.append(child.detail.jobId)
                    state.outbox.append(BatchJobStateChange(detail: child.detail))
                }
            }
            state.jobs[id] = parent
            added.append(id)
            state.order += added
            var position = state.startOrder.count
            while position > 0, (state.jobs[state.startOrder[position - 1]]?.priority ?? .max) < parent.priority {
                position -= 1
            }
            state.startOrder.insert(contentsOf: added, at: position)
            state.outbox.append(BatchJobStateChange(detail: parent.detail))
            return id
        }
        pump()
        return id
    }

    public func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        state.withLock { state in
            state.order.compactMap { state.jobs[$0] }.filter { job in
                switch filter {
                case .queue(let queue, let status):
                    job.queue == queue && job.detail.status == status && job.detail.arrayIndex == nil
                case .arrayChildren(let parent, let status):
                    job.detail.arrayIndex != nil && job.detail.parentJobID == parent && job.detail.status == status
                case .namePrefix(let queue, let prefix):
                    job.queue == queue && job.detail.jobName.hasPrefix(prefix) && job.detail.arrayIndex == nil
                }
            }.map { job in
                JobSummary(jobID: job.detail.jobId, jobName: job.detail.jobName, status: job.detail.status,
                           statusReason: job.detail.statusReason, arrayIndex: job.detail.arrayIndex,
                           arraySize: job.detail.arrayProperties?.size, createdAt: job.detail.createdAt,
                           startedAt: job.detail.startedAt, stoppedAt: job.detail.stoppedAt)
            }
        }
    }

    public func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
        guard jobIDs.count <= 100 else { throw OdinError("DescribeJobs", "at most 100 job ids per call") }
        return state.withLock { state in jobIDs.compactMap { state.jobs[$0]?.detail } }
    }

    public func terminateJob(_ jobID: String, reason: String) throws { try stop(jobID, reason: reason, running: true) }
    public func cancelJob(_ jobID: String, reason: String) throws { try stop(jobID, reason: reason, running: false) }

    func stop(_ jobID: String, reason: String, running: Bool) throws {
        let now = nowMillis
        state.withLock { state in
            guard let job = state.jobs[jobID] else { return }
            let targets = job.children.isEmpty ? [jobID] : job.children
            for id in targets {
                guard var child = state.jobs[id], !child.detail.status.isTerminal else { continue }
                if child.detail.status == .running || child.detail.status == .starting {
                    guard running else { continue }
                    if let pid = child.pid { kill(pid, SIGKILL) }
                    child.maxAttempts = 0  // no retry after termination
                    child.detail.statusReason = reason
                    state.jobs[id] = child
                    continue  // the waiter records the failure
                }
                child.detail.status = .failed
                child.detail.statusReason = reason
                child.detail.stoppedAt = now
                state.jobs[id] = child
                state.outbox.append(BatchJobStateChange(detail: child.detail))
                finishParentIfDone(of: child, state: &state, now: now)
            }
        }
        pump()
    }

    // MARK: - Manual driving (tests, simulator)

    /// Marks a RUNNABLE/RUNNING child (or plain job) terminal with one attempt and returns the events Batch would
    /// emit (the child's, and the parent's when it was the last), WITHOUT delivering them.
    public func complete(_ jobID: String, status: BatchJobStatus, reason: String? = nil, attempts: Int = 1,
                         runSeconds: Double = 60) -> [BatchJobStateChange] {
        let now = nowMillis
        return state.withLock { state in
            guard var job = state.jobs[jobID], !job.detail.status.isTerminal else { return [] }
            let before = state.outbox.count
            let start = now - Int64(runSeconds * 1000)
            job.detail.attempts = (0..<attempts).map { attempt in
                .init(container: .init(exitCode: status == .succeeded ? 0 : 1), startedAt: start, stoppedAt: now,
                      statusReason: attempt == attempts - 1 ? reason : "Host EC2 (instance i-local) terminated.")
            }
            job.detail.status = status
            job.detail.statusReason = reason
            job.detail.startedAt = start
            job.detail.stoppedAt = now
            state.jobs[jobID] = job
            state.outbox.append(BatchJobStateChange(detail: job.detail))
            finishParentIfDone(of: job, state: &state, now: now)
            let events = Array(state.outbox[before...])
            state.outbox.removeSubrange(before...)
            return events
        }
    }

    /// Every job and child in submission order (the demo's summary: chunks on Spot vs On-Demand, reclaims).
    public func allJobs() -> [BatchJobDetail] {
        state.withLock { state in state.order.compactMap { state.jobs[$0]?.detail } }
    }

    /// Non-terminal children of a job (or the job itself), for manual driving.
    public func activeChildren(of jobID: String) -> [String] {
        state.withLock { state in
            guard let job = state.jobs[jobID] else { return [] }
            let ids = job.children.isEmpty ? [jobID] : job.children
            return ids.filter { !(state.jobs[$0]?.detail.status.isTerminal ?? true) }
        }
    }

    // MARK: - Scheduling

    /// Updates the array parent after a child changed: RUNNING with its first running child, terminal (SUCCEEDED
    /// only when every child succeeded) with its last terminal child. Called once per child transition, so the
    /// parent keeps counts instead of rescanning its children.
    func finishParentIfDone(of child: Job, state: inout State, now: Int64) {
        guard child.detail.arrayIndex != nil, var parent = state.jobs[child.detail.parentJobID] else { return }
        if child.detail.status.isTerminal {
            parent.terminalChildren += 1
            if child.detail.status == .failed { parent.failedChildren += 1 }
        }
        if parent.terminalChildren == parent.children.count && !parent.detail.status.isTerminal {
            var summary: [String: Int] = [:]
            for id in parent.children { summary[state.jobs[id]?.detail.status.rawValue ?? "?", default: 0] += 1 }
            parent.detail.arrayProperties?.statusSummary = summary
            parent.detail.status = parent.failedChildren == 0 ? .succeeded : .failed
            parent.detail.statusReason = parent.detail.status == .succeeded ? nil : "Array Child Job failed"
            parent.detail.stoppedAt = now
            state.outbox.append(BatchJobStateChange(detail: parent.detail))
        } else if parent.detail.status == .runnable && child.detail.status == .running {
            parent.detail.status = .running
            parent.detail.startedAt = now
        }
        state.jobs[parent.detail.jobId] = parent
    }

    var spotExhausted: Bool {
        state.withLock { spotExhausted(state: $0) }
    }

    func spotExhausted(state: State) -> Bool {
        if let starts = configuration.faults.exhaustSpotAfterStarts, state.spotStarts >= starts { return true }
        if let seconds = configuration.faults.exhaustSpotAfterSeconds,
           clock.now().timeIntervalSince1970 - created >= seconds { return true }
        return false
    }

    func reclaimed(_ jobID: String, attempt: Int) -> Bool {
        let fraction = configuration.faults.reclaimFraction
        guard fraction > 0 else { return false }
        // FNV-1a alone leaves the high bits nearly equal for ids that differ only at the end ("local-1:0|1",
        // "local-1:1|1"), so every child got the same verdict; a splitmix64 finalizer spreads them.
        let mixed = SplitMix64.mix(FNV1a.hash("\(configuration.faults.seed)|\(jobID)|\(attempt)"))
        let value = Double(mixed >> 11) / Double(UInt64(1) << 53)
        return value < fraction
    }

    /// Starts what may start, cancels Spot children stuck past the RUNNABLE limit, and delivers events.
    func pump() {
        guard case .command(let argv, let baseEnvironment, let logDirectory) = configuration.runner else {
            deliver()
            return
        }
        let now = clock.now().timeIntervalSince1970
        var launches: [(String, Job, Int)] = []
        var needsTimer = false
        state.withLock { state in
            for id in state.startOrder {
                guard var job = state.jobs[id], job.detail.status == .runnable, job.children.isEmpty else { continue }
                let onSpot = job.queue == configuration.spotQueue
                if onSpot && spotExhausted(state: state) {
                    if now - job.runnableSince >= configuration.faults.runnableTimeLimitSeconds {
                        job.detail.status = .failed
                        job.detail.statusReason = "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for instance type [local]"
                        job.detail.stoppedAt = Int64(now * 1000)
                        state.jobs[id] = job
                        state.outbox.append(BatchJobStateChange(detail: job.detail))
                        finishParentIfDone(of: job, state: &state, now: Int64(now * 1000))
                    } else {
                        needsTimer = true
                    }
                    continue
                }
                guard state.running < configuration.maxParallel, state.queues[job.queue] == true,
                      let ce = state.environments[environment(for: job.queue)], ce.isEnabled else { continue }
                let used = state.runningVcpus[ce.name] ?? 0
                guard used + job.vcpus <= ce.maxvCpus else { continue }
                let attempt = (job.detail.attempts?.count ?? 0) + 1
                job.detail.status = .running
                job.detail.startedAt = job.detail.startedAt ?? Int64(now * 1000)
                job.reclaimThisAttempt = onSpot && reclaimed(id, attempt: attempt)
                if onSpot { state.spotStarts += 1 }
                state.running += 1
                state.runningVcpus[ce.name, default: 0] += job.vcpus
                state.jobs[id] = job
                state.outbox.append(BatchJobStateChange(detail: job.detail))
                finishParentIfDone(of: job, state: &state, now: Int64(now * 1000))
                launches.append((id, job, attempt))
            }
            if needsTimer && !state.timerArmed { state.timerArmed = true } else { needsTimer = false }
        }
        for (id, job, attempt) in launches {
            DispatchQueue.global().async {
                self.run(id, job: job, attempt: attempt, argv: argv, baseEnvironment: baseEnvironment,
                         logDirectory: logDirectory)
            }
        }
        if needsTimer {
            let delay = max(0.05, configuration.faults.runnableTimeLimitSeconds / 4)
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
                self.state.withLock { $0.timerArmed = false }
                self.pump()
            }
        }
        deliver()
    }

    func run(_ id: String, job: Job, attempt: Int, argv: [String], baseEnvironment: [String: String],
             logDirectory: String?) {
        var environment = baseEnvironment.merging(job.environment) { $1 }
        environment["AWS_BATCH_JOB_ID"] = id
        environment["AWS_BATCH_JOB_ATTEMPT"] = String(attempt)
        environment["AWS_BATCH_JQ_NAME"] = job.queue
        environment["AWS_BATCH_CE_NAME"] = self.environment(for: job.queue)
        if let index = job.detail.arrayIndex { environment["AWS_BATCH_JOB_ARRAY_INDEX"] = String(index) }
        let started = nowMillis
        let logPath = logDirectory.map { "\($0)/\(String(id.map { $0 == ":" ? "_" : $0 }))-\(attempt).log" }
        var exitCode: Int32 = 127
        var spawnError: String?
        do {
            let pid = try ProcessSpawner.spawn(argv, environment: environment, searchPath: true,
                                               output: .init(path: logPath ?? "/dev/null", appending: false))
            state.withLock { $0.jobs[id]?.pid = pid }
            if job.reclaimThisAttempt { kill(pid, SIGKILL) }
            exitCode = ProcessSpawner.wait(pid) ?? 127
        } catch {
            spawnError = "\(error)"
        }
        let stopped = nowMillis
        state.withLock { state in
            state.running -= 1
            state.runningVcpus[self.environment(for: job.queue), default: 0] -= job.vcpus
            guard var current = state.jobs[id] else { return }
            current.pid = nil
            let terminatedReason = current.maxAttempts == 0 ? current.detail.statusReason : nil
            let reason: String
            if let terminatedReason { reason = terminatedReason }
            else if job.reclaimThisAttempt { reason = "Host EC2 (instance i-local) terminated." }
            else if let spawnError { reason = "CannotStartContainerError: \(spawnError)" }
            else { reason = "Essential container in task exited" }
            current.detail.attempts = (current.detail.attempts ?? []) + [
                .init(container: .init(exitCode: Int(exitCode), logStreamName: logPath), startedAt: started,
                      stoppedAt: stopped, statusReason: reason),
            ]
            let succeeded = exitCode == 0 && !job.reclaimThisAttempt && spawnError == nil && terminatedReason == nil
            if succeeded {
                current.detail.status = .succeeded
                current.detail.statusReason = reason
                current.detail.stoppedAt = stopped
            } else if (current.detail.attempts?.count ?? 0) < current.maxAttempts,
                      current.retryGlobs.contains(where: { Self.glob($0, matches: reason) }) {
                current.detail.status = .runnable
                current.detail.statusReason = nil
                current.runnableSince = Double(stopped) / 1000
            } else {
                current.detail.status = .failed
                current.detail.statusReason = reason
                current.detail.stoppedAt = stopped
            }
            state.jobs[id] = current
            state.outbox.append(BatchJobStateChange(detail: current.detail))
            finishParentIfDone(of: current, state: &state, now: stopped)
        }
        pump()
    }

    /// evaluateOnExit glob: `*` only at the end (Batch's rule), otherwise exact.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        pattern.hasSuffix("*") ? text.hasPrefix(pattern.dropLast()) : pattern == text
    }

    /// Delivers queued events one at a time, in order, outside the lock.
    func deliver() {
        let start = state.withLock { state -> Bool in
            if state.delivering || state.outbox.isEmpty { return false }
            state.delivering = true
            return true
        }
        guard start else { return }
        delivery.async {
            while true {
                let next = self.state.withLock { state -> BatchJobStateChange? in
                    if state.outbox.isEmpty {
                        state.delivering = false
                        return nil
                    }
                    return state.outbox.removeFirst()
                }
                guard let event = next else { return }
                let sink = self.sink.withLock { $0 }
                sink?(event)
            }
        }
    }

    /// True when no job is active, no process runs and every event was delivered.
    public var isQuiescent: Bool {
        state.withLock { state in
            state.running == 0 && state.outbox.isEmpty && !state.delivering &&
                !state.jobs.values.contains { !$0.detail.status.isTerminal && $0.children.isEmpty }
        }
    }

    /// Blocks until quiescent or `timeoutSeconds` passed (real time); returns whether it became quiescent.
    @discardableResult
    public func waitUntilQuiescent(timeoutSeconds: Double) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutSeconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if isQuiescent {
                // Events delivered may have submitted more work; check twice.
                usleep(20_000)
                if isQuiescent { return true }
            }
            usleep(10_000)
        }
        return false
    }
}

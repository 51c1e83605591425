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

    struct State {
        /// Jobs, queues and compute environments (queue 0 Spot → its CE 0, queue 1 On-Demand → CE 1), attempts,
        /// retries and events: Batch's state machine, shared with the simulator.
        var machine: BatchStateMachine
        /// Every job index in submission order (an array's children, then the array).
        var order: [Int] = []
        /// The order RUNNABLE jobs are considered for a start: highest priority first, then submission order (Batch
        /// within one fair-share identifier).
        var startOrder: [Int] = []
        var nextID = 1
        var spotStarts = 0
        /// The process of each running job (by index).
        var pids: [Int: pid_t] = [:]
        var delivering = false
        var timerArmed = false
        var submitted: [JobSubmission] = []
        /// Set by `halt()`: nothing starts any more, whatever the queues say.
        var halted = false
    }

    public let configuration: Configuration
    let clock: any WallClock
    let created: Double
    let sink: Mutex<(@Sendable (BatchJobStateChange) -> Void)?>
    let state: Mutex<State>
    let delivery = DispatchQueue(label: "odin.local-compute.events")

    public init(configuration: Configuration, clock: any WallClock = SystemClock()) {
        self.configuration = configuration
        self.clock = clock
        created = clock.now().timeIntervalSince1970
        sink = Mutex(nil)
        state = Mutex(State(machine: BatchStateMachine(
            queues: [configuration.spotQueue, configuration.onDemandQueue],
            computeEnvironments: [configuration.spotComputeEnvironment, configuration.onDemandComputeEnvironment],
            arnPartition: "local", eventFilter: .every)))
    }

    static let binding = "local compute"

    /// Where events go (set once, before submitting).
    public func setEventSink(_ body: @escaping @Sendable (BatchJobStateChange) -> Void) {
        sink.withLock { $0 = body }
    }

    /// Every SubmitJob request received (for tests and the demo's summary).
    public var submissions: [JobSubmission] { state.withLock { $0.submitted } }

    var nowSeconds: Double { clock.now().timeIntervalSince1970 }

    func environment(for queue: String) -> String {
        queue == configuration.spotQueue ? configuration.spotComputeEnvironment : configuration.onDemandComputeEnvironment
    }

    /// desiredvCpus here: vCPUs of running jobs, within [min, max].
    static func desired(_ index: Int, _ machine: BatchStateMachine) -> Int {
        let ce = machine.environments[index]
        return max(ce.minvCpus, min(ce.maxvCpus, machine.runningVcpus[index]))
    }

    // MARK: - Compute

    public func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        try state.withLock { state in
            try names.map {
                QueueInfo(name: $0, isEnabled: state.machine.queueEnabled[try state.machine.queueIndex($0, binding: Self.binding)])
            }
        }
    }

    public func setQueueEnabled(_ name: String, _ enabled: Bool) throws {
        try state.withLock { $0.machine.queueEnabled[try $0.machine.queueIndex(name, binding: Self.binding)] = enabled }
        pump()
    }

    public func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        try state.withLock { state in
            try names.map { name in
                let index = try state.machine.environmentIndex(name, binding: Self.binding)
                var ce = state.machine.environments[index]
                ce.desiredvCpus = Self.desired(index, state.machine)
                return ce
            }
        }
    }

    public func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        try state.withLock { state in
            let index = try state.machine.environmentIndex(name, binding: Self.binding)
            // Like Batch: desiredvCpus (here: vCPUs of running jobs) must stay within [min, max].
            try state.machine.update(environment: index, update, desired: Self.desired(index, state.machine))
        }
        pump()
    }

    public func submitJob(_ submission: JobSubmission) throws -> String {
        let now = nowSeconds
        let id = try state.withLock { state -> String in
            let queue = try state.machine.queueIndex(submission.queue, binding: Self.binding)
            let id = "\(configuration.jobIDPrefix)-\(state.nextID)"
            let priority = submission.priority?.schedulingPriority ?? RunPriority.normal.schedulingPriority
            let index = try state.machine.submit(submission, id: id, queue: queue, priority: priority, at: now)
            state.submitted.append(submission)
            state.nextID += 1
            let added = Array(state.machine.jobs[index].children ?? index..<index) + [index]
            state.order += added
            var position = state.startOrder.count
            while position > 0, state.machine.jobs[state.startOrder[position - 1]].priority < priority {
                position -= 1
            }
            state.startOrder.insert(contentsOf: added, at: position)
            return id
        }
        pump()
        return id
    }

    public func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        state.withLock { $0.machine.list(filter) }
    }

    public func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
        try state.withLock { try $0.machine.describe(jobIDs) }
    }

    public func terminateJob(_ jobID: String, reason: String) throws { try stop(jobID, reason: reason, running: true) }
    public func cancelJob(_ jobID: String, reason: String) throws { try stop(jobID, reason: reason, running: false) }

    func stop(_ jobID: String, reason: String, running: Bool) throws {
        let now = nowSeconds
        state.withLock { state in
            for target in state.machine.stopTargets(jobID) where !state.machine.jobs[target].status.isTerminal {
                if state.machine.jobs[target].status == .running || state.machine.jobs[target].status == .starting {
                    guard running else { continue }
                    if let pid = state.pids[target] { kill(pid, SIGKILL) }
                    state.machine.markTerminating(target, reason: reason)  // the waiter records the failure
                    continue
                }
                state.machine.cancelRunnable(target, reason: reason, at: now)
            }
        }
        pump()
    }

    // MARK: - Manual driving (tests, simulator)

    /// Marks a RUNNABLE/RUNNING child (or plain job) terminal with one attempt and returns the events Batch would
    /// emit (the child's, and the parent's when it was the last), WITHOUT delivering them.
    public func complete(_ jobID: String, status: BatchJobStatus, reason: String? = nil, attempts: Int = 1,
                         runSeconds: Double = 60) -> [BatchJobStateChange] {
        let now = nowSeconds
        return state.withLock { state in
            guard let index = state.machine.lookup(jobID), !state.machine.jobs[index].status.isTerminal else { return [] }
            let before = state.machine.outbox.count
            let start = now - runSeconds
            let startMs = state.machine.ms(start), nowMs = state.machine.ms(now)
            let records: [BatchJobDetail.Attempt] = (0..<attempts).map { attempt in
                .init(container: .init(exitCode: status == .succeeded ? 0 : 1), startedAt: startMs, stoppedAt: nowMs,
                      statusReason: attempt == attempts - 1 ? reason : "Host EC2 (instance i-local) terminated.")
            }
            state.machine.complete(index, status, reason: reason, attempts: records, startedAt: start, at: now)
            let events = Array(state.machine.outbox[before...])
            state.machine.outbox.removeSubrange(before...)
            return events
        }
    }

    /// Every job and child in submission order (the demo's summary: chunks on Spot vs On-Demand, reclaims).
    public func allJobs() -> [BatchJobDetail] {
        state.withLock { state in state.order.map { state.machine.detail($0) } }
    }

    /// Non-terminal children of a job (or the job itself), for manual driving.
    public func activeChildren(of jobID: String) -> [String] {
        state.withLock { state in
            state.machine.stopTargets(jobID).filter { !state.machine.jobs[$0].status.isTerminal }
                .map { state.machine.jobs[$0].id }
        }
    }

    // MARK: - Scheduling

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

    /// Starts nothing more, for good, whatever the queues and compute environments say (an interrupted
    /// `odin run --local`: the control logic, still running until the process exits, may enable the queues again
    /// while it submits, and a worker started then would outlive the process).
    public func halt() {
        state.withLock { $0.halted = true }
    }

    /// Starts what may start, cancels Spot children stuck past the RUNNABLE limit, and delivers events.
    func pump() {
        guard case .command(let argv, let baseEnvironment, let logDirectory) = configuration.runner else {
            deliver()
            return
        }
        let now = nowSeconds
        var launches: [(index: Int, id: String, job: BatchStateMachine.Job, attempt: Int, reclaim: Bool)] = []
        var needsTimer = false
        state.withLock { state in
            for index in state.startOrder {
                let job = state.machine.jobs[index]
                guard job.status == .runnable, job.isLeaf else { continue }
                let onSpot = job.queue == 0
                if onSpot && spotExhausted(state: state) {
                    if now - job.runnableSince >= configuration.faults.runnableTimeLimitSeconds {
                        state.machine.cancelRunnable(index, reason: "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for instance type [local]", at: now)
                    } else {
                        needsTimer = true
                    }
                    continue
                }
                let ce = state.machine.environments[job.queue]
                guard !state.halted, state.machine.runningCount < configuration.maxParallel, state.machine.queueEnabled[job.queue],
                      ce.isEnabled, state.machine.runningVcpus[job.queue] + job.vcpus <= ce.maxvCpus else { continue }
                let attempt = job.attempts.count + 1
                if onSpot { state.spotStarts += 1 }
                state.machine.start(index, at: now)
                launches.append((index, job.id, job, attempt, onSpot && reclaimed(job.id, attempt: attempt)))
            }
            if needsTimer && !state.timerArmed { state.timerArmed = true } else { needsTimer = false }
        }
        for launch in launches {
            DispatchQueue.global().async {
                self.run(launch.index, id: launch.id, job: launch.job, attempt: launch.attempt, reclaim: launch.reclaim,
                         argv: argv, baseEnvironment: baseEnvironment, logDirectory: logDirectory)
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

    func run(_ index: Int, id: String, job: BatchStateMachine.Job, attempt: Int, reclaim: Bool, argv: [String],
             baseEnvironment: [String: String], logDirectory: String?) {
        let queueName = job.queue == 0 ? configuration.spotQueue : configuration.onDemandQueue
        var environment = baseEnvironment.merging(job.environment) { $1 }
        environment["AWS_BATCH_JOB_ID"] = id
        environment["AWS_BATCH_JOB_ATTEMPT"] = String(attempt)
        environment["AWS_BATCH_JQ_NAME"] = queueName
        environment["AWS_BATCH_CE_NAME"] = self.environment(for: queueName)
        if let position = job.arrayIndex { environment["AWS_BATCH_JOB_ARRAY_INDEX"] = String(position) }
        let logPath = logDirectory.map { "\($0)/\(String(id.map { $0 == ":" ? "_" : $0 }))-\(attempt).log" }
        var exitCode: Int32 = 127
        var spawnError: String?
        do {
            let pid = try ProcessSpawner.spawn(argv, environment: environment, searchPath: true,
                                               output: .init(path: logPath ?? "/dev/null", appending: false))
            state.withLock { $0.pids[index] = pid }
            if reclaim { kill(pid, SIGKILL) }
            exitCode = ProcessSpawner.wait(pid) ?? 127
        } catch {
            spawnError = "\(error)"
        }
        let stopped = nowSeconds
        state.withLock { state in
            state.pids[index] = nil
            let terminatedReason = state.machine.jobs[index].terminating
            let reason: String
            if let terminatedReason { reason = terminatedReason }
            else if reclaim { reason = "Host EC2 (instance i-local) terminated." }
            else if let spawnError { reason = "CannotStartContainerError: \(spawnError)" }
            else { reason = "Essential container in task exited" }
            state.machine.endAttempt(index, at: stopped, exitCode: Int(exitCode), reason: reason, logStreamName: logPath)
            let succeeded = exitCode == 0 && !reclaim && spawnError == nil && terminatedReason == nil
            if succeeded {
                state.machine.finish(index, .succeeded, reason: reason, at: stopped)
            } else {
                state.machine.retryOrFail(index, reason: reason, at: stopped)
            }
        }
        pump()
    }

    /// Delivers queued events one at a time, in order, outside the lock.
    func deliver() {
        let start = state.withLock { state -> Bool in
            if state.delivering || state.machine.outbox.isEmpty { return false }
            state.delivering = true
            return true
        }
        guard start else { return }
        delivery.async {
            while true {
                let next = self.state.withLock { state -> BatchJobStateChange? in
                    if state.machine.outbox.isEmpty {
                        state.delivering = false
                        return nil
                    }
                    return state.machine.outbox.removeFirst()
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
            state.machine.runningCount == 0 && state.machine.outbox.isEmpty && !state.delivering &&
                !state.machine.jobs.contains { !$0.status.isTerminal && $0.isLeaf }
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

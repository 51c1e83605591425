import Events
import FoundationEssentials
import Odin

/// AWS Batch's job state machine as a value: queues and compute environments, jobs and array children, attempts,
/// in-queue retries by the job's retry strategy, array parents that follow their children, ListJobs/DescribeJobs
/// views and the job events Batch emits (aws-batch-facts.md §1.4–1.8). No I/O and no clock: every transition takes
/// the time it happens at. Both emulators of Batch run on it — the local binding (`LocalCompute`, which runs child
/// processes) and the simulator (`SimulatedBatch`, which models instances) — and each keeps only its scheduling.
///
/// Times are seconds on the caller's timeline; reported times are epoch milliseconds `⌊(epoch + t) · 1000⌋`.
public struct BatchStateMachine: Sendable {
    public struct Job: Sendable {
        public var id: String
        public var name: String
        /// Index into `queues` (queue i feeds compute environment i).
        public var queue: Int
        public var status: BatchJobStatus = .runnable
        public var reason: String?
        /// The array parent of a child.
        public var parent: Int?
        public var arrayIndex: Int?
        /// The children of an array parent (contiguous, after the parent).
        public var children: Range<Int>?
        public var terminalChildren = 0
        public var failedChildren = 0
        /// retryStrategy.attempts; 0 once TerminateJob stopped a RUNNING job (no retry).
        public var maxAttempts: Int
        public var retryGlobs: [String]
        public var vcpus: Int
        /// Scheduling priority (higher starts first where the scheduler honours it).
        public var priority: Int
        public var tags: [String: String]
        public var environment: [String: String]
        var environmentList: [BatchJobDetail.KeyValue]
        public var createdAt: Double
        public var runnableSince: Double
        public var startedAt: Double?
        public var stoppedAt: Double?
        public var attempts: [BatchJobDetail.Attempt] = []
        /// Start of the current attempt (RUNNING).
        public var attemptStart = 0.0
        /// Set by TerminateJob on a RUNNING job whose attempt is still ending: the reason it ends FAILED with.
        public var terminating: String?

        public var isLeaf: Bool { children == nil }
    }

    /// Which transitions become job events.
    public enum EventFilter: Sendable {
        /// Every transition Batch reports: RUNNABLE (at submission and on an in-queue retry), RUNNING (every
        /// attempt), SUCCEEDED and FAILED (the local binding, whose events drive the demo and its tests).
        case every
        /// What the deployed EventBridge rule passes, plus a job's first RUNNING (for the warm-capacity reset):
        /// the simulator, where every event costs a control-logic invocation.
        case terminalAndFirstRunning
    }

    public let queues: [String]
    public let computeEnvironments: [String]
    /// `arn:<arnPartition>:batch:job/<id>`.
    public let arnPartition: String
    public let epoch: Double
    public let eventFilter: EventFilter

    public var queueEnabled: [Bool]
    public var environments: [ComputeEnvironmentInfo]
    public private(set) var jobs: [Job] = []
    /// Top-level jobs (plain jobs and array parents) per queue, in submission order.
    public private(set) var topByQueue: [[Int]]
    /// Top-level jobs not yet terminal, per queue.
    var activeTop: [Set<Int>]
    var topIndex: [String: Int] = [:]
    /// Events not yet taken by the binding, in order.
    public var outbox: [BatchJobStateChange] = []

    // Counters the schedulers read.
    public private(set) var runnableVcpus: [Int]
    public private(set) var runningVcpus: [Int]
    public private(set) var runnableCount = 0
    public private(set) var runningCount = 0

    public init(queues: [String], computeEnvironments: [String], arnPartition: String, epoch: Double = 0,
                eventFilter: EventFilter) {
        self.queues = queues
        self.computeEnvironments = computeEnvironments
        self.arnPartition = arnPartition
        self.epoch = epoch
        self.eventFilter = eventFilter
        queueEnabled = queues.map { _ in true }
        environments = computeEnvironments.map {
            ComputeEnvironmentInfo(name: $0, isEnabled: true, minvCpus: 0, maxvCpus: 0, desiredvCpus: 0)
        }
        topByQueue = queues.map { _ in [] }
        activeTop = queues.map { _ in [] }
        runnableVcpus = queues.map { _ in 0 }
        runningVcpus = queues.map { _ in 0 }
    }

    /// Epoch milliseconds of a time on the caller's timeline.
    public func ms(_ t: Double) -> Int64 { Int64(((epoch + t) * 1000).rounded(.down)) }

    /// Number of top-level jobs submitted so far.
    public var topCount: Int { topByQueue.reduce(0) { $0 + $1.count } }

    // MARK: - Queues and compute environments

    public func queueIndex(_ name: String, binding: String) throws -> Int {
        guard let index = queues.firstIndex(of: name) else { throw OdinError(binding, "no job queue named \(name)") }
        return index
    }

    public func environmentIndex(_ name: String, binding: String) throws -> Int {
        guard let index = computeEnvironments.firstIndex(of: name) else {
            throw OdinError(binding, "no compute environment named \(name)")
        }
        return index
    }

    /// UpdateComputeEnvironment's checks and effect: minvCpus within [0, maxvCpus], and maxvCpus not below the
    /// environment's `desired` vCPUs (desiredvCpus cannot be lowered, aws-batch-facts.md §1.2).
    public mutating func update(environment index: Int, _ update: ComputeEnvironmentUpdate, desired: Int) throws {
        var ce = environments[index]
        let name = ce.name
        let newMin = update.minvCpus ?? ce.minvCpus
        let newMax = update.maxvCpus ?? ce.maxvCpus
        guard newMin >= 0, newMin <= newMax else {
            throw OdinError("UpdateComputeEnvironment \(name)", "minvCpus \(newMin) must be in 0…maxvCpus \(newMax)")
        }
        guard newMax >= desired else {
            throw OdinError("UpdateComputeEnvironment \(name)",
                            "maxvCpus \(newMax) is below desiredvCpus \(desired); desiredvCpus cannot be lowered")
        }
        ce.minvCpus = newMin
        ce.maxvCpus = newMax
        if let enabled = update.isEnabled { ce.isEnabled = enabled }
        environments[index] = ce
    }

    // MARK: - Submission

    /// SubmitJob: a plain job, or an array parent with `arraySize` children, all RUNNABLE. Returns the index of the
    /// job (the parent); children follow it.
    public mutating func submit(_ submission: JobSubmission, id: String, queue: Int, priority: Int,
                                at now: Double) throws -> Int {
        guard (1...10_000).contains(submission.arraySize) else {
            throw OdinError("SubmitJob \(submission.name)", "array size \(submission.arraySize) outside 1…10,000")
        }
        let parentIndex = jobs.count
        var parent = Job(id: id, name: submission.name, queue: queue, maxAttempts: max(1, submission.attempts),
                         retryGlobs: submission.retryOnStatusReason, vcpus: submission.vcpus ?? 1, priority: priority,
                         tags: submission.tags, environment: submission.environment,
                         environmentList: submission.environment.sorted { $0.key < $1.key }
                             .map { .init(name: $0.key, value: $0.value) },
                         createdAt: now, runnableSince: now)
        let isArray = submission.arraySize > 1
        if isArray { parent.children = (parentIndex + 1)..<(parentIndex + 1 + submission.arraySize) }
        jobs.append(parent)
        topIndex[id] = parentIndex
        topByQueue[queue].append(parentIndex)
        activeTop[queue].insert(parentIndex)
        if isArray {
            jobs.reserveCapacity(jobs.count + submission.arraySize)
            for index in 0..<submission.arraySize {
                var child = parent
                child.id = "\(id):\(index)"
                child.children = nil
                child.parent = parentIndex
                child.arrayIndex = index
                jobs.append(child)
                enterRunnable(jobs.count - 1, at: now)
                if eventFilter == .every { emit(jobs.count - 1) }
            }
        } else {
            enterRunnable(parentIndex, at: now)
        }
        if eventFilter == .every { emit(parentIndex) }
        return parentIndex
    }

    // MARK: - Transitions

    /// A leaf job enters RUNNABLE (at submission or for an in-queue retry).
    mutating func enterRunnable(_ index: Int, at now: Double) {
        jobs[index].status = .runnable
        jobs[index].runnableSince = now
        runnableVcpus[jobs[index].queue] += jobs[index].vcpus
        runnableCount += 1
    }

    /// RUNNABLE → RUNNING: an attempt starts (its parent becomes RUNNING with its first running child).
    public mutating func start(_ index: Int, at now: Double) {
        leaveRunnable(index)
        jobs[index].status = .running
        jobs[index].attemptStart = now
        if jobs[index].startedAt == nil { jobs[index].startedAt = now }
        runningVcpus[jobs[index].queue] += jobs[index].vcpus
        runningCount += 1
        if eventFilter == .every || jobs[index].attempts.isEmpty { emit(index) }
        if let parent = jobs[index].parent, jobs[parent].status == .runnable {
            jobs[parent].status = .running
            jobs[parent].startedAt = now
        }
    }

    /// Ends the RUNNING attempt and records it (the job stays RUNNING until `finish` or `retryOrFail`).
    public mutating func endAttempt(_ index: Int, at now: Double, exitCode: Int, reason: String?,
                                    logStreamName: String? = nil) {
        let job = jobs[index]
        jobs[index].attempts.append(.init(container: .init(exitCode: exitCode, logStreamName: logStreamName),
                                          startedAt: ms(job.attemptStart), stoppedAt: ms(now), statusReason: reason))
        runningVcpus[job.queue] -= job.vcpus
        runningCount -= 1
    }

    /// After a failed attempt: back to RUNNABLE in the same queue when attempts remain and the reason matches a
    /// RETRY rule (Batch's retry strategy; no match exits), else FAILED. Returns true when it is retried.
    @discardableResult
    public mutating func retryOrFail(_ index: Int, reason: String, at now: Double) -> Bool {
        let job = jobs[index]
        if job.attempts.count < job.maxAttempts && job.retryGlobs.contains(where: { Self.glob($0, matches: reason) }) {
            enterRunnable(index, at: now)
            jobs[index].reason = nil
            if eventFilter == .every { emit(index) }
            return true
        }
        finish(index, .failed, reason: reason, at: now)
        return false
    }

    /// A RUNNABLE job fails without running (CancelJob, TerminateJob, the queue's RUNNABLE time limit).
    public mutating func cancelRunnable(_ index: Int, reason: String, at now: Double) {
        leaveRunnable(index)
        finish(index, .failed, reason: reason, at: now)
    }

    /// A leaf job becomes SUCCEEDED or FAILED; its parent follows with its last child (FAILED when any child failed).
    public mutating func finish(_ index: Int, _ status: BatchJobStatus, reason: String?, at now: Double) {
        jobs[index].status = status
        jobs[index].reason = reason
        jobs[index].stoppedAt = now
        emit(index)
        if let parent = jobs[index].parent {
            jobs[parent].terminalChildren += 1
            if status == .failed { jobs[parent].failedChildren += 1 }
            if let range = jobs[parent].children, jobs[parent].terminalChildren == range.count,
               !jobs[parent].status.isTerminal {
                let failed = jobs[parent].failedChildren
                jobs[parent].status = failed == 0 ? .succeeded : .failed
                jobs[parent].reason = failed == 0 ? nil : "Array Child Job failed"
                jobs[parent].stoppedAt = now
                activeTop[jobs[parent].queue].remove(parent)
                emit(parent)
            }
        } else {
            activeTop[jobs[index].queue].remove(index)
        }
    }

    /// The leaf jobs TerminateJob/CancelJob of `id` acts on (the job, or an array parent's children), in order. The
    /// binding stops each that is not terminal when it gets to it: RUNNABLE ones with `cancelRunnable`, RUNNING
    /// ones (TerminateJob only) by ending their attempt (`markTerminating` when that happens later).
    public func stopTargets(_ id: String) -> [Int] {
        guard let index = lookup(id) else { return [] }
        return jobs[index].children.map(Array.init) ?? [index]
    }

    /// TerminateJob on a RUNNING job whose attempt ends later: it then ends FAILED with `reason`, never retried.
    public mutating func markTerminating(_ index: Int, reason: String) {
        jobs[index].maxAttempts = 0
        jobs[index].terminating = reason
        jobs[index].reason = reason
    }

    /// Forces a leaf job terminal with the given attempts (manual driving in tests: nothing ran).
    public mutating func complete(_ index: Int, _ status: BatchJobStatus, reason: String?,
                                  attempts: [BatchJobDetail.Attempt], startedAt: Double, at now: Double) {
        switch jobs[index].status {
        case .runnable where jobs[index].isLeaf: leaveRunnable(index)
        case .running where jobs[index].isLeaf:
            runningVcpus[jobs[index].queue] -= jobs[index].vcpus
            runningCount -= 1
        default: break
        }
        jobs[index].attempts = attempts
        jobs[index].startedAt = startedAt
        finish(index, status, reason: reason, at: now)
    }

    mutating func leaveRunnable(_ index: Int) {
        runnableVcpus[jobs[index].queue] -= jobs[index].vcpus
        runnableCount -= 1
    }

    mutating func emit(_ index: Int) { outbox.append(BatchJobStateChange(detail: detail(index))) }

    /// Takes the events emitted so far.
    public mutating func takeEvents() -> [BatchJobStateChange] {
        defer { outbox = [] }
        return outbox
    }

    /// evaluateOnExit glob: `*` only at the end (Batch's rule), otherwise exact.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        pattern.hasSuffix("*") ? text.hasPrefix(pattern.dropLast()) : pattern == text
    }

    // MARK: - Views

    /// The index of a job id (`<id>` or `<parent id>:<index>`).
    public func lookup(_ id: String) -> Int? {
        if let index = topIndex[id] { return index }
        guard let colon = id.lastIndex(of: ":"), let parent = topIndex[String(id[..<colon])],
              let position = Int(id[id.index(after: colon)...]), let range = jobs[parent].children,
              position >= 0, position < range.count else { return nil }
        return range.lowerBound + position
    }

    public func summary(_ index: Int) -> JobSummary {
        let job = jobs[index]
        return JobSummary(jobID: job.id, jobName: job.name, status: job.status, statusReason: job.reason,
                          arrayIndex: job.arrayIndex, arraySize: job.children?.count, createdAt: ms(job.createdAt),
                          startedAt: job.startedAt.map(ms), stoppedAt: job.stoppedAt.map(ms))
    }

    /// The job as DescribeJobs and its events report it.
    public func detail(_ index: Int) -> BatchJobDetail {
        let job = jobs[index]
        var properties: BatchJobDetail.ArrayProperties?
        if let range = job.children {
            properties = .init(size: range.count)
            if job.status.isTerminal {
                var summary: [String: Int] = [:]
                for child in range { summary[jobs[child].status.rawValue, default: 0] += 1 }
                properties?.statusSummary = summary
            }
        }
        if let position = job.arrayIndex { properties = .init(index: position) }
        return BatchJobDetail(jobArn: "arn:\(arnPartition):batch:job/\(job.id)", jobName: job.name, jobId: job.id,
                              jobQueue: queues[job.queue], status: job.status, statusReason: job.reason,
                              attempts: job.attempts, createdAt: ms(job.createdAt), startedAt: job.startedAt.map(ms),
                              stoppedAt: job.stoppedAt.map(ms),
                              container: .init(environment: job.environmentList,
                                               resourceRequirements: [.init(type: "VCPU", value: String(job.vcpus))]),
                              arrayProperties: properties, tags: job.tags)
    }

    /// ListJobs: top-level jobs of a queue in a status, children of an array job in a status, or a queue's jobs by
    /// name prefix (any status); in submission order (none for an unknown queue).
    public func list(_ filter: JobFilter) -> [JobSummary] {
        switch filter {
        case .queue(let name, let status):
            guard let queue = queues.firstIndex(of: name) else { return [] }
            let pool = status.isTerminal ? topByQueue[queue] : activeTop[queue].sorted()
            return pool.filter { jobs[$0].status == status }.map(summary)
        case .arrayChildren(let parentID, let status):
            guard let parent = topIndex[parentID], let range = jobs[parent].children else { return [] }
            return range.filter { jobs[$0].status == status }.map(summary)
        case .namePrefix(let name, let prefix):
            guard let queue = queues.firstIndex(of: name) else { return [] }
            return topByQueue[queue].filter { jobs[$0].name.hasPrefix(prefix) }.map(summary)
        }
    }

    /// DescribeJobs (≤ 100 ids per call; unknown ids are left out).
    public func describe(_ ids: [String]) throws -> [BatchJobDetail] {
        guard ids.count <= 100 else { throw OdinError("DescribeJobs", "at most 100 job ids per call") }
        return ids.compactMap { lookup($0).map(detail) }
    }
}

import Events

/// A job queue as DescribeJobQueues reports it.
public struct QueueInfo: Sendable, Equatable, Codable {
    public var name: String
    public var isEnabled: Bool
    public init(name: String, isEnabled: Bool) {
        self.name = name
        self.isEnabled = isEnabled
    }
}

/// A compute environment as DescribeComputeEnvironments reports it.
public struct ComputeEnvironmentInfo: Sendable, Equatable, Codable {
    public var name: String
    public var isEnabled: Bool
    public var minvCpus: Int
    public var maxvCpus: Int
    public var desiredvCpus: Int
    public init(name: String, isEnabled: Bool, minvCpus: Int, maxvCpus: Int, desiredvCpus: Int) {
        self.name = name
        self.isEnabled = isEnabled
        self.minvCpus = minvCpus
        self.maxvCpus = maxvCpus
        self.desiredvCpus = desiredvCpus
    }
}

/// A scaling update. There is deliberately no `desiredvCpus`: AWS rejects lowering it (aws-batch-facts.md §1.2).
public struct ComputeEnvironmentUpdate: Sendable, Equatable {
    public var minvCpus: Int?
    public var maxvCpus: Int?
    public var isEnabled: Bool?
    public init(minvCpus: Int? = nil, maxvCpus: Int? = nil, isEnabled: Bool? = nil) {
        self.minvCpus = minvCpus
        self.maxvCpus = maxvCpus
        self.isEnabled = isEnabled
    }
}

/// A SubmitJob request: an array job when `arraySize ≥ 2`, a plain job when 1.
public struct JobSubmission: Sendable, Equatable {
    public var name: String
    public var queue: String
    public var jobDefinition: String
    public var arraySize: Int
    public var environment: [String: String]
    public var tags: [String: String]
    /// retryStrategy.attempts (1–10).
    public var attempts: Int
    /// evaluateOnExit: `onStatusReason` globs that RETRY; a final `onReason: "*"` EXIT rule is always added.
    public var retryOnStatusReason: [String]
    public var timeoutSeconds: Int?
    public var vcpus: Int?
    /// The run's priority (nil: the binding's default). AWS: `schedulingPriorityOverride` within the shared
    /// fair-share identifier; local: RUNNABLE jobs start highest first, then in submission order.
    public var priority: RunPriority?

    public init(name: String, queue: String, jobDefinition: String, arraySize: Int, environment: [String: String],
                tags: [String: String], attempts: Int = 1, retryOnStatusReason: [String] = [],
                timeoutSeconds: Int? = nil, vcpus: Int? = nil, priority: RunPriority? = nil) {
        self.name = name
        self.queue = queue
        self.jobDefinition = jobDefinition
        self.arraySize = arraySize
        self.environment = environment
        self.tags = tags
        self.attempts = attempts
        self.retryOnStatusReason = retryOnStatusReason
        self.timeoutSeconds = timeoutSeconds
        self.vcpus = vcpus
        self.priority = priority
    }
}

/// One row of ListJobs.
public struct JobSummary: Sendable, Equatable, Codable {
    public var jobID: String
    public var jobName: String
    public var status: BatchJobStatus
    public var statusReason: String?
    public var arrayIndex: Int?
    public var arraySize: Int?
    public var createdAt: Int64?
    public var startedAt: Int64?
    public var stoppedAt: Int64?
    public init(jobID: String, jobName: String, status: BatchJobStatus, statusReason: String? = nil,
                arrayIndex: Int? = nil, arraySize: Int? = nil, createdAt: Int64? = nil, startedAt: Int64? = nil,
                stoppedAt: Int64? = nil) {
        self.jobID = jobID
        self.jobName = jobName
        self.status = status
        self.statusReason = statusReason
        self.arrayIndex = arrayIndex
        self.arraySize = arraySize
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
    }
}

/// What to list (each case is one paginated ListJobs call shape).
public enum JobFilter: Sendable, Equatable {
    /// `jobQueue` + `jobStatus`.
    case queue(String, status: BatchJobStatus)
    /// `arrayJobId` + `jobStatus` (children of an array job).
    case arrayChildren(String, status: BatchJobStatus)
    /// `jobQueue` + `filters: [{name: JOB_NAME, values: ["<prefix>*"]}]` (any status).
    case namePrefix(queue: String, prefix: String)
}

/// The compute port: AWS Batch in the AWS binding, `LocalCompute` locally.
/// Calls: DescribeJobQueues, UpdateJobQueue(state), DescribeComputeEnvironments, UpdateComputeEnvironment
/// (computeResources.minvCpus/maxvCpus, state), SubmitJob, ListJobs, DescribeJobs (≤100 ids per call),
/// TerminateJob, CancelJob.
public protocol Compute: Sendable {
    func describeQueues(_ names: [String]) throws -> [QueueInfo]
    func setQueueEnabled(_ name: String, _ enabled: Bool) throws
    func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo]
    func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws
    /// Returns the new job's id.
    func submitJob(_ submission: JobSubmission) throws -> String
    func listJobs(_ filter: JobFilter) throws -> [JobSummary]
    func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail]
    /// Stops a job in any state (RUNNING jobs are killed).
    func terminateJob(_ jobID: String, reason: String) throws
    /// Cancels a job that has not started (SUBMITTED/PENDING/RUNNABLE).
    func cancelJob(_ jobID: String, reason: String) throws
}

/// The notification port (SNS Publish).
public protocol Notifier: Sendable {
    func publish(subject: String, message: String) throws
}

/// What condensation needs to know about a finished run.
public struct CondensationRequest: Sendable, Equatable {
    public var runID: String
    public var chunkCount: Int
    public var succeededChunks: Int
    /// Chunk indices that failed for good (their Stage 1 files are missing or partial).
    public var failedChunks: [Int]
    public var manifestKey: String
    public var stage1Prefix: String
    public var stage3Prefix: String
    /// The run's priority, for a condensation submitted as a job.
    public var priority: RunPriority? = nil
}

/// Starts Hugin condensation for a run: as a Batch job, or in-process for small runs. Returns a job id when one was
/// submitted. Must be safe to call again for the same run only after a failure (the caller guarantees once).
public protocol Condensation: Sendable {
    func startCondensation(_ request: CondensationRequest) throws -> String?
}

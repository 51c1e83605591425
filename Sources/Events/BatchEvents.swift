import JSONCoding

/// Batch job statuses (aws-batch-facts.md §1.7).
public enum BatchJobStatus: String, Codable, Sendable, CaseIterable, Comparable {
    case submitted = "SUBMITTED"
    case pending = "PENDING"
    case runnable = "RUNNABLE"
    case starting = "STARTING"
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"

    public var isTerminal: Bool { self == .succeeded || self == .failed }
    /// Statuses a job is "active" in (may start or is using capacity).
    public static let active: [BatchJobStatus] = [.submitted, .pending, .runnable, .starting, .running]

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// `detail` of a "Batch Job State Change" event: the fields of `JobDetail` the control plane reads. Unknown fields
/// are ignored (the event mirrors JobDetail, which grows).
public struct BatchJobDetail: Codable, Sendable, Equatable {
    public struct Attempt: Codable, Sendable, Equatable {
        public struct Container: Codable, Sendable, Equatable {
            public var exitCode: Int?
            public var reason: String?
            public var logStreamName: String?
            public init(exitCode: Int? = nil, reason: String? = nil, logStreamName: String? = nil) {
                self.exitCode = exitCode
                self.reason = reason
                self.logStreamName = logStreamName
            }
        }
        public var container: Container?
        /// Epoch milliseconds.
        public var startedAt: Int64?
        public var stoppedAt: Int64?
        public var statusReason: String?
        public init(container: Container? = nil, startedAt: Int64? = nil, stoppedAt: Int64? = nil,
                    statusReason: String? = nil) {
            self.container = container
            self.startedAt = startedAt
            self.stoppedAt = stoppedAt
            self.statusReason = statusReason
        }
    }

    public struct KeyValue: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct ResourceRequirement: Codable, Sendable, Equatable {
        public var type: String
        public var value: String
        public init(type: String, value: String) {
            self.type = type
            self.value = value
        }
    }

    public struct Container: Codable, Sendable, Equatable {
        public var environment: [KeyValue]?
        public var resourceRequirements: [ResourceRequirement]?
        public var vcpus: Int?
        public var exitCode: Int?
        public var reason: String?
        public init(environment: [KeyValue]? = nil, resourceRequirements: [ResourceRequirement]? = nil,
                    vcpus: Int? = nil, exitCode: Int? = nil, reason: String? = nil) {
            self.environment = environment
            self.resourceRequirements = resourceRequirements
            self.vcpus = vcpus
            self.exitCode = exitCode
            self.reason = reason
        }
    }

    public struct ArrayProperties: Codable, Sendable, Equatable {
        /// Set on an array parent.
        public var size: Int?
        /// Set on an array child.
        public var index: Int?
        public var statusSummary: [String: Int]?
        public init(size: Int? = nil, index: Int? = nil, statusSummary: [String: Int]? = nil) {
            self.size = size
            self.index = index
            self.statusSummary = statusSummary
        }
    }

    public var jobArn: String?
    public var jobName: String
    public var jobId: String
    /// Queue ARN (or name in some emulators).
    public var jobQueue: String
    public var status: BatchJobStatus
    public var statusReason: String?
    public var attempts: [Attempt]?
    public var createdAt: Int64?
    public var startedAt: Int64?
    public var stoppedAt: Int64?
    public var container: Container?
    public var arrayProperties: ArrayProperties?
    public var tags: [String: String]?

    public init(jobArn: String? = nil, jobName: String, jobId: String, jobQueue: String, status: BatchJobStatus,
                statusReason: String? = nil, attempts: [Attempt]? = nil, createdAt: Int64? = nil,
                startedAt: Int64? = nil, stoppedAt: Int64? = nil, container: Container? = nil,
                arrayProperties: ArrayProperties? = nil, tags: [String: String]? = nil) {
        self.jobArn = jobArn
        self.jobName = jobName
        self.jobId = jobId
        self.jobQueue = jobQueue
        self.status = status
        self.statusReason = statusReason
        self.attempts = attempts
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
        self.container = container
        self.arrayProperties = arrayProperties
        self.tags = tags
    }

    /// The array index of a child job (`<parent>:<index>`), nil for a parent or a plain job.
    public var arrayIndex: Int? { arrayProperties?.index }
    /// True for an array parent (has `size`, no `index`).
    public var isArrayParent: Bool { arrayProperties?.size != nil && arrayProperties?.index == nil }
    /// The parent job id of an array child (`<parent>:<index>`), else the job id itself.
    public var parentJobID: String {
        if arrayIndex != nil, let colon = jobId.lastIndex(of: ":") { return String(jobId[..<colon]) }
        return jobId
    }
    /// The queue's name (last path component of the ARN).
    public var queueName: String {
        if let slash = jobQueue.lastIndex(of: "/") { return String(jobQueue[jobQueue.index(after: slash)...]) }
        return jobQueue
    }
    /// vCPUs requested (`resourceRequirements` VCPU, or legacy `vcpus`), nil when absent.
    public var vcpus: Double? {
        if let value = container?.resourceRequirements?.first(where: { $0.type == "VCPU" })?.value {
            return Double(value)
        }
        return container?.vcpus.map(Double.init)
    }
    /// Number of attempts in the event (0 when absent).
    public var attemptCount: Int { attempts?.count ?? 0 }
}

/// An EventBridge "Batch Job State Change" event.
public struct BatchJobStateChange: Codable, Sendable, Equatable {
    public var id: String?
    public var detailType: String
    public var source: String
    public var time: String?
    public var region: String?
    public var account: String?
    public var detail: BatchJobDetail

    enum CodingKeys: String, CodingKey {
        case id, source, time, region, account, detail
        case detailType = "detail-type"
    }

    public init(id: String? = nil, time: String? = nil, region: String? = nil, account: String? = nil,
                detail: BatchJobDetail) {
        self.id = id
        self.detailType = "Batch Job State Change"
        self.source = "aws.batch"
        self.time = time
        self.region = region
        self.account = account
        self.detail = detail
    }

    /// Decodes and checks `source`/`detail-type`; errors name the field.
    public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> BatchJobStateChange {
        let header = try EventJSON.decode(EventBridgeHeader.self, from: bytes)
        guard header.source == "aws.batch" else {
            throw EventDecodingError(field: "source", "expected \"aws.batch\", found \"\(header.source)\"")
        }
        guard header.detailType == "Batch Job State Change" else {
            throw EventDecodingError(field: "detail-type",
                                     "expected \"Batch Job State Change\", found \"\(header.detailType)\"")
        }
        return try EventJSON.decode(BatchJobStateChange.self, from: bytes)
    }

    public func encoded() -> [UInt8] {
        (try? JSONCoder.encode(self)) ?? []
    }
}

/// An EventBridge scheduled event (`"detail-type": "Scheduled Event"`, `source: aws.events`).
public struct ScheduledEvent: Decodable, Sendable, Equatable {
    public var header: EventBridgeHeader

    public init(from decoder: any Decoder) throws {
        header = try EventBridgeHeader(from: decoder)
    }

    public static func decode(_ bytes: some Collection<UInt8>) throws(EventDecodingError) -> ScheduledEvent {
        let event = try EventJSON.decode(ScheduledEvent.self, from: bytes)
        guard event.header.detailType == "Scheduled Event" else {
            throw EventDecodingError(field: "detail-type",
                                     "expected \"Scheduled Event\", found \"\(event.header.detailType)\"")
        }
        guard event.header.source == "aws.events" || event.header.source == "aws.scheduler" else {
            throw EventDecodingError(field: "source", "expected \"aws.events\", found \"\(event.header.source)\"")
        }
        return event
    }
}

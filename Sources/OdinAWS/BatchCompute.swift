import AWS
import Events
import Odin

/// The AWS Batch binding of `Compute`. Queues and compute environments are addressed by the names the profile holds
/// (the binding's `makeServices` derives them from the stack's ARNs); Batch accepts names or ARNs everywhere.
/// Every SubmitJob carries the fair-share `shareIdentifier` and `schedulingPriorityOverride` (the submission's run
/// priority, else the function's default; infra/README.md, Priority scheduling), `propagateTags: true` and the
/// stage tag.
public struct BatchCompute: Compute {
    public let client: AWSClient
    /// `ODIN_SHARE_IDENTIFIER` (`odin`); required by fair-share queues.
    public let shareIdentifier: String
    /// The default when a submission has no priority (ODIN_PRIORITY): high = 300, normal = 200, low = 100.
    public let schedulingPriority: Int
    /// Tags added to every job (`odin:stage`), unless the submission sets them.
    public let extraTags: [String: String]

    public init(client: AWSClient, shareIdentifier: String, schedulingPriority: Int = 200,
                extraTags: [String: String] = [:]) {
        self.client = client
        self.shareIdentifier = shareIdentifier
        self.schedulingPriority = schedulingPriority
        self.extraTags = extraTags
    }

    // MARK: Port

    public func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        let details = try batch { () throws(AWSError) in try client.describeJobQueues(names: names) }
        return try names.map { name in
            guard let detail = details.first(where: { $0.jobQueueName == name || $0.jobQueueArn == name }) else {
                throw OdinError("Batch DescribeJobQueues", "job queue '\(name)' does not exist (check ODIN_SPOT_QUEUE/ODIN_OD_QUEUE)")
            }
            return QueueInfo(name: name, isEnabled: detail.state == "ENABLED")
        }
    }

    public func setQueueEnabled(_ name: String, _ enabled: Bool) throws {
        _ = try batch { () throws(AWSError) in
            try client.updateJobQueue(Batch.UpdateJobQueueRequest(jobQueue: name, state: enabled ? "ENABLED" : "DISABLED"))
        }
    }

    public func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        let details = try batch { () throws(AWSError) in try client.describeComputeEnvironments(names: names) }
        return try names.map { name in
            guard let detail = details.first(where: { $0.computeEnvironmentName == name || $0.computeEnvironmentArn == name })
            else {
                throw OdinError("Batch DescribeComputeEnvironments",
                                "compute environment '\(name)' does not exist (check ODIN_SPOT_CE/ODIN_OD_CE)")
            }
            let resources = detail.computeResources
            return ComputeEnvironmentInfo(name: name, isEnabled: detail.state == "ENABLED",
                                          minvCpus: resources?.minvCpus ?? 0, maxvCpus: resources?.maxvCpus ?? 0,
                                          desiredvCpus: resources?.desiredvCpus ?? 0)
        }
    }

    public func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        var resources: Batch.ComputeResources?
        if update.minvCpus != nil || update.maxvCpus != nil {
            resources = Batch.ComputeResources(minvCpus: update.minvCpus, maxvCpus: update.maxvCpus)
        }
        let state = update.isEnabled.map { $0 ? "ENABLED" : "DISABLED" }
        guard resources != nil || state != nil else { return }
        _ = try batch { () throws(AWSError) in
            try client.updateComputeEnvironment(Batch.UpdateComputeEnvironmentRequest(
                computeEnvironment: name, state: state, computeResources: resources))
        }
    }

    public func submitJob(_ submission: JobSubmission) throws -> String {
        var rules = submission.retryOnStatusReason.map { Batch.EvaluateOnExit(onStatusReason: $0, action: "RETRY") }
        rules.append(Batch.EvaluateOnExit(onReason: "*", action: "EXIT"))
        var tags = submission.tags
        for (key, value) in extraTags where tags[key] == nil { tags[key] = value }
        let environment = submission.environment.sorted { $0.key < $1.key }
            .map { Batch.KeyValuePair(name: $0.key, value: $0.value) }
        let request = Batch.SubmitJobRequest(
            jobName: Self.jobName(submission.name), jobQueue: submission.queue, jobDefinition: submission.jobDefinition,
            shareIdentifier: shareIdentifier,
            schedulingPriorityOverride: submission.priority?.schedulingPriority ?? schedulingPriority,
            arraySize: submission.arraySize >= 2 ? submission.arraySize : nil,
            containerOverrides: Batch.ContainerOverrides(
                environment: environment.isEmpty ? nil : environment,
                resourceRequirements: submission.vcpus.map { [Batch.ResourceRequirement(type: "VCPU", value: String($0))] }),
            retryStrategy: Batch.RetryStrategy(attempts: min(10, max(1, submission.attempts)), evaluateOnExit: rules),
            timeout: submission.timeoutSeconds.map { Batch.JobTimeout(attemptDurationSeconds: max(60, $0)) },
            tags: tags.isEmpty ? nil : tags, propagateTags: true)
        return try batch { () throws(AWSError) in try client.submitJob(request) }.jobId
    }

    public func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        let request: Batch.ListJobsRequest
        switch filter {
        case .queue(let queue, let status): request = Batch.ListJobsRequest(jobQueue: queue, jobStatus: status.rawValue)
        case .arrayChildren(let parent, let status):
            request = Batch.ListJobsRequest(arrayJobId: parent, jobStatus: status.rawValue)
        case .namePrefix(let queue, let prefix):
            request = Batch.ListJobsRequest(jobQueue: queue,
                                            filters: [Batch.KeyValuesPair(name: "JOB_NAME", values: [prefix + "*"])])
        }
        var result: [JobSummary] = []
        for job in try batch({ () throws(AWSError) in try client.listAllJobs(request) }) {
            guard let raw = job.status, let status = BatchJobStatus(rawValue: raw) else {
                throw OdinError("Batch ListJobs", "job \(job.jobId) has unknown status '\(job.status ?? "")'")
            }
            result.append(JobSummary(jobID: job.jobId, jobName: job.jobName ?? "", status: status,
                                     statusReason: job.statusReason, arrayIndex: job.arrayProperties?.index,
                                     arraySize: job.arrayProperties?.size, createdAt: job.createdAt,
                                     startedAt: job.startedAt, stoppedAt: job.stoppedAt))
        }
        if case .namePrefix(_, let prefix) = filter {
            // Batch matches the filter server-side; keep the port's meaning exact whatever the server did.
            result = result.filter { $0.jobName.hasPrefix(prefix) }
        }
        return result
    }

    public func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
        try batch { () throws(AWSError) in try client.describeJobs(ids: jobIDs) }
    }

    public func terminateJob(_ jobID: String, reason: String) throws {
        try batch { () throws(AWSError) in try client.terminateJob(id: jobID, reason: reason) }
    }

    public func cancelJob(_ jobID: String, reason: String) throws {
        try batch { () throws(AWSError) in try client.cancelJob(id: jobID, reason: reason) }
    }

    /// Batch job names: up to 128 letters, digits, hyphens and underscores (first character alphanumeric).
    static func jobName(_ name: String) -> String {
        var cleaned = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
        if let first = cleaned.first, !(first.isLetter || first.isNumber) { cleaned = "j" + cleaned }
        return String(cleaned.prefix(128))
    }

    func batch<R>(_ body: () throws(AWSError) -> R) throws -> R {
        do throws(AWSError) {
            return try body()
        } catch {
            throw OdinError("Batch \(error.operation)", error.description)
        }
    }
}

/// The SNS binding of `Notifier`: Publish to one topic. Subjects are cut to SNS's limit (100 ASCII characters, no
/// line breaks).
public struct SNSNotifier: Notifier {
    public let client: AWSClient
    public let topicARN: String

    public init(client: AWSClient, topicARN: String) {
        self.client = client
        self.topicARN = topicARN
    }

    public func publish(subject: String, message: String) throws {
        let cleaned = String(subject.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : " " })
        do throws(AWSError) {
            _ = try client.publish(topicARN: topicARN, message: message,
                                   subject: cleaned.isEmpty ? nil : String(cleaned.prefix(100)))
        } catch {
            throw OdinError("SNS Publish to \(topicARN)", error.description)
        }
    }
}

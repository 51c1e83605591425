import Events
import OdinBasics

/// AWS Batch (REST-JSON, API 2016-08-10). Request and response types mirror the API's field names
/// (https://docs.aws.amazon.com/batch/latest/APIReference/); absent optionals are left out of the JSON.
///
/// Idempotency: SubmitJob has no client token, so it counts as non-idempotent (a blind retry after a 500 or a lost
/// response could start a second array job and double the spend); so do the Create* calls and
/// RegisterJobDefinition (each call makes a new revision). Updates, describes, lists, cancel and terminate are
/// idempotent and retried normally.
public enum Batch {
    // MARK: Compute environments

    public struct ComputeResources: Codable, Sendable, Equatable {
        /// `EC2`, `SPOT`, `FARGATE`, `FARGATE_SPOT`.
        public var type: String?
        /// `BEST_FIT_PROGRESSIVE`, `SPOT_CAPACITY_OPTIMIZED`, `SPOT_PRICE_CAPACITY_OPTIMIZED`, …
        public var allocationStrategy: String?
        public var minvCpus: Int?
        public var maxvCpus: Int?
        public var desiredvCpus: Int?
        public var instanceTypes: [String]?
        public var subnets: [String]?
        public var securityGroupIds: [String]?
        public var instanceRole: String?
        public var bidPercentage: Int?
        public var spotIamFleetRole: String?
        public var tags: [String: String]?

        public init(type: String? = nil, allocationStrategy: String? = nil, minvCpus: Int? = nil, maxvCpus: Int? = nil,
                    desiredvCpus: Int? = nil, instanceTypes: [String]? = nil, subnets: [String]? = nil,
                    securityGroupIds: [String]? = nil, instanceRole: String? = nil, bidPercentage: Int? = nil,
                    spotIamFleetRole: String? = nil, tags: [String: String]? = nil) {
            self.type = type
            self.allocationStrategy = allocationStrategy
            self.minvCpus = minvCpus
            self.maxvCpus = maxvCpus
            self.desiredvCpus = desiredvCpus
            self.instanceTypes = instanceTypes
            self.subnets = subnets
            self.securityGroupIds = securityGroupIds
            self.instanceRole = instanceRole
            self.bidPercentage = bidPercentage
            self.spotIamFleetRole = spotIamFleetRole
            self.tags = tags
        }
    }

    public struct CreateComputeEnvironmentRequest: Codable, Sendable {
        public var computeEnvironmentName: String
        /// `MANAGED` or `UNMANAGED`.
        public var type: String
        /// `ENABLED` or `DISABLED`.
        public var state: String?
        public var serviceRole: String?
        public var computeResources: ComputeResources?
        public var tags: [String: String]?

        public init(computeEnvironmentName: String, type: String = "MANAGED", state: String? = "ENABLED",
                    serviceRole: String? = nil, computeResources: ComputeResources? = nil,
                    tags: [String: String]? = nil) {
            self.computeEnvironmentName = computeEnvironmentName
            self.type = type
            self.state = state
            self.serviceRole = serviceRole
            self.computeResources = computeResources
            self.tags = tags
        }
    }

    public struct ComputeEnvironmentReference: Codable, Sendable, Equatable {
        public var computeEnvironmentName: String?
        public var computeEnvironmentArn: String?
    }

    public struct UpdateComputeEnvironmentRequest: Codable, Sendable {
        /// Name or ARN.
        public var computeEnvironment: String
        public var state: String?
        public var computeResources: ComputeResources?
        public var serviceRole: String?

        public init(computeEnvironment: String, state: String? = nil, computeResources: ComputeResources? = nil,
                    serviceRole: String? = nil) {
            self.computeEnvironment = computeEnvironment
            self.state = state
            self.computeResources = computeResources
            self.serviceRole = serviceRole
        }
    }

    public struct ComputeEnvironmentDetail: Codable, Sendable, Equatable {
        public var computeEnvironmentName: String
        public var computeEnvironmentArn: String
        public var type: String?
        public var state: String?
        public var status: String?
        public var statusReason: String?
        public var serviceRole: String?
        public var computeResources: ComputeResources?
    }

    // MARK: Job queues

    public struct ComputeEnvironmentOrder: Codable, Sendable, Equatable {
        public var order: Int
        public var computeEnvironment: String
        public init(order: Int, computeEnvironment: String) {
            self.order = order
            self.computeEnvironment = computeEnvironment
        }
    }

    /// What to do with jobs stuck in a state (e.g. RUNNABLE on Spot for `maxTimeSeconds`): `CANCEL`.
    public struct JobStateTimeLimitAction: Codable, Sendable, Equatable {
        public var reason: String
        public var state: String
        public var maxTimeSeconds: Int
        public var action: String
        public init(reason: String, state: String = "RUNNABLE", maxTimeSeconds: Int, action: String = "CANCEL") {
            self.reason = reason
            self.state = state
            self.maxTimeSeconds = maxTimeSeconds
            self.action = action
        }
    }

    public struct CreateJobQueueRequest: Codable, Sendable {
        public var jobQueueName: String
        public var state: String?
        public var priority: Int
        public var computeEnvironmentOrder: [ComputeEnvironmentOrder]
        public var jobStateTimeLimitActions: [JobStateTimeLimitAction]?
        public var tags: [String: String]?

        public init(jobQueueName: String, state: String? = "ENABLED", priority: Int = 1,
                    computeEnvironmentOrder: [ComputeEnvironmentOrder],
                    jobStateTimeLimitActions: [JobStateTimeLimitAction]? = nil, tags: [String: String]? = nil) {
            self.jobQueueName = jobQueueName
            self.state = state
            self.priority = priority
            self.computeEnvironmentOrder = computeEnvironmentOrder
            self.jobStateTimeLimitActions = jobStateTimeLimitActions
            self.tags = tags
        }
    }

    public struct JobQueueReference: Codable, Sendable, Equatable {
        public var jobQueueName: String?
        public var jobQueueArn: String?
    }

    public struct UpdateJobQueueRequest: Codable, Sendable {
        /// Name or ARN.
        public var jobQueue: String
        public var state: String?
        public var priority: Int?
        public var computeEnvironmentOrder: [ComputeEnvironmentOrder]?
        public var jobStateTimeLimitActions: [JobStateTimeLimitAction]?

        public init(jobQueue: String, state: String? = nil, priority: Int? = nil,
                    computeEnvironmentOrder: [ComputeEnvironmentOrder]? = nil,
                    jobStateTimeLimitActions: [JobStateTimeLimitAction]? = nil) {
            self.jobQueue = jobQueue
            self.state = state
            self.priority = priority
            self.computeEnvironmentOrder = computeEnvironmentOrder
            self.jobStateTimeLimitActions = jobStateTimeLimitActions
        }
    }

    public struct JobQueueDetail: Codable, Sendable, Equatable {
        public var jobQueueName: String
        public var jobQueueArn: String
        public var state: String?
        public var status: String?
        public var statusReason: String?
        public var priority: Int?
        public var computeEnvironmentOrder: [ComputeEnvironmentOrder]?
        public var jobStateTimeLimitActions: [JobStateTimeLimitAction]?
    }

    // MARK: Job definitions

    /// `{name, value}`: the same shape in job definitions, overrides and job details (one model, Events').
    public typealias KeyValuePair = BatchJobDetail.KeyValue

    /// `{type, value}` with type `VCPU`, `MEMORY` or `GPU` (one model, Events').
    public typealias ResourceRequirement = BatchJobDetail.ResourceRequirement

    public struct ContainerProperties: Codable, Sendable, Equatable {
        public var image: String
        public var command: [String]?
        public var environment: [KeyValuePair]?
        public var resourceRequirements: [ResourceRequirement]?
        public var jobRoleArn: String?
        public var executionRoleArn: String?

        public init(image: String, command: [String]? = nil, environment: [KeyValuePair]? = nil,
                    resourceRequirements: [ResourceRequirement]? = nil, jobRoleArn: String? = nil,
                    executionRoleArn: String? = nil) {
            self.image = image
            self.command = command
            self.environment = environment
            self.resourceRequirements = resourceRequirements
            self.jobRoleArn = jobRoleArn
            self.executionRoleArn = executionRoleArn
        }
    }

    /// One `evaluateOnExit` condition; `action` is `RETRY` or `EXIT` (moto echoes it lower-cased).
    public struct EvaluateOnExit: Codable, Sendable, Equatable {
        public var onStatusReason: String?
        public var onReason: String?
        public var onExitCode: String?
        public var action: String
        public init(onStatusReason: String? = nil, onReason: String? = nil, onExitCode: String? = nil,
                    action: String) {
            self.onStatusReason = onStatusReason
            self.onReason = onReason
            self.onExitCode = onExitCode
            self.action = action
        }
    }

    public struct RetryStrategy: Codable, Sendable, Equatable {
        public var attempts: Int?
        public var evaluateOnExit: [EvaluateOnExit]?
        public init(attempts: Int? = nil, evaluateOnExit: [EvaluateOnExit]? = nil) {
            self.attempts = attempts
            self.evaluateOnExit = evaluateOnExit
        }
    }

    public struct JobTimeout: Codable, Sendable, Equatable {
        public var attemptDurationSeconds: Int
        public init(attemptDurationSeconds: Int) { self.attemptDurationSeconds = attemptDurationSeconds }
    }

    public struct RegisterJobDefinitionRequest: Codable, Sendable {
        public var jobDefinitionName: String
        public var type: String
        public var containerProperties: ContainerProperties?
        public var retryStrategy: RetryStrategy?
        public var timeout: JobTimeout?
        public var parameters: [String: String]?
        public var platformCapabilities: [String]?
        public var tags: [String: String]?

        public init(jobDefinitionName: String, type: String = "container",
                    containerProperties: ContainerProperties? = nil, retryStrategy: RetryStrategy? = nil,
                    timeout: JobTimeout? = nil, parameters: [String: String]? = nil,
                    platformCapabilities: [String]? = nil, tags: [String: String]? = nil) {
            self.jobDefinitionName = jobDefinitionName
            self.type = type
            self.containerProperties = containerProperties
            self.retryStrategy = retryStrategy
            self.timeout = timeout
            self.parameters = parameters
            self.platformCapabilities = platformCapabilities
            self.tags = tags
        }
    }

    public struct JobDefinitionReference: Codable, Sendable, Equatable {
        public var jobDefinitionName: String
        public var jobDefinitionArn: String
        public var revision: Int
    }

    // MARK: Jobs

    public struct ArrayProperties: Codable, Sendable, Equatable {
        public var size: Int?
        public var index: Int?
        /// Parent of an array job: count per status.
        public var statusSummary: [String: Int]?
        public init(size: Int) { self.size = size }
    }

    public struct JobDependency: Codable, Sendable, Equatable {
        public var jobId: String
        /// `N_TO_N` or `SEQUENTIAL` (nil: the whole job).
        public var type: String?
        public init(jobId: String, type: String? = nil) {
            self.jobId = jobId
            self.type = type
        }
    }

    public struct ContainerOverrides: Codable, Sendable, Equatable {
        public var command: [String]?
        public var environment: [KeyValuePair]?
        public var resourceRequirements: [ResourceRequirement]?
        public init(command: [String]? = nil, environment: [KeyValuePair]? = nil,
                    resourceRequirements: [ResourceRequirement]? = nil) {
            self.command = command
            self.environment = environment
            self.resourceRequirements = resourceRequirements
        }
    }

    public struct SubmitJobRequest: Codable, Sendable {
        public var jobName: String
        public var jobQueue: String
        public var jobDefinition: String
        /// The fair-share identifier; required by queues with a scheduling policy, rejected by the others.
        public var shareIdentifier: String?
        /// Overrides the job definition's scheduling priority on fair-share queues (0 to 9999, higher first).
        public var schedulingPriorityOverride: Int?
        public var arrayProperties: ArrayProperties?
        public var dependsOn: [JobDependency]?
        public var parameters: [String: String]?
        public var containerOverrides: ContainerOverrides?
        public var retryStrategy: RetryStrategy?
        public var timeout: JobTimeout?
        public var tags: [String: String]?
        /// Copies the job's tags to the ECS tasks it runs.
        public var propagateTags: Bool?

        public init(jobName: String, jobQueue: String, jobDefinition: String, shareIdentifier: String? = nil,
                    schedulingPriorityOverride: Int? = nil, arraySize: Int? = nil,
                    dependsOn: [JobDependency]? = nil, parameters: [String: String]? = nil,
                    containerOverrides: ContainerOverrides? = nil, retryStrategy: RetryStrategy? = nil,
                    timeout: JobTimeout? = nil, tags: [String: String]? = nil, propagateTags: Bool? = nil) {
            self.jobName = jobName
            self.jobQueue = jobQueue
            self.jobDefinition = jobDefinition
            self.shareIdentifier = shareIdentifier
            self.schedulingPriorityOverride = schedulingPriorityOverride
            self.arrayProperties = arraySize.map { ArrayProperties(size: $0) }
            self.dependsOn = dependsOn
            self.parameters = parameters
            self.containerOverrides = containerOverrides
            self.retryStrategy = retryStrategy
            self.timeout = timeout
            self.tags = tags
            self.propagateTags = propagateTags
        }
    }

    public struct SubmittedJob: Codable, Sendable, Equatable {
        public var jobName: String
        public var jobId: String
        public var jobArn: String?
    }

    public struct ContainerSummary: Codable, Sendable, Equatable {
        public var exitCode: Int?
        public var reason: String?
        public var logStreamName: String?
    }

    public struct JobSummary: Codable, Sendable, Equatable {
        public var jobId: String
        public var jobName: String?
        public var jobArn: String?
        public var status: String?
        public var statusReason: String?
        public var createdAt: Int64?
        public var startedAt: Int64?
        public var stoppedAt: Int64?
        public var arrayProperties: ArrayProperties?
        public var container: ContainerSummary?
    }

    /// A ListJobs filter (`JOB_NAME`, `JOB_DEFINITION`, `BEFORE_CREATED_AT`, `AFTER_CREATED_AT`). Batch ignores
    /// `jobStatus` when a filter is given and then returns jobs in every status.
    public struct KeyValuesPair: Codable, Sendable, Equatable {
        public var name: String
        public var values: [String]
        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// ListJobs selection: by queue (and optionally status or filters), or by array parent.
    public struct ListJobsRequest: Codable, Sendable {
        public var jobQueue: String?
        public var arrayJobId: String?
        public var jobStatus: String?
        public var filters: [KeyValuesPair]?
        public var maxResults: Int?
        public var nextToken: String?
        public init(jobQueue: String? = nil, arrayJobId: String? = nil, jobStatus: String? = nil,
                    filters: [KeyValuesPair]? = nil, maxResults: Int? = nil, nextToken: String? = nil) {
            self.jobQueue = jobQueue
            self.arrayJobId = arrayJobId
            self.jobStatus = jobStatus
            self.filters = filters
            self.maxResults = maxResults
            self.nextToken = nextToken
        }
    }

    public struct ListJobsPage: Codable, Sendable {
        public var jobSummaryList: [JobSummary]
        public var nextToken: String?
    }

    // MARK: Wire-only shapes

    struct DescribeComputeEnvironmentsInput: Codable {
        var computeEnvironments: [String]?
        var maxResults: Int?
        var nextToken: String?
    }

    struct DescribeComputeEnvironmentsOutput: Codable {
        var computeEnvironments: [ComputeEnvironmentDetail]
        var nextToken: String?
    }

    struct DescribeJobQueuesInput: Codable {
        var jobQueues: [String]?
        var maxResults: Int?
        var nextToken: String?
    }

    struct DescribeJobQueuesOutput: Codable {
        var jobQueues: [JobQueueDetail]
        var nextToken: String?
    }

    struct DescribeJobsInput: Codable { var jobs: [String] }
    /// DescribeJobs returns the same JobDetail a "Batch Job State Change" event carries as `detail`: one model
    /// (Events.BatchJobDetail) serves both.
    struct DescribeJobsOutput: Codable { var jobs: [BatchJobDetail] }
    struct JobIDReason: Codable {
        var jobId: String
        var reason: String
    }
}

extension AWSClient {
    public func createComputeEnvironment(_ request: Batch.CreateComputeEnvironmentRequest) throws(AWSError)
        -> Batch.ComputeEnvironmentReference
    {
        try restJSONCall(.batch, operation: "CreateComputeEnvironment", path: "/v1/createcomputeenvironment",
                         input: request, isIdempotent: false, as: Batch.ComputeEnvironmentReference.self)
    }

    @discardableResult
    public func updateComputeEnvironment(_ request: Batch.UpdateComputeEnvironmentRequest) throws(AWSError)
        -> Batch.ComputeEnvironmentReference
    {
        try restJSONCall(.batch, operation: "UpdateComputeEnvironment", path: "/v1/updatecomputeenvironment",
                         input: request, as: Batch.ComputeEnvironmentReference.self)
    }

    /// DescribeComputeEnvironments, following `nextToken` (all when `names` is empty).
    public func describeComputeEnvironments(names: [String] = []) throws(AWSError) -> [Batch.ComputeEnvironmentDetail] {
        var result: [Batch.ComputeEnvironmentDetail] = []
        var token: String?
        repeat {
            let page = try restJSONCall(
                .batch, operation: "DescribeComputeEnvironments", path: "/v1/describecomputeenvironments",
                input: Batch.DescribeComputeEnvironmentsInput(computeEnvironments: names.isEmpty ? nil : names,
                                                              nextToken: token),
                as: Batch.DescribeComputeEnvironmentsOutput.self)
            result += page.computeEnvironments
            token = page.nextToken
        } while token != nil
        return result
    }

    public func createJobQueue(_ request: Batch.CreateJobQueueRequest) throws(AWSError) -> Batch.JobQueueReference {
        try restJSONCall(.batch, operation: "CreateJobQueue", path: "/v1/createjobqueue", input: request,
                         isIdempotent: false, as: Batch.JobQueueReference.self)
    }

    @discardableResult
    public func updateJobQueue(_ request: Batch.UpdateJobQueueRequest) throws(AWSError) -> Batch.JobQueueReference {
        try restJSONCall(.batch, operation: "UpdateJobQueue", path: "/v1/updatejobqueue", input: request,
                         as: Batch.JobQueueReference.self)
    }

    /// DescribeJobQueues, following `nextToken` (all when `names` is empty).
    public func describeJobQueues(names: [String] = []) throws(AWSError) -> [Batch.JobQueueDetail] {
        var result: [Batch.JobQueueDetail] = []
        var token: String?
        repeat {
            let page = try restJSONCall(
                .batch, operation: "DescribeJobQueues", path: "/v1/describejobqueues",
                input: Batch.DescribeJobQueuesInput(jobQueues: names.isEmpty ? nil : names, nextToken: token),
                as: Batch.DescribeJobQueuesOutput.self)
            result += page.jobQueues
            token = page.nextToken
        } while token != nil
        return result
    }

    public func registerJobDefinition(_ request: Batch.RegisterJobDefinitionRequest) throws(AWSError)
        -> Batch.JobDefinitionReference
    {
        try restJSONCall(.batch, operation: "RegisterJobDefinition", path: "/v1/registerjobdefinition",
                         input: request, isIdempotent: false, as: Batch.JobDefinitionReference.self)
    }

    /// SubmitJob (array jobs via `arraySize`, dependencies via `dependsOn`). Not retried after ambiguous failures.
    public func submitJob(_ request: Batch.SubmitJobRequest) throws(AWSError) -> Batch.SubmittedJob {
        try restJSONCall(.batch, operation: "SubmitJob", path: "/v1/submitjob", input: request, isIdempotent: false,
                         as: Batch.SubmittedJob.self)
    }

    /// One ListJobs page.
    public func listJobs(_ request: Batch.ListJobsRequest) throws(AWSError) -> Batch.ListJobsPage {
        try restJSONCall(.batch, operation: "ListJobs", path: "/v1/listjobs", input: request,
                         as: Batch.ListJobsPage.self)
    }

    /// ListJobs following `nextToken` to the end.
    public func listAllJobs(_ request: Batch.ListJobsRequest) throws(AWSError) -> [Batch.JobSummary] {
        var request = request
        var result: [Batch.JobSummary] = []
        repeat {
            let page = try listJobs(request)
            result += page.jobSummaryList
            request.nextToken = page.nextToken
        } while request.nextToken != nil
        return result
    }

    /// DescribeJobs for any number of IDs, in calls of at most 100 (the API limit).
    public func describeJobs(ids: [String]) throws(AWSError) -> [BatchJobDetail] {
        var result: [BatchJobDetail] = []
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(start + 100, ids.count)])
            result += try restJSONCall(.batch, operation: "DescribeJobs", path: "/v1/describejobs",
                                       input: Batch.DescribeJobsInput(jobs: batch),
                                       as: Batch.DescribeJobsOutput.self).jobs
            start += 100
        }
        return result
    }

    /// CancelJob (jobs not yet RUNNING).
    public func cancelJob(id: String, reason: String) throws(AWSError) {
        _ = try restJSONCall(.batch, operation: "CancelJob", path: "/v1/canceljob",
                             input: Batch.JobIDReason(jobId: id, reason: reason), as: EmptyJSON.self)
    }

    /// TerminateJob (also RUNNING jobs).
    public func terminateJob(id: String, reason: String) throws(AWSError) {
        _ = try restJSONCall(.batch, operation: "TerminateJob", path: "/v1/terminatejob",
                             input: Batch.JobIDReason(jobId: id, reason: reason), as: EmptyJSON.self)
    }
}

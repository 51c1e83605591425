import Events
import Odin

/// A Compute port that forwards every call to `base`; a test subclasses it to change one behaviour (a stop that lands
/// later, a submission racing a teardown, jobs hidden from the sweeper).
open class ForwardingCompute: Compute, @unchecked Sendable {
    public let base: any Compute
    public init(base: any Compute) { self.base = base }
    open func describeQueues(_ names: [String]) throws -> [QueueInfo] { try base.describeQueues(names) }
    open func setQueueEnabled(_ name: String, _ enabled: Bool) throws { try base.setQueueEnabled(name, enabled) }
    open func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        try base.describeComputeEnvironments(names)
    }
    open func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        try base.updateComputeEnvironment(name, update)
    }
    open func submitJob(_ submission: JobSubmission) throws -> String { try base.submitJob(submission) }
    open func listJobs(_ filter: JobFilter) throws -> [JobSummary] { try base.listJobs(filter) }
    open func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] { try base.describeJobs(jobIDs) }
    open func terminateJob(_ jobID: String, reason: String) throws { try base.terminateJob(jobID, reason: reason) }
    open func cancelJob(_ jobID: String, reason: String) throws { try base.cancelJob(jobID, reason: reason) }
}

/// Reports no jobs (ListJobs by queue or array, DescribeJobs: empty) and forwards the rest, lookups by name included
/// (so nothing is submitted twice): a sweep that must not see what moto's own clock did to the jobs.
public final class JobsHidden: ForwardingCompute, @unchecked Sendable {
    override public func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        if case .namePrefix = filter { return try base.listJobs(filter) }
        return []
    }
    override public func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] { [] }
}

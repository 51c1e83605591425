import Events
import FoundationEssentials
import Odin
import OdinBasics
import OdinKit
import Synchronization

/// Prints notifications to a writer (stdout in the local mode).
public struct StdoutNotifier: Notifier {
    let write: @Sendable (String) -> Void
    public init(write: @escaping @Sendable (String) -> Void = { print($0) }) { self.write = write }
    public func publish(subject: String, message: String) throws {
        write("== \(subject)\n\(message)")
    }
}

/// Keeps notifications in memory (tests, the simulator).
public final class MemoryNotifier: Notifier {
    private let store = Mutex<[(subject: String, message: String)]>([])
    public init() {}
    public func publish(subject: String, message: String) throws { store.withLock { $0.append((subject, message)) } }
    public var messages: [(subject: String, message: String)] { store.withLock { $0 } }
}

/// Drops metrics (benchmarks).
public struct NoMetrics: MetricsSink {
    public init() {}
    public func emit(_ metrics: [Metric], dimensions: [String: String], properties: [String: String]) {}
}

/// Counts port calls by name ("state.put", "compute.submitJob", …) for the benchmark and `odin replay`; optionally
/// prints one line per call.
public final class PortCallCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let trace: (@Sendable (String) -> Void)?
    public init(trace: (@Sendable (String) -> Void)? = nil) { self.trace = trace }
    func record(_ name: String, _ detail: @autoclosure () -> String = "") {
        counts.withLock { $0[name, default: 0] += 1 }
        if let trace { trace("\(name) \(detail())") }
    }
    public var snapshot: [String: Int] { counts.withLock { $0 } }
    public func reset() { counts.withLock { $0 = [:] } }
    public func count(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }
    /// Writes (put, update, add, delete) to the state store.
    public var stateWrites: Int {
        counts.withLock { c in ["state.put", "state.update", "state.add", "state.delete", "state.transact"].reduce(0) { $0 + (c[$1] ?? 0) } }
    }
}

/// A state store that counts (and optionally traces) every call before forwarding it.
public struct CountingStateStore: StateStore {
    let base: any StateStore
    let counter: PortCallCounter
    public init(_ base: any StateStore, counter: PortCallCounter) {
        self.base = base
        self.counter = counter
    }
    public func get(_ key: StateKey) throws -> StateItem? {
        counter.record("state.get", key.description)
        return try base.get(key)
    }
    public func put(_ item: StateItem, condition: WriteCondition) throws {
        counter.record("state.put", "\(item.key) \(condition)")
        try base.put(item, condition: condition)
    }
    public func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                       condition: WriteCondition) throws -> StateItem {
        counter.record("state.update", key.description)
        return try base.update(key, set: set, remove: remove, expiresAt: expiresAt, condition: condition)
    }
    public func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
        counter.record("state.add", key.description)
        return try base.add(key, counters: counters, set: set)
    }
    public func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
        counter.record("state.delete", key.description)
        return try base.delete(key, condition: condition)
    }
    public func query(partition: String, sortPrefix: String) throws -> [StateItem] {
        counter.record("state.query", "\(partition) \(sortPrefix)")
        return try base.query(partition: partition, sortPrefix: sortPrefix)
    }
    public func transact(_ writes: [StateWrite]) throws {
        counter.record("state.transact", writes.map(\.key.description).joined(separator: " "))
        try base.transact(writes)
    }
}

/// A compute port that counts (and optionally traces) every call before forwarding it.
public struct CountingCompute: Compute {
    let base: any Compute
    let counter: PortCallCounter
    public init(_ base: any Compute, counter: PortCallCounter) {
        self.base = base
        self.counter = counter
    }
    public func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        counter.record("compute.describeQueues")
        return try base.describeQueues(names)
    }
    public func setQueueEnabled(_ name: String, _ enabled: Bool) throws {
        counter.record("compute.setQueueEnabled", "\(name) \(enabled)")
        try base.setQueueEnabled(name, enabled)
    }
    public func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        counter.record("compute.describeComputeEnvironments")
        return try base.describeComputeEnvironments(names)
    }
    public func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        counter.record("compute.updateComputeEnvironment",
                       "\(name) min=\(update.minvCpus.map(String.init) ?? "-") max=\(update.maxvCpus.map(String.init) ?? "-") enabled=\(update.isEnabled.map(String.init) ?? "-")")
        try base.updateComputeEnvironment(name, update)
    }
    public func submitJob(_ submission: JobSubmission) throws -> String {
        counter.record("compute.submitJob", "\(submission.name) queue=\(submission.queue) size=\(submission.arraySize)")
        return try base.submitJob(submission)
    }
    public func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        counter.record("compute.listJobs", "\(filter)")
        return try base.listJobs(filter)
    }
    public func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
        counter.record("compute.describeJobs", "\(jobIDs.count) ids")
        return try base.describeJobs(jobIDs)
    }
    public func terminateJob(_ jobID: String, reason: String) throws {
        counter.record("compute.terminateJob", jobID)
        try base.terminateJob(jobID, reason: reason)
    }
    public func cancelJob(_ jobID: String, reason: String) throws {
        counter.record("compute.cancelJob", jobID)
        try base.cancelJob(jobID, reason: reason)
    }
}

/// A clock tests and the simulator move by hand.
public final class ManualClock: WallClock {
    private let current: Mutex<Instant>
    public init(_ start: Instant = Instant(timeIntervalSince1970: 1_781_000_000)) { current = Mutex(start) }
    public func now() -> Instant { current.withLock { $0 } }
    public func advance(seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

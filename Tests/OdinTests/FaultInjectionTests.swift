import Events
import FoundationEssentials
@testable import Odin
import OdinKit
import OdinLocal
import Synchronization
import Testing
import TestSupport

// Fault injection at the ports: the k-th port call of a scenario fails once, and the failed invocation is
// redelivered (as Lambda/S3/EventBridge do after a function error). Two kinds of fault: `lost` — the call fails
// before it reaches the service (HTTP 500, throttling, connection refused), and `unanswered` — the service applies
// the call but the answer is lost (timeout, connection reset after the request was sent). For every k, the end
// state (every state item, every job submission, every stored object, every condensation) must equal the
// fault-free one. The same faults through the AWS binding and moto are in FunctionTests/FaultProxyTests.swift.

/// One fault: the `target`-th call fails once.
final class FaultPlan: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case lost, unanswered
    }
    struct Injected: Error, CustomStringConvertible {
        let call: Int
        let operation: String
        let kind: Kind
        var description: String { "injected fault (\(kind.rawValue)) on call \(call): \(operation)" }
    }

    let target: Int?
    let kind: Kind
    /// When set, the first call whose description contains it fails (instead of the `target`-th).
    let matching: String?
    private let state = Mutex<(calls: Int, fired: String?)>((0, nil))

    init(target: Int?, kind: Kind) {
        self.target = target
        self.kind = kind
        matching = nil
    }

    init(failing matching: String, kind: Kind = .lost) {
        target = nil
        self.kind = kind
        self.matching = matching
    }

    var calls: Int { state.withLock { $0.calls } }
    var fired: String? { state.withLock { $0.fired } }

    func call<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        let number = state.withLock { state -> Int? in
            state.calls += 1
            let chosen = matching.map { operation.contains($0) } ?? (state.calls == target)
            guard chosen, state.fired == nil else { return nil }
            state.fired = operation
            return state.calls
        }
        guard let number else { return try body() }
        if kind == .unanswered { _ = try body() }
        throw Injected(call: number, operation: operation, kind: kind)
    }
}

struct FaultyStateStore: StateStore {
    let base: any StateStore
    let plan: FaultPlan
    func get(_ key: StateKey) throws -> StateItem? { try plan.call("state.get \(key)") { try base.get(key) } }
    func put(_ item: StateItem, condition: WriteCondition) throws {
        try plan.call("state.put \(item.key)") { try base.put(item, condition: condition) }
    }
    func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                condition: WriteCondition) throws -> StateItem {
        try plan.call("state.update \(key)") {
            try base.update(key, set: set, remove: remove, expiresAt: expiresAt, condition: condition)
        }
    }
    func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
        try plan.call("state.add \(key)") { try base.add(key, counters: counters, set: set) }
    }
    func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
        try plan.call("state.delete \(key)") { try base.delete(key, condition: condition) }
    }
    func query(partition: String, sortPrefix: String) throws -> [StateItem] {
        try plan.call("state.query \(partition)") { try base.query(partition: partition, sortPrefix: sortPrefix) }
    }
    func transact(_ writes: [StateWrite]) throws {
        try plan.call("state.transact \(writes.map(\.key.description).joined(separator: " "))") { try base.transact(writes) }
    }
}

struct FaultyCompute: Compute {
    let base: any Compute
    let plan: FaultPlan
    func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        try plan.call("compute.describeQueues") { try base.describeQueues(names) }
    }
    func setQueueEnabled(_ name: String, _ enabled: Bool) throws {
        try plan.call("compute.setQueueEnabled") { try base.setQueueEnabled(name, enabled) }
    }
    func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        try plan.call("compute.describeComputeEnvironments") { try base.describeComputeEnvironments(names) }
    }
    func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        try plan.call("compute.updateComputeEnvironment") { try base.updateComputeEnvironment(name, update) }
    }
    func submitJob(_ submission: JobSubmission) throws -> String {
        try plan.call("compute.submitJob \(submission.name)") { try base.submitJob(submission) }
    }
    func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        try plan.call("compute.listJobs") { try base.listJobs(filter) }
    }
    func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
        try plan.call("compute.describeJobs") { try base.describeJobs(jobIDs) }
    }
    func terminateJob(_ jobID: String, reason: String) throws {
        try plan.call("compute.terminateJob") { try base.terminateJob(jobID, reason: reason) }
    }
    func cancelJob(_ jobID: String, reason: String) throws {
        try plan.call("compute.cancelJob") { try base.cancelJob(jobID, reason: reason) }
    }
}

struct FaultyObjects: ObjectStore {
    let base: any ObjectStore
    let plan: FaultPlan
    var rootURI: String { base.rootURI }
    func get(_ key: String) throws -> [UInt8] { try plan.call("objects.get \(key)") { try base.get(key) } }
    func get(_ key: String, range: Range<Int64>) throws -> [UInt8] {
        try plan.call("objects.get \(key)") { try base.get(key, range: range) }
    }
    func head(_ key: String) throws -> ObjectInfo? { try plan.call("objects.head \(key)") { try base.head(key) } }
    func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
        try plan.call("objects.put \(key)") { try base.put(key, bytes: bytes, ifAbsent: ifAbsent) }
    }
    func upload(file path: String, to key: String) throws -> ObjectInfo {
        try plan.call("objects.upload \(key)") { try base.upload(file: path, to: key) }
    }
    func download(_ key: String, to path: String) throws {
        try plan.call("objects.download \(key)") { try base.download(key, to: path) }
    }
    func list(prefix: String) throws -> [ObjectInfo] {
        try plan.call("objects.list \(prefix)") { try base.list(prefix: prefix) }
    }
    func delete(_ key: String) throws { try plan.call("objects.delete \(key)") { try base.delete(key) } }
}

extension OdinServices {
    /// The same services with every port call going through `plan`.
    func faulty(_ plan: FaultPlan) -> OdinServices {
        var services = self
        services.state = FaultyStateStore(base: state, plan: plan)
        services.compute = FaultyCompute(base: compute, plan: plan)
        services.objects = FaultyObjects(base: objects, plan: plan)
        return services
    }
}

/// Everything a scenario leaves behind, for comparison.
struct WorldState: Equatable, CustomStringConvertible {
    var items: [String]
    var submissions: [String]
    var objects: [String]
    /// Teardown receipts (`state/teardowns/…`) by content: times masked, job ids named.
    var receipts: [String]
    var condensations: [String]

    /// Attributes that record *when* something happened: a fault moves work to a redelivery or the sweeper, later
    /// on the clock, so only their presence is compared. The last teardown's record (time, reason, count) is
    /// informational; a failed sweep may tear down one time fewer.
    static let times: Set<String> = ["at", "since", "seenAt", "lastSeen", "openedAt", "startedAt", "leaseUntil",
                                     "completedAt", "atEpoch", "clearedAt", "checkedAt"]

    init(_ harness: Harness) throws {
        items = harness.state.snapshot().map { item in
            var attributes = item.attributes
            for name in Self.times where attributes[name] != nil { attributes[name] = .string("<time>") }
            if item.key == Schema.teardown { attributes = ["froze": attributes["froze"] ?? .null] }
            return "\(item.key) \(Self.render(.map(attributes))) ttl=\(item.expiresAt == nil ? "-" : "set")"
        }
        submissions = harness.compute.submissions.map { "\($0.name) \($0.queue) size=\($0.arraySize)" }.sorted()
        objects = try harness.objects.list(prefix: "").map { "\($0.key) \($0.size)" }.sorted()
        receipts = try harness.objects.list(prefix: BudgetGuardService.receiptPrefix).map { object in
            "\(object.key) " + (try Self.receipt(try harness.objects.get(object.key)))
        }.sorted()
        // In-process condensation (no job) is repeated when a fault follows it: its output is rewritten the same.
        condensations = Array(Set(harness.condensations.all.map { "\($0.runID) \($0.succeededChunks) \($0.failedChunks)" })).sorted()
        var names: [String: String] = [:]
        for queue in harness.services.profile.queues {
            for job in try harness.compute.listJobs(.namePrefix(queue: queue, prefix: "")) { names[job.jobID] = job.jobName }
        }
        items = Self.namingJobs(items, names)
        receipts = Self.namingJobs(receipts, names)
        // A receipt's size depends on the job ids it lists; its content is compared above.
        objects = objects.map { $0.hasPrefix(BudgetGuardService.receiptPrefix) ? String($0.prefix { $0 != " " }) : $0 }
    }

    /// A receipt with its times masked, keys sorted.
    static func receipt(_ bytes: [UInt8]) throws -> String {
        var receipt = try JSONDecoder().decode(TeardownReceipt.self, from: Data(bytes))
        receipt.startedAt = "<time>"
        receipt.finishedAt = "<time>"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(receipt), as: UTF8.self)
    }

    /// Maps in key order (a dictionary's own order differs between equal dictionaries).
    static func render(_ value: StateValue) -> String {
        switch value {
        case .map(let map): "{" + map.sorted { $0.key < $1.key }.map { "\($0.key)=\(render($0.value))" }.joined(separator: " ") + "}"
        case .list(let list): "[" + list.map(render).joined(separator: ",") + "]"
        case .string(let text): "\"" + text.unicodeScalars.map { $0.isASCII ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined() + "\""
        default: "\(value)"
        }
    }

    var description: String {
        (items + ["--"] + submissions + ["--"] + objects + ["--"] + receipts + ["--"] + condensations).joined(separator: "\n")
    }

    /// Job ids (`local-<n>`, numbered in submission order) replaced by job names: a fault may change the order in
    /// which runs are sealed, never what is submitted.
    static func namingJobs(_ lines: [String], _ names: [String: String]) -> [String] {
        lines.map { line in
            var output = ""
            var rest = Substring(line)
            while !rest.isEmpty {
                guard rest.hasPrefix("local-") else {
                    output.append(rest.removeFirst())
                    continue
                }
                rest = rest.dropFirst(6)
                let digits = rest.prefix { $0.isNumber }
                rest = rest.dropFirst(digits.count)
                let id = "local-" + digits
                output += names[id].map { "<\($0)>" } ?? id
            }
            return output
        }.sorted()
    }

    /// The first lines that differ, for a readable failure.
    func difference(_ other: WorldState) -> String {
        func count(_ text: String) -> [Substring: Int] {
            text.split(separator: "\n").reduce(into: [:]) { $0[$1, default: 0] += 1 }
        }
        let mine = count(description), theirs = count(other.description)
        func extra(_ a: [Substring: Int], _ b: [Substring: Int]) -> String {
            a.filter { $0.value > b[$0.key, default: 0] }.keys.sorted().prefix(4)
                .map { "\(String($0.prefix(900))) ×\(a[$0]!)" }.joined(separator: " | ")
        }
        return "only with the fault: \(extra(mine, theirs))\n    only without: \(extra(theirs, mine))"
    }
}

/// A scenario: steps run against (harness, services); each step is one invocation, redelivered after an error.
struct FaultScenario: Sendable {
    let name: String
    /// Builds the harness (fault-free) and returns the invocations to run under the fault.
    let setup: @Sendable () throws -> (Harness, [@Sendable (OdinServices) throws -> Void])

    /// Runs the scenario with `plan`, then settles (the clock moves past every lease and stale timeout, the sweeper
    /// runs) and returns the end state and the number of port calls the steps made.
    func run(_ plan: FaultPlan) throws -> (WorldState, Int) {
        let (harness, steps) = try setup()
        let services = harness.services.faulty(plan)
        for step in steps { try FaultScenarios.redeliver { try step(services) } }
        let calls = plan.calls
        for _ in 0..<3 {
            harness.clock.advance(seconds: 2_000)
            _ = try harness.sweep()
            try FaultScenarios.completeAll(harness, services: harness.services)
        }
        return (try WorldState(harness), calls)
    }
}

enum FaultScenarios {
    /// Runs `body`, redelivering it after an error (Lambda retries an async invocation twice; S3 and EventBridge
    /// redeliver too).
    static func redeliver(_ body: () throws -> Void) throws {
        var deliveries = 0
        while true {
            deliveries += 1
            do {
                return try body()
            } catch {
                if deliveries >= 3 { throw error }
            }
        }
    }

    /// Every active child of every recorded job succeeds; each of its events is delivered (and redelivered).
    static func completeAll(_ harness: Harness, services: OdinServices) throws {
        for job in try harness.runs().flatMap(\.jobs) where job.kind != "condense" {
            for child in harness.compute.activeChildren(of: job.jobID) {
                for event in harness.compute.complete(child, status: .succeeded) {
                    try redeliver { try deliver(event)(services) }
                }
            }
        }
    }

    static func deliver(_ event: BatchJobStateChange) -> @Sendable (OdinServices) throws -> Void {
        { services in _ = try JobEventsHandler.handle(event.encoded(), services: services) }
    }

    /// Burst ingest over two cameras (one spelled in NFC and NFD), sealing by the sweeper, and the run's events.
    static let burstIngest = FaultScenario(name: "burst ingest") {
        var profile = Profile()
        profile.chunking.secondsPerImage = 300
        let harness = try Harness(profile: profile, label: "fault-ingest")
        var steps: [@Sendable (OdinServices) throws -> Void] = []
        let nfc = "cam\u{E9}ra", nfd = "came\u{301}ra"
        for batch in 0..<3 {
            let keys = (0..<4).map { "raw/cam01/IMG_\(batch * 10 + $0).JPG" } +
                ["raw/\(batch == 1 ? nfd : nfc)/IMG_\(batch).JPG"]
            steps.append { services in
                _ = try IngestHandler.handleDecoded(Harness.s3Event(keys), services: services)
            }
        }
        steps.append { _ in harness.clock.advance(seconds: 61) }
        steps.append { services in _ = try SweeperService(services: services).sweep() }
        steps.append { services in try completeAll(harness, services: services) }
        return (harness, steps)
    }

    /// Burst ingest sealed at once (`settle_seconds` 0: every invocation seals what it recorded), two invocations
    /// for one camera. A fault inside the first invocation's seal, after its run took the window and before it
    /// claimed the window's objects, must not let the second invocation's run take them: the redelivery finishes the
    /// seal it started, so the runs are split as without the fault.
    static let burstSealedAtOnce = FaultScenario(name: "burst ingest sealed at once") {
        var profile = Profile()
        profile.ingest.settleSeconds = 0
        profile.chunking.secondsPerImage = 300
        let harness = try Harness(profile: profile, label: "fault-seal")
        let batches = [["raw/cam01/A.JPG", "raw/cam01/B.JPG", "raw/cam\u{E9}ra/C.JPG"],
                       ["raw/cam01/D.JPG", "raw/came\u{301}ra/E.JPG"]]
        var steps: [@Sendable (OdinServices) throws -> Void] = batches.map { keys in
            { services in _ = try IngestHandler.handleDecoded(Harness.s3Event(keys), services: services) }
        }
        steps.append { services in try completeAll(harness, services: services) }
        return (harness, steps)
    }

    /// A run with Spot reclaims and RUNNABLE cancels: fallback, condensation, teardown.
    static let reclaims = FaultScenario(name: "run with reclaims and RUNNABLE cancels") {
        let (harness, run) = try harnessWithRun(chunks: 12, label: "fault-events")
        let phase1 = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { index in
            switch index {
            case 3, 7: (.failed, JobEventsTests.timeout)
            case 5: (.failed, "Host EC2 (instance i-0abc) terminated.")
            case 9: (.failed, "Essential container in task exited")
            default: (.succeeded, nil)
            }
        }
        var steps = phase1.map(deliver)
        steps.append { services in
            // The fallback job's children succeed.
            guard let record = try RunRecord.load(run.runID, state: harness.state) else { return }
            for job in record.jobs where job.kind == "fallback" {
                for child in harness.compute.activeChildren(of: job.jobID) {
                    for event in harness.compute.complete(child, status: .succeeded) {
                        try redeliver { try deliver(event)(services) }
                    }
                }
            }
        }
        steps += phase1.prefix(2).map(deliver)  // late duplicates
        return (harness, steps)
    }

    /// Lost events: the sweeper reconciles the run from ListJobs/DescribeJobs.
    static let sweeper = FaultScenario(name: "sweeper reconciliation") {
        let (harness, run) = try harnessWithRun(chunks: 6, label: "fault-sweep")
        let events = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) }
        var steps = events.prefix(2).map(deliver)  // the rest is lost
        steps.append { services in _ = try SweeperService(services: services).sweep() }
        return (harness, steps)
    }
}

extension FaultScenarios {
    /// The kill-switch during a run (two chunks done, three queued, a straggler on On-Demand): the alarm's SNS event
    /// is handled (and redelivered after a failure), the cancelled children's events are delivered, the sweeper runs.
    /// The receipt is part of the compared end state.
    static let killSwitch = FaultScenario(name: "kill-switch") {
        let (harness, run) = try harnessWithRun(chunks: 5, label: "fault-kill")
        let parent = run.jobs[0].jobID
        for child in ["\(parent):0", "\(parent):1"] {
            for event in harness.compute.complete(child, status: .succeeded) {
                _ = try JobEventsHandler.handle(event.encoded(), services: harness.services)
            }
        }
        _ = try harness.compute.submitJob(JobSubmission(name: "straggler", queue: "odin-on-demand", jobDefinition: "d",
                                                        arraySize: 1, environment: [:], tags: [:]))
        let alarm = try sampleBytes("sns-alarm.json")
        var steps: [@Sendable (OdinServices) throws -> Void] = [{ services in
            _ = try BudgetGuardHandler.handleDecoded(alarm, services: services)
        }]
        for index in 2..<5 {
            steps.append { services in
                for detail in try services.compute.describeJobs(["\(parent):\(index)"]) where detail.status.isTerminal {
                    _ = try JobEventsHandler.handle(BatchJobStateChange(detail: detail).encoded(), services: services)
                }
            }
        }
        steps.append { services in _ = try SweeperService(services: services).sweep() }
        return (harness, steps)
    }
}

@Suite(.serialized) struct FaultInjectionTests {
    /// Every k (every port call the fault-free scenario makes), both kinds of fault.
    @Test(arguments: [FaultScenarios.burstIngest, FaultScenarios.burstSealedAtOnce, FaultScenarios.reclaims,
                      FaultScenarios.sweeper, FaultScenarios.killSwitch])
    func everyFaultPointGivesTheFaultFreeEndState(scenario: FaultScenario) throws {
        let started = Date()
        let (expected, calls) = try scenario.run(FaultPlan(target: nil, kind: .lost))
        var cases = 0
        var divergent: [String] = []
        for kind in FaultPlan.Kind.allCases {
            for k in 1...calls {
                let plan = FaultPlan(target: k, kind: kind)
                cases += 1
                do {
                    let (state, _) = try scenario.run(plan)
                    if state != expected {
                        divergent.append("k=\(k) \(kind) [\(plan.fired ?? "-")]: \(state.difference(expected))")
                    }
                } catch {
                    divergent.append("k=\(k) \(kind) [\(plan.fired ?? "-")]: scenario failed: \(error)")
                }
            }
        }
        print("fault sweep (ports): \(scenario.name): \(cases) cases (\(calls) calls × \(FaultPlan.Kind.allCases.count) kinds), \(divergent.count) divergent")
        SweepReport.record(sweep: "ports", scenario: scenario.name, calls: calls, cases: cases, divergent: divergent.count,
                           seconds: Date().timeIntervalSince(started),
                           detail: "every k × {\(FaultPlan.Kind.allCases.map(\.rawValue).joined(separator: ", "))}")
        #expect(divergent.isEmpty, "\(divergent.count) divergent end states:\n\(divergent.prefix(12).joined(separator: "\n"))")
    }
}

extension FaultScenario: CustomTestStringConvertible {
    var testDescription: String { name }
}

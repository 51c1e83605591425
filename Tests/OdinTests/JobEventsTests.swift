import Dispatch
import Events
import FoundationEssentials
@testable import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Testing

/// A harness with one sealed, submitted run of `chunks` chunks (one image each).
func harnessWithRun(chunks: Int, label: String, profile base: Profile = Profile()) throws -> (Harness, RunRecord) {
    var profile = base
    profile.chunking.secondsPerImage = 300
    let harness = try Harness(profile: profile, label: label)
    _ = try harness.ingest((0..<chunks).map { "raw/cam01/IMG_\(1000 + $0).JPG" })
    harness.clock.advance(seconds: 61)
    let sealed = try harness.sweep().runsSealed
    #expect(sealed.count == 1)
    let run = try #require(try RunRecord.load(sealed[0], state: harness.state))
    return (harness, run)
}

/// The end state that must not depend on delivery order.
struct EndState: Equatable {
    var done: [String: String]
    var succeeded: Int64
    var failed: Int64
    var status: RunRecord.Status
    var failedChunks: [Int]
    var condensations: Int
    var fallbackSubmissions: [[Int]]
    var torndown: Bool
    var costMicros: Int64

    init(_ harness: Harness, _ runID: String) throws {
        let partition = Schema.runPartition(runID)
        done = Dictionary(uniqueKeysWithValues: try harness.state.query(partition: partition, sortPrefix: "done#")
            .map { ($0.key.sort, $0["status"]?.stringValue ?? "") })
        let counters = try harness.state.get(Schema.runCounters(runID))?.attributes ?? [:]
        succeeded = counters["succeeded"]?.intValue ?? 0
        failed = counters["failed"]?.intValue ?? 0
        costMicros = counters["costMicros"]?.intValue ?? 0
        let record = try #require(try RunRecord.load(runID, state: harness.state))
        status = record.status
        failedChunks = record.failedChunks
        condensations = harness.condensations.all.filter { $0.runID == runID }.count
        fallbackSubmissions = try harness.state.query(partition: partition, sortPrefix: "fallback#")
            .map { ($0["indices"]?.listValue ?? []).compactMap { $0.intValue.map(Int.init) } }
        torndown = try harness.state.get(Schema.teardown) != nil
    }
}

@Suite struct JobEventsTests {
    /// Completes every child of `jobID` (chunk index → outcome) and returns the events Batch would emit.
    static func finish(_ harness: Harness, job jobID: String,
                       outcome: (Int) -> (BatchJobStatus, String?)) -> [BatchJobStateChange] {
        var events: [BatchJobStateChange] = []
        for child in harness.compute.activeChildren(of: jobID) {
            let index = Int(child.split(separator: ":").last ?? "0") ?? 0
            let (status, reason) = outcome(index)
            events += harness.compute.complete(child, status: status, reason: reason)
        }
        return events
    }

    static let timeout = "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested"

    /// Delivers `events` in a seeded random order with duplicates (and, when `seed` is nil, in order once).
    static func deliver(_ events: [BatchJobStateChange], to harness: Harness, seed: UInt64?) throws {
        var order = events
        if let seed {
            var generator = SplitMix64(seed: seed)
            order += events.filter { _ in Bool.random(using: &generator) }
            order.shuffle(using: &generator)
        }
        for event in order {
            // Through the function entry point: bytes in, bytes out.
            _ = try JobEventsHandler.handle(event.encoded(), services: harness.services)
        }
    }

    /// Runs the scenario: Spot children succeed, some fail, some are cancelled by the RUNNABLE time limit and one is
    /// reclaimed past its retries; then the fallback children complete.
    static func scenario(seed: UInt64?) throws -> EndState {
        let (harness, run) = try harnessWithRun(chunks: 40, label: "events-\(seed ?? 0)")
        let spotJob = run.jobs[0].jobID
        let phase1 = finish(harness, job: spotJob) { index in
            switch index {
            case 3, 17, 29: (.failed, timeout)
            case 8: (.failed, "Host EC2 (instance i-0abc) terminated.")
            case 11: (.failed, "Essential container in task exited")
            default: (.succeeded, "Essential container in task exited")
            }
        }
        try deliver(phase1, to: harness, seed: seed)
        let fallbackJobs = harness.compute.submissions.filter { $0.queue == "odin-on-demand" }
        #expect(fallbackJobs.count == 1)
        let record = try #require(try RunRecord.load(run.runID, state: harness.state))
        let fallback = try #require(record.jobs.first { $0.kind == "fallback" })
        let phase2 = finish(harness, job: fallback.jobID) { _ in (.succeeded, nil) }
        try deliver(phase2 + phase1.prefix(5), to: harness, seed: seed.map { $0 &+ 1 })
        return try EndState(harness, run.runID)
    }

    @Test func inOrderDelivery() throws {
        let state = try Self.scenario(seed: nil)
        #expect(state.succeeded == 39 && state.failed == 1)
        #expect(state.failedChunks == [11])
        #expect(state.condensations == 1)
        #expect(state.fallbackSubmissions == [[3, 8, 17, 29]])
        #expect(state.status == .done)
        #expect(state.torndown)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func shuffledDuplicatedDeliveryGivesTheSameEndState(seed: UInt64) throws {
        #expect(try Self.scenario(seed: seed) == Self.scenario(seed: nil))
    }

    @Test func fallbackManifestHoldsExactlyTheAffectedChunks() throws {
        let (harness, run) = try harnessWithRun(chunks: 12, label: "events-fallback")
        let events = Self.finish(harness, job: run.jobs[0].jobID) { index in
            [2, 5, 9].contains(index) ? (.failed, Self.timeout) : (.succeeded, nil)
        }
        try Self.deliver(events, to: harness, seed: 99)
        let submission = try #require(harness.compute.submissions.last)
        #expect(submission.queue == "odin-on-demand")
        #expect(submission.arraySize == 3)
        let manifestKey = try #require(submission.environment["ODIN_MANIFEST"])
        let chunks = try IngestPlanner.readManifest(try harness.objects.get(manifestKey))
        #expect(chunks.map(\.index) == [2, 5, 9])
        #expect(chunks.map { $0.items[0].key } == ["raw/cam01/IMG_1002.JPG", "raw/cam01/IMG_1005.JPG", "raw/cam01/IMG_1009.JPG"])
        #expect(submission.attempts == 1)
        // A fallback child failing is terminal (no second fallback) and the run still condenses.
        let fallbackID = try #require(try RunRecord.load(run.runID, state: harness.state)?.jobs.last?.jobID)
        let phase2 = Self.finish(harness, job: fallbackID) { $0 == 1 ? (.failed, "Host EC2 (instance i-9) terminated.") : (.succeeded, nil) }
        try Self.deliver(phase2, to: harness, seed: 5)
        let state = try EndState(harness, run.runID)
        #expect(state.failedChunks == [5])
        #expect(state.condensations == 1)
        #expect(harness.compute.submissions.count == 2)
    }

    @Test func spotOffGoesStraightToOnDemandAndNoFallback() throws {
        var profile = Profile()
        profile.compute.spotInstances = false
        let (harness, run) = try harnessWithRun(chunks: 3, label: "events-od", profile: profile)
        #expect(run.jobs[0].queue == "odin-on-demand")
        let events = Self.finish(harness, job: run.jobs[0].jobID) { _ in (.failed, Self.timeout) }
        try Self.deliver(events, to: harness, seed: nil)
        let state = try EndState(harness, run.runID)
        #expect(state.failed == 3 && state.fallbackSubmissions.isEmpty && state.condensations == 1)
    }

    @Test func eventsForOtherJobsAreIgnoredAndUnknownOursAreRetried() throws {
        let harness = try Harness(label: "events-foreign")
        var event = try BatchJobStateChange.decode(try sampleBytes("job-done.json"))
        event.detail.tags = nil
        let result = try JobEventsService(services: harness.services).handle(event)
        #expect(result.outcome == .ignored)
        event.detail.jobQueue = "arn:aws:batch:eu-north-1:1:job-queue/odin-spot"
        event.detail.jobName = "munin-x-p0"
        #expect(throws: OdinError.self) { try JobEventsService(services: harness.services).handle(event) }
    }

    @Test func teardownSetsMinZeroAndFreezesWithoutTouchingDesired() throws {
        let (harness, run) = try harnessWithRun(chunks: 2, label: "events-teardown")
        let opened = try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0]
        #expect(opened.maxvCpus == 100 && opened.isEnabled)
        try Self.deliver(Self.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) }, to: harness, seed: nil)
        for ce in try harness.compute.describeComputeEnvironments(["odin-spot-gpu", "odin-on-demand-gpu"]) {
            #expect(ce.minvCpus == 0 && ce.maxvCpus == 0)
        }
        #expect(try harness.state.get(Schema.teardown)?["at"] != nil)
    }

    @Test func sweeperReconcilesLostEvents() throws {
        let (harness, run) = try harnessWithRun(chunks: 6, label: "events-lost")
        let events = Self.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) }
        try Self.deliver(Array(events.prefix(2)), to: harness, seed: nil)  // the rest is lost
        let sweep = try harness.sweep()
        #expect(sweep.eventsReconciled == 4)
        let state = try EndState(harness, run.runID)
        #expect(state.succeeded == 6 && state.condensations == 1)
        // A late duplicate after teardown changes nothing.
        try Self.deliver(events, to: harness, seed: 3)
        #expect(try EndState(harness, run.runID) == state)
    }

    @Test func writesPerEventAreConstant() throws {
        let (harness, run) = try harnessWithRun(chunks: 200, label: "events-writes")
        let events = Self.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) }
        let steady = events.filter { $0.detail.arrayIndex != nil && $0.detail.arrayIndex! < 150 }
        harness.counter.reset()
        try Self.deliver(steady, to: harness, seed: nil)
        let perEvent = Double(harness.counter.stateWrites) / Double(steady.count)
        #expect(perEvent <= 5)
    }
}

func sampleBytes(_ name: String) throws -> [UInt8] {
    let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    return [UInt8](try #require(FileManager.default.contents(atPath: "/\(root)/events/\(name)")))
}

@Suite struct ConcurrentDeliveryTests {
    /// Lambda runs invocations concurrently: deliver the same shuffled, duplicated events from 4 threads.
    @Test(arguments: [21, 22, 23] as [UInt64])
    func concurrentDeliveryGivesTheSameEndState(seed: UInt64) throws {
        let (harness, run) = try harnessWithRun(chunks: 40, label: "concurrent-\(seed)")
        func deliverConcurrently(_ events: [BatchJobStateChange], seed: UInt64) {
            var generator = SplitMix64(seed: seed)
            var order = events + events.filter { _ in Bool.random(using: &generator) }
            order.shuffle(using: &generator)
            let payloads = order.map { $0.encoded() }
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for (position, payload) in payloads.enumerated() where position % 4 == worker {
                    _ = try? JobEventsHandler.handle(payload, services: harness.services)
                }
            }
        }
        let phase1 = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { index in
            [3, 17, 29, 8].contains(index) ? (.failed, JobEventsTests.timeout)
                : index == 11 ? (.failed, "Essential container in task exited") : (.succeeded, nil)
        }
        deliverConcurrently(phase1, seed: seed)
        #expect(harness.compute.submissions.filter { $0.queue == "odin-on-demand" }.count == 1)
        let record = try #require(try RunRecord.load(run.runID, state: harness.state))
        let fallback = try #require(record.jobs.first { $0.kind == "fallback" })
        deliverConcurrently(JobEventsTests.finish(harness, job: fallback.jobID) { _ in (.succeeded, nil) }, seed: seed + 100)
        let state = try EndState(harness, run.runID)
        #expect(state.succeeded == 39 && state.failed == 1 && state.failedChunks == [11])
        #expect(state.condensations == 1)
        #expect(state.fallbackSubmissions == [[3, 8, 17, 29]])
        #expect(state.status == .done && state.torndown)
    }
}

import Events
import FoundationEssentials
@testable import Odin
import OdinKit
import OdinLocal
import Synchronization
import Testing
import TestSupport

/// A compute port that submits a job the moment teardown sets maxvCpus to 0: an upload racing the teardown.
final class RacingCompute: ForwardingCompute, @unchecked Sendable {
    let fired = Atomic<Bool>(false)
    override func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        try base.updateComputeEnvironment(name, update)
        if update.maxvCpus == 0 && !fired.exchange(true, ordering: .relaxed) {
            _ = try base.submitJob(JobSubmission(name: "munin-late-p0", queue: "odin-spot", jobDefinition: "d",
                                                 arraySize: 1, environment: [:], tags: [:]))
        }
    }
}

@Suite struct CapacityTests {
    @Test func uploadRacingTeardownReopensCapacity() throws {
        let harness = try Harness(label: "cap-race")
        var services = harness.services
        let racing = RacingCompute(base: harness.compute)
        services.compute = racing
        try harness.compute.updateComputeEnvironment("odin-spot-gpu", .init(maxvCpus: 100))
        #expect(try !Capacity.teardownIfIdle(reason: "test", services: services))
        let ce = try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0]
        #expect(ce.maxvCpus == 100 && ce.isEnabled)
        #expect(try harness.state.get(Schema.teardown) == nil)
    }

    @Test func uploadAfterTeardownStartsAndCompletesANewRun() throws {
        let (harness, run) = try harnessWithRun(chunks: 2, label: "cap-after")
        try JobEventsTests.deliver(JobEventsTests.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) },
                                   to: harness, seed: nil)
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].maxvCpus == 0)
        _ = try harness.ingest(["raw/cam01/later.jpg"])
        harness.clock.advance(seconds: 61)
        let second = try #require(try harness.sweep().runsSealed.first)
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].maxvCpus == 100)
        let job = try #require(try RunRecord.load(second, state: harness.state)?.jobs.first?.jobID)
        try JobEventsTests.deliver(JobEventsTests.finish(harness, job: job) { _ in (.succeeded, nil) },
                                   to: harness, seed: nil)
        #expect(try RunRecord.load(second, state: harness.state)?.status == .done)
        #expect(harness.condensations.all.map(\.runID).sorted() == [run.runID, second].sorted())
    }

    @Test func pacingWaitsForBudgetThenSubmits() throws {
        var profile = Profile()
        profile.budget.amount = 1
        let harness = try Harness(profile: profile, label: "cap-pacing")
        try harness.state.add(Schema.ledger(month: UTC.month(harness.clock.now())), counters: ["costMicros": 1_000_000],
                              set: [:])
        _ = try harness.ingest(["raw/cam01/a.jpg"])
        harness.clock.advance(seconds: 61)
        let runID = try #require(try harness.sweep().runsSealed.first)
        #expect(try RunRecord.load(runID, state: harness.state)?.status == .waitingForBudget)
        #expect(harness.compute.submissions.isEmpty)
        #expect(harness.notifier.messages.count == 1)
        // Budget raised (a new profile): the sweeper submits.
        var raised = profile
        raised.budget.amount = 100
        var services = harness.services
        services.profile = raised
        let sweep = try SweeperService(services: services).sweep()
        #expect(sweep.runsResubmitted == [runID])
        #expect(harness.compute.submissions.count == 1)
        #expect(try RunRecord.load(runID, state: harness.state)?.status == .running)
        // Spend recorded so far caps maxvCpus: 50.5 of 100 USD left at 0.04 USD/vCPU-h over 24 h = 52.6 vCPUs.
        try harness.state.add(Schema.ledger(month: UTC.month(harness.clock.now())), counters: ["costMicros": 48_500_000],
                              set: [:])
        let paced = try SweeperService(services: services).sweep()
        #expect(paced.maxvCpusCap == 52)
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].maxvCpus == 52)
    }

    @Test func warmCapacityIsResetOnceAChunkRuns() throws {
        var profile = Profile()
        profile.compute.warmMinVcpus = 8
        let (harness, run) = try harnessWithRun(chunks: 2, label: "cap-warm", profile: profile)
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].minvCpus == 8)
        var detail = try harness.compute.describeJobs(["\(run.jobs[0].jobID):0"])[0]
        detail.status = .running
        _ = try JobEventsService(services: harness.services).handle(BatchJobStateChange(detail: detail))
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].minvCpus == 0)
    }

    /// The deployed EventBridge rule passes only SUCCEEDED/FAILED: the first finished chunk resets the warm floor.
    @Test func warmCapacityIsResetByTheFirstTerminalChunkWithoutARunningEvent() throws {
        var profile = Profile()
        profile.compute.warmMinVcpus = 8
        let (harness, run) = try harnessWithRun(chunks: 3, label: "cap-warm-terminal", profile: profile)
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].minvCpus == 8)
        let events = harness.compute.complete("\(run.jobs[0].jobID):0", status: .succeeded)
            .filter { $0.detail.status.isTerminal }
        #expect(!events.isEmpty)
        try JobEventsTests.deliver(events, to: harness, seed: nil)
        #expect(try harness.compute.describeComputeEnvironments(["odin-spot-gpu"])[0].minvCpus == 0)
        // Once per run: later chunks do not touch the compute environments again for it.
        let updatesBefore = harness.counter.count("compute.updateComputeEnvironment")
        try JobEventsTests.deliver(harness.compute.complete("\(run.jobs[0].jobID):1", status: .succeeded)
            .filter { $0.detail.status.isTerminal }, to: harness, seed: nil)
        #expect(harness.counter.count("compute.updateComputeEnvironment") == updatesBefore)
    }

    @Test func scaleDownNeverLowersMaxBelowDesired() {
        let busy = ComputeEnvironmentInfo(name: "ce", isEnabled: true, minvCpus: 8, maxvCpus: 100, desiredvCpus: 8)
        #expect(Capacity.scaleDown(busy, freeze: true) == ComputeEnvironmentUpdate(minvCpus: 0, isEnabled: false))
        #expect(Capacity.scaleDown(busy, freeze: false) == ComputeEnvironmentUpdate(minvCpus: 0))
        let drained = ComputeEnvironmentInfo(name: "ce", isEnabled: false, minvCpus: 0, maxvCpus: 100, desiredvCpus: 0)
        #expect(Capacity.scaleDown(drained, freeze: true) == ComputeEnvironmentUpdate(maxvCpus: 0))
        let frozen = ComputeEnvironmentInfo(name: "ce", isEnabled: true, minvCpus: 0, maxvCpus: 0, desiredvCpus: 0)
        #expect(Capacity.scaleDown(frozen, freeze: true) == nil)
        #expect(Capacity.pacedMaximum(busy, cap: 4) == 8)
    }

    @Test func ledgerPricesSpotAndOnDemand() throws {
        let (harness, run) = try harnessWithRun(chunks: 2, label: "cap-ledger")
        // Two children, 60 s each at 4 vCPUs on Spot: 480 vCPU-s × 0.04 USD/vCPU-h.
        try JobEventsTests.deliver(JobEventsTests.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) },
                                   to: harness, seed: nil)
        let spend = try CostLedger.spend(month: UTC.month(harness.clock.now()), state: harness.state)
        #expect(abs(spend - 480.0 / 3600 * 0.04) < 1e-6)
    }
}

@Suite struct ObservabilityTests {
    @Test func emfLineShape() throws {
        let lines = Mutex<[String]>([])
        let metrics = EMFMetrics(clock: ManualClock(), write: { line in lines.withLock { $0.append(line) } })
        metrics.emit([Metric("ChunksDone", 3)], dimensions: ["Service": "odin"], properties: ["run_id": "r1"])
        let line = try #require(lines.withLock { $0.first })
        let object = try JSONDecoder().decode(EMFProbe.self, from: Data(line.utf8))
        #expect(object.ChunksDone == 3 && object.Service == "odin" && object.run_id == "r1")
        #expect(object._aws.CloudWatchMetrics[0].Metrics[0].Name == "ChunksDone")
        #expect(object._aws.CloudWatchMetrics[0].Dimensions == [["Service"]])
    }

    @Test func libraryTargetsDoNotImportFullFoundation() throws {
        let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        for folder in ["Sources/Odin", "Sources/Events"] {
            let base = "/\(root)/\(folder)"
            for file in try FileManager.default.subpathsOfDirectory(atPath: base) where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: "\(base)/\(file)", encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                    #expect(line != "import Foundation", "\(folder)/\(file) imports full Foundation")
                    #expect(line != "import Yams", "\(folder)/\(file) imports Yams")
                }
            }
        }
    }
}

struct EMFProbe: Decodable {
    struct AWS: Decodable {
        struct Directive: Decodable {
            struct Definition: Decodable { let Name: String }
            let Namespace: String
            let Dimensions: [[String]]
            let Metrics: [Definition]
        }
        let Timestamp: Int64
        let CloudWatchMetrics: [Directive]
    }
    let _aws: AWS
    let ChunksDone: Double
    let Service: String
    let run_id: String
}

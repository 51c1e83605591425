import Events
import FoundationEssentials
@testable import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Synchronization
import Testing

@Suite struct FunctionTests {
    @Test(arguments: ["s3-put.json", "sqs-s3.json", "eventbridge-s3.json", "s3-test-event.json"])
    func ingestAcceptsEveryEnvelope(sample: String) throws {
        let harness = try Harness(label: "fn-\(sample)")
        let response = try IngestHandler.handle(try sampleBytes(sample), services: harness.services)
        let result = try JSONDecoder().decode(IngestResult.self, from: Data(response))
        switch sample {
        case "s3-put.json", "eventbridge-s3.json": #expect(result.accepted == 1)
        case "sqs-s3.json": #expect(result.accepted == 2 && result.testEvents == 1)
        default: #expect(result.testEvents == 1 && result.accepted == 0)
        }
    }

    @Test func jobEventForAnUnrecordedRunIsRetriedWithAClearError() throws {
        let harness = try Harness(label: "fn-unrecorded")
        do {
            _ = try JobEventsHandler.handle(try sampleBytes("job-done.json"), services: harness.services)
            Issue.record("expected an error")
        } catch let error as OdinError {
            #expect(error.message.contains("has no record in the state store yet"))
        }
        #expect(harness.counter.stateWrites == 0)
    }

    @Test func sweeperNeedsAScheduledEvent() throws {
        let harness = try Harness(label: "fn-sweep")
        let response = try SweeperHandler.handle(try sampleBytes("scheduled.json"), services: harness.services)
        let result = try JSONDecoder().decode(SweepResult.self, from: Data(response))
        #expect(result.teardown)  // idle queues: teardown is (re-)applied
        #expect(throws: EventDecodingError.self) {
            try SweeperHandler.handle(try sampleBytes("job-done.json"), services: harness.services)
        }
    }

    @Test func singleChunkRunUsesAPlainJob() throws {
        let (harness, run) = try harnessWithRun(chunks: 1, label: "fn-single")
        #expect(harness.compute.submissions[0].arraySize == 1)
        let events = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { _ in (.failed, JobEventsTests.timeout) }
        try JobEventsTests.deliver(events, to: harness, seed: nil)
        let fallback = try #require(harness.compute.submissions.last)
        #expect(fallback.queue == "odin-on-demand" && fallback.arraySize == 1)
        let record = try #require(try RunRecord.load(run.runID, state: harness.state))
        try JobEventsTests.deliver(JobEventsTests.finish(harness, job: record.jobs[1].jobID) { _ in (.succeeded, nil) },
                                   to: harness, seed: nil)
        let state = try EndState(harness, run.runID)
        #expect(state.succeeded == 1 && state.condensations == 1 && state.torndown)
    }

    @Test func secondPartChildrenMapToTheirOffset() throws {
        var profile = Profile()
        profile.chunking.secondsPerImage = 300
        let harness = try Harness(profile: profile, label: "fn-parts")
        let keys = (0..<10_003).map { "raw/camX/\(100_000 + $0).jpg" }
        for start in stride(from: 0, to: keys.count, by: 2_000) {
            _ = try harness.ingest(Array(keys[start..<min(start + 2_000, keys.count)]))
        }
        harness.clock.advance(seconds: 61)
        let runID = try #require(try harness.sweep().runsSealed.first)
        let record = try #require(try RunRecord.load(runID, state: harness.state))
        #expect(record.jobs.map(\.offset) == [0, 10_000])
        try JobEventsTests.deliver(JobEventsTests.finish(harness, job: record.jobs[1].jobID) { _ in (.succeeded, nil) },
                                   to: harness, seed: 4)
        let done = try harness.state.query(partition: Schema.runPartition(runID), sortPrefix: "done#")
            .compactMap { Schema.index(fromSortKey: $0.key.sort) }
        #expect(done == [10_000, 10_001, 10_002])
    }

    @Test func sweeperRecoversASubmissionInterruptedAfterSubmitJob() throws {
        let (harness, run) = try harnessWithRun(chunks: 3, label: "fn-recover")
        // Simulate a crash after SubmitJob but before the job was recorded.
        try RunRecord.modify(run.runID, state: harness.state) { record in
            record.jobs = []
            record.status = .submitting
        }
        _ = try harness.sweep()
        #expect(harness.compute.submissions.count == 1)  // found by name, not submitted twice
        let record = try #require(try RunRecord.load(run.runID, state: harness.state))
        #expect(record.status == .running && record.jobs.map(\.jobID) == [run.jobs[0].jobID])
    }
}

@Suite struct RecoveryTests {
    @Test func sweeperFinishesASealInterruptedAfterClaiming() throws {
        let harness = try Harness(label: "recover-seal")
        _ = try harness.ingest(["raw/cam05/a.jpg", "raw/cam05/b.jpg"])
        // A sealer took the window, recorded the run and claimed one object, then crashed.
        try harness.state.delete(Schema.window(camera: "cam05"), condition: .always)
        let record = RunRecord(runID: "cam05-crashed", cameraID: "cam05", status: .sealing, createdAt: "2026-06-14T00:00:00Z",
                               manifestKey: StoreLayout.manifestKey(run: "cam05-crashed"))
        _ = try record.save(state: harness.state)
        try harness.state.put(StateItem(key: Schema.activeRun("cam05-crashed"),
                                        attributes: ["since": .int(Int64(harness.clock.now().timeIntervalSince1970))]),
                              condition: .always)
        let pending = try harness.state.query(partition: Schema.pendingPartition(camera: "cam05"), sortPrefix: "")
        try harness.state.update(pending[0].key, set: ["claimedBy": .string("cam05-crashed")])
        #expect(try harness.sweep().runsResubmitted.isEmpty)  // too early: the sealer may still be working
        harness.clock.advance(seconds: 601)
        #expect(try harness.sweep().runsResubmitted == ["cam05-crashed"])
        let recovered = try #require(try RunRecord.load("cam05-crashed", state: harness.state))
        #expect(recovered.status == .running && recovered.objectCount == 2)
        #expect(try harness.state.query(partition: Schema.pendingPartition(camera: "cam05"), sortPrefix: "").isEmpty)
    }

    @Test func localBindingRunsAShellWorkerEndToEnd() throws {
        let root = try makeTempDirectory("local-binding")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var profile = Profile()
        profile.ingest.settleSeconds = 0
        let errors = Mutex<[String]>([])
        let condensed = CondensationLog()
        let binding = try LocalBinding.make(
            root: root, profile: profile, worker: ["/bin/sh", "-c", LocalEndToEndTests.worker],
            condensation: condensed.condensation, notifier: MemoryNotifier(),
            onEventError: { event, error in
                let text = "\(event.detail.jobId): \(error)"
                errors.withLock { $0.append(text) }
            })
        let keys = ["raw/cam1/a.jpg", "raw/cam1/b.jpg", "raw/cam1/c.mp4"]
        for key in keys { try binding.objects.put(key, bytes: [1, 2, 3]) }
        let result = try IngestHandler.handleDecoded(Harness.s3Event(keys), services: binding.services)
        #expect(result.runsStarted.count == 1)
        #expect(binding.compute.waitUntilQuiescent(timeoutSeconds: 60))
        #expect(errors.withLock { $0 }.isEmpty)
        #expect(condensed.all.count == 1)
        #expect(try RunRecord.load(result.runsStarted[0], state: binding.state)?.status == .done)
    }
}

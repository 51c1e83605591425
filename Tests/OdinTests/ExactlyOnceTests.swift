import Events
import FoundationEssentials
@testable import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Synchronization
import Testing

/// One regression test per fault of issue 14 (each failed before markers meant "done").
@Suite struct ExactlyOnceTests {
    static func deliver(_ event: BatchJobStateChange, _ services: OdinServices) throws -> JobEventResult {
        let bytes = try JobEventsHandler.handle(event.encoded(), services: services)
        return try JSONDecoder().decode(JobEventResult.self, from: Data(bytes))
    }

    /// A harness whose condensation is a Hugin job (the AWS path), with one submitted run.
    static func harnessWithHuginJobs(chunks: Int, label: String) throws -> (Harness, OdinServices, RunRecord) {
        var profile = Profile()
        profile.chunking.secondsPerImage = 300
        profile.clustering.inProcessMaxChunks = 0
        let (harness, run) = try harnessWithRun(chunks: chunks, label: label, profile: profile)
        var services = harness.services
        services.condensation = BatchCondensation(compute: services.compute, profile: profile)
        return (harness, services, run)
    }

    // MARK: - Dedup before work

    @Test func jobEventFailingAfterItsFirstWriteIsRecordedOnRedelivery() throws {
        let (harness, run) = try harnessWithRun(chunks: 3, label: "once-event")
        let events = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) }
        // The first write that touches the run's counters fails once (an HTTP 500 on the counter ADD).
        let plan = FaultPlan(failing: "|counters")
        #expect(throws: (any Error).self) { try Self.deliver(events[0], harness.services.faulty(plan)) }
        #expect(plan.fired != nil)
        let again = try Self.deliver(events[0], harness.services)
        #expect(again.outcome == .chunkSucceeded)
        for event in events.dropFirst() { _ = try Self.deliver(event, harness.services) }
        let state = try EndState(harness, run.runID)
        #expect(state.succeeded == 3 && state.status == .done && state.condensations == 1)
    }

    @Test func fallbackEventBeforeItsIndexListIsProcessedOnRedelivery() throws {
        let (harness, run) = try harnessWithRun(chunks: 4, label: "once-fallback")
        let phase1 = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { index in
            index == 2 ? (.failed, JobEventsTests.timeout) : (.succeeded, nil)
        }
        for event in phase1 { _ = try Self.deliver(event, harness.services) }
        let record = try #require(try RunRecord.load(run.runID, state: harness.state))
        let fallback = try #require(record.jobs.first { $0.kind == "fallback" })
        let child = try #require(JobEventsTests.finish(harness, job: fallback.jobID) { _ in (.succeeded, nil) }
            .first { $0.detail.arrayIndex != nil || !$0.detail.isArrayParent })
        // The index list is not readable yet ("retry later"), then it is.
        let key = Schema.fallbackJob(run.runID, try #require(fallback.generation))
        let list = try #require(try harness.state.get(key))
        try harness.state.delete(key, condition: .always)
        #expect(throws: OdinError.self) { try Self.deliver(child, harness.services) }
        try harness.state.put(list, condition: .always)
        #expect(try Self.deliver(child, harness.services).outcome == .chunkSucceeded)
        #expect(try EndState(harness, run.runID).status == .done)
    }

    @Test func ingestFailingAfterTheDedupItemKeepsTheObject() throws {
        let harness = try Harness(label: "once-ingest")
        let plan = FaultPlan(failing: "pending#cam01")
        #expect(throws: (any Error).self) { try IngestHandler.handleDecoded(Harness.s3Event(["raw/cam01/A.JPG"]),
                                                                             services: harness.services.faulty(plan)) }
        let again = try harness.ingest(["raw/cam01/A.JPG"])
        #expect(again.accepted == 1 && again.duplicates == 0)
        harness.clock.advance(seconds: 61)
        let run = try #require(try harness.sweep().runsSealed.first)
        #expect(try RunRecord.load(run, state: harness.state)?.objectCount == 1)
    }

    @Test func aKeyNearOneKilobyteIsRecordedUnderAHashedSortKey() throws {
        let harness = try Harness(label: "once-longkey")
        let key = "raw/cam01/" + String(repeating: "a", count: 1000) + ".JPG"
        #expect(try harness.ingest([key]).accepted == 1)
        let pending = try harness.state.query(partition: Schema.pendingPartition(camera: "cam01"), sortPrefix: "")
        #expect(pending.count == 1 && pending[0].key.sort.hasPrefix("h#") && pending[0]["key"]?.stringValue == key)
        harness.clock.advance(seconds: 61)
        let run = try #require(try harness.sweep().runsSealed.first)
        let chunks = try IngestPlanner.readManifest(harness.objects.get(StoreLayout.manifestKey(run: run)))
        #expect(chunks.flatMap(\.items).map(\.key) == [key])
    }

    // MARK: - Unicode, versions, buckets

    @Test func cameraNamesInNFCAndNFDAreTwoCamerasAndBothAreProcessed() throws {
        let harness = try Harness(label: "once-unicode")
        let nfc = "raw/cam\u{E9}ra/A.JPG", nfd = "raw/came\u{301}ra/B.JPG"
        #expect(nfc.hasPrefix("raw/cam\u{E9}ra") && nfd.hasPrefix("raw/cam\u{E9}ra"))  // String equality merges them
        #expect(try harness.ingest([nfc, nfd]).accepted == 2)
        harness.clock.advance(seconds: 61)
        let runs = try harness.sweep().runsSealed
        #expect(runs.count == 2)
        var keys: [[UInt8]] = []
        for run in runs {
            keys += try IngestPlanner.readManifest(harness.objects.get(StoreLayout.manifestKey(run: run)))
                .flatMap(\.items).map { Array($0.key.utf8) }
        }
        #expect(Set(keys) == [Array(nfc.utf8), Array(nfd.utf8)])
        for camera in ["cam\u{E9}ra", "came\u{301}ra"] {
            #expect(try harness.state.query(partition: Schema.pendingPartition(camera: camera), sortPrefix: "").isEmpty)
        }
    }

    @Test func twoVersionsOfOneKeyInOneWindowAreOneManifestEntry() throws {
        let harness = try Harness(label: "once-versions")
        let event = #"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"data"},"object":{"key":"raw/cam01/A.JPG","size":10,"versionId":"v1"}}},{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"data"},"object":{"key":"raw/cam01/A.JPG","size":12,"versionId":"v2"}}}]}"#
        #expect(try IngestHandler.handleDecoded(Array(event.utf8), services: harness.services).accepted == 2)
        harness.clock.advance(seconds: 61)
        let run = try #require(try harness.sweep().runsSealed.first)
        let chunks = try IngestPlanner.readManifest(harness.objects.get(StoreLayout.manifestKey(run: run)))
        #expect(chunks.flatMap(\.items).map(\.key) == ["raw/cam01/A.JPG"])
        #expect(try harness.state.query(partition: Schema.pendingPartition(camera: "cam01"), sortPrefix: "").isEmpty)
    }

    /// An object store that reports an S3 bucket (the deployment's), backed by a folder.
    struct BucketStore: ObjectStore {
        let base: DirectoryObjectStore
        var rootURI: String { "s3://data" }
        func get(_ key: String) throws -> [UInt8] { try base.get(key) }
        func get(_ key: String, range: Range<Int64>) throws -> [UInt8] { try base.get(key, range: range) }
        func head(_ key: String) throws -> ObjectInfo? { try base.head(key) }
        func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
            try base.put(key, bytes: bytes, ifAbsent: ifAbsent)
        }
        func upload(file path: String, to key: String) throws -> ObjectInfo { try base.upload(file: path, to: key) }
        func download(_ key: String, to path: String) throws { try base.download(key, to: path) }
        func list(prefix: String) throws -> [ObjectInfo] { try base.list(prefix: prefix) }
        func delete(_ key: String) throws { try base.delete(key) }
    }

    @Test func anObjectOfAnotherBucketIsRejectedWithItsReason() throws {
        let harness = try Harness(label: "once-bucket")
        var services = harness.services
        services.objects = BucketStore(base: harness.objects)
        let result = try IngestHandler.handleDecoded(Harness.s3Event(["raw/cam01/A.JPG"], bucket: "elsewhere"),
                                                      services: services)
        #expect(result.accepted == 0 && result.skippedCount == 1)
        #expect(result.skipped.first?.reason == .otherBucket)
        #expect(try IngestHandler.handleDecoded(Harness.s3Event(["raw/cam01/A.JPG"], bucket: "data"),
                                                 services: services).accepted == 1)
    }

    // MARK: - Interrupted seal

    @Test func aRunLeftSealingIsCompletedByResumeAndNeverFlippedToAnEmptyRun() throws {
        let harness = try Harness(label: "once-seal")
        _ = try harness.ingest(["raw/cam01/A.JPG", "raw/cam01/B.JPG"])
        harness.clock.advance(seconds: 61)
        // The seal dies right after taking the window (the first claim fails).
        let plan = FaultPlan(failing: "state.update pending#cam01")
        #expect(throws: (any Error).self) { try SweeperService(services: harness.services.faulty(plan)).sweep() }
        let stuck = try #require(try harness.runs().first)
        #expect(stuck.status == .sealing)
        #expect(try ResumeService(services: harness.services).resume(stuck.runID) == nil)
        let record = try #require(try RunRecord.load(stuck.runID, state: harness.state))
        #expect(record.status == .running && record.objectCount == 2 && record.chunkCount >= 1)
        #expect(try harness.state.query(partition: Schema.pendingPartition(camera: "cam01"), sortPrefix: "").isEmpty)
        // Resuming again changes nothing.
        _ = try ResumeService(services: harness.services).resume(stuck.runID)
        #expect(harness.compute.submissions.count == 1)
    }

    /// The local mode's compute dies with the process (`odin run --local` interrupted by SIGINT): a run whose job was
    /// recorded but not yet marked `running` must have its chunks run again by the recovery (the same command, which
    /// resumes unfinished runs), not be flipped to `running` with a job that no longer exists.
    @Test func aRunInterruptedBetweenRecordingItsJobAndRunningIsResubmittedWhenItsComputeIsGone() throws {
        var profile = Profile()
        profile.chunking.secondsPerImage = 300  // one image per chunk
        let harness = try Harness(profile: profile, label: "once-submit")
        _ = try harness.ingest(["raw/cam01/A.JPG", "raw/cam01/B.JPG", "raw/cam01/C.JPG"])
        harness.clock.advance(seconds: 61)
        // The process dies at the exact step: the job is submitted and recorded in the run, the run is not yet
        // marked `running`.
        var dying = harness.services
        dying.state = DiesBeforeRunning(base: harness.state)
        #expect(throws: DiesBeforeRunning.Died.self) { try SweeperService(services: dying).sweep() }
        let stuck = try #require(try harness.runs().first)
        #expect(stuck.status == .submitting && stuck.jobs.count == 1 && stuck.chunkCount >= 2)
        #expect(harness.compute.submissions.count == 1)
        // A new process: same state, a new (empty) local compute — the first one's jobs are gone with it.
        var configuration = LocalCompute.Configuration(profile: harness.services.profile, runner: .manual)
        configuration.jobIDPrefix = "local2"
        let compute = LocalCompute(configuration: configuration, clock: harness.clock)
        var restarted = harness.services
        restarted.compute = compute
        let resume = ResumeService(services: restarted)
        #expect(try resume.unfinishedRuns().map(\.runID) == [stuck.runID])
        #expect(try resume.resume(stuck.runID, clearBudgetStop: false, takeOverLeases: true) != nil)
        // Every chunk is submitted again, once.
        let resubmitted = compute.submissions.reduce(0) { $0 + max(1, $1.arraySize) }
        #expect(resubmitted == stuck.chunkCount, "\(compute.submissions)")
        #expect(try RunRecord.load(stuck.runID, state: harness.state)?.status == .running)
        // Resuming again while that job is queued submits nothing more.
        _ = try resume.resume(stuck.runID, clearBudgetStop: false, takeOverLeases: true)
        #expect(compute.submissions.count == 1)
    }

    /// Forwards to `base` and dies (throws, writing nothing) at the first transaction that marks a run `running`.
    final class DiesBeforeRunning: StateStore {
        struct Died: Error {}
        let base: any StateStore
        init(base: any StateStore) { self.base = base }
        let died = Mutex(false)
        func get(_ key: StateKey) throws -> StateItem? { try base.get(key) }
        func put(_ item: StateItem, condition: WriteCondition) throws { try base.put(item, condition: condition) }
        func update(_ key: StateKey, set: [String: StateValue], remove: [String], expiresAt: Int64?,
                    condition: WriteCondition) throws -> StateItem {
            try base.update(key, set: set, remove: remove, expiresAt: expiresAt, condition: condition)
        }
        func add(_ key: StateKey, counters: [String: Int64], set: [String: StateValue]) throws -> [String: Int64] {
            try base.add(key, counters: counters, set: set)
        }
        func delete(_ key: StateKey, condition: WriteCondition) throws -> StateItem? {
            try base.delete(key, condition: condition)
        }
        func query(partition: String, sortPrefix: String) throws -> [StateItem] {
            try base.query(partition: partition, sortPrefix: sortPrefix)
        }
        func transact(_ writes: [StateWrite]) throws {
            let marksRunning = writes.contains { write in
                if case .put(let item, _) = write {
                    return item.key.sort == "meta" && item["status"] == .string(RunRecord.Status.running.rawValue)
                }
                return false
            }
            if marksRunning && died.withLock({ died in defer { died = true }; return !died }) { throw Died() }
            try base.transact(writes)
        }
    }

    // MARK: - Trusting tags

    @Test func aCondenseTaggedEventOfAnotherJobDoesNotFinishTheRun() throws {
        let (harness, services, run) = try Self.harnessWithHuginJobs(chunks: 2, label: "once-tag")
        var forged = BatchJobDetail(jobArn: "arn:aws:batch:eu-west-1:1:job/x", jobName: "hugin-x", jobId: "not-hugin",
                                    jobQueue: "arn:aws:batch:eu-west-1:1:job-queue/odin-on-demand", status: .succeeded)
        forged.tags = [JobTags.run: run.runID, JobTags.kind: "condense", JobTags.chunks: "2"]
        _ = try? Self.deliver(BatchJobStateChange(detail: forged), services)
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .running)
        for event in JobEventsTests.finish(harness, job: run.jobs[0].jobID, outcome: { _ in (.succeeded, nil) }) {
            _ = try Self.deliver(event, services)
        }
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .condensing)
        _ = try? Self.deliver(BatchJobStateChange(detail: forged), services)
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .condensing)
    }

    @Test func aFailedHuginJobMakesTheRunFailedAndResumeCondensesAgain() throws {
        let (harness, services, run) = try Self.harnessWithHuginJobs(chunks: 2, label: "once-hugin")
        for event in JobEventsTests.finish(harness, job: run.jobs[0].jobID, outcome: { _ in (.succeeded, nil) }) {
            _ = try Self.deliver(event, services)
        }
        let hugin = try #require(try RunRecord.load(run.runID, state: harness.state)?.jobs.first { $0.kind == "condense" })
        for event in harness.compute.complete(hugin.jobID, status: .failed, reason: "Essential container in task exited") {
            _ = try Self.deliver(event, services)
        }
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .failed)
        _ = try ResumeService(services: services).resume(run.runID)
        let record = try #require(try RunRecord.load(run.runID, state: harness.state))
        #expect(record.status == .condensing && record.jobs.filter { $0.kind == "condense" }.count == 2)
        let second = try #require(record.jobs.last { $0.kind == "condense" })
        for event in harness.compute.complete(second.jobID, status: .succeeded) { _ = try Self.deliver(event, services) }
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .done)
    }

    @Test func eventsOfATaggedButUnknownRunWriteNothing() throws {
        let harness = try Harness(label: "once-unknown")
        var detail = BatchJobDetail(jobArn: "arn:aws:batch:eu-west-1:1:job/y", jobName: "munin-ghost-p0", jobId: "y:0",
                                    jobQueue: "arn:aws:batch:eu-west-1:1:job-queue/odin-spot", status: .succeeded)
        detail.tags = [JobTags.run: "ghost", JobTags.kind: "chunks", JobTags.chunks: "4"]
        detail.attempts = [.init(container: .init(exitCode: 0), startedAt: 1_000, stoppedAt: 61_000)]
        let before = harness.state.snapshot()
        #expect(throws: OdinError.self) { try Self.deliver(BatchJobStateChange(detail: detail), harness.services) }
        #expect(harness.state.snapshot() == before)
    }

    // MARK: - Ledger and recovery from markers

    @Test func ledgerChargesOnlyAttemptsThatDidWork() throws {
        let (harness, run) = try harnessWithRun(chunks: 2, label: "once-ledger")
        let events = JobEventsTests.finish(harness, job: run.jobs[0].jobID) { _ in (.succeeded, nil) }
        let child = try #require(events.first { !$0.detail.isArrayParent })
        _ = try Self.deliver(child, harness.services)
        let charged = try harness.state.get(Schema.runCounters(run.runID))?["costMicros"]?.intValue
        // The same chunk reported again under another attempt count: answered already_done, not charged.
        var again = child.detail
        again.attempts = (again.attempts ?? []) + (again.attempts ?? [])
        #expect(try Self.deliver(BatchJobStateChange(detail: again), harness.services).outcome == .alreadyDone)
        #expect(try Self.deliver(child, harness.services).outcome == .duplicate)
        #expect(try harness.state.get(Schema.runCounters(run.runID))?["costMicros"]?.intValue == charged)
        let month = try #require(harness.state.query(partition: "ledger", sortPrefix: "").first)
        #expect(month["costMicros"]?.intValue == charged)
    }

    @Test func countersBehindTheMarkersAreRepairedAndTheRunCondenses() throws {
        let (harness, run) = try harnessWithRun(chunks: 3, label: "once-recount")
        for event in JobEventsTests.finish(harness, job: run.jobs[0].jobID, outcome: { _ in (.succeeded, nil) }) {
            _ = try Self.deliver(event, harness.services)
        }
        // A run recorded before markers and counters committed together: markers done, counters behind, not condensed.
        try harness.state.put(StateItem(key: Schema.runCounters(run.runID), attributes: ["succeeded": .int(1)]),
                              condition: .always)
        try harness.state.delete(Schema.condensationMarker(run.runID), condition: .always)
        _ = try RunRecord.modify(run.runID, state: harness.state) { $0.status = .running }
        try harness.state.put(StateItem(key: Schema.activeRun(run.runID)), condition: .always)
        #expect(try ResumeService(services: harness.services).resume(run.runID) == nil)
        #expect(harness.compute.submissions.count == 1)  // nothing resubmitted: every chunk has its marker
        #expect(try EndState(harness, run.runID).succeeded == 3)
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .done)
    }

    // MARK: - Lambda deadline

    @Test func nearItsDeadlineIngestStopsAndTheRedeliveryRecordsTheRest() throws {
        let harness = try Harness(label: "once-deadline")
        var services = harness.services
        // 5 s left, 10 s reserve: not even the first object is started.
        services.deadline = harness.clock.now().addingTimeInterval(5)
        #expect(throws: OdinError.self) { try IngestHandler.handleDecoded(Harness.s3Event(["raw/cam01/A.JPG", "raw/cam01/B.JPG"]),
                                                                           services: services) }
        #expect(try harness.state.query(partition: Schema.pendingPartition(camera: "cam01"), sortPrefix: "").isEmpty)
        // The redelivery, with time left, records both.
        services.deadline = harness.clock.now().addingTimeInterval(60)
        #expect(try IngestHandler.handleDecoded(Harness.s3Event(["raw/cam01/A.JPG", "raw/cam01/B.JPG"]),
                                                 services: services).accepted == 2)
    }

    @Test func nearItsDeadlineTheSweeperStopsBeforeTheNextRun() throws {
        let (harness, run) = try harnessWithRun(chunks: 2, label: "once-deadline-sweep")
        var services = harness.services.until(deadlineMs: Int64(harness.clock.now().timeIntervalSince1970 * 1000) + 3_000)
        let result = try SweeperService(services: services).sweep()
        #expect(result.stoppedNearDeadline && result.eventsReconciled == 0)
        services.deadline = nil
        #expect(try !SweeperService(services: services).sweep().stoppedNearDeadline)
        _ = run
    }
}

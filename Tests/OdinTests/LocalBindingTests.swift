import Dispatch
import Events
import FoundationEssentials
@testable import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LocalStateStoreTests {
    @Test func conditionalWritesAndCountersAreAtomicAcrossInstances() throws {
        let root = try makeTempDirectory("state-atomic")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let wins = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                // Separate instances: separate open file descriptions, so flock really excludes.
                let store = try LocalStateStore(root: root)
                if try store.create(StateItem(key: StateKey("p", "marker"), attributes: ["by": .int(Int64(worker))])) {
                    wins.add(1, ordering: .relaxed)
                }
                for _ in 0..<100 { try store.add(StateKey("p", "counter"), counters: ["n": 1], set: [:]) }
            } catch {
                let text = "\(error)"
                failures.withLock { $0.append(text) }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(wins.load(ordering: .relaxed) == 1)
        let store = try LocalStateStore(root: root)
        #expect(try store.get(StateKey("p", "counter"))?["n"] == .int(800))
    }

    @Test func sameSemanticsAsInMemory() throws {
        let clock = ManualClock()
        let root = try makeTempDirectory("state-sem")
        defer { try? FileManager.default.removeItem(atPath: root) }
        for store in [try LocalStateStore(root: root, clock: clock) as any StateStore,
                      InMemoryStateStore(clock: clock)] {
            let key = StateKey("run#a/b c", "done#0000001")
            let expires = Int64(clock.now().timeIntervalSince1970) + 100
            #expect(try store.create(StateItem(key: key, attributes: ["v": .int(1)], expiresAt: expires)))
            #expect(try !store.create(StateItem(key: key)))
            #expect(throws: StateStoreError.self) {
                try store.update(key, set: ["v": .int(2)], condition: .equals("v", .int(9)))
            }
            try store.update(key, set: ["v": .int(2)], condition: .equals("v", .int(1)))
            try store.put(StateItem(key: StateKey("run#a/b c", "done#0000000")), condition: .always)
            try store.put(StateItem(key: StateKey("run#a/b c", "meta")), condition: .always)
            #expect(try store.query(partition: "run#a/b c", sortPrefix: "done#").map(\.key.sort) == ["done#0000000", "done#0000001"])
            #expect(try store.delete(StateKey("run#a/b c", "meta"), condition: .itemExists) != nil)
            #expect(throws: StateStoreError.self) { try store.delete(StateKey("run#a/b c", "meta"), condition: .itemExists) }
            clock.advance(seconds: 200)  // past the TTL
            #expect(try store.get(key) == nil)
            #expect(try store.create(StateItem(key: key)))
            #expect(StateStoreConformance.compoundConditions(store).isEmpty, "\(type(of: store))")
        }
    }
}

@Suite struct LocalEndToEndTests {
    /// A /bin/sh "worker": reads its manifest line (offset + array index), writes chunk-<index>.jsonl.gz.
    static let worker = #"""
    set -eu
    line=$(( ${ODIN_INDEX_OFFSET:-0} + ${AWS_BATCH_JOB_ARRAY_INDEX:-0} + 1 ))
    chunk=$(gzip -dc "$ODIN_STORE/$ODIN_MANIFEST" | sed -n "${line}p" | sed 's/.*"index":\([0-9]*\).*/\1/')
    mkdir -p "$ODIN_STORE/runs/$ODIN_RUN_ID/stage1"
    echo "{\"chunk\":$chunk,\"attempt\":$AWS_BATCH_JOB_ATTEMPT}" | gzip > "$ODIN_STORE/runs/$ODIN_RUN_ID/stage1/chunk-$chunk.jsonl.gz"
    """#

    @Test func pipelineWithReclaimsAndSpotExhaustionCompletesAndTearsDown() throws {
        let root = try makeTempDirectory("local-e2e")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var profile = Profile()
        profile.chunking.secondsPerImage = 150  // 2 images per chunk
        profile.ingest.settleSeconds = 0
        profile.costOptimization.maxParallelJobs = 3
        profile.compute.vcpusPerJob = 4
        let objects = try DirectoryObjectStore(root: root + "/store")
        let state = try LocalStateStore(root: root + "/state")
        let compute = LocalCompute(configuration: .init(
            profile: profile,
            runner: .command(["/bin/sh", "-c", Self.worker], environment: ["ODIN_STORE": objects.root, "PATH": "/usr/bin:/bin"],
                             logDirectory: root),
            faults: .init(reclaimFraction: 0.25, seed: 11, exhaustSpotAfterStarts: 8, runnableTimeLimitSeconds: 0.2)))
        let condensations = CondensationLog()
        let notifier = MemoryNotifier()
        let services = OdinServices(profile: profile, objects: objects, state: state, compute: compute,
                                    notifier: notifier, metrics: NoMetrics(), condensation: condensations.condensation,
                                    clock: SystemClock())
        let errors = Mutex<[String]>([])
        compute.setEventSink { event in
            do { _ = try JobEventsService(services: services).handle(event) } catch {
                errors.withLock { $0.append("\(event.detail.jobId) \(event.detail.status): \(error)") }
            }
        }
        let keys = (0..<16).map { "raw/cam\($0 % 2)/IMG \($0).JPG" }
        for key in keys { _ = try objects.put(key, bytes: Array("jpeg".utf8)) }
        let result = try IngestHandler.handleDecoded(Harness.s3Event(keys), services: services)
        #expect(result.runsStarted.count == 2)
        #expect(compute.waitUntilQuiescent(timeoutSeconds: 120))
        #expect(errors.withLock { $0 }.isEmpty)
        let runs = try result.runsStarted.map { try #require(try RunRecord.load($0, state: state)) }
        for run in runs {
            #expect(run.status == .done)
            #expect(run.failedChunks.isEmpty)
            for index in 0..<run.chunkCount {
                #expect(try objects.head(StoreLayout.stage1Key(run: run.runID, chunk: index)) != nil)
            }
        }
        #expect(condensations.all.count == 2)
        // Spot ran out after 8 starts: the rest went to On-Demand as one job per run.
        let fallbacks = compute.submissions.filter { $0.queue == "odin-on-demand" }
        #expect(!fallbacks.isEmpty && fallbacks.count <= 2 * 2)
        #expect(try state.get(Schema.teardown) != nil)
        #expect(try Capacity.isIdle(services))
        for ce in try compute.describeComputeEnvironments(profile.computeEnvironments) {
            #expect(ce.minvCpus == 0 && ce.maxvCpus == 0)
        }
        // Reclaims happened and were retried in-queue.
        let attempts = compute.allJobs().flatMap { $0.attempts ?? [] }
        #expect(attempts.contains { $0.statusReason?.hasPrefix("Host EC2") == true })
        // The ledger recorded On-Demand usage from the fallback.
        let ledger = try #require(try state.query(partition: "ledger", sortPrefix: "").first)
        #expect((ledger["vcpuMsOnDemand"]?.intValue ?? 0) > 0)
    }
}

import Events
import FoundationEssentials
import OdinKit

/// What the job-events function did with one event.
public struct JobEventResult: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case ignored, duplicate, nonTerminal = "non_terminal", chunkSucceeded = "chunk_succeeded"
        case chunkFailed = "chunk_failed", fallbackQueued = "fallback_queued", alreadyDone = "already_done"
        case budgetStopped = "budget_stopped", parentFinished = "parent_finished"
        case condensationFinished = "condensation_finished"
    }
    public var outcome: Outcome
    public var runID: String?
    public var chunk: Int?
    public var condensationStarted = false
    public var fallbackJobs: [String] = []
    public var teardown = false
    public var note: String?
}

/// Handles Batch Job State Change events: de-duplication on (jobId, attempts, status), atomic per-run counters of
/// terminal chunks, Spot→On-Demand fallback, exactly-once condensation and teardown.
///
/// Writes per terminal chunk event: 1 dedup create + 1 done/fallback marker + 1 counter ADD + 2 ledger ADDs
/// (constant; plus the rare condensation/fallback/teardown steps).
public struct JobEventsService: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    public func handle(_ event: BatchJobStateChange) throws -> JobEventResult {
        let detail = event.detail
        let profile = services.profile
        guard let (runID, kind, offset, generation, chunkCount) = try identify(detail) else {
            return JobEventResult(outcome: .ignored, note: "not an Odin job (no \(JobTags.run) tag, unknown job id)")
        }
        guard detail.status.isTerminal else {
            if detail.status == .running && profile.compute.warmMinVcpus > 0 {
                try resetWarmCapacity(runID)
            }
            return JobEventResult(outcome: .nonTerminal, runID: runID)
        }
        let dedup = StateItem(key: Schema.jobEvent(jobID: detail.jobId, attempts: detail.attemptCount,
                                                    status: detail.status.rawValue),
                              attributes: ["at": .int(services.nowSeconds)],
                              expiresAt: services.nowSeconds + 14 * 86_400)
        guard try services.state.create(dedup) else { return JobEventResult(outcome: .duplicate, runID: runID) }

        if kind == "condense" {
            return try condensationFinished(runID: runID, detail: detail)
        }
        if detail.isArrayParent {
            var result = JobEventResult(outcome: .parentFinished, runID: runID)
            result.teardown = try Capacity.teardownIfIdle(reason: "array job \(detail.jobId) finished",
                                                          services: services)
            return result
        }
        // The deployed rule passes terminal states only (a RUNNING event per child would invoke this function once per
        // chunk start), so a run's first finished chunk is what proves it has capacity: the warm floor goes then.
        if profile.compute.warmMinVcpus > 0 { try resetWarmCapacity(runID) }
        let onSpot = detail.queueName == profile.compute.spotQueue
        _ = try CostLedger.record(detail, runID: runID, spot: onSpot, services: services)

        let position = detail.arrayIndex ?? 0
        let chunk: Int
        if kind == "fallback" || kind == "resume", let generation {
            guard let item = try services.state.get(Schema.fallbackJob(runID, generation)),
                  let indices = item["indices"]?.listValue, position < indices.count,
                  let original = indices[position].intValue
            else {
                throw OdinError("event \(detail.jobId)",
                                "no index list for \(kind) generation \(generation) of run \(runID) yet; retry later")
            }
            chunk = Int(original)
        } else {
            chunk = offset + position
        }
        guard chunk >= 0, chunk < chunkCount else {
            throw OdinError("event \(detail.jobId)", "chunk index \(chunk) outside run \(runID) (\(chunkCount) chunks)")
        }
        let reason = detail.statusReason ?? detail.attempts?.last?.statusReason ?? ""
        var result = JobEventResult(outcome: .chunkSucceeded, runID: runID, chunk: chunk)
        let tracker = RunProgress(services: services, runID: runID, chunkCount: chunkCount)

        if detail.status == .failed && reason.hasPrefix(StatusReasons.budgetStop) {
            return JobEventResult(outcome: .budgetStopped, runID: runID, chunk: chunk)
        }
        let isTimeoutCancel = reason.hasPrefix(StatusReasons.runnableTimeoutPrefix)
        let isReclaim = reason.hasPrefix(StatusReasons.reclaimPrefix)
        if detail.status == .failed && (isTimeoutCancel || isReclaim) && onSpot && kind != "fallback" &&
            profile.compute.fallbackToOnDemand {
            result.outcome = try tracker.queueFallback(chunk, reason: reason) ? .fallbackQueued : .alreadyDone
            services.metrics.emit([Metric(isTimeoutCancel ? "SpotTimeoutCancels" : "SpotReclaimFailures", 1)],
                                  dimensions: ["Service": "odin"], properties: ["run_id": runID, "job_id": detail.jobId])
        } else {
            let succeeded = detail.status == .succeeded
            let recorded = try tracker.markDone(chunk, succeeded: succeeded, jobID: detail.jobId, reason: reason)
            result.outcome = recorded ? (succeeded ? .chunkSucceeded : .chunkFailed) : .alreadyDone
        }
        let step = try tracker.advance()
        result.condensationStarted = step.condensationStarted
        result.fallbackJobs = step.fallbackJobs
        result.teardown = step.teardown
        services.log.debug("job event", ["run.id": runID, "job.id": detail.jobId, "chunk": String(chunk),
                                         "outcome": result.outcome.rawValue])
        return result
    }

    /// Maps a job to (run, kind, offset, generation, chunk count): from the event's tags, else the job record.
    func identify(_ detail: BatchJobDetail) throws -> (String, String, Int, Int64?, Int)? {
        if let tags = detail.tags, let runID = tags[JobTags.run] {
            let kind = tags[JobTags.kind] ?? "chunks"
            var chunks = tags[JobTags.chunks].flatMap { Int($0) }
            if chunks == nil { chunks = try RunRecord.load(runID, state: services.state)?.chunkCount }
            guard let chunks, chunks > 0 || kind == "condense" else {
                throw OdinError("event \(detail.jobId)",
                                "run \(runID) (tag \(JobTags.run)) has no record in the state store yet; the event is retried and the sweeper reconciles")
            }
            return (runID, kind, Int(tags[JobTags.offset] ?? "0") ?? 0, tags[JobTags.generation].flatMap { Int64($0) },
                    chunks)
        }
        if let item = try services.state.get(Schema.job(detail.parentJobID)), let runID = item["runID"]?.stringValue {
            let chunks = try RunRecord.load(runID, state: services.state)?.chunkCount ?? 0
            return (runID, item["kind"]?.stringValue ?? "chunks", Int(item["offset"]?.intValue ?? 0),
                    item["generation"]?.intValue, chunks)
        }
        if services.profile.queues.contains(detail.queueName) && detail.jobName.hasPrefix("munin-") {
            throw OdinError("event \(detail.jobId)",
                            "job in our queue \(detail.queueName) has no \(JobTags.run) tag and no job record yet; retry later")
        }
        return nil
    }

    /// Lowers `minvCpus` back to `min_vcpus` once per run (a create-if-absent marker), on the run's first RUNNING
    /// event (local mode, or a rule that passes RUNNING) or first terminal chunk event (the deployed rule).
    func resetWarmCapacity(_ runID: String) throws {
        guard try services.state.create(StateItem(key: Schema.warmReset(runID),
                                                  attributes: ["at": .int(services.nowSeconds)])) else { return }
        let minimum = services.profile.compute.minVcpus
        for ce in try services.compute.describeComputeEnvironments(services.profile.computeEnvironments)
        where ce.minvCpus > minimum {
            try services.compute.updateComputeEnvironment(ce.name, ComputeEnvironmentUpdate(minvCpus: minimum))
        }
    }

    func condensationFinished(runID: String, detail: BatchJobDetail) throws -> JobEventResult {
        _ = try CostLedger.record(detail, runID: runID, spot: detail.queueName == services.profile.compute.spotQueue,
                                  services: services)
        try RunRecord.modify(runID, state: services.state) { record in
            record.status = .done
            record.completedAt = UTC.iso(services.clock.now())
        }
        try services.state.delete(Schema.activeRun(runID), condition: .always)
        var result = JobEventResult(outcome: .condensationFinished, runID: runID)
        if detail.status != .succeeded {
            result.note = "condensation job failed: \(detail.statusReason ?? "")"
            try services.notifier.publish(subject: "Odin: condensation of \(runID) failed",
                                          message: "Hugin job \(detail.jobId) ended \(detail.status.rawValue): \(detail.statusReason ?? "no reason given"). Stage 1 results are kept under \(StoreLayout.stage1Prefix(run: runID)).")
        }
        result.teardown = try Capacity.teardownIfIdle(reason: "run \(runID) condensed", services: services)
        return result
    }
}

/// Per-run progress: terminal chunk markers, counters, fallback flushing and the condensation trigger.
struct RunProgress {
    let services: OdinServices
    let runID: String
    let chunkCount: Int

    struct Step {
        var condensationStarted = false
        var fallbackJobs: [String] = []
        var teardown = false
    }

    /// Marks a chunk terminal exactly once; false when it already was.
    func markDone(_ chunk: Int, succeeded: Bool, jobID: String, reason: String) throws -> Bool {
        let marker = StateItem(key: Schema.chunkDone(runID, chunk),
                               attributes: ["status": .string(succeeded ? "SUCCEEDED" : "FAILED"),
                                            "jobID": .string(jobID), "reason": .string(reason)])
        guard try services.state.create(marker) else { return false }
        try services.state.add(Schema.runCounters(runID), counters: [succeeded ? "succeeded" : "failed": 1], set: [:])
        services.metrics.emit([Metric(succeeded ? "ChunksDone" : "ChunksFailed", 1)], dimensions: ["Service": "odin"],
                              properties: ["run_id": runID, "job_id": jobID])
        return true
    }

    /// Records a chunk as waiting for On-Demand fallback, once; false when it is already terminal or waiting.
    func queueFallback(_ chunk: Int, reason: String) throws -> Bool {
        if try services.state.get(Schema.chunkDone(runID, chunk)) != nil { return false }
        let marker = StateItem(key: Schema.fallbackPending(runID, chunk),
                               attributes: ["reason": .string(reason), "since": .int(services.nowSeconds)])
        guard try services.state.create(marker) else { return false }
        try services.state.add(Schema.runCounters(runID), counters: ["fallbackPending": 1], set: [:])
        return true
    }

    /// After any change: flush fallbacks when every chunk is terminal or waiting, and condense when all are terminal.
    func advance(forceFlush: Bool = false) throws -> Step {
        var step = Step()
        let counters = try services.state.get(Schema.runCounters(runID))?.attributes ?? [:]
        let succeeded = Int(counters["succeeded"]?.intValue ?? 0)
        let failed = Int(counters["failed"]?.intValue ?? 0)
        let waiting = Int((counters["fallbackPending"]?.intValue ?? 0) - (counters["fallbackClaimed"]?.intValue ?? 0))
        if waiting > 0 && (forceFlush || succeeded + failed + waiting >= chunkCount) {
            // One flush per set of waiting chunks, even when concurrent invocations see the condition together:
            // the lock is keyed by the number of chunks ever queued for fallback.
            let queued = counters["fallbackPending"]?.intValue ?? 0
            let lock = StateItem(key: StateKey(Schema.runPartition(runID), "flush#\(queued)"),
                                 attributes: ["at": .int(services.nowSeconds)])
            // While the budget guard holds, waiting chunks stay waiting (`odin resume` flushes them); the sweeper's
            // forced flush (stale waiting chunks) bypasses the lock.
            if try !Capacity.budgetStopped(services), try forceFlush || services.state.create(lock),
               let job = try flushFallbacks() {
                step.fallbackJobs.append(job)
            }
        }
        if chunkCount > 0 && succeeded + failed >= chunkCount {
            step.condensationStarted = try condenseOnce(succeeded: succeeded)
            if step.condensationStarted {
                step.teardown = try Capacity.teardownIfIdle(reason: "run \(runID) complete", services: services)
            }
        }
        return step
    }

    /// Claims every waiting chunk and submits ONE On-Demand array job over them, with a fallback manifest whose
    /// line i is the original chunk (keeping its index, so Stage 1 lands at `chunk-<index>`).
    func flushFallbacks() throws -> String? {
        let generation = try services.state.add(Schema.runCounters(runID), counters: ["fallbackGen": 1], set: [:])["fallbackGen"] ?? 1
        var claimed: [(StateKey, Int)] = []
        for pending in try services.state.query(partition: Schema.runPartition(runID),
                                                sortPrefix: Schema.fallbackPendingPrefix) {
            guard let index = Schema.index(fromSortKey: pending.key.sort) else { continue }
            do {
                try services.state.update(pending.key, set: ["claimedBy": .int(generation)],
                                          condition: .attributeAbsent("claimedBy"))
            } catch let error as StateStoreError where error.isConditionFailure {
                continue
            }
            claimed.append((pending.key, index))
        }
        guard !claimed.isEmpty else { return nil }
        let indices = claimed.map(\.1).sorted()
        try services.state.add(Schema.runCounters(runID), counters: ["fallbackClaimed": Int64(claimed.count)], set: [:])
        return try submitSubset(indices: indices, generation: generation, kind: "fallback",
                                queue: services.profile.compute.onDemandQueue, claimed: claimed.map(\.0))
    }

    /// Writes a subset manifest and submits one job over `indices` to `queue`.
    func submitSubset(indices: [Int], generation: Int64, kind: String, queue: String,
                      claimed: [StateKey]) throws -> String {
        guard let record = try RunRecord.load(runID, state: services.state) else {
            throw OdinError("run \(runID)", "no run record")
        }
        let all = try IngestPlanner.readManifest(try services.objects.get(record.manifestKey))
        let byIndex = Dictionary(all.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        let subset = try indices.map { index -> Chunk in
            guard let chunk = byIndex[index] else {
                throw OdinError("manifest \(record.manifestKey)", "has no chunk \(index)")
            }
            return chunk
        }
        let key = "runs/\(runID)/\(kind)-\(generation).jsonl.gz"
        try services.objects.put(key, bytes: try IngestPlanner.manifest(subset))
        try services.state.put(StateItem(key: Schema.fallbackJob(runID, generation),
                                         attributes: ["indices": .list(indices.map { .int(Int64($0)) }),
                                                      "manifest": .string(key), "kind": .string(kind)]),
                               condition: .always)
        if !(try Capacity.budgetStopped(services)) {
            try Capacity.open(cap: max(try Pacer.currentCap(services: services), services.profile.smallestInstanceVcpus),
                              warm: false, services: services)
        }
        let submitter = RunSubmitter(services: services)
        let jobID = try services.compute.submitJob(submitter.workerSubmission(
            name: "munin-\(runID)-\(kind == "fallback" ? "fb" : "rs")\(generation)", queue: queue, runID: runID,
            manifest: key, offset: 0, size: indices.count, chunkCount: record.chunkCount, kind: kind,
            generation: generation, priority: record.priority))
        try services.state.put(StateItem(key: Schema.job(jobID),
                                         attributes: ["runID": .string(runID), "kind": .string(kind), "offset": .int(0),
                                                      "generation": .int(generation)]),
                               condition: .always)
        try services.state.update(Schema.fallbackJob(runID, generation), set: ["jobID": .string(jobID)])
        try RunRecord.modify(runID, state: services.state) { record in
            record.jobs.append(RunRecord.JobRef(jobID: jobID, kind: kind, queue: queue, offset: 0,
                                                size: indices.count, generation: generation))
            if record.status == .stoppedByBudget { record.status = .running }
        }
        for key in claimed { try services.state.delete(key, condition: .always) }
        services.metrics.emit([Metric(kind == "fallback" ? "FallbackChunks" : "ResumedChunks", Double(indices.count))],
                              dimensions: ["Service": "odin"], properties: ["run_id": runID, "job_id": jobID])
        services.log.info("\(kind) submitted", ["run.id": runID, "job.id": jobID, "queue": queue,
                                                 "chunks": String(indices.count)])
        return jobID
    }

    /// Starts condensation exactly once (create-if-absent marker; removed again if starting fails).
    func condenseOnce(succeeded: Int) throws -> Bool {
        let marker = StateItem(key: Schema.condensationMarker(runID), attributes: ["at": .int(services.nowSeconds)])
        guard try services.state.create(marker) else { return false }
        do {
            let failed = try services.state.query(partition: Schema.runPartition(runID), sortPrefix: Schema.chunkDonePrefix)
                .filter { $0["status"]?.stringValue == "FAILED" }
                .compactMap { Schema.index(fromSortKey: $0.key.sort) }
            guard let record = try RunRecord.load(runID, state: services.state) else {
                throw OdinError("run \(runID)", "no run record")
            }
            let request = CondensationRequest(runID: runID, chunkCount: chunkCount, succeededChunks: succeeded,
                                              failedChunks: failed, manifestKey: record.manifestKey,
                                              stage1Prefix: StoreLayout.stage1Prefix(run: runID),
                                              stage3Prefix: StoreLayout.stage3Prefix(run: runID),
                                              priority: record.priority)
            let jobID = try services.condensation.startCondensation(request)
            try RunRecord.modify(runID, state: services.state) { record in
                record.failedChunks = failed
                record.status = jobID == nil ? .done : .condensing
                if jobID == nil { record.completedAt = UTC.iso(services.clock.now()) }
                if let jobID {
                    record.jobs.append(RunRecord.JobRef(jobID: jobID, kind: "condense",
                                                        queue: services.profile.compute.onDemandQueue, offset: 0, size: 1))
                }
            }
            if jobID == nil { try services.state.delete(Schema.activeRun(runID), condition: .always) }
            services.metrics.emit([Metric("RunsCompleted", 1), Metric("RunChunksFailed", Double(failed.count))],
                                  dimensions: ["Service": "odin"], properties: ["run_id": runID])
            services.log.info("condensation started", ["run.id": runID, "failed": String(failed.count),
                                                       "job.id": jobID ?? "in-process"])
            return true
        } catch {
            _ = try? services.state.delete(Schema.condensationMarker(runID), condition: .always)
            throw error
        }
    }
}

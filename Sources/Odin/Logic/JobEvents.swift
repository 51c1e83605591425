import Events
import OdinBasics
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
        guard let job = try identify(detail) else {
            return JobEventResult(outcome: .ignored, note: "not an Odin job (no \(JobTags.run) tag, unknown job id)")
        }
        let (runID, kind, offset, generation, chunkCount) = job
        guard detail.status.isTerminal else {
            if detail.status == .running && profile.compute.warmMinVcpus > 0 {
                try resetWarmCapacity(runID)
            }
            return JobEventResult(outcome: .nonTerminal, runID: runID)
        }
        // The event's own item (jobId, attempts, status) is written in the same transaction as the event's effect
        // (its chunk marker, counters and ledger charge), so it means "recorded", never "started". A redelivery that
        // finds it skips the recording but still runs the idempotent follow-up (advance), which a failure may have
        // cut short.
        let eventItem = StateItem(key: Schema.jobEvent(jobID: detail.jobId, attempts: detail.attemptCount,
                                                        status: detail.status.rawValue),
                                  attributes: ["at": .int(services.nowSeconds)],
                                  expiresAt: services.nowSeconds + 14 * 86_400)
        let seen = try services.state.get(eventItem.key) != nil
        let onSpot = detail.queueName == profile.compute.spotQueue

        if kind == "condense" {
            return try condensationFinished(runID: runID, detail: detail, eventItem: eventItem, seen: seen)
        }
        if detail.isArrayParent {
            var result = JobEventResult(outcome: seen ? .duplicate : .parentFinished, runID: runID)
            result.teardown = try Capacity.teardownIfIdle(reason: "array job \(detail.jobId) finished",
                                                          services: services)
            if !seen { try services.state.put(eventItem, condition: .always) }
            return result
        }
        // The deployed rule passes terminal states only (a RUNNING event per child would invoke this function once per
        // chunk start), so a run's first finished chunk is what proves it has capacity: the warm floor goes then.
        if profile.compute.warmMinVcpus > 0 { try resetWarmCapacity(runID) }

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
        let charge = CostLedger.charge(detail, runID: runID, spot: onSpot, services: services)

        if detail.status == .failed && reason.hasPrefix(StatusReasons.budgetStop) {
            // Nothing to mark (`odin resume` re-runs the chunk); the attempt's usage is charged once, with the event.
            if !seen {
                do { try services.state.transact([.put(eventItem, .itemAbsent)] + charge) }
                catch let error as StateStoreError where error.isConditionFailure {}
            }
            return JobEventResult(outcome: seen ? .duplicate : .budgetStopped, runID: runID, chunk: chunk)
        }
        let isTimeoutCancel = reason.hasPrefix(StatusReasons.runnableTimeoutPrefix)
        let isReclaim = reason.hasPrefix(StatusReasons.reclaimPrefix)
        if detail.status == .failed && (isTimeoutCancel || isReclaim) && onSpot && kind != "fallback" &&
            profile.compute.fallbackToOnDemand {
            if seen {
                result.outcome = .duplicate
            } else {
                result.outcome = try tracker.queueFallback(chunk, reason: reason, with: [.put(eventItem, .always)] + charge)
                    ? .fallbackQueued : .alreadyDone
                services.metrics.emit([Metric(isTimeoutCancel ? "SpotTimeoutCancels" : "SpotReclaimFailures", 1)],
                                      dimensions: ["Service": "odin"], properties: ["run_id": runID, "job_id": detail.jobId])
            }
        } else if seen {
            result.outcome = .duplicate
        } else {
            let succeeded = detail.status == .succeeded
            let recorded = try tracker.markDone(chunk, succeeded: succeeded, jobID: detail.jobId, reason: reason,
                                                with: [.put(eventItem, .always)] + charge)
            result.outcome = recorded ? (succeeded ? .chunkSucceeded : .chunkFailed) : .alreadyDone
        }
        if result.outcome == .alreadyDone {
            // Answered by an earlier event of the same chunk: not charged, but remembered as handled.
            try services.state.put(eventItem, condition: .always)
        }
        let step = try tracker.advance()
        result.condensationStarted = step.condensationStarted
        result.fallbackJobs = step.fallbackJobs
        result.teardown = step.teardown
        services.log.debug("job event", ["run.id": runID, "job.id": detail.jobId, "chunk": String(chunk),
                                         "outcome": result.outcome.rawValue])
        return result
    }

    /// Maps a job to (run, kind, offset, generation, chunk count): from the event's tags, else the job record. A
    /// tagged run must have a record (nothing is written for an unknown run), and a `condense` event must be the
    /// run's recorded Hugin job (a tag alone proves nothing).
    func identify(_ detail: BatchJobDetail) throws -> (String, String, Int, Int64?, Int)? {
        if let tags = detail.tags, let runID = tags[JobTags.run] {
            let kind = tags[JobTags.kind] ?? "chunks"
            guard let record = try RunRecord.load(runID, state: services.state) else {
                throw OdinError("event \(detail.jobId)",
                                "run \(runID) (tag \(JobTags.run)) has no record in the state store yet; nothing was written. The event is retried and the sweeper reconciles")
            }
            if kind == "condense" {
                let hugin = record.jobs.filter { $0.kind == "condense" }.map(\.jobID)
                guard hugin.contains(detail.jobId) else {
                    if hugin.isEmpty && record.status == .running {
                        throw OdinError("event \(detail.jobId)",
                                        "run \(runID) has not recorded its Hugin job yet; retry later")
                    }
                    services.log.warning("condense event ignored: not the run's Hugin job",
                                         ["run.id": runID, "job.id": detail.jobId, "recorded": hugin.joined(separator: ",")])
                    return nil
                }
                return (runID, kind, 0, nil, record.chunkCount)
            }
            let chunks = tags[JobTags.chunks].flatMap { Int($0) } ?? record.chunkCount
            guard chunks > 0 else {
                throw OdinError("event \(detail.jobId)", "run \(runID) records no chunks yet; retry later")
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
        if try services.state.get(Schema.warmReset(runID)) != nil { return }
        let minimum = services.profile.compute.minVcpus
        for ce in try services.compute.describeComputeEnvironments(services.profile.computeEnvironments)
        where ce.minvCpus > minimum {
            try services.compute.updateComputeEnvironment(ce.name, ComputeEnvironmentUpdate(minvCpus: minimum))
        }
        // Written after the work: the marker means "reset done".
        try services.state.put(StateItem(key: Schema.warmReset(runID), attributes: ["at": .int(services.nowSeconds)]),
                               condition: .always)
    }

    /// The run's Hugin job ended. Its usage is charged with the event item (once); SUCCEEDED makes the run `done`,
    /// FAILED makes it `failed` (its Stage 1 results are kept; `odin resume RUN` starts condensation again).
    func condensationFinished(runID: String, detail: BatchJobDetail, eventItem: StateItem,
                              seen: Bool) throws -> JobEventResult {
        if !seen {
            let charge = CostLedger.charge(detail, runID: runID,
                                           spot: detail.queueName == services.profile.compute.spotQueue,
                                           services: services)
            do { try services.state.transact([.put(eventItem, .itemAbsent)] + charge) }
            catch let error as StateStoreError where error.isConditionFailure {}
        }
        let succeeded = detail.status == .succeeded
        let record = try RunRecord.modify(runID, state: services.state) { record in
            // Only the run's latest Hugin job decides (an older one's redelivered event changes nothing).
            guard record.status == .condensing,
                  record.jobs.last(where: { $0.kind == "condense" })?.jobID == detail.jobId else { return }
            record.status = succeeded ? .done : .failed
            record.completedAt = UTC.iso(services.clock.now())
        }
        try services.state.delete(Schema.activeRun(runID), condition: .always)
        var result = JobEventResult(outcome: seen ? .duplicate : .condensationFinished, runID: runID)
        if !succeeded && record.status == .failed {
            result.note = "condensation job failed: \(detail.statusReason ?? "")"
            if !seen {
                try services.notifier.publish(subject: "Odin: condensation of \(runID) failed",
                                              message: "Hugin job \(detail.jobId) ended \(detail.status.rawValue): \(detail.statusReason ?? "no reason given"). The run is marked failed; Stage 1 results are kept under \(StoreLayout.stage1Prefix(run: runID)). `odin resume \(runID)` starts condensation again.")
            }
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
    /// Treat live leases as expired (`odin resume`: the user says the process that held them is gone).
    var takeOverLeases = false

    struct Step {
        var condensationStarted = false
        var fallbackJobs: [String] = []
        var teardown = false
    }

    /// Marks a chunk terminal exactly once, in one transaction with its counter and `with` (the event item and the
    /// ledger charge; a charge's counters on the run's counters item are merged into the one ADD); false when it
    /// already was (then nothing is written).
    func markDone(_ chunk: Int, succeeded: Bool, jobID: String, reason: String, with extra: [StateWrite] = []) throws -> Bool {
        let marker = StateItem(key: Schema.chunkDone(runID, chunk),
                               attributes: ["status": .string(succeeded ? "SUCCEEDED" : "FAILED"),
                                            "jobID": .string(jobID), "reason": .string(reason)])
        do {
            try services.state.transact([.put(marker, .itemAbsent)] +
                                        merged(counters: [succeeded ? "succeeded" : "failed": 1], extra))
        } catch let error as StateStoreError where error.isConditionFailure {
            return false
        }
        services.metrics.emit([Metric(succeeded ? "ChunksDone" : "ChunksFailed", 1)], dimensions: ["Service": "odin"],
                              properties: ["run_id": runID, "job_id": jobID])
        return true
    }

    /// Records a chunk as waiting for On-Demand fallback, once (marker, counter and `with` in one transaction);
    /// false when it is already terminal or waiting.
    func queueFallback(_ chunk: Int, reason: String, with extra: [StateWrite] = []) throws -> Bool {
        if try services.state.get(Schema.chunkDone(runID, chunk)) != nil { return false }
        let marker = StateItem(key: Schema.fallbackPending(runID, chunk),
                               attributes: ["reason": .string(reason), "since": .int(services.nowSeconds)])
        do {
            try services.state.transact([.put(marker, .itemAbsent)] + merged(counters: ["fallbackPending": 1], extra))
        } catch let error as StateStoreError where error.isConditionFailure {
            return false
        }
        return true
    }

    /// `extra` with `counters` added to its ADD on the run's counters item (one write per item in a transaction).
    func merged(counters: [String: Int64], _ extra: [StateWrite]) -> [StateWrite] {
        let key = Schema.runCounters(runID)
        var total = counters
        var rest: [StateWrite] = []
        for write in extra {
            if case .add(let target, let more, _) = write, target == key {
                total.merge(more, uniquingKeysWith: +)
            } else {
                rest.append(write)
            }
        }
        return [.add(key, counters: total, set: [:])] + rest
    }

    /// Repairs `succeeded`/`failed` counters that fell behind the `done#` markers (the truth; e.g. a run recorded
    /// before markers and counters committed together). Markers are read before the counters, so the difference never
    /// over-counts a marker whose transaction lands in between. Returns the counts added.
    @discardableResult
    func recount() throws -> (succeeded: Int64, failed: Int64) {
        let markers = try services.state.query(partition: Schema.runPartition(runID), sortPrefix: Schema.chunkDonePrefix)
        let succeeded = Int64(markers.filter { $0["status"]?.stringValue == "SUCCEEDED" }.count)
        let failed = Int64(markers.count) - succeeded
        let counters = try services.state.get(Schema.runCounters(runID))?.attributes ?? [:]
        let missing = (max(0, succeeded - (counters["succeeded"]?.intValue ?? 0)),
                       max(0, failed - (counters["failed"]?.intValue ?? 0)))
        if missing.0 > 0 || missing.1 > 0 {
            try services.state.add(Schema.runCounters(runID), counters: ["succeeded": missing.0, "failed": missing.1],
                                   set: [:])
            services.log.warning("run counters repaired from markers",
                                 ["run.id": runID, "succeeded": String(missing.0), "failed": String(missing.1)])
        }
        return missing
    }

    /// After any change: flush fallbacks when every chunk is terminal or waiting, and condense when all are terminal.
    func advance(forceFlush: Bool = false) throws -> Step {
        var step = Step()
        let counters = try services.state.get(Schema.runCounters(runID))?.attributes ?? [:]
        let succeeded = Int(counters["succeeded"]?.intValue ?? 0)
        let failed = Int(counters["failed"]?.intValue ?? 0)
        let waiting = Int((counters["fallbackPending"]?.intValue ?? 0) - (counters["fallbackClaimed"]?.intValue ?? 0))
        // One flush per set of waiting chunks: its generation is the number of chunks ever queued, so a redelivery, a
        // concurrent invocation and the sweeper all address the same flush (claims, manifest, job name); a flush
        // that was recorded but not submitted (its holder failed) is finished here too.
        let queued = counters["fallbackPending"]?.intValue ?? 0
        let due = waiting > 0 && (forceFlush || succeeded + failed + waiting >= chunkCount)
        var unfinished = false
        if !due && queued > 0 && waiting <= 0 {
            unfinished = try services.state.get(Schema.fallbackJob(runID, queued))?["jobID"] == nil
        }
        // While the budget guard holds, waiting chunks stay waiting (`odin resume` flushes them).
        if due || unfinished, try !Capacity.budgetStopped(services), let job = try flushFallbacks(generation: queued) {
            step.fallbackJobs.append(job)
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
    /// line i is the original chunk (keeping its index, so Stage 1 lands at `chunk-<index>`). The flush is recorded
    /// (`fallback#<generation>` with its indices, and the claimed count) in one transaction, under a lease that a
    /// failure releases and that expires if its holder dies; the job is looked up by name before it is submitted.
    func flushFallbacks(generation: Int64) throws -> String? {
        let key = Schema.fallbackJob(runID, generation)
        let now = services.nowSeconds
        let lease = now + Self.condensationLeaseSeconds
        var indices: [Int]
        if let item = try services.state.get(key) {
            guard item["jobID"] == nil, let until = item["leaseUntil"]?.intValue, until <= now || takeOverLeases else {
                return nil
            }
            do {
                try services.state.update(key, set: ["leaseUntil": .int(lease)], condition: .equals("leaseUntil", .int(until)))
            } catch let error as StateStoreError where error.isConditionFailure {
                return nil
            }
            indices = (item["indices"]?.listValue ?? []).compactMap { $0.intValue.map(Int.init) }
        } else {
            var claimed: [Int] = []
            for pending in try services.state.query(partition: Schema.runPartition(runID),
                                                    sortPrefix: Schema.fallbackPendingPrefix) {
                guard let index = Schema.index(fromSortKey: pending.key.sort) else { continue }
                do {
                    try services.state.update(pending.key, set: ["claimedBy": .int(generation)],
                                              condition: .absentOrEquals("claimedBy", .int(generation)))
                } catch let error as StateStoreError where error.isConditionFailure {
                    continue
                }
                claimed.append(index)
            }
            guard !claimed.isEmpty else { return nil }
            indices = claimed.sorted()
            let record = StateItem(key: key, attributes: [
                "indices": .list(indices.map { .int(Int64($0)) }), "kind": .string("fallback"),
                "manifest": .string(Self.subsetManifestKey(runID, kind: "fallback", generation: generation)),
                "leaseUntil": .int(lease)])
            do {
                try services.state.transact([.put(record, .itemAbsent),
                                             .add(Schema.runCounters(runID), counters: ["fallbackClaimed": Int64(indices.count)],
                                                  set: [:])])
            } catch let error as StateStoreError where error.isConditionFailure {
                return nil  // another invocation recorded this flush and holds it
            }
        }
        do {
            return try submitSubset(indices: indices, generation: generation, kind: "fallback",
                                    queue: services.profile.compute.onDemandQueue)
        } catch {
            _ = try? services.state.update(key, set: ["leaseUntil": .int(0)], condition: .equals("leaseUntil", .int(lease)))
            throw error
        }
    }

    static func subsetManifestKey(_ runID: String, kind: String, generation: Int64) -> String {
        "runs/\(runID)/\(kind)-\(generation).jsonl.gz"
    }

    /// Writes a subset manifest and submits one job over `indices` to `queue` (every step idempotent: the manifest
    /// and the `fallback#<generation>` record are rewritten with the same content, the job is found by name when a
    /// lost answer already created it); then records the job and drops the claimed `fbpending#` markers.
    func submitSubset(indices: [Int], generation: Int64, kind: String, queue: String) throws -> String {
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
        let key = Self.subsetManifestKey(runID, kind: kind, generation: generation)
        try services.objects.put(key, bytes: try IngestPlanner.manifest(subset))
        try services.state.update(Schema.fallbackJob(runID, generation),
                                  set: ["indices": .list(indices.map { .int(Int64($0)) }), "manifest": .string(key),
                                        "kind": .string(kind)])
        if !(try Capacity.budgetStopped(services)) {
            try Capacity.open(cap: max(try Pacer.currentCap(services: services), services.profile.smallestInstanceVcpus),
                              warm: false, services: services)
        }
        let submitter = RunSubmitter(services: services)
        let name = "munin-\(runID)-\(kind == "fallback" ? "fb" : "rs")\(abs(generation))"
        let jobID = try services.compute.listJobs(.namePrefix(queue: queue, prefix: name)).first { $0.jobName == name }?.jobID
            ?? services.compute.submitJob(submitter.workerSubmission(
                name: name, queue: queue, runID: runID, manifest: key, offset: 0, size: indices.count,
                chunkCount: record.chunkCount, kind: kind, generation: generation, priority: record.priority))
        let ref = RunRecord.JobRef(jobID: jobID, kind: kind, queue: queue, offset: 0, size: indices.count,
                                   generation: generation)
        try services.state.put(ref.lookupItem(runID: runID), condition: .always)
        try RunRecord.modify(runID, state: services.state) { record in
            if !record.jobs.contains(where: { $0.jobID == jobID }) { record.jobs.append(ref) }
            if record.status == .stoppedByBudget { record.status = .running }
        }
        if kind == "fallback" {
            for pending in try services.state.query(partition: Schema.runPartition(runID),
                                                    sortPrefix: Schema.fallbackPendingPrefix)
            where pending["claimedBy"] == .int(generation) {
                try services.state.delete(pending.key, condition: .always)
            }
        }
        // Last: the job id on the flush record marks the flush done.
        try services.state.update(Schema.fallbackJob(runID, generation), set: ["jobID": .string(jobID)])
        services.metrics.emit([Metric(kind == "fallback" ? "FallbackChunks" : "ResumedChunks", Double(indices.count))],
                              dimensions: ["Service": "odin"], properties: ["run_id": runID, "job_id": jobID])
        services.log.info("\(kind) submitted", ["run.id": runID, "job.id": jobID, "queue": queue,
                                                 "chunks": String(indices.count)])
        return jobID
    }

    /// A condensation lease outlives the longest Lambda invocation (900 s), so a live holder is never overtaken.
    static let condensationLeaseSeconds: Int64 = 960

    /// Starts condensation exactly once. The `condense` item is an expiring lease while starting (`leaseUntil`) and
    /// a marker of "started" only once it carries `startedAt` (written after the run records its Hugin job): a holder
    /// that dies leaves a lease the next caller (event redelivery, sweeper, `odin resume`) takes over when it has
    /// expired; a failure releases it at once. A Hugin job a dead holder submitted is found by name, never submitted
    /// twice.
    func condenseOnce(succeeded: Int) throws -> Bool {
        let key = Schema.condensationMarker(runID)
        let now = services.nowSeconds
        let lease = StateItem(key: key, attributes: ["leaseUntil": .int(now + Self.condensationLeaseSeconds)])
        if !(try services.state.create(lease)) {
            guard let current = try services.state.get(key) else { return false }
            guard current["startedAt"] == nil, let until = current["leaseUntil"]?.intValue, until <= now || takeOverLeases else {
                return false  // started, or another invocation holds a live lease
            }
            do {
                try services.state.update(key, set: ["leaseUntil": .int(now + Self.condensationLeaseSeconds)],
                                          condition: .equals("leaseUntil", .int(until)))
            } catch let error as StateStoreError where error.isConditionFailure {
                return false
            }
            services.log.warning("condensation lease taken over", ["run.id": runID])
        }
        var started = false
        do {
            if let record = try RunRecord.load(runID, state: services.state), record.status == .condensing ||
                record.status == .done {
                // A dead holder got as far as recording the start: only the marker is missing.
                try services.state.update(key, set: ["startedAt": .int(now)])
                return false
            }
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
            let name = "hugin-\(runID)"
            let existing = try services.compute.listJobs(.namePrefix(queue: services.profile.compute.onDemandQueue,
                                                                     prefix: name))
                .filter { listed in listed.jobName == name && !record.jobs.contains { $0.jobID == listed.jobID } }
            let jobID = try existing.first?.jobID ?? services.condensation.startCondensation(request)
            try RunRecord.modify(runID, state: services.state) { record in
                record.failedChunks = failed
                record.status = jobID == nil ? .done : .condensing
                if jobID == nil { record.completedAt = UTC.iso(services.clock.now()) }
                if let jobID, !record.jobs.contains(where: { $0.jobID == jobID }) {
                    record.jobs.append(RunRecord.JobRef(jobID: jobID, kind: "condense",
                                                        queue: services.profile.compute.onDemandQueue, offset: 0, size: 1))
                }
            }
            try services.state.update(key, set: ["startedAt": .int(now)])
            started = true
            // Last: a run still in the active index is revisited by the sweeper, which finishes this bookkeeping.
            if jobID == nil { try services.state.delete(Schema.activeRun(runID), condition: .always) }
            services.metrics.emit([Metric("RunsCompleted", 1), Metric("RunChunksFailed", Double(failed.count))],
                                  dimensions: ["Service": "odin"], properties: ["run_id": runID])
            services.log.info("condensation started", ["run.id": runID, "failed": String(failed.count),
                                                       "job.id": jobID ?? "in-process"])
            return true
        } catch {
            // Released at once for the redelivery, unless the start is already recorded.
            if !started { _ = try? services.state.delete(key, condition: .attributeAbsent("startedAt")) }
            throw error
        }
    }
}

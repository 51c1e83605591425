import Events
import OdinBasics
import OdinKit

/// The ingest function's result.
public struct IngestResult: Sendable, Equatable, Codable {
    /// New media objects recorded (after de-duplication).
    public var accepted = 0
    public var duplicates = 0
    public var testEvents = 0
    /// Keys not processed, with the reason (first 100; `skippedCount` has the total).
    public var skipped: [IngestPlanner.SkipReason] = []
    public var skippedCount = 0
    /// Records that were not ObjectCreated (e.g. ObjectRemoved).
    public var otherRecords = 0
    /// Runs sealed and submitted by this invocation.
    public var runsStarted: [String] = []
}

/// Ingest: de-duplicate created objects, collect them per camera, and seal collecting windows into runs.
///
/// Burst design: each invocation only records its objects (3 writes each: the dedup key, the pending object, one
/// window ADD per camera) and seals windows that have *settled* — no upload for `settle_seconds`, or open for
/// `max_wait_seconds`, or `max_objects_per_run` reached. A burst of 10,000 uploads over many invocations therefore
/// becomes ⌈burst duration / max_wait⌉ runs per camera at most (usually one), each submitting ⌈chunks / 10,000⌉
/// array jobs. Windows that settle with no later upload are sealed by the sweeper.
public struct IngestService: Sendable {
    let services: OdinServices
    let planner: IngestPlanner

    public init(services: OdinServices) {
        self.services = services
        planner = IngestPlanner(chunking: services.profile.chunking)
    }

    public func handle(_ event: IngestEvent) throws -> IngestResult {
        guard case .objects(let objects, let tests, let other) = event else { return IngestResult() }
        var result = IngestResult()
        result.testEvents = tests
        result.otherRecords = other
        let now = services.nowSeconds
        let ttl = now + Int64(services.profile.ingest.dedupTTLDays) * 86_400
        // Cameras keyed by their bytes: `String` keys would merge NFC and NFD spellings of one name, which are two
        // cameras (two pending partitions) in the table.
        var perCamera: [Bytes: Int64] = [:]
        var duplicateCameras = Set<Bytes>()
        let configuredBucket = services.objects.rootURI.hasPrefix("s3://") ? String(services.objects.rootURI.dropFirst(5)) : nil
        for (position, object) in objects.enumerated() {
            if services.nearDeadline {
                // Recorded objects are committed; the event fails so it is redelivered, and the redelivery finds
                // them recorded (duplicates) and records the rest.
                throw OdinError("ingest", "the invocation's deadline is near after \(position) of \(objects.count) objects; the event is redelivered for the rest")
            }
            if let configuredBucket, !Bytes.equal(object.bucket, configuredBucket) {
                result.skippedCount += 1
                let skip = IngestPlanner.SkipReason(key: object.key, reason: .otherBucket)
                if result.skipped.count < 100 { result.skipped.append(skip) }
                services.log.warning("object rejected: not in the configured bucket",
                                     ["bucket": object.bucket, "key": object.key, "configured": configuredBucket,
                                      "fix": "upload to s3://\(configuredBucket)/ (the manifest carries keys of that bucket only)"])
                continue
            }
            let media: MediaObject
            switch planner.classify(bucket: object.bucket, key: object.key, size: object.size) {
            case .failure(let skip):
                result.skippedCount += 1
                if result.skipped.count < 100 { result.skipped.append(skip) }
                services.log.debug("skipped object", ["key": object.key, "reason": skip.reason.rawValue])
                continue
            case .success(let value): media = value
            }
            let version = object.versionID ?? object.eTag.map { "etag:" + $0 } ?? "size:\(object.size)"
            // The dedup item and the pending item commit together (one transaction): the dedup item means
            // "recorded", never "about to be recorded".
            let dedup = StateItem(key: try Schema.objectVersion(bucket: object.bucket, key: object.key, version: version),
                                  attributes: ["seenAt": .int(now)], expiresAt: ttl)
            let pending = StateItem(key: try Schema.pending(camera: media.cameraID, bucket: object.bucket,
                                                            key: object.key, version: version),
                                    attributes: ["bucket": .string(media.bucket), "key": .string(media.key),
                                                 "size": .int(media.size), "kind": .string(media.kind.rawValue)])
            do {
                try services.state.transact([.put(dedup, .itemAbsent), .put(pending, .always)])
            } catch let error as StateStoreError where error.isConditionFailure {
                result.duplicates += 1
                duplicateCameras.insert(Bytes(media.cameraID))
                continue
            }
            perCamera[Bytes(media.cameraID), default: 0] += 1
            result.accepted += 1
        }
        // A redelivery finds its objects recorded but no window when the failure came after the window was taken
        // or before it was opened:
        // - a run of the camera is `sealing` or `submitting` (the failed seal took the window): finish that seal
        //   now, under its lease (released by the failed invocation; a live sealer's lease is left alone), so it
        //   claims the objects of its window before a later window's seal could, and submits them;
        // - else, if objects are unclaimed, open a window for them (the failure came before the window ADD).
        let sealer = RunSealer(services: services)
        var sealing: [(record: RunRecord, active: StateItem)]?
        for camera in duplicateCameras.subtracting(perCamera.keys).sorted()
        where try services.state.get(Schema.window(camera: camera.text)) == nil {
            if sealing == nil { sealing = try sealer.unfinishedSeals() }
            let runs = sealing?.filter { Bytes($0.record.cameraID) == camera } ?? []
            if !runs.isEmpty {
                for run in runs {
                    if let runID = try sealer.finishAbandonedSeal(run.record, active: run.active) {
                        result.runsStarted.append(runID)
                    }
                }
            } else if try services.state.query(partition: Schema.pendingPartition(camera: camera.text), sortPrefix: "")
                .contains(where: { $0["claimedBy"] == nil }) {
                perCamera[camera] = 1
            }
        }
        for (camera, count) in perCamera.sorted(by: { $0.key < $1.key }) {
            let counters = try services.state.add(Schema.window(camera: camera.text),
                                                  counters: ["count": count, "version": 1], set: ["lastSeen": .int(now)])
            if counters["count"] == count {
                // This invocation opened the window. If it was sealed meanwhile the condition fails: fine.
                _ = try? services.state.update(Schema.window(camera: camera.text), set: ["openedAt": .int(now)],
                                               condition: .attributeAbsent("openedAt"))
            }
        }
        // Near the deadline, settled windows are left to the sweeper.
        if !services.nearDeadline { result.runsStarted += try sealer.sealDueWindows() }
        if result.accepted > 0 || result.duplicates > 0 {
            services.metrics.emit([Metric("ObjectsAccepted", Double(result.accepted)),
                                   Metric("ObjectsDuplicate", Double(result.duplicates))],
                                  dimensions: ["Service": "odin"], properties: [:])
        }
        return result
    }
}

/// Seals settled collecting windows into runs and submits them.
public struct RunSealer: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    /// Seals every window that is due; returns the run ids started.
    public func sealDueWindows(force: Bool = false) throws -> [String] {
        let ingest = services.profile.ingest
        let now = services.nowSeconds
        var started: [String] = []
        for window in try services.state.query(partition: Schema.windowsPartition, sortPrefix: "") {
            if services.nearDeadline {
                services.log.info("sealing stopped: the invocation's deadline is near", ["sealed": String(started.count)])
                break
            }
            let lastSeen = window["lastSeen"]?.intValue ?? 0
            let openedAt = window["openedAt"]?.intValue ?? lastSeen
            let count = window["count"]?.intValue ?? 0
            let due = force || now - lastSeen >= Int64(ingest.settleSeconds) ||
                now - openedAt >= Int64(ingest.maxWaitSeconds) || count >= Int64(ingest.maxObjectsPerRun)
            guard due else { continue }
            if try Capacity.budgetStopped(services) {
                services.log.info("window not sealed: budget guard active", ["camera": window.key.sort])
                continue
            }
            if let run = try seal(camera: window.key.sort, window: window) { started.append(run) }
        }
        return started
    }

    /// How long a seal's lease (`leaseUntil` on the run's `active-runs` entry) lasts: longer than an ingest or
    /// sweeper invocation (timeouts 120 s / 300 s), so a live sealer is never overtaken.
    static let sealLeaseSeconds: Int64 = 600

    /// Seals one window: the run record (`sealing`), its index entries (the `active-runs` entry holding the seal's
    /// lease) and the removal of the window (conditional on the window's `version`, so exactly one sealer wins) commit
    /// in one transaction — a run exists exactly when its window was taken. Then its pending objects are claimed, the
    /// manifest written and the run submitted. A failure after the transaction releases the lease and leaves a
    /// `sealing` run that the redelivered invocation finishes at once (`finishAbandonedSeal`), or the sweeper once the
    /// lease is released or expired (its holder died), or `odin resume`.
    func seal(camera: String, window: StateItem) throws -> String? {
        let version = window["version"] ?? .int(0)
        let now = services.clock.now()
        let base = "\(Self.sanitize(camera))-\(UTC.compact(now))"
        var record = RunRecord(runID: base, cameraID: camera, status: .sealing, createdAt: UTC.iso(now),
                               manifestKey: StoreLayout.manifestKey(run: base))
        record.priority = PriorityRequest.current(camera: camera, now: services.nowSeconds, store: services.objects) {
            services.log.warning("priority request ignored", ["camera": camera, "reason": $0])
        }
        let lease = services.nowSeconds + Self.sealLeaseSeconds
        for attempt in 1...100 {
            let runID = attempt == 1 ? base : "\(base)-\(attempt)"
            record.runID = runID
            record.manifestKey = StoreLayout.manifestKey(run: runID)
            do {
                _ = try record.save(state: services.state, with: [
                    .put(StateItem(key: Schema.activeRun(runID),
                                   attributes: ["since": .int(services.nowSeconds), "leaseUntil": .int(lease)]), .always),
                    .delete(window.key, .equals("version", version))])
            } catch let error as StateStoreError where error.isConditionFailure {
                // Either the window changed (another invocation added to it or sealed it) or the run id is taken.
                guard try services.state.get(window.key)?["version"] == version else { return nil }
                continue
            } catch {
                // The transaction may have been applied (its answer lost): release the lease it would hold.
                releaseSealLease(runID, lease)
                throw error
            }
            return try underSealLease(runID, lease) { try finishSeal(runID: runID, camera: camera) }
        }
        throw OdinError("camera \(camera)", "no free run id after \(base)-100")
    }

    /// The runs whose seal is unfinished (`sealing`, or `submitting`: the seal's lease covers the submission), with
    /// their `active-runs` entries (which hold the seals' leases).
    func unfinishedSeals() throws -> [(record: RunRecord, active: StateItem)] {
        try services.state.query(partition: Schema.activeRunsPartition, sortPrefix: "").compactMap { active in
            guard let record = try RunRecord.load(active.key.sort, state: services.state),
                  record.status == .sealing || record.status == .submitting
            else { return nil }
            return (record, active)
        }
    }

    /// Finishes a `sealing` (or `submitting`) run whose sealer failed (it released the seal's lease) or died (the
    /// lease expired; an entry from before leases counts as leased for `sealLeaseSeconds` from `since`): takes the
    /// lease over (one conditional write, so one finisher at a time) and finishes the seal under it. nil when the
    /// lease is live or another invocation took it over, or when the run claimed nothing (discarded).
    func finishAbandonedSeal(_ record: RunRecord, active: StateItem) throws -> String? {
        let now = services.nowSeconds
        let held = active["leaseUntil"]
        let until = held?.intValue ?? ((active["since"]?.intValue ?? 0) + Self.sealLeaseSeconds)
        guard until <= now else { return nil }
        let lease = now + Self.sealLeaseSeconds
        do {
            // Only while the entry exists (a finished or discarded run's entry is gone) and nobody took it meanwhile.
            try services.state.update(active.key, set: ["leaseUntil": .int(lease)], condition: .allOf([
                .itemExists, held.map { .equals("leaseUntil", $0) } ?? .attributeAbsent("leaseUntil")]))
        } catch let error as StateStoreError where error.isConditionFailure {
            return nil
        }
        services.log.info("seal taken over", ["run.id": record.runID, "camera": record.cameraID])
        return try underSealLease(record.runID, lease) { try finishSeal(runID: record.runID, camera: record.cameraID) }
    }

    /// Runs `body` (a seal's claims, manifest and submission) under the seal's lease, releasing it when `body` fails
    /// so the redelivery (or the next sweep) finishes the seal at once instead of after the lease's expiry.
    func underSealLease<T>(_ runID: String, _ lease: Int64, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            releaseSealLease(runID, lease)
            throw error
        }
    }

    /// Best effort (a failed release leaves the lease to expire): only the holder's own lease is released.
    func releaseSealLease(_ runID: String, _ lease: Int64) {
        _ = try? services.state.update(Schema.activeRun(runID), set: ["leaseUntil": .int(0)],
                                       condition: .equals("leaseUntil", .int(lease)))
    }

    /// Removes a run that claimed no object.
    func discard(_ runID: String) throws {
        try services.state.delete(Schema.runMeta(runID), condition: .always)
        try services.state.delete(Schema.activeRun(runID), condition: .always)
        try services.state.delete(Schema.runIndex(runID), condition: .always)
    }

    /// Claims the camera's pending objects for `runID` (a concurrent sealer of a later window may hold some), writes
    /// the manifest and submits. Also the sweeper's recovery for a run left in `sealing` by a crash: objects it had
    /// claimed are found again by `claimedBy`.
    func finishSeal(runID: String, camera: String) throws -> String? {
        guard var record = try RunRecord.load(runID, state: services.state) else { return nil }
        var claimed: [(StateKey, MediaObject)] = []
        let sealing = record.status == .sealing
        for pending in try services.state.query(partition: Schema.pendingPartition(camera: camera), sortPrefix: "") {
            guard sealing else {
                // Sealed already (a crash after the manifest): drop what this run had claimed.
                if pending["claimedBy"] == .string(runID) { try services.state.delete(pending.key, condition: .always) }
                continue
            }
            do {
                try services.state.update(pending.key, set: ["claimedBy": .string(runID)],
                                          condition: .absentOrEquals("claimedBy", .string(runID)))
            } catch let error as StateStoreError where error.isConditionFailure {
                continue
            }
            guard let key = pending["key"]?.stringValue, let bucket = pending["bucket"]?.stringValue else { continue }
            let kind = MediaObject.Kind(rawValue: pending["kind"]?.stringValue ?? "image") ?? .image
            claimed.append((pending.key, MediaObject(bucket: bucket, key: key, cameraID: camera,
                                                     size: pending["size"]?.intValue ?? 0, kind: kind)))
        }
        guard sealing else {
            // Sealed already (a redelivery or a second recovery): continue with the submission only.
            try RunSubmitter(services: services).submit(runID)
            return runID
        }
        guard !claimed.isEmpty else {
            try discard(runID)
            return nil
        }
        // One manifest entry per object key (compared as bytes): several versions of one key in a window are one
        // object to process (its latest bytes are read when the chunk runs); every version's pending item is claimed.
        var seen = Set<Bytes>()
        let objects = claimed.map(\.1).filter { seen.insert(Bytes($0.bucket + "/" + $0.key)).inserted }
        let chunks = IngestPlanner(chunking: services.profile.chunking).plan(runID: runID, objects: objects)
        try services.objects.put(record.manifestKey, bytes: try IngestPlanner.manifest(chunks))
        record.objectCount = objects.count
        record.chunkCount = chunks.count
        let planner = IngestPlanner(chunking: services.profile.chunking)
        record.estimatedWorkSeconds = objects.reduce(0) { $0 + planner.workSeconds($1) }
        record.status = .submitting
        record = try record.save(state: services.state)
        for (key, _) in claimed { try services.state.delete(key, condition: .always) }
        services.log.info("run sealed", ["run.id": runID, "camera": camera, "objects": String(objects.count),
                                         "chunks": String(chunks.count),
                                         "priority": record.priority?.rawValue ?? "default"])
        try RunSubmitter(services: services).submit(runID)
        return runID
    }

    /// A camera id as run ids spell it (`<sanitized camera>-<yyyyMMdd-HHmmss>`; `odin run --wait` finds runs by it).
    package static func sanitize(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_": Character(scalar)
            default: "-"
            }
        }.prefix(64))
    }
}

/// Submits a recorded run's array jobs (one per ≤ 10,000 chunks) after opening capacity at the budget-paced cap.
public struct RunSubmitter: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    /// Idempotent: parts already recorded are skipped, and a part's job is looked up by name before it is submitted.
    public func submit(_ runID: String) throws {
        guard var record = try RunRecord.load(runID, state: services.state) else {
            throw OdinError("run \(runID)", "no run record")
        }
        guard [.submitting, .waitingForBudget].contains(record.status) else { return }
        if try Capacity.budgetStopped(services) {
            try RunRecord.modify(runID, state: services.state) { $0.status = .stoppedByBudget }
            return
        }
        if let refusal = try QuoteGate.refusal(record, services: services) {
            if record.quoteRefusal != refusal || record.status != .waitingForBudget {
                try RunRecord.modify(runID, state: services.state) { record in
                    record.status = .waitingForBudget
                    record.quoteRefusal = refusal
                }
                try services.notifier.publish(subject: "Odin: run \(runID) held by its quote", message: refusal)
                services.log.info("run held by quote", ["run.id": runID])
            }
            return
        }
        if record.quoteRefusal != nil {
            record = try RunRecord.modify(runID, state: services.state) { $0.quoteRefusal = nil }
        }
        let cap = try Pacer.currentCap(services: services)
        guard cap > 0 else {
            if record.status != .waitingForBudget {
                try RunRecord.modify(runID, state: services.state) { $0.status = .waitingForBudget }
                try services.notifier.publish(subject: "Odin: run \(runID) waits for budget",
                                              message: "The budget-paced vCPU cap is 0: the recorded spend leaves no budget. The run starts when budget.amount is raised or a new month begins.")
            }
            return
        }
        let profile = services.profile
        try Capacity.open(cap: cap, warm: true, services: services)
        let queue = profile.primaryQueue
        for (part, range) in IngestPlanner.parts(chunkCount: record.chunkCount).enumerated() {
            let name = "munin-\(runID)-p\(part)"
            if record.jobs.contains(where: { $0.kind == "chunks" && $0.offset == range.lowerBound }) { continue }
            // Always look for the job by name first: a SubmitJob whose answer was lost (timeout, reset) may have
            // created it, and a second SubmitJob would run the chunks twice.
            var jobID = try services.compute.listJobs(.namePrefix(queue: queue, prefix: name))
                .first { $0.jobName == name }?.jobID
            if jobID == nil {
                jobID = try services.compute.submitJob(workerSubmission(
                    name: name, queue: queue, runID: runID, manifest: record.manifestKey, offset: range.lowerBound,
                    size: range.count, chunkCount: record.chunkCount, kind: "chunks", generation: nil,
                    priority: record.priority))
            }
            let ref = RunRecord.JobRef(jobID: jobID!, kind: "chunks", queue: queue, offset: range.lowerBound,
                                       size: range.count)
            try services.state.put(ref.lookupItem(runID: runID), condition: .always)
            record = try RunRecord.modify(runID, state: services.state) { record in
                // A resent write (its answer lost) may already have recorded it.
                if !record.jobs.contains(where: { $0.jobID == ref.jobID }) { record.jobs.append(ref) }
            }
        }
        try RunRecord.modify(runID, state: services.state) { $0.status = .running }
        services.metrics.emit([Metric("RunsStarted", 1), Metric("ChunksSubmitted", Double(record.chunkCount))],
                              dimensions: ["Service": "odin"], properties: ["run_id": runID])
        services.log.info("run submitted", ["run.id": runID, "queue": queue, "jobs": String(record.jobs.count)])
    }

    /// The SubmitJob request for worker chunks. Spot submissions retry in-queue on `Host EC2*` up to
    /// `reclaim_retries` times; every other failure exits (aws-batch-facts.md §1.6).
    func workerSubmission(name: String, queue: String, runID: String, manifest: String, offset: Int, size: Int,
                          chunkCount: Int, kind: String, generation: Int64?, priority: RunPriority?) -> JobSubmission {
        let profile = services.profile
        var tags = [JobTags.run: runID, JobTags.kind: kind, JobTags.offset: String(offset),
                    JobTags.chunks: String(chunkCount), JobTags.project: "odins-ravne"]
        if let generation { tags[JobTags.generation] = String(generation) }
        let onSpot = queue == profile.compute.spotQueue
        var environment = ["ODIN_RUN_ID": runID, "ODIN_MANIFEST": manifest, "ODIN_INDEX_OFFSET": String(offset)]
        if let zone = profile.time.defaultTimezone { environment["MUNIN_DEFAULT_TIMEZONE"] = zone }
        return JobSubmission(name: name, queue: queue, jobDefinition: profile.compute.workerJobDefinition,
                             arraySize: size, environment: environment,
                             tags: tags, attempts: onSpot ? profile.compute.reclaimRetries + 1 : 1,
                             retryOnStatusReason: onSpot ? ["Host EC2*"] : [],
                             timeoutSeconds: profile.compute.jobTimeoutSeconds, vcpus: profile.compute.vcpusPerJob,
                             priority: priority)
    }
}

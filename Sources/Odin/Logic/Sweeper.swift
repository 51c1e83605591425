import Events
import OdinBasics
import OdinKit

/// The sweeper's result.
public struct SweepResult: Sendable, Equatable, Codable {
    public var runsSealed: [String] = []
    public var runsResubmitted: [String] = []
    /// Job events recovered from ListJobs/DescribeJobs that had been lost.
    public var eventsReconciled = 0
    public var fallbackJobs: [String] = []
    public var condensationsStarted: [String] = []
    public var teardown = false
    public var maxvCpusCap: Int?
    public var estimatedSpend: Double = 0
    /// True when the sweep stopped early because the invocation's deadline was near (the next sweep continues).
    public var stoppedNearDeadline = false
    /// Set when an active kill-switch was checked because its last check was not verified (value: verified now).
    public var killSwitchReapplied: Bool?
}

/// The scheduled sweeper: seals settled windows, reconciles runs against ListJobs (lost events), flushes stale
/// fallbacks, re-applies teardown when idle, and paces maxvCpus against the cost ledger.
public struct SweeperService: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    public func sweep() throws -> SweepResult {
        var result = SweepResult()
        result.runsSealed = try RunSealer(services: services).sealDueWindows()
        let events = JobEventsService(services: services)
        let stopped = try Capacity.budgetStopped(services)
        for active in try services.state.query(partition: Schema.activeRunsPartition, sortPrefix: "") {
            if services.nearDeadline {
                // The next scheduled sweep continues; nothing started here is left half-done.
                services.log.info("sweep stopped: the invocation's deadline is near", ["run.next": active.key.sort])
                result.stoppedNearDeadline = true
                return result
            }
            let runID = active.key.sort
            guard let record = try RunRecord.load(runID, state: services.state) else { continue }
            switch record.status {
            case .submitting, .waitingForBudget:
                if !stopped {
                    // Drops pending items the seal claimed but did not remove, then submits.
                    _ = try RunSealer(services: services).finishSeal(runID: runID, camera: record.cameraID)
                    result.runsResubmitted.append(runID)
                }
                continue
            case .sealing:
                // A sealer failed (its lease released) or died (its lease expired) after taking the window: finish
                // its work.
                if !stopped, try RunSealer(services: services).finishAbandonedSeal(record, active: active) != nil {
                    result.runsResubmitted.append(runID)
                }
                continue
            case .done, .failed:
                // Finished, but its invocation failed before it left the active index: finish the bookkeeping.
                if record.status == .done, try services.state.get(Schema.condensationMarker(runID))?["startedAt"] == nil {
                    try services.state.update(Schema.condensationMarker(runID), set: ["startedAt": .int(services.nowSeconds),
                                                                                   "leaseUntil": .int(services.nowSeconds)])
                }
                try services.state.delete(Schema.activeRun(runID), condition: .always)
                continue
            case .stoppedByBudget:
                continue
            case .running, .condensing:
                break
            }
            result.eventsReconciled += try reconcile(record, events: events)
            let progress = RunProgress(services: services, runID: runID, chunkCount: record.chunkCount)
            // The markers are the truth: counters that fell behind them (a run recorded before markers and counters
            // committed together) are repaired, so the run can condense.
            try progress.recount()
            let stale = try services.state.query(partition: Schema.runPartition(runID),
                                                 sortPrefix: Schema.fallbackPendingPrefix)
                .contains { services.nowSeconds - ($0["since"]?.intValue ?? 0) >=
                    Int64(2 * services.profile.costOptimization.fallbackTimeout) && $0["claimedBy"] == nil }
            let step = try progress.advance(forceFlush: stale && !stopped)
            result.fallbackJobs += step.fallbackJobs
            if step.condensationStarted { result.condensationsStarted.append(runID) }
        }
        if stopped, let stop = try services.state.get(Schema.budgetStop), stop["verified"]?.boolValue == false {
            // The kill-switch left something running (TerminateJob is asynchronous): verify, re-apply the stop to
            // what remains, and announce only once it is verified (not a "remainders" receipt every pass).
            result.killSwitchReapplied = try BudgetGuardService(services: services)
                .reverify(trigger: stop["trigger"]?.stringValue ?? "budget guard")
        }
        let spent = try CostLedger.spend(month: UTC.month(services.clock.now()), state: services.state)
        result.estimatedSpend = spent
        if try Capacity.teardownIfIdle(reason: "sweeper found queues idle", services: services) {
            result.teardown = true
        } else if !stopped {
            let cap = Pacer.cap(profile: services.profile, spent: spent)
            result.maxvCpusCap = cap
            if cap > 0 { try Capacity.open(cap: cap, warm: false, adjustMinimum: false, services: services) }
            else {
                for ce in try services.compute.describeComputeEnvironments(services.profile.computeEnvironments) {
                    if let update = Capacity.scaleDown(ce, freeze: true) {
                        try services.compute.updateComputeEnvironment(ce.name, update)
                    }
                }
            }
        }
        services.metrics.emit([Metric("EstimatedSpend", spent, .none)], dimensions: ["Service": "odin"],
                              properties: ["currency": services.profile.prices.currency])
        return result
    }

    /// Feeds terminal children that have no done/fallback marker back through the job-events logic (which
    /// de-duplicates), using ListJobs(arrayJobId, status) and DescribeJobs (≤ 100 ids per call).
    func reconcile(_ record: RunRecord, events: JobEventsService) throws -> Int {
        let partition = Schema.runPartition(record.runID)
        let known = Set(try services.state.query(partition: partition, sortPrefix: Schema.chunkDonePrefix)
            .compactMap { Schema.index(fromSortKey: $0.key.sort) })
            .union(try services.state.query(partition: partition, sortPrefix: Schema.fallbackPendingPrefix)
                .compactMap { Schema.index(fromSortKey: $0.key.sort) })
        guard known.count < record.chunkCount || record.status == .condensing else { return 0 }
        // Every job looked at here is one the run recorded, so the sweeper attributes what it lists itself (run,
        // kind, offset, generation, array position) instead of trusting the job's own tags or a job record: a job it
        // has just submitted (in this very pass) may show neither yet.
        var missing: [(jobID: String, job: RunRecord.JobRef, position: Int?)] = []
        for job in record.jobs {
            if job.kind == "condense" {
                missing.append((job.jobID, job, nil))
                continue
            }
            var indices: [Int]?
            if let generation = job.generation {
                indices = try services.state.get(Schema.fallbackJob(record.runID, generation))?["indices"]?.listValue?
                    .compactMap { $0.intValue.map(Int.init) }
            }
            if job.size == 1 {
                let chunk = indices?.first ?? job.offset
                if !known.contains(chunk) { missing.append((job.jobID, job, nil)) }
                continue
            }
            for status in [BatchJobStatus.succeeded, .failed] {
                for child in try services.compute.listJobs(.arrayChildren(job.jobID, status: status)) {
                    guard let position = child.arrayIndex ?? child.jobID.split(separator: ":").last.flatMap({ Int($0) })
                    else { continue }
                    let chunk = indices.map { position < $0.count ? $0[position] : -1 } ?? job.offset + position
                    if !known.contains(chunk) { missing.append((child.jobID, job, position)) }
                }
            }
        }
        let listed = Dictionary(missing.map { ($0.jobID, $0) }, uniquingKeysWith: { first, _ in first })
        var fed = 0
        for start in stride(from: 0, to: missing.count, by: 100) {
            let batch = missing[start..<min(start + 100, missing.count)].map(\.jobID)
            for detail in try services.compute.describeJobs(batch) where detail.status.isTerminal {
                // Only what this pass listed under the run's own jobs is reconciled.
                guard let source = listed[detail.jobId] else { continue }
                let attributed = Self.attribute(detail, to: record, job: source.job, position: source.position)
                let result = try events.handle(BatchJobStateChange(detail: attributed))
                if result.outcome != .duplicate { fed += 1 }
            }
        }
        if fed > 0 { services.log.info("reconciled lost events", ["run.id": record.runID, "events": String(fed)]) }
        return fed
    }

    /// `detail` of a job the run recorded (`job`; `position` for an array child), with the run's attribution filled
    /// in where the job does not carry it: the `odin:*` tags (a child's DescribeJobs may show none) and the child's
    /// array index. Tags the job does carry are kept.
    static func attribute(_ detail: BatchJobDetail, to record: RunRecord, job: RunRecord.JobRef,
                          position: Int?) -> BatchJobDetail {
        var detail = detail
        var tags = detail.tags ?? [:]
        if tags[JobTags.run] == nil {
            tags[JobTags.run] = record.runID
            tags[JobTags.kind] = job.kind
            tags[JobTags.offset] = String(job.offset)
            tags[JobTags.chunks] = String(record.chunkCount)
            if let generation = job.generation { tags[JobTags.generation] = String(generation) }
            detail.tags = tags
        }
        if let position, detail.arrayProperties?.index == nil {
            var array = detail.arrayProperties ?? BatchJobDetail.ArrayProperties()
            array.index = position
            array.size = nil
            detail.arrayProperties = array
        }
        return detail
    }
}

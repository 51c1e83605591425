import Events
import FoundationEssentials
import OdinKit

/// The teardown receipt: what the kill-switch stopped, what remains, when. Written to the object store and the state
/// store, and published.
public struct TeardownReceipt: Sendable, Equatable, Codable {
    public struct ComputeEnvironmentState: Sendable, Equatable, Codable {
        public var name: String
        public var enabled: Bool
        public var minvCpus: Int
        public var maxvCpus: Int
        public var desiredvCpus: Int
    }
    public var trigger: String
    public var mode: String
    public var startedAt: String
    public var finishedAt: String
    public var queuesDisabled: [String]
    public var jobsTerminated: [String]
    public var jobsCancelled: [String]
    /// Jobs still active at verification (RUNNING ones in drain mode, or ones Batch had not stopped yet).
    public var jobsRemaining: [String]
    public var computeEnvironments: [ComputeEnvironmentState]
    public var runsStopped: [String]
    /// True when no job remains active and every CE has minvCpus 0 and maxvCpus 0 (or is DISABLED while its
    /// desiredvCpus drains; `computeEnvironments` shows what capacity remains).
    public var verified: Bool
    public var errors: [String]
    public var receiptKey: String
}

/// The budget guard's result.
public struct BudgetGuardResult: Sendable, Equatable, Codable {
    public var acted: Bool
    public var ignored: [String]
    public var receipt: TeardownReceipt?
}

/// The kill-switch: act only on exceeded thresholds of budgets named in the profile, or ALARM of named alarms.
public struct BudgetGuardService: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    public func handle(_ signals: [BudgetSignal]) throws -> BudgetGuardResult {
        var ignored: [String] = []
        var trigger: String?
        let budget = services.profile.budget
        for signal in signals {
            switch signal {
            case .budget(let note):
                if budget.actOnBudgets.contains(note.budgetName) {
                    trigger = trigger ?? "AWS Budgets \(note.budgetName): \(note.alertType ?? "?") \(note.actualAmount ?? "") over \(note.threshold ?? "?")"
                } else {
                    ignored.append("budget \(note.budgetName) is not in budget.act_on_budgets")
                }
            case .alarm(let alarm):
                if !budget.actOnAlarms.contains(alarm.alarmName) {
                    ignored.append("alarm \(alarm.alarmName) is not in budget.act_on_alarms")
                } else if !alarm.isAlarm {
                    ignored.append("alarm \(alarm.alarmName) is \(alarm.newStateValue), not ALARM")
                } else {
                    trigger = trigger ?? "CloudWatch alarm \(alarm.alarmName): \(alarm.newStateReason ?? "ALARM")"
                }
            }
        }
        guard let trigger else {
            services.log.info("budget signal ignored", ["reasons": ignored.joined(separator: "; ")])
            return BudgetGuardResult(acted: false, ignored: ignored, receipt: nil)
        }
        let receipt = try killSwitch(trigger: trigger)
        return BudgetGuardResult(acted: true, ignored: ignored, receipt: receipt)
    }

    /// Stops the spend: record the stop (so nothing re-opens capacity), disable queues, terminate (or, in drain mode,
    /// cancel only not-yet-started) jobs, CEs to min 0 / max 0, verify, write the receipt, mark runs, notify.
    /// Each step's failure is recorded and the next steps still run.
    public func killSwitch(trigger: String) throws -> TeardownReceipt {
        let profile = services.profile
        let started = UTC.iso(services.clock.now())
        let drain = profile.budget.onAlarm == .drain
        try services.state.put(StateItem(key: Schema.budgetStop,
                                         attributes: ["active": .bool(true), "at": .string(started),
                                                      "trigger": .string(trigger)]), condition: .always)
        var errors: [String] = []
        var disabled: [String] = []
        var terminated: [String] = []
        var cancelled: [String] = []
        for queue in profile.queues {
            do {
                try services.compute.setQueueEnabled(queue, false)
                disabled.append(queue)
            } catch { errors.append("disable queue \(queue): \(error)") }
        }
        for queue in profile.queues {
            for status in BatchJobStatus.active {
                let jobs: [JobSummary]
                do { jobs = try services.compute.listJobs(.queue(queue, status: status)) } catch {
                    errors.append("list \(status.rawValue) jobs in \(queue): \(error)")
                    continue
                }
                for job in jobs {
                    do {
                        if status == .starting || status == .running {
                            if drain { continue }
                            try services.compute.terminateJob(job.jobID, reason: StatusReasons.budgetStop)
                            terminated.append(job.jobID)
                        } else {
                            try services.compute.cancelJob(job.jobID, reason: StatusReasons.budgetStop)
                            cancelled.append(job.jobID)
                        }
                    } catch { errors.append("stop job \(job.jobID): \(error)") }
                }
            }
        }
        do {
            for ce in try services.compute.describeComputeEnvironments(profile.computeEnvironments) {
                // maxvCpus=0 where desiredvCpus allows it, else DISABLED until it drains (the sweeper finishes it).
                guard let update = Capacity.scaleDown(ce, freeze: true) else { continue }
                do { try services.compute.updateComputeEnvironment(ce.name, update) } catch {
                    errors.append("scale CE \(ce.name) to zero: \(error)")
                }
            }
        } catch { errors.append("describe CEs: \(error)") }
        // Verify.
        var remaining: [String] = []
        for queue in profile.queues {
            for status in BatchJobStatus.active {
                do {
                    remaining += try services.compute.listJobs(.queue(queue, status: status))
                        .map { "\($0.jobID) (\($0.status.rawValue))" }
                } catch { errors.append("verify jobs in \(queue): \(error)") }
            }
        }
        var ces: [TeardownReceipt.ComputeEnvironmentState] = []
        do {
            ces = try services.compute.describeComputeEnvironments(profile.computeEnvironments).map {
                .init(name: $0.name, enabled: $0.isEnabled, minvCpus: $0.minvCpus, maxvCpus: $0.maxvCpus,
                      desiredvCpus: $0.desiredvCpus)
            }
        } catch { errors.append("verify CEs: \(error)") }
        var stoppedRuns: [String] = []
        for active in (try? services.state.query(partition: Schema.activeRunsPartition, sortPrefix: "")) ?? [] {
            let runID = active.key.sort
            do {
                try RunRecord.modify(runID, state: services.state) { record in
                    if record.status != .done { record.status = .stoppedByBudget }
                }
                stoppedRuns.append(runID)
            } catch { errors.append("mark run \(runID): \(error)") }
        }
        let finished = services.clock.now()
        let key = "budget/receipts/\(UTC.compact(finished)).json"
        let verified = remaining.isEmpty && !ces.isEmpty &&
            ces.allSatisfy { $0.minvCpus == 0 && ($0.maxvCpus == 0 || !$0.enabled) }
        let receipt = TeardownReceipt(trigger: trigger, mode: drain ? "drain" : "terminate", startedAt: started,
                                      finishedAt: UTC.iso(finished), queuesDisabled: disabled,
                                      jobsTerminated: terminated, jobsCancelled: cancelled, jobsRemaining: remaining,
                                      computeEnvironments: ces, runsStopped: stoppedRuns, verified: verified,
                                      errors: errors, receiptKey: key)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let bytes = Array(try encoder.encode(receipt))
        do { try services.objects.put(key, bytes: bytes) } catch { services.log.warning("receipt not stored", ["error": "\(error)"]) }
        try services.state.update(Schema.budgetStop, set: ["receipt": .string(key), "verified": .bool(verified)])
        try services.notifier.publish(
            subject: "Odin kill-switch: \(verified ? "spend stopped" : "STOPPED WITH REMAINDERS — check now")",
            message: String(decoding: bytes, as: UTF8.self))
        services.metrics.emit([Metric("KillSwitch", 1), Metric("JobsStopped", Double(terminated.count + cancelled.count))],
                              dimensions: ["Service": "odin"], properties: ["trigger": trigger])
        services.log.info("kill-switch", ["trigger": trigger, "verified": String(verified), "receipt": key])
        return receipt
    }
}

/// `odin resume RUN` (CLI): clears the budget stop and finishes whatever the run left unfinished — a seal that was
/// interrupted (`sealing`), a submission (`submitting`/`waiting_for_budget`), chunks without a terminal marker
/// (resubmitted as one job), counters behind the markers (repaired from the markers), a failed condensation (started
/// again) — so it is safe to run at any point, any number of times.
public struct ResumeService: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    /// Runs in the active index that are not finished (e.g. a local run interrupted by SIGINT), oldest first.
    public func unfinishedRuns() throws -> [RunRecord] {
        try services.state.query(partition: Schema.activeRunsPartition, sortPrefix: "").compactMap {
            try RunRecord.load($0.key.sort, state: services.state)
        }.filter { $0.status != .done }
    }

    /// Returns the job id submitted, or nil when nothing was left to run (condensation is then started).
    /// - Parameter takeOverLeases: take over the run's condensation/flush leases at once instead of waiting for them
    ///   to expire (local mode: the process that held them is gone).
    public func resume(_ runID: String, clearBudgetStop: Bool = true, takeOverLeases: Bool = false) throws -> String? {
        if clearBudgetStop {
            try services.state.update(Schema.budgetStop, set: ["active": .bool(false),
                                                               "clearedAt": .string(UTC.iso(services.clock.now()))])
        }
        guard var record = try RunRecord.load(runID, state: services.state) else {
            throw OdinError("run \(runID)", "no such run")
        }
        switch record.status {
        case .done:
            return nil
        case .sealing:
            // The seal was interrupted: claim the camera's pending objects, write the manifest and submit.
            _ = try RunSealer(services: services).finishSeal(runID: runID, camera: record.cameraID)
            return nil
        case .submitting, .waitingForBudget:
            try RunSubmitter(services: services).submit(runID)
            return nil
        case .stoppedByBudget where record.jobs.isEmpty:
            try RunRecord.modify(runID, state: services.state) { $0.status = .submitting }
            try RunSubmitter(services: services).submit(runID)
            return nil
        case .failed:
            // Condensation failed: release its marker so it starts again.
            try services.state.delete(Schema.condensationMarker(runID), condition: .always)
            record = try RunRecord.modify(runID, state: services.state) { $0.status = .running }
            try services.state.put(StateItem(key: Schema.activeRun(runID), attributes: ["since": .int(services.nowSeconds)]),
                                   condition: .always)
        case .running, .condensing, .stoppedByBudget:
            break
        }
        var progress = RunProgress(services: services, runID: runID, chunkCount: record.chunkCount)
        progress.takeOverLeases = takeOverLeases
        try progress.recount()
        let done = Set(try services.state.query(partition: Schema.runPartition(runID), sortPrefix: Schema.chunkDonePrefix)
            .compactMap { Schema.index(fromSortKey: $0.key.sort) })
        let waiting = Set(try services.state.query(partition: Schema.runPartition(runID),
                                                   sortPrefix: Schema.fallbackPendingPrefix)
            .compactMap { Schema.index(fromSortKey: $0.key.sort) })
        let left = (0..<record.chunkCount).filter { !done.contains($0) && !waiting.contains($0) }
        guard !left.isEmpty else {
            if record.status == .stoppedByBudget {
                try RunRecord.modify(runID, state: services.state) { $0.status = .running }
            }
            _ = try progress.advance(forceFlush: true)
            return nil
        }
        if record.status == .condensing { return nil }
        if record.status == .running {
            // Chunks of a job that is still queued or running are not lost: resubmitting them would run them twice.
            let ids = record.jobs.filter { $0.kind != "condense" }.map(\.jobID)
            var active = false
            for start in stride(from: 0, to: ids.count, by: 100) {
                let batch = Array(ids[start..<min(start + 100, ids.count)])
                if try services.compute.describeJobs(batch).contains(where: { BatchJobStatus.active.contains($0.status) }) {
                    active = true
                }
            }
            if active {
                _ = try progress.advance()
                return nil
            }
        }
        // Resume generations are negative (fallback generations count queued chunks); a resume recorded but not
        // submitted (interrupted) is finished under its own generation, so its job is found by name, not doubled.
        let unfinished = try services.state.query(partition: Schema.runPartition(runID), sortPrefix: "fallback#")
            .first { $0["kind"]?.stringValue == "resume" && $0["jobID"] == nil }
        let generation: Int64
        if let unfinished, let number = Int64(unfinished.key.sort.dropFirst("fallback#".count)) {
            generation = number
        } else {
            generation = -(try services.state.add(Schema.runCounters(runID), counters: ["resumeGen": 1], set: [:])["resumeGen"] ?? 1)
            try services.state.put(StateItem(key: Schema.fallbackJob(runID, generation),
                                             attributes: ["indices": .list(left.map { .int(Int64($0)) }),
                                                          "kind": .string("resume")]),
                                   condition: .itemAbsent)
        }
        let indices = unfinished?["indices"]?.listValue?.compactMap { $0.intValue.map(Int.init) } ?? left
        let jobID = try progress.submitSubset(indices: indices, generation: generation, kind: "resume",
                                              queue: services.profile.primaryQueue)
        if !waiting.isEmpty { _ = try progress.advance(forceFlush: true) }
        return jobID
    }
}

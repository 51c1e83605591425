import Events
import JSONCoding
import OdinBasics
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
    /// Warnings published to the notify topic instead of a teardown: Budgets alerts below the stop amount (the
    /// BudgetWarnAmount notification) and FORECASTED alerts while `budget.on_forecast` is `notify`.
    public var notified: [String] = []
    /// Records that could not be read (`Records[i]…: reason`); logged and reported, never blocking the others.
    public var unreadable: [String] = []
    public var receipt: TeardownReceipt?

    public init(acted: Bool, ignored: [String], notified: [String] = [], unreadable: [String] = [],
                receipt: TeardownReceipt?) {
        self.acted = acted
        self.ignored = ignored
        self.notified = notified
        self.unreadable = unreadable
        self.receipt = receipt
    }
}

/// The kill-switch: act only on exceeded thresholds of budgets named in the profile (at or above the stop amount), or
/// ALARM of named alarms. Each SNS record is judged on its own.
public struct BudgetGuardService: Sendable {
    let services: OdinServices

    public init(services: OdinServices) { self.services = services }

    /// What one record asks for.
    enum Verdict: Equatable {
        case stop(String)
        case notify(String)
        case ignore(String)
    }

    public func handle(_ records: [BudgetSignal.Record]) throws -> BudgetGuardResult {
        var ignored: [String] = []
        var notified: [String] = []
        var unreadable: [String] = []
        var triggers: [String] = []
        var signalIDs: [String] = []
        for record in records {
            switch record.signal {
            case .failure(let error):
                let text = "\(error.field): \(error.message)"
                unreadable.append(text)
                services.log.log(.error, "budget topic record not readable; the other records are still judged",
                                 ["field": error.field, "error": error.message, "sns.messageId": record.messageID ?? ""])
            case .success(let signal):
                switch judge(signal) {
                case .stop(let trigger):
                    triggers.append(trigger)
                    if let id = record.messageID { signalIDs.append(id) }
                case .notify(let text): notified.append(text)
                case .ignore(let reason): ignored.append(reason)
                }
            }
        }
        if !unreadable.isEmpty {
            services.metrics.emit([Metric("UnreadableBudgetSignals", Double(unreadable.count))],
                                  dimensions: ["Service": "odin"], properties: [:])
        }
        if let trigger = triggers.first {
            // One teardown for the whole event; its receipt (published) supersedes any warning in the same event.
            let more = triggers.count > 1 ? " (+\(triggers.count - 1) more)" : ""
            let signal = signalIDs.isEmpty ? nil : signalIDs.sorted().joined(separator: ",")
            if let receipt = try stop(trigger: trigger + more, signal: signal) {
                return BudgetGuardResult(acted: true, ignored: ignored, notified: notified, unreadable: unreadable,
                                         receipt: receipt)
            }
            ignored.append("signal \(signal ?? "-") was handled before and its stop has been cleared (odin resume)")
            return BudgetGuardResult(acted: false, ignored: ignored, notified: notified, unreadable: unreadable,
                                     receipt: nil)
        }
        if !notified.isEmpty || !unreadable.isEmpty {
            let lines = notified.map { "warning: " + $0 } + unreadable.map { "unreadable budget-topic record: " + $0 }
            try services.notifier.publish(
                subject: notified.isEmpty ? "Odin budget guard: unreadable notification (nothing stopped)"
                                          : "Odin budget warning (nothing stopped)",
                message: lines.joined(separator: "\n"))
        }
        services.log.info("budget signal: nothing stopped", ["ignored": ignored.joined(separator: "; "),
                                                              "notified": notified.joined(separator: "; ")])
        return BudgetGuardResult(acted: false, ignored: ignored, notified: notified, unreadable: unreadable,
                                 receipt: nil)
    }

    /// One signal's verdict. A Budgets alert of a named budget stops when its threshold or reported amount reaches
    /// `budget.stopAmount` (no stop amount: always); below it, it is a warning. FORECASTED alerts only warn while
    /// `budget.on_forecast` is `notify`. An alert whose amounts cannot be read stops (the safe side of a kill-switch).
    func judge(_ signal: BudgetSignal) -> Verdict {
        let budget = services.profile.budget
        switch signal {
        case .budget(let note):
            guard budget.actOnBudgets.contains(note.budgetName) else {
                return .ignore("budget \(note.budgetName) is not in budget.act_on_budgets")
            }
            let kind = note.alertType ?? "?"
            let summary = "AWS Budgets \(note.budgetName): \(kind) \(note.actualAmount ?? "") over \(note.threshold ?? "?")"
            if note.isForecast && budget.onForecast == .notify {
                return .notify(summary + " (budget.on_forecast is notify)")
            }
            guard let stop = budget.stopAmount else { return .stop(summary) }
            let amounts = [note.thresholdAmount, note.reportedAmount].compactMap { $0 }
            guard !amounts.isEmpty else { return .stop(summary + " (amounts unreadable; stopping to be safe)") }
            // Cents: "$100.00" reaches a stop amount of 100.
            if amounts.contains(where: { $0 + 0.005 >= stop }) { return .stop(summary) }
            return .notify(summary + " (below the stop amount \(JSONText.number(stop)))")
        case .alarm(let alarm):
            guard budget.actOnAlarms.contains(alarm.alarmName) else {
                return .ignore("alarm \(alarm.alarmName) is not in budget.act_on_alarms")
            }
            guard alarm.isAlarm else { return .ignore("alarm \(alarm.alarmName) is \(alarm.newStateValue), not ALARM") }
            return .stop("CloudWatch alarm \(alarm.alarmName): \(alarm.newStateReason ?? "ALARM")")
        }
    }

    /// Stops the spend: record the stop (so nothing re-opens capacity), disable queues, terminate (or, in drain mode,
    /// cancel only not-yet-started) jobs, CEs to min 0 / max 0, verify, write the receipt, mark runs, notify.
    /// Each step's failure is recorded and the next steps still run.
    public func killSwitch(trigger: String) throws -> TeardownReceipt {
        // Without a signal id every call is a stop of its own, so there is always a receipt.
        try stop(trigger: trigger, signal: nil)!
    }

    /// The kill-switch for one budget signal (`signal`: the SNS message ids that asked for it). Exactly once per
    /// signal: the stop item records the signal, when the stop started and the jobs it stops (listed before anything
    /// is stopped, so a redelivery knows what an earlier delivery stopped); a redelivery of the same signal continues
    /// that stop (same start, same receipt key, the jobs merged) instead of starting another. Every action is applied
    /// again (each is idempotent), so the receipt of the delivery that finishes without an error is the one a
    /// fault-free delivery writes. A step that fails is recorded in the receipt and the next steps still run; the
    /// invocation then fails, so Lambda redelivers it. Returns nil when the signal's stop was already cleared
    /// (`odin resume`): a late redelivery does not stop the spend again.
    func stop(trigger: String, signal: String?) throws -> TeardownReceipt? {
        let now = UTC.iso(services.clock.now())
        let previous = signal == nil ? nil : try services.state.get(Schema.budgetStop)
        let same = signal != nil && previous?["signal"]?.stringValue == signal
        if same && previous?["active"]?.boolValue != true { return nil }
        let started = same ? previous?["at"]?.stringValue ?? now : now
        var plan = same ? StopPlan(previous) : StopPlan()
        var errors: [String] = []
        let grown = plan.merge(listActive(skipRunning: services.profile.budget.onAlarm == .drain, errors: &errors))
        if !same {
            var attributes: [String: StateValue] = ["active": .bool(true), "at": .string(started),
                                                    "trigger": .string(trigger)]
            if let signal { attributes["signal"] = .string(signal) }
            try services.state.put(StateItem(key: Schema.budgetStop, attributes: attributes.merging(plan.attributes) { $1 }),
                                   condition: .always)
        } else if grown {
            try services.state.update(Schema.budgetStop, set: plan.attributes)
            services.log.info("kill-switch continued (signal redelivered)", ["signal": signal ?? ""])
        }
        let stopped = apply(plan)
        let check = verify()
        errors += stopped.errors + check.errors
        var stoppedRuns: [String] = []
        var actives: [StateItem] = []
        do { actives = try services.state.query(partition: Schema.activeRunsPartition, sortPrefix: "") } catch {
            errors.append("list active runs: \(error)")
        }
        for active in actives {
            let runID = active.key.sort
            do {
                try RunRecord.modify(runID, state: services.state) { record in
                    if record.status != .done { record.status = .stoppedByBudget }
                }
                stoppedRuns.append(runID)
            } catch { errors.append("mark run \(runID): \(error)") }
        }
        let receipt = try publishReceipt(
            trigger: trigger, startedAt: started, stopped: stopped, check: check, runsStopped: stoppedRuns,
            errors: errors,
            subject: "Odin kill-switch: \(check.verified ? "spend stopped" : "STOPPED WITH REMAINDERS — check now")")
        services.metrics.emit([Metric("KillSwitch", 1),
                               Metric("JobsStopped", Double(stopped.terminated.count + stopped.cancelled.count))],
                              dimensions: ["Service": "odin"], properties: ["trigger": trigger])
        services.log.info("kill-switch", ["trigger": trigger, "verified": String(check.verified),
                                          "receipt": receipt.receiptKey])
        guard errors.isEmpty else {
            throw OdinError("kill-switch (\(trigger))",
                            "applied with \(errors.count) error(s), recorded in \(receipt.receiptKey): \(errors.joined(separator: "; ")). The invocation fails so the signal is redelivered and the stop applied again")
        }
        return receipt
    }

    /// The sweeper's pass over an active kill-switch whose last check was not verified (Batch stops jobs and drains
    /// instances asynchronously). Verifies first; when something still runs or a CE still holds capacity, applies
    /// the stop again (queues, jobs, CEs) and verifies once more. A receipt is written and published only when the
    /// state becomes verified, so an unfinished stop is not re-announced on every pass (the first receipt already
    /// said what remained). Returns whether the stop is verified now.
    public func reverify(trigger: String) throws -> Bool {
        let started = UTC.iso(services.clock.now())
        var check = verify()
        var stopped = StopActions()
        if !check.verified {
            var errors: [String] = []
            var plan = StopPlan()
            _ = plan.merge(listActive(skipRunning: services.profile.budget.onAlarm == .drain, errors: &errors))
            stopped = apply(plan)
            stopped.errors = errors + stopped.errors
            check = verify()
        }
        try services.state.update(Schema.budgetStop, set: ["verified": .bool(check.verified),
                                                           "checkedAt": .string(UTC.iso(services.clock.now())),
                                                           "remaining": .int(Int64(check.remaining.count))])
        guard check.verified else {
            services.metrics.emit([Metric("KillSwitchUnverified", 1)], dimensions: ["Service": "odin"],
                                  properties: ["trigger": trigger])
            services.log.warning("kill-switch not verified yet; stop re-applied",
                                 ["remaining": check.remaining.joined(separator: ", "),
                                  "errors": (stopped.errors + check.errors).joined(separator: "; ")])
            return false
        }
        _ = try publishReceipt(trigger: "re-verify: " + trigger, startedAt: started, stopped: stopped, check: check,
                               runsStopped: [], errors: stopped.errors + check.errors,
                               subject: "Odin kill-switch: spend stopped (verified by the sweeper)")
        return true
    }

    /// What one application of the stop did.
    struct StopActions {
        var disabled: [String] = []
        var terminated: [String] = []
        var cancelled: [String] = []
        var errors: [String] = []
    }

    /// The jobs a stop terminates and cancels (kept on the stop item, so a redelivery of the signal continues with
    /// what an earlier delivery listed: those jobs are no longer active when it lists again). Sorted by job id.
    struct StopPlan {
        var terminate: [String] = []
        var cancel: [String] = []

        init() {}
        init(_ item: StateItem?) {
            terminate = item?["terminate"]?.listValue?.compactMap(\.stringValue) ?? []
            cancel = item?["cancel"]?.listValue?.compactMap(\.stringValue) ?? []
        }

        /// Adds jobs not planned yet (a job keeps its first classification); true when any was added.
        mutating func merge(_ listed: [(jobID: String, running: Bool)]) -> Bool {
            var known = Set(terminate).union(cancel)
            var added = false
            for job in listed where known.insert(job.jobID).inserted {
                if job.running { terminate.append(job.jobID) } else { cancel.append(job.jobID) }
                added = true
            }
            terminate.sort()
            cancel.sort()
            return added
        }

        var attributes: [String: StateValue] {
            ["terminate": .list(terminate.map { .string($0) }), "cancel": .list(cancel.map { .string($0) })]
        }
    }

    /// The active jobs of our queues, `running` for STARTING/RUNNING ones (left out in drain mode).
    func listActive(skipRunning: Bool, errors: inout [String]) -> [(jobID: String, running: Bool)] {
        var jobs: [(jobID: String, running: Bool)] = []
        for queue in services.profile.queues {
            for status in BatchJobStatus.active {
                let running = status == .starting || status == .running
                if running && skipRunning { continue }
                do {
                    jobs += try services.compute.listJobs(.queue(queue, status: status)).map { ($0.jobID, running) }
                } catch { errors.append("list \(status.rawValue) jobs in \(queue): \(error)") }
            }
        }
        return jobs
    }

    /// Disables the queues, terminates and cancels the planned jobs (again on a redelivery: a job that already
    /// stopped is left as it is), scales the CEs down.
    func apply(_ plan: StopPlan) -> StopActions {
        let profile = services.profile
        var actions = StopActions()
        for queue in profile.queues {
            do {
                try services.compute.setQueueEnabled(queue, false)
                actions.disabled.append(queue)
            } catch { actions.errors.append("disable queue \(queue): \(error)") }
        }
        for job in plan.terminate {
            do {
                try services.compute.terminateJob(job, reason: StatusReasons.budgetStop)
                actions.terminated.append(job)
            } catch { actions.errors.append("stop job \(job): \(error)") }
        }
        for job in plan.cancel {
            do {
                try services.compute.cancelJob(job, reason: StatusReasons.budgetStop)
                actions.cancelled.append(job)
            } catch { actions.errors.append("stop job \(job): \(error)") }
        }
        do {
            for ce in try services.compute.describeComputeEnvironments(profile.computeEnvironments) {
                // maxvCpus=0 where desiredvCpus allows it, else DISABLED until it drains (the sweeper finishes it).
                guard let update = Capacity.scaleDown(ce, freeze: true) else { continue }
                do { try services.compute.updateComputeEnvironment(ce.name, update) } catch {
                    actions.errors.append("scale CE \(ce.name) to zero: \(error)")
                }
            }
        } catch { actions.errors.append("describe CEs: \(error)") }
        return actions
    }

    /// What verification found.
    struct Verification {
        var remaining: [String] = []
        var ces: [TeardownReceipt.ComputeEnvironmentState] = []
        var errors: [String] = []
        /// No job active and every CE at minvCpus 0 with maxvCpus 0 (or DISABLED while its desiredvCpus drains).
        var verified: Bool {
            remaining.isEmpty && !ces.isEmpty && errors.isEmpty &&
                ces.allSatisfy { $0.minvCpus == 0 && ($0.maxvCpus == 0 || !$0.enabled) }
        }
    }

    /// Lists what is still active in our queues and reads the CEs' capacity.
    func verify() -> Verification {
        let profile = services.profile
        var check = Verification()
        for queue in profile.queues {
            for status in BatchJobStatus.active {
                do {
                    check.remaining += try services.compute.listJobs(.queue(queue, status: status))
                        .map { "\($0.jobID) (\($0.status.rawValue))" }
                } catch { check.errors.append("verify jobs in \(queue): \(error)") }
            }
        }
        do {
            check.ces = try services.compute.describeComputeEnvironments(profile.computeEnvironments).map {
                .init(name: $0.name, enabled: $0.isEnabled, minvCpus: $0.minvCpus, maxvCpus: $0.maxvCpus,
                      desiredvCpus: $0.desiredvCpus)
            }
        } catch { check.errors.append("verify CEs: \(error)") }
        return check
    }

    /// Where receipts go: `state/teardowns/<yyyyMMdd-HHmmss>.json` (when the stop started, so every delivery of one
    /// signal rewrites one receipt), the prefix the functions' roles may write (infra/stack.yaml).
    public static let receiptPrefix = "state/teardowns/"

    /// `yyyyMMdd-HHmmss` of an ISO 8601 `yyyy-MM-ddTHH:mm:ssZ` time (the stop item's `at`), nil for another form.
    static func stamp(iso: String) -> String? {
        let digits = iso.filter(\.isNumber)
        guard iso.count == 20, digits.count == 14 else { return nil }
        return digits.prefix(8) + "-" + digits.suffix(6)
    }

    /// Writes the receipt under `receiptPrefix`, records its key and verification on the stop item, publishes it.
    func publishReceipt(trigger: String, startedAt: String, stopped: StopActions, check: Verification,
                        runsStopped: [String], errors: [String], subject: String) throws -> TeardownReceipt {
        let finished = services.clock.now()
        let key = Self.receiptPrefix + (Self.stamp(iso: startedAt) ?? UTC.compact(finished)) + ".json"
        let receipt = TeardownReceipt(trigger: trigger, mode: services.profile.budget.onAlarm == .drain ? "drain" : "terminate",
                                      startedAt: startedAt, finishedAt: UTC.iso(finished),
                                      queuesDisabled: stopped.disabled, jobsTerminated: stopped.terminated,
                                      jobsCancelled: stopped.cancelled, jobsRemaining: check.remaining,
                                      computeEnvironments: check.ces, runsStopped: runsStopped,
                                      verified: check.verified, errors: errors, receiptKey: key)
        let bytes = try JSONCoder.encode(receipt, options: JSONWriteOptions(prettyPrinted: true))
        // Stored before the stop item names it; a failure fails the invocation (its redelivery writes it).
        try services.objects.put(key, bytes: bytes)
        try services.state.update(Schema.budgetStop, set: ["receipt": .string(key), "verified": .bool(check.verified)])
        try services.notifier.publish(subject: subject, message: String(decoding: bytes, as: UTF8.self))
        return receipt
    }
}

/// `odin resume RUN` (CLI): clears the budget stop and finishes whatever the run left unfinished — a seal that was
/// interrupted (`sealing`), a submission (`submitting`/`waiting_for_budget`), chunks without a terminal marker whose
/// recorded job no longer exists (resubmitted as one job), counters behind the markers (repaired from the markers), a failed condensation (started
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
            // A submission cut short may have recorded its job: continue it, then check below that the recorded jobs
            // still exist (the local compute's jobs die with an interrupted `odin run --local`: their chunks are
            // submitted again, once).
            try RunSubmitter(services: services).submit(runID)
            guard let submitted = try RunRecord.load(runID, state: services.state), submitted.status == .running else {
                return nil
            }
            record = submitted
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

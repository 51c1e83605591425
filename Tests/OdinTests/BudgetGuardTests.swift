import Events
import Foundation
@testable import Odin
import OdinKit
import OdinLocal
import Synchronization
import Testing
import TestSupport

@Suite struct BudgetGuardTests {
    static func stoppedHarness(_ sample: String, mode: Profile.Budget.OnAlarm = .terminate) throws -> (Harness, RunRecord, BudgetGuardResult) {
        var profile = Profile()
        profile.budget.onAlarm = mode
        let (harness, run) = try harnessWithRun(chunks: 5, label: "budget-\(sample)", profile: profile)
        // Two children running, the rest RUNNABLE (manual compute: mark RUNNING by hand through events is not
        // needed; LocalCompute reports children RUNNABLE and the parent RUNNABLE).
        let result = try BudgetGuardHandler.handleDecoded(try sampleBytes(sample), services: harness.services)
        return (harness, run, result)
    }

    @Test(arguments: ["sns-budget.json", "sns-alarm.json"])
    func killSwitchInBothFormats(sample: String) throws {
        let (harness, run, result) = try Self.stoppedHarness(sample)
        #expect(result.acted)
        let receipt = try #require(result.receipt)
        #expect(receipt.queuesDisabled == ["odin-spot", "odin-on-demand"])
        #expect(receipt.jobsCancelled == [run.jobs[0].jobID])
        #expect(receipt.jobsRemaining.isEmpty)
        #expect(receipt.verified)
        #expect(receipt.runsStopped == [run.runID])
        for queue in try harness.compute.describeQueues(["odin-spot", "odin-on-demand"]) { #expect(!queue.isEnabled) }
        for ce in try harness.compute.describeComputeEnvironments(["odin-spot-gpu", "odin-on-demand-gpu"]) {
            #expect(ce.minvCpus == 0 && ce.maxvCpus == 0)
        }
        // Receipt stored and published.
        let stored = try JSONDecoder().decode(TeardownReceipt.self, from: Data(try harness.objects.get(receipt.receiptKey)))
        #expect(stored == receipt)
        #expect(harness.notifier.messages.count == 1)
        #expect(harness.notifier.messages[0].subject.contains("spend stopped"))
        #expect(try RunRecord.load(run.runID, state: harness.state)?.status == .stoppedByBudget)
        // Children cancelled by the guard are not failures: nothing counted, no fallback.
        let before = harness.compute.submissions.count
        for child in 0..<5 {
            let detail = try harness.compute.describeJobs(["\(run.jobs[0].jobID):\(child)"])[0]
            _ = try JobEventsService(services: harness.services).handle(BatchJobStateChange(detail: detail))
        }
        #expect(try harness.state.get(Schema.runCounters(run.runID))?["failed"] == nil)
        #expect(harness.compute.submissions.count == before)
        // New uploads are held; resume clears the stop and resubmits the chunks that did not finish.
        _ = try harness.ingest(["raw/cam09/new.jpg"])
        harness.clock.advance(seconds: 120)
        #expect(try harness.sweep().runsSealed.isEmpty)
        let resumed = try ResumeService(services: harness.services).resume(run.runID)
        #expect(resumed != nil)
        #expect(harness.compute.submissions.last?.arraySize == 5)
        #expect(try harness.compute.describeQueues(["odin-spot"])[0].isEnabled)
    }

    @Test func ignoresOtherBudgetsAndNonAlarmStates() throws {
        let harness = try Harness(label: "budget-ignore")
        let other = String(decoding: try sampleBytes("sns-budget.json"), as: UTF8.self)
            .replacingAll("odin-monthly", with: "someone-else")
        let ignored = try BudgetGuardHandler.handleDecoded(Array(other.utf8), services: harness.services)
        #expect(!ignored.acted)
        #expect(ignored.ignored == ["budget someone-else is not in budget.act_on_budgets"])
        let ok = String(decoding: try sampleBytes("sns-alarm.json"), as: UTF8.self)
            .replacingAll(#"\"NewStateValue\": \"ALARM\""#, with: #"\"NewStateValue\": \"OK\""#)
        let okResult = try BudgetGuardHandler.handleDecoded(Array(ok.utf8), services: harness.services)
        #expect(!okResult.acted)
        #expect(okResult.ignored == ["alarm odin-spend is OK, not ALARM"])
        #expect(harness.counter.stateWrites == 0)
        #expect(harness.notifier.messages.isEmpty)
    }

    @Test func sweeperReappliesAnUnverifiedKillSwitch() throws {
        let harness = try Harness(label: "budget-reverify")
        try harness.state.put(StateItem(key: Schema.budgetStop,
                                        attributes: ["active": .bool(true), "verified": .bool(false),
                                                     "trigger": .string("AWS Budgets odin-monthly")]),
                              condition: .always)
        _ = try harness.compute.submitJob(JobSubmission(name: "straggler", queue: "odin-spot", jobDefinition: "d",
                                                        arraySize: 1, environment: [:], tags: [:]))
        let sweep = try harness.sweep()
        #expect(sweep.killSwitchReapplied == true)
        #expect(try harness.state.get(Schema.budgetStop)?["verified"] == .bool(true))
        #expect(harness.notifier.messages.last?.subject.contains("spend stopped") == true)
        #expect(try harness.sweep().killSwitchReapplied == nil)
    }

    @Test func drainLeavesRunningJobsAndReportsThem() throws {
        var profile = Profile()
        profile.budget.onAlarm = .drain
        let harness = try Harness(profile: profile, label: "budget-drain")
        // A running job (local compute: mark running by completing nothing; use a plain job and start it).
        let id = try harness.compute.submitJob(JobSubmission(name: "munin-x-p0", queue: "odin-spot",
                                                             jobDefinition: "d", arraySize: 1, environment: [:], tags: [:]))
        _ = id
        let result = try BudgetGuardService(services: harness.services).killSwitch(trigger: "test")
        #expect(result.mode == "drain")
        #expect(result.jobsCancelled == [id])  // RUNNABLE jobs are cancelled even when draining
    }
}

/// Issue 13 (warning vs stop) and issue 14 (kill-switch robustness).
@Suite struct BudgetGuardJudgementTests {
    static func harness(_ label: String, stopAmount: Double? = 100,
                        onForecast: Profile.Budget.OnForecast = .notify) throws -> Harness {
        var profile = Profile()
        profile.budget.stopAmount = stopAmount
        profile.budget.onForecast = onForecast
        return try Harness(profile: profile, label: label)
    }

    static func text(_ sample: String) throws -> String { String(decoding: try sampleBytes(sample), as: UTF8.self) }

    /// An SNS event of the given sample records (each sample's first record).
    static func batch(_ messages: [String]) throws -> [UInt8] {
        let records = try messages.map { message -> String in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any])
            let first = try #require((object["Records"] as? [Any])?.first)
            return String(decoding: try JSONSerialization.data(withJSONObject: first), as: UTF8.self)
        }
        return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
    }

    @Test func warningBelowTheStopAmountOnlyNotifies() throws {
        let harness = try Self.harness("budget-warning")
        let result = try BudgetGuardHandler.handleDecoded(try sampleBytes("sns-budget.json"), services: harness.services)
        #expect(!result.acted)
        #expect(result.receipt == nil)
        #expect(result.notified.count == 1 && result.notified[0].contains("below the stop amount 100"), "\(result)")
        #expect(harness.counter.stateWrites == 0)
        #expect(try harness.compute.describeQueues(["odin-spot"])[0].isEnabled)
        #expect(harness.notifier.messages.count == 1)
        #expect(harness.notifier.messages[0].subject.contains("budget warning"))
        #expect(harness.notifier.messages[0].message.contains("$83.41"))
    }

    @Test func stopNotificationAtTheStopAmountTearsDown() throws {
        let harness = try Self.harness("budget-stop")
        let result = try BudgetGuardHandler.handleDecoded(try sampleBytes("sns-budget-stop.json"),
                                                           services: harness.services)
        #expect(result.acted)
        #expect(try harness.state.get(Schema.budgetStop)?["active"] == .bool(true))
        #expect(!(try harness.compute.describeQueues(["odin-spot"])[0].isEnabled))
        // A warning whose reported spend already passed the stop amount stops too.
        let late = try Self.text("sns-budget.json").replacingAll("$83.41", with: "$112.00")
        let other = try Self.harness("budget-late")
        #expect(try BudgetGuardHandler.handleDecoded(Array(late.utf8), services: other.services).acted)
    }

    @Test func forecastFollowsTheProfile() throws {
        let notify = try Self.harness("budget-forecast-notify")
        let quiet = try BudgetGuardHandler.handleDecoded(try sampleBytes("sns-budget-forecast.json"),
                                                          services: notify.services)
        #expect(!quiet.acted)
        #expect(quiet.notified.first?.contains("budget.on_forecast is notify") == true, "\(quiet)")
        #expect(notify.notifier.messages.count == 1)
        let stop = try Self.harness("budget-forecast-stop", onForecast: .stop)
        let acted = try BudgetGuardHandler.handleDecoded(try sampleBytes("sns-budget-forecast.json"),
                                                          services: stop.services)
        #expect(acted.acted)
        // Without a stop amount (no stack) a forecast still only notifies by default.
        let local = try Self.harness("budget-forecast-local", stopAmount: nil)
        #expect(!(try BudgetGuardHandler.handleDecoded(try sampleBytes("sns-budget-forecast.json"),
                                                         services: local.services).acted))
    }

    @Test func alarmQuotingBudgetsTextStillTearsDown() throws {
        let harness = try Self.harness("budget-alarm-text")
        let alarm = try Self.text("sns-alarm.json")
            .replacingAll("Estimated Batch spend above the monthly cap",
                          with: "Backs up the AWS Budget Notification of odin-monthly")
        let result = try BudgetGuardHandler.handleDecoded(Array(alarm.utf8), services: harness.services)
        #expect(result.acted, "\(result)")
        #expect(result.receipt?.trigger.hasPrefix("CloudWatch alarm odin-spend") == true)
    }

    @Test func unreadableRecordDoesNotBlockAGoodAlarm() throws {
        let harness = try Self.harness("budget-mixed")
        let garbage = #"{"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"m-bad","Message":"not a signal"}}]}"#
        let event = try Self.batch([garbage, try Self.text("sns-alarm.json")])
        let result = try BudgetGuardHandler.handleDecoded(event, services: harness.services)
        #expect(result.acted)
        #expect(result.unreadable == ["Records[0].Sns.Message: neither an AWS Budgets notification nor CloudWatch alarm JSON"])
        // Alone, the unreadable record is reported (response and notify topic) and stops nothing.
        let alone = try Self.harness("budget-garbage")
        let reported = try BudgetGuardHandler.handleDecoded(Array(garbage.utf8), services: alone.services)
        #expect(!reported.acted && reported.unreadable.count == 1)
        #expect(alone.notifier.messages.count == 1)
        #expect(alone.notifier.messages[0].message.contains("Records[0].Sns.Message"))
        #expect(alone.counter.stateWrites == 0)
    }

    @Test func eachRecordIsJudgedAlone() throws {
        let harness = try Self.harness("budget-each")
        let ok = try Self.text("sns-alarm.json").replacingAll(#"\"NewStateValue\": \"ALARM\""#, with: #"\"NewStateValue\": \"OK\""#)
        let event = try Self.batch([ok, try Self.text("sns-budget.json"), try Self.text("sns-budget-stop.json")])
        let result = try BudgetGuardHandler.handleDecoded(event, services: harness.services)
        #expect(result.acted)
        #expect(result.ignored == ["alarm odin-spend is OK, not ALARM"])
        #expect(result.receipt?.trigger.contains("$101.27") == true, "\(String(describing: result.receipt))")
    }

    @Test func receiptGoesWhereTheRolesMayWrite() throws {
        let harness = try Self.harness("budget-receipt")
        let receipt = try BudgetGuardService(services: harness.services).killSwitch(trigger: "test")
        #expect(receipt.receiptKey.hasPrefix("state/teardowns/"))
        #expect(try harness.objects.head(receipt.receiptKey) != nil)
    }
}

/// A Batch whose TerminateJob/CancelJob are accepted but take effect only later (as on AWS), until `land()`.
final class SlowStopCompute: ForwardingCompute, @unchecked Sendable {
    let pending = Mutex<[(String, String, Bool)]>([])
    let stopCalls = Mutex(0)
    override func terminateJob(_ jobID: String, reason: String) throws {
        stopCalls.withLock { $0 += 1 }
        pending.withLock { $0.append((jobID, reason, true)) }
    }
    override func cancelJob(_ jobID: String, reason: String) throws {
        stopCalls.withLock { $0 += 1 }
        pending.withLock { $0.append((jobID, reason, false)) }
    }
    func land() throws {
        for (id, reason, running) in pending.withLock({ list in defer { list = [] }; return list }) {
            if running { try base.terminateJob(id, reason: reason) } else { try base.cancelJob(id, reason: reason) }
        }
    }
}

@Suite struct KillSwitchVerificationTests {
    /// Issue 13: the sweeper verifies an unverified kill-switch and re-applies it, but announces it only once it is
    /// verified (main published "STOPPED WITH REMAINDERS" on every pass).
    @Test func sweeperReappliesQuietlyUntilVerified() throws {
        let base = try Harness(label: "budget-slow-stop")
        let compute = SlowStopCompute(base: base.compute)
        var services = base.services
        services.compute = compute
        _ = try compute.submitJob(JobSubmission(name: "straggler", queue: "odin-spot", jobDefinition: "d",
                                                arraySize: 1, environment: [:], tags: [:]))
        let first = try BudgetGuardService(services: services).killSwitch(trigger: "test")
        #expect(!first.verified)
        #expect(base.notifier.messages.count == 1)
        #expect(base.notifier.messages[0].subject.contains("REMAINDERS"))
        for _ in 0..<3 {
            #expect(try SweeperService(services: services).sweep().killSwitchReapplied == false)
        }
        #expect(base.notifier.messages.count == 1, "\(base.notifier.messages.map(\.subject))")
        #expect(compute.stopCalls.withLock { $0 } == 4, "the stop is re-applied to what remains on every pass")
        #expect(try base.state.get(Schema.budgetStop)?["remaining"] == .int(1))
        try compute.land()
        #expect(try SweeperService(services: services).sweep().killSwitchReapplied == true)
        #expect(base.notifier.messages.count == 2)
        #expect(base.notifier.messages[1].subject.contains("verified by the sweeper"))
        #expect(try base.state.get(Schema.budgetStop)?["verified"] == .bool(true))
        #expect(try SweeperService(services: services).sweep().killSwitchReapplied == nil)
        #expect(base.notifier.messages.count == 2)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

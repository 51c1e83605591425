import Events
import FoundationEssentials
@testable import Odin
import OdinKit
import Testing

@Suite struct BudgetGuardTests {
    static func stoppedHarness(_ sample: String, mode: Profile.Budget.OnAlarm = .terminate) throws -> (Harness, RunRecord, BudgetGuardResult) {
        var profile = Profile()
        profile.budget.onAlarm = mode
        let (harness, run) = try harnessWithRun(chunks: 5, label: "budget-\(sample)", profile: profile)
        // Two children running, the rest RUNNABLE (manual compute: mark RUNNING by hand through events is not
        // needed; LocalCompute reports children RUNNABLE and the parent RUNNABLE).
        let result = try BudgetGuardFunction.handleDecoded(try sampleBytes(sample), services: harness.services)
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
        let ignored = try BudgetGuardFunction.handleDecoded(Array(other.utf8), services: harness.services)
        #expect(!ignored.acted)
        #expect(ignored.ignored == ["budget someone-else is not in budget.act_on_budgets"])
        let ok = String(decoding: try sampleBytes("sns-alarm.json"), as: UTF8.self)
            .replacingAll(#"\"NewStateValue\": \"ALARM\""#, with: #"\"NewStateValue\": \"OK\""#)
        let okResult = try BudgetGuardFunction.handleDecoded(Array(ok.utf8), services: harness.services)
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

import AWS
import Events
import Foundation
import Odin
import OdinAWS
import OdinKit
import RuntimeEmulator
import Testing
import TestSupport

@Suite(.serialized, .requires(.venv, .contractChecker)) struct BudgetGuardFunctionTests {
    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: TestEnvironment.packageRoot + "/events/" + name, encoding: .utf8)
    }

    @Test(arguments: ["sns-budget-stop.json", "sns-alarm.json"])
    func budgetNotificationStopsTheSpendAndWritesAReceipt(event: String) throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let (run, _, _, _) = try stack.startRun(camera: "cambg", images: 3)
        // A job moto still counts as active, so the kill-switch has something to stop.
        let active = try stack.client.submitJob(.init(jobName: "munin-\(run)-extra", jobQueue: stack.spotQueue,
                                                      jobDefinition: stack.workerDefinition))
        stack.proxy.reset()
        let session = try stack.start("budget-guard")
        let result = invokeJSON(session, try Self.fixture(event))
        #expect(result["acted"] as? Bool == true, "\(result)")
        let receipt = try #require(result["receipt"] as? [String: Any])

        // The kill-switch calls: both queues disabled, CEs to zero, SNS receipt published, receipt in S3.
        let queueUpdates = stack.proxy.calls("updatejobqueue").compactMap(\.json)
        for queue in [stack.spotQueue, stack.onDemandQueue] {
            #expect(queueUpdates.contains { $0["jobQueue"] as? String == queue && $0["state"] as? String == "DISABLED" })
        }
        let ceUpdates = stack.proxy.calls("updatecomputeenvironment").compactMap(\.json)
        for ce in [stack.spotCE, stack.onDemandCE] {
            #expect(ceUpdates.contains { $0["computeEnvironment"] as? String == ce
                && ($0["computeResources"] as? [String: Any])?["maxvCpus"] as? Int == 0 }, "\(ceUpdates)")
        }
        let stops = stack.proxy.calls.filter { $0.operation == "terminatejob" || $0.operation == "canceljob" }
            .compactMap { $0.json?["jobId"] as? String }
        let jobsListedActive = (receipt["jobsTerminated"] as? [String] ?? []) + (receipt["jobsCancelled"] as? [String] ?? [])
        #expect(Set(stops) == Set(jobsListedActive))
        if try stack.client.describeJobs(ids: [active.jobId]).first?.status != .succeeded {
            #expect(stops.contains(active.jobId), "the active job was stopped")
        }
        let publish = stack.proxy.calls("Publish")
        #expect(publish.count == 1)
        let publishBody = String(decoding: publish.first?.body ?? [], as: UTF8.self)
        #expect(publishBody.contains("TopicArn="))
        let key = try #require(receipt["receiptKey"] as? String)
        #expect(stack.proxy.calls("S3 PUT").contains { $0.path.hasSuffix(key) })
        let stored = try JSONSerialization.jsonObject(with: Data(try stack.objects.get(key))) as? [String: Any]
        #expect(stored?["trigger"] as? String == receipt["trigger"] as? String)
        #expect((stored?["queuesDisabled"] as? [String])?.sorted() == [stack.spotQueue, stack.onDemandQueue].sorted())
        // moto keeps queue state, so the queues really are disabled; the run is marked for `odin resume`.
        #expect(try stack.client.describeJobQueues(names: [stack.spotQueue]).first?.state == "DISABLED")
        #expect(try RunRecord.load(run, state: stack.state)?.status == .stoppedByBudget)
        #expect(try stack.state.get(Schema.budgetStop)?["active"]?.boolValue == true)
    }

    @Test func budgetOfAnotherNameOrAnOKAlarmIsIgnoredWithoutCalls() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("budget-guard")
        let other = try Self.fixture("sns-budget.json").replacingOccurrences(of: "odin-monthly", with: "someone-else")
        let ok = try Self.fixture("sns-alarm.json").replacingOccurrences(of: #"\"NewStateValue\": \"ALARM\""#,
                                                                          with: #"\"NewStateValue\": \"OK\""#)
        for event in [other, ok] {
            let result = invokeJSON(session, event)
            #expect(result["acted"] as? Bool == false, "\(result)")
        }
        #expect(stack.proxy.calls.isEmpty, "\(stack.proxy.calls)")
    }

    @Test func stackBudgetNameTriggersTheKillSwitch() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("budget-guard")
        // ODIN_BUDGET_NAME (the stack's budget) counts as named in the profile.
        let event = try Self.fixture("sns-budget-stop.json").replacingOccurrences(of: "odin-monthly", with: "odins-ravne-test")
        #expect(invokeJSON(session, event)["acted"] as? Bool == true)
    }

    /// Issue 13: the BudgetWarnAmount notification reaches the same function; below ODIN_BUDGET_STOP_AMOUNT (100 in
    /// the fixture) it is published as a warning and nothing is stopped.
    @Test func warningBelowTheStopAmountOnlyNotifies() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("budget-guard")
        for name in ["sns-budget.json", "sns-budget-forecast.json"] {
            stack.proxy.reset()
            let event = try Self.fixture(name).replacingOccurrences(of: "odin-monthly", with: "odins-ravne-test")
            let result = invokeJSON(session, event)
            #expect(result["acted"] as? Bool == false, "\(name): \(result)")
            #expect((result["notified"] as? [String])?.count == 1, "\(name): \(result)")
            #expect(stack.proxy.calls.map(\.operation) == ["Publish"], "\(name): \(stack.proxy.calls)")
            #expect(try stack.state.get(Schema.budgetStop) == nil)
        }
    }

    /// Issue 14: one unreadable record and an ALARM whose description quotes Budgets text, in one SNS event: the
    /// alarm tears down, the bad record is reported.
    @Test func alarmBesideAnUnreadableRecordStillTearsDown() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("budget-guard")
        let alarm = try Self.fixture("sns-alarm.json")
            .replacingOccurrences(of: "Estimated Batch spend above the monthly cap",
                                  with: "Same limit as the AWS Budget Notification")
        let record = try #require(((try JSONSerialization.jsonObject(with: Data(alarm.utf8)) as? [String: Any])?["Records"]
            as? [Any])?.first)
        let bad: [String: Any] = ["EventSource": "aws:sns", "Sns": ["MessageId": "bad", "Message": "{\"half\": "]]
        let event = String(decoding: try JSONSerialization.data(withJSONObject: ["Records": [bad, record]]), as: UTF8.self)
        let result = invokeJSON(session, event)
        #expect(result["acted"] as? Bool == true, "\(result)")
        #expect((result["unreadable"] as? [String])?.first?.hasPrefix("Records[0].Sns.Message") == true, "\(result)")
        let key = try #require((result["receipt"] as? [String: Any])?["receiptKey"] as? String)
        #expect(key.hasPrefix("state/teardowns/"))
    }
}

@Suite(.serialized, .requires(.venv, .contractChecker)) struct SweeperFunctionTests {
    @Test func sweeperReconcilesAndPacesThroughTheBinding() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        _ = try stack.startRun(camera: "camsw", images: 2)
        try stack.finishMotoJobs()
        stack.proxy.reset()
        let session = try stack.start("sweeper")
        let result = invokeJSON(session, try String(contentsOfFile: TestEnvironment.packageRoot + "/events/scheduled.json",
                                                    encoding: .utf8))
        #expect(!result.isEmpty)
        #expect(stack.proxy.calls.contains { $0.operation == "listjobs" })
        // Lost conditional writes are part of the logic (dedup); nothing else may fail.
        let failed = stack.proxy.calls.filter {
            $0.status >= 300 && !String(decoding: $0.responseBody, as: UTF8.self).contains("ConditionalCheckFailed")
        }
        #expect(failed.isEmpty, "\(failed.map { "\($0) \(String(decoding: $0.body, as: UTF8.self)) → \(String(decoding: $0.responseBody, as: UTF8.self))" })")
    }
}

import Foundation
import RuntimeEmulator
import Testing
import TestSupport

/// Every sample event in events/ goes through the function it is meant for, on that function's own role and through
/// the contract checker. The ingest, budget-guard and sweeper files are replayed by their function suites; the Batch
/// job events are replayed here against a live run: their ids, queue and run tags are swapped for the run's, the rest
/// of each event stays as shipped.
@Suite("events/ through their functions")
struct EventFilesTests {
    /// Which function each file is for, and which suite replays it. A new file without an entry fails.
    static let functions: [String: String] = [
        "s3-put.json": "ingest (IngestFunctionTests.everyEnvelopeStartsARun)",
        "sqs-s3.json": "ingest (IngestFunctionTests.everyEnvelopeStartsARun)",
        "eventbridge-s3.json": "ingest (IngestFunctionTests.everyEnvelopeStartsARun)",
        "s3-test-event.json": "ingest (IngestFunctionTests.s3TestEventIsAcknowledgedWithoutCalls)",
        "sns-budget.json": "budget-guard (BudgetGuardFunctionTests)",
        "sns-alarm.json": "budget-guard (BudgetGuardFunctionTests)",
        "sns-budget-stop.json": "budget-guard (BudgetGuardFunctionTests)",
        "sns-budget-forecast.json": "budget-guard (BudgetGuardFunctionTests)",
        "scheduled.json": "sweeper (BudgetGuardFunctionTests.sweeperReconcilesAndPacesThroughTheBinding)",
        "job-done.json": "job-events (this suite)",
        "job-failed-host-ec2.json": "job-events (this suite)",
        "job-runnable-timeout.json": "job-events (this suite)",
    ]

    @Test func everyEventFileHasItsFunction() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestEnvironment.packageRoot + "/events")
            .filter { $0.hasSuffix(".json") }
        #expect(Set(files) == Set(Self.functions.keys), "map each events/ file to the function that handles it")
    }

    @Test(.requires(.venv, .contractChecker), arguments: ["job-done.json", "job-failed-host-ec2.json", "job-runnable-timeout.json"])
    func batchJobEventThroughJobEvents(file: String) throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let (run, parent, tags, chunks) = try stack.startRun(camera: "cam01", images: 5)
        var event = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: TestEnvironment.packageRoot + "/events/" + file))) as? [String: Any])
        var detail = try #require(event["detail"] as? [String: Any])
        var array = detail["arrayProperties"] as? [String: Any] ?? [:]
        let index = (array["index"] as? Int ?? 0) % chunks
        array["index"] = index
        detail["arrayProperties"] = array
        let jobID = "\(parent):\(index)"
        let jobARN = "arn:aws:batch:us-east-1:123456789012:job/\(jobID)"
        detail["jobId"] = jobID
        detail["jobArn"] = jobARN
        detail["jobName"] = "munin-\(run)-p0"
        detail["jobQueue"] = stack.spotQueueARN
        detail["tags"] = tags
        event["detail"] = detail
        event["resources"] = [jobARN]
        event["region"] = "us-east-1"
        let session = try stack.start("job-events")
        let result = session.invoke(Array(try JSONSerialization.data(withJSONObject: event)))
        guard case .response(let body) = result.outcome else {
            Issue.record("\(file): \(describe(result.outcome))")
            return
        }
        #expect(!body.isEmpty)
        #expect(stack.proxy.findings.isEmpty, "\(file): \(stack.proxy.findings)")
        #expect(!stack.proxy.calls.isEmpty, "\(file) made no AWS call")
    }

    /// The sweeper's sealing path (a window ingest left pending), on the sweeper's role: it claims the window's
    /// objects, writes the manifest, deletes the pending items and submits the run.
    @Test(.requires(.venv, .contractChecker)) func scheduledSweeperSealsASettledWindow() throws {
        guard let moto = FunctionMoto.require() else { return }
        let settling = #"{"pipeline":{"ingest":{"settle_seconds":3600},"chunking":{"target_minutes":2,"seconds_per_image":60}}}"#
        let stack = try TestStack(moto, profileJSON: settling)
        let keys = (1...3).map { ("raw/camsettle/IMG_\($0).JPG", 2000 + $0, String(format: "%032x", $0)) }
        let ingest = try stack.start("ingest")
        let accepted = invokeJSON(ingest, s3Event(bucket: stack.bucket, keys: keys))
        #expect((accepted["runsStarted"] as? [String] ?? []).isEmpty, "the window is still settling")
        stack.proxy.reset()
        let sweeper = try stack.start("sweeper", environment: ["ODIN_PROFILE_JSON": smallChunksProfile])
        let event = try String(contentsOfFile: TestEnvironment.packageRoot + "/events/scheduled.json", encoding: .utf8)
        // The same pass then reconciles the run it has just submitted: moto finishes the array's children at once,
        // and a child's DescribeJobs carries neither the run's tags nor its array index. The sweeper attributes the
        // children it listed under the run's own job instead of failing the invocation.
        let result = invokeJSON(sweeper, event)
        let sealed = result["runsSealed"] as? [String] ?? []
        #expect(sealed.count == 1, "\(result)")
        #expect((result["eventsReconciled"] as? Int ?? 0) > 0, "the new run's finished children were reconciled: \(result)")
        #expect(stack.proxy.calls.contains { $0.operation == "DeleteItem" && $0.status == 200 }, "the seal deleted the pending items")
        #expect(stack.proxy.calls("submitjob").contains { $0.status == 200 }, "the sealed run was submitted")
        #expect(stack.proxy.findings.isEmpty, "\(stack.proxy.findings)")
    }
}

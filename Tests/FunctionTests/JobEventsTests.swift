import AWS
import Foundation
import Odin
import OdinAWS
import OdinBasics
import OdinKit
import RuntimeEmulator
import Testing
import TestSupport

/// An EventBridge "Batch Job State Change" event.
func batchEvent(jobID: String, jobName: String, queueARN: String, status: String, reason: String? = nil,
                index: Int? = nil, size: Int? = nil, tags: [String: String], attempts: Int = 1) -> String {
    var detail: [String: Any] = [
        "jobArn": "arn:aws:batch:us-east-1:123456789012:job/\(jobID)", "jobName": jobName, "jobId": jobID,
        "jobQueue": queueARN, "status": status, "createdAt": 1_781_415_180_000, "tags": tags,
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/worker:1",
        "container": ["resourceRequirements": [["type": "VCPU", "value": "4"]]],
        "attempts": (0..<attempts).map { n in
            ["startedAt": 1_781_415_505_000 + n * 60_000, "stoppedAt": 1_781_415_535_000 + n * 60_000,
             "statusReason": reason ?? "Essential container in task exited", "container": ["exitCode": 0]] as [String: Any]
        },
    ]
    if let reason { detail["statusReason"] = reason }
    var array: [String: Any] = [:]
    if let index { array["index"] = index }
    if let size { array["size"] = size }
    if !array.isEmpty { detail["arrayProperties"] = array }
    let event: [String: Any] = [
        "version": "0", "id": UUID().uuidString, "detail-type": "Batch Job State Change", "source": "aws.batch",
        "account": "123456789012", "time": "2026-06-14T05:42:17Z", "region": "us-east-1",
        "resources": ["arn:aws:batch:us-east-1:123456789012:job/\(jobID)"], "detail": detail,
    ]
    return String(decoding: try! JSONSerialization.data(withJSONObject: event), as: UTF8.self)
}

let timeoutReason = "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"

extension TestStack {
    /// Ingests `images` images of `camera` (settling at once) and returns the run id and its chunk job's submission.
    func startRun(camera: String, images: Int) throws -> (run: String, jobID: String, tags: [String: String], chunks: Int) {
        let keys = (1...images).map { ("raw/\(camera)/IMG_\($0).JPG", 2000 + $0, String(format: "%032x", $0)) }
        let ingest = try start("ingest")
        let result = invokeJSON(ingest, s3Event(bucket: bucket, keys: keys))
        let run = try #require((result["runsStarted"] as? [String])?.first)
        let submit = try #require(proxy.calls("submitjob").last { ($0.json?["tags"] as? [String: String])?["odin:run"] == run })
        let jobID = try #require(submit.responseJSON?["jobId"] as? String)
        let tags = try #require(submit.json?["tags"] as? [String: String])
        let record = try #require(try RunRecord.load(run, state: state))
        return (run, jobID, tags, record.chunkCount)
    }

    /// Stops whatever moto still counts as active in our queues (moto runs no containers), outside the recording.
    func finishMotoJobs() throws {
        for queue in [spotQueue, onDemandQueue] {
            for status in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"] {
                for job in try client.listAllJobs(.init(jobQueue: queue, jobStatus: status)) {
                    try client.terminateJob(id: job.jobId, reason: "test: finished")
                }
            }
        }
    }
}

@Suite(.serialized, .requires(.venv, .contractChecker)) struct JobEventsFunctionTests {
    @Test(arguments: [UInt64(7), 20_261_129])
    func shuffledAndDuplicatedEventsCondenseOnceCountAndTearDown(seed: UInt64) throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let (run, parent, tags, chunks) = try stack.startRun(camera: "cam\(seed % 100)", images: 5)
        #expect(chunks == 3)
        var events: [String] = (0..<chunks).map { index in
            batchEvent(jobID: "\(parent):\(index)", jobName: "munin-\(run)-p0", queueARN: stack.spotQueueARN,
                       status: index == 1 ? "FAILED" : "SUCCEEDED",
                       reason: index == 1 ? "Essential container in task exited" : nil, index: index, tags: tags)
        }
        events.append(batchEvent(jobID: parent, jobName: "munin-\(run)-p0", queueARN: stack.spotQueueARN,
                                 status: "FAILED", reason: "Array Child Job failed", size: chunks, tags: tags))
        var generator = SplitMix64(seed: seed)
        var delivery = events.flatMap { event in Array(repeating: event, count: Int.random(in: 1...3, using: &generator)) }
        delivery.shuffle(using: &generator)
        stack.proxy.reset()
        let session = try stack.start("job-events")
        var condensations = 0
        var outcomes: [String] = []
        for event in delivery {
            let result = invokeJSON(session, event)
            if result["condensationStarted"] as? Bool == true { condensations += 1 }
            outcomes.append(result["outcome"] as? String ?? "?")
        }
        #expect(condensations == 1, "seed \(seed): \(outcomes)")
        let hugin = stack.proxy.calls("submitjob").compactMap(\.json)
        #expect(hugin.count == 1, "seed \(seed): exactly one SubmitJob (condensation)")
        #expect(hugin.first?["jobDefinition"] as? String == stack.huginDefinition)
        #expect(hugin.first?["jobQueue"] as? String == stack.onDemandQueue)
        #expect(hugin.first?["shareIdentifier"] as? String == "odin")
        let counters = try #require(try stack.state.get(Schema.runCounters(run)))
        #expect(counters["succeeded"]?.intValue == 2 && counters["failed"]?.intValue == 1, "\(counters)")
        let record = try #require(try RunRecord.load(run, state: stack.state))
        #expect(record.failedChunks == [1])
        #expect(record.status == .condensing)

        // Condensation finished (delivered twice): the run is done and capacity is torn down once idle.
        let huginJob = try #require(stack.proxy.calls("submitjob").first?.responseJSON?["jobId"] as? String)
        try stack.finishMotoJobs()
        stack.proxy.reset()
        let done = batchEvent(jobID: huginJob, jobName: "hugin-\(run)", queueARN: stack.onDemandQueueARN,
                              status: "SUCCEEDED", tags: ["odin:run": run, "odin:kind": "condense", "odin:chunks": "3"])
        let first = invokeJSON(session, done)
        let again = invokeJSON(session, done)
        #expect(first["outcome"] as? String == "condensation_finished")
        #expect(first["teardown"] as? Bool == true)
        #expect(again["outcome"] as? String == "duplicate")
        #expect(try RunRecord.load(run, state: stack.state)?.status == .done)
        let scaled = stack.proxy.calls("updatecomputeenvironment").compactMap(\.json)
        for ce in [stack.spotCE, stack.onDemandCE] {
            #expect(scaled.contains { $0["computeEnvironment"] as? String == ce
                && ($0["computeResources"] as? [String: Any])?["maxvCpus"] as? Int == 0 }, "freeze \(ce): \(scaled)")
        }
        // Teardown may also have happened earlier (the parent's event, condensation start) when moto was idle then.
        let teardown = try #require(try stack.state.get(Schema.teardown))
        #expect((teardown["count"]?.intValue ?? 0) >= 1)
        #expect(teardown["reason"]?.stringValue == "run \(run) condensed")
        // A late duplicate after teardown changes nothing and submits nothing.
        stack.proxy.reset()
        let late = invokeJSON(session, events[0])
        #expect(late["outcome"] as? String == "duplicate")
        #expect(stack.proxy.calls.allSatisfy { $0.service == "dynamodb" }, "\(stack.proxy.calls)")
        #expect(try RunRecord.load(run, state: stack.state)?.status == .done)
    }

    @Test func spotTimeoutCancelsAndReclaimsFallBackToOnDemandForExactlyThoseIndices() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: #"{"pipeline":{"ingest":{"settle_seconds":0},"chunking":{"target_minutes":1,"seconds_per_image":60}}}"#)
        let (run, parent, tags, chunks) = try stack.startRun(camera: "camfb", images: 5)
        #expect(chunks == 5)
        // Chunks 1 and 3 were cancelled by the Spot queue's RUNNABLE time limit; chunk 4 was reclaimed on every one
        // of its in-queue attempts (reclaim_retries 2 → 3 attempts).
        let cancelled: Set<Int> = [1, 3, 4]
        var events = (0..<chunks).map { index in
            batchEvent(jobID: "\(parent):\(index)", jobName: "munin-\(run)-p0", queueARN: stack.spotQueueARN,
                       status: cancelled.contains(index) ? "FAILED" : "SUCCEEDED",
                       reason: index == 4 ? "Host EC2 (instance i-0abc) terminated." : cancelled.contains(index) ? timeoutReason : nil,
                       index: index, tags: tags, attempts: index == 4 ? 3 : 1)
        }
        events += events.prefix(2)
        var generator = SplitMix64(seed: 42)
        events.shuffle(using: &generator)
        stack.proxy.reset()
        let session = try stack.start("job-events")
        for event in events { _ = invokeJSON(session, event) }
        let submits = stack.proxy.calls("submitjob")
        #expect(submits.count == 1, "one On-Demand array job over the cancelled chunks")
        let fallback = try #require(submits.first?.json)
        #expect(fallback["jobQueue"] as? String == stack.onDemandQueue)
        #expect(fallback["shareIdentifier"] as? String == "odin")
        #expect((fallback["arrayProperties"] as? [String: Any])?["size"] as? Int == cancelled.count)
        let fbTags = try #require(fallback["tags"] as? [String: String])
        #expect(fbTags["odin:kind"] == "fallback")
        let environment = (fallback["containerOverrides"] as? [String: Any])?["environment"] as? [[String: String]] ?? []
        let manifestKey = try #require(environment.first { $0["name"] == "ODIN_MANIFEST" }?["value"])
        let manifest = try readManifest(try stack.objects.get(manifestKey))
        #expect(Set(manifest.map(\.index)) == cancelled, "fallback manifest keeps the original chunk indices")

        // The On-Demand children finish: the run completes and condenses once.
        let fbJob = try #require(submits.first?.responseJSON?["jobId"] as? String)
        stack.proxy.reset()
        var condensed = 0
        for position in 0..<cancelled.count {
            let event = batchEvent(jobID: "\(fbJob):\(position)", jobName: "munin-\(run)-fb1",
                                   queueARN: stack.onDemandQueueARN, status: "SUCCEEDED", index: position, tags: fbTags)
            if invokeJSON(session, event)["condensationStarted"] as? Bool == true { condensed += 1 }
        }
        #expect(condensed == 1)
        let counters = try #require(try stack.state.get(Schema.runCounters(run)))
        #expect(counters["succeeded"]?.intValue == Int64(chunks))
        #expect(stack.proxy.calls("submitjob").count == 1, "only the condensation job")
    }

    @Test func malformedBatchEventNamesTheFieldAndCallsNothing() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("job-events")
        let result = session.invoke(Array(#"{"version":"0","detail-type":"Batch Job State Change","source":"aws.batch","detail":{"jobName":"x","status":"SUCCEEDED"}}"#.utf8))
        guard case .error(let type, let body) = result.outcome else {
            Issue.record("expected an error, got \(describe(result.outcome))")
            return
        }
        let text = String(decoding: body, as: UTF8.self)
        #expect(type?.hasSuffix("EventDecodingError") == true, "\(type ?? "")")
        #expect(text.contains("detail.jobId") || text.contains("jobId"), "\(text)")
        #expect(stack.proxy.calls.isEmpty, "\(stack.proxy.calls)")
    }

    @Test func missingVariableFailsInitNamingIt() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("sweeper", environment: ["ODIN_TABLE": ""])
        let result = session.invoke(Array(#"{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}"#.utf8))
        if case .response = result.outcome { Issue.record("sweeper ran without ODIN_TABLE") }
        let initError = String(decoding: session.emulator.initError?.body ?? [], as: UTF8.self)
        #expect(initError.contains("ODIN_TABLE"), "\(initError)")
        #expect(stack.proxy.calls.isEmpty)
    }

    /// The profile is still read at init (ConfigValue.parseJSON without Codable, since issue 17): a bad
    /// ODIN_PROFILE_JSON is an init error naming the key, posted to /runtime/init/error before any AWS call.
    @Test func badProfileFailsInitNamingTheKey() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        for (json, expected) in [(#"{"budget":{"amount":-1}}"#, "ODIN_PROFILE_JSON.budget.amount"),
                                 (#"{"budget":"#, "not valid JSON")] {
            let session = try stack.start("sweeper", environment: ["ODIN_PROFILE_JSON": json])
            let result = session.invoke(Array(#"{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}"#.utf8))
            if case .response = result.outcome { Issue.record("sweeper ran with ODIN_PROFILE_JSON=\(json)") }
            let initError = String(decoding: session.emulator.initError?.body ?? [], as: UTF8.self)
            #expect(initError.contains(expected), "\(initError)")
            #expect(initError.contains("ODIN_PROFILE_JSON"), "\(initError)")
        }
        #expect(stack.proxy.calls.isEmpty)
    }
}

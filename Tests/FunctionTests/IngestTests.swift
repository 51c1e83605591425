import AWS
import Foundation
import Odin
import OdinAWS
import OdinKit
import Testing
import RuntimeEmulator
import TestSupport

/// S3 ObjectCreated records for `keys` (direct S3 notification shape).
func s3Event(bucket: String, keys: [(key: String, size: Int, eTag: String)]) -> String {
    let records = keys.map { object in
        """
        {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-06-14T05:31:02.417Z",\
        "eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"odin-ingest",\
        "bucket":{"name":"\(bucket)","arn":"arn:aws:s3:::\(bucket)"},\
        "object":{"key":"\(object.key)","size":\(object.size),"eTag":"\(object.eTag)","sequencer":"00"}}}
        """
    }
    return "{\"Records\":[\(records.joined(separator: ","))]}"
}

/// Settle at once and cut runs into chunks of two images, so small bursts give several chunks.
let smallChunksProfile = #"{"pipeline":{"ingest":{"settle_seconds":0},"chunking":{"target_minutes":2,"seconds_per_image":60}}}"#

@Suite(.serialized, .requires(.venv, .contractChecker)) struct IngestFunctionTests {
    @Test func uploadBurstWithDuplicatesGivesExactlyTheExpectedJobsAndManifests() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        func image(_ camera: String, _ n: Int) -> (key: String, size: Int, eTag: String) {
            ("raw/\(camera)/DCIM/IMG+\(n).JPG", 1000 + n, String(format: "%032x", n + (camera == "cam01" ? 0 : 100)))
        }
        let first = (1...3).map { image("cam01", $0) }
        let second = [image("cam01", 2), image("cam01", 3), image("cam01", 4), image("cam01", 5)]
            + (1...3).map { image("cam02", $0) }
        let third = first + second
        let session = try stack.start("ingest")
        let r1 = invokeJSON(session, s3Event(bucket: stack.bucket, keys: first))
        let r2 = invokeJSON(session, s3Event(bucket: stack.bucket, keys: second))
        let r3 = invokeJSON(session, s3Event(bucket: stack.bucket, keys: third))
        #expect(r1["accepted"] as? Int == 3 && r1["duplicates"] as? Int == 0)
        #expect(r2["accepted"] as? Int == 5 && r2["duplicates"] as? Int == 2)
        #expect(r3["accepted"] as? Int == 0 && r3["duplicates"] as? Int == 10)
        let runs = ((r1["runsStarted"] as? [String]) ?? []) + ((r2["runsStarted"] as? [String]) ?? [])
            + ((r3["runsStarted"] as? [String]) ?? [])
        #expect(runs.count == 3, "one run per camera window: \(runs)")

        // Exactly one SubmitJob per run, on the Spot queue, with the fair-share fields the queues require.
        let submits = stack.proxy.calls("submitjob").compactMap(\.json)
        #expect(submits.count == 3)
        var sizes: [String: Int] = [:]
        for submit in submits {
            #expect(submit["jobQueue"] as? String == stack.spotQueue)
            #expect(submit["jobDefinition"] as? String == stack.workerDefinition)
            #expect(submit["shareIdentifier"] as? String == "odin")
            #expect(submit["schedulingPriorityOverride"] as? Int == 200)
            #expect(submit["propagateTags"] as? Bool == true)
            let tags = submit["tags"] as? [String: String] ?? [:]
            #expect(tags["odin:stage"] == "test")
            let run = try #require(tags["odin:run"])
            sizes[run] = (submit["arrayProperties"] as? [String: Any])?["size"] as? Int ?? 1
        }
        #expect(Set(sizes.keys) == Set(runs))
        #expect(sizes.values.sorted() == [1, 2, 2], "3 images → 2 chunks, 2 → 1, 3 → 2: \(sizes)")

        // The manifests hold every unique upload exactly once.
        var seen: [String] = []
        for run in runs {
            let record = try #require(try RunRecord.load(run, state: stack.state))
            let chunks = try readManifest(try stack.objects.get(record.manifestKey))
            #expect(chunks.count == sizes[run])
            #expect(chunks.map(\.index) == Array(0..<chunks.count))
            seen += chunks.flatMap { $0.items.map(\.key) }
        }
        let unique = Set((first + second).map { $0.key.replacingOccurrences(of: "+", with: " ") })
        #expect(seen.count == unique.count && Set(seen) == unique, "\(seen.sorted())")

        // Capacity opened through the port: maxvCpus raised to the paced cap (moto keeps 4, so it is re-sent).
        let updates = stack.proxy.calls("updatecomputeenvironment").compactMap(\.json)
        #expect(updates.contains { ($0["computeResources"] as? [String: Any])?["maxvCpus"] as? Int == 100 })
        #expect(!updates.contains { ($0["computeResources"] as? [String: Any])?["desiredvCpus"] != nil })
    }

    @Test func burstOverManyInvocationsGivesABoundedNumberOfRunsAndSubmissions() throws {
        guard let moto = FunctionMoto.require() else { return }
        let profile = #"{"pipeline":{"ingest":{"settle_seconds":3600,"max_wait_seconds":3600,"max_objects_per_run":200},"chunking":{"target_minutes":5,"seconds_per_image":3}}}"#
        let stack = try TestStack(moto, profileJSON: profile)
        let session = try stack.start("ingest")
        let all = (0..<500).map { ("raw/camburst/DCIM/IMG_\($0).JPG", 3000 + $0, String(format: "%032x", 7000 + $0)) }
        var runs: [String] = []
        var duplicates = 0
        for batch in 0..<10 {
            // 50 new uploads per invocation, plus 10 re-deliveries of the previous invocation's records.
            let records = Array(all[(batch * 50)..<(batch * 50 + 50)]) + (batch > 0 ? Array(all[(batch * 50 - 10)..<(batch * 50)]) : [])
            let result = invokeJSON(session, s3Event(bucket: stack.bucket, keys: records))
            runs += result["runsStarted"] as? [String] ?? []
            duplicates += result["duplicates"] as? Int ?? 0
        }
        #expect(duplicates == 90)
        #expect(runs.count == 2, "sealed at 200 and 400 objects: \(runs)")
        #expect(stack.proxy.calls("submitjob").filter { $0.status == 200 }.count == 2, "one SubmitJob per run, not per object")
        var keys: [String] = []
        for run in runs {
            let record = try #require(try RunRecord.load(run, state: stack.state))
            keys += try readManifest(try stack.objects.get(record.manifestKey)).flatMap { $0.items.map(\.key) }
        }
        #expect(keys.count == 400 && Set(keys).count == 400)
        // The rest waits in its collecting window for the settle time (the sweeper seals it).
        #expect(try stack.state.query(partition: Schema.pendingPartition(camera: "camburst"), sortPrefix: "").count == 100)
    }

    @Test func throttledSubmitJobAndCounterWritesAreRetriedWithoutDoubleSubmission() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        stack.proxy.throttle("submitjob", times: 2)
        stack.proxy.throttle("UpdateItem", times: 2)
        let session = try stack.start("ingest")
        let keys = (1...4).map { ("raw/camth/IMG_\($0).JPG", 1000 + $0, String(format: "%032x", $0)) }
        let result = invokeJSON(session, s3Event(bucket: stack.bucket, keys: keys))
        #expect(result["accepted"] as? Int == 4)
        let run = try #require((result["runsStarted"] as? [String])?.first)
        let submits = stack.proxy.calls("submitjob")
        #expect(submits.map(\.status) == [429, 429, 200], "retried after throttling: \(submits)")
        #expect(stack.proxy.calls("UpdateItem").prefix(3).map(\.status) == [429, 429, 200])
        let jobs = try ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"].flatMap {
            try stack.client.listAllJobs(.init(jobQueue: stack.spotQueue, jobStatus: $0))
        }
        // moto lists array children (`<parent>:<index>`) next to their parent; count parents.
        let parents = Set(jobs.map(\.jobId).filter { !$0.contains(":") })
        #expect(parents.count == 1, "exactly one job in Batch: \(jobs.map(\.jobId))")
        let record = try #require(try RunRecord.load(run, state: stack.state))
        #expect(record.jobs.count == 1 && record.chunkCount == 2)
    }

    /// `odin run --priority`: the camera's request in S3 reaches SubmitJob as `schedulingPriorityOverride`, for the
    /// chunk job and for the On-Demand fallback job-events submits; no request (or an expired one) gives the
    /// function's ODIN_PRIORITY; a missing request is found by listing, never by a GET that IAM would answer 403.
    @Test func priorityRequestsReachEverySubmissionOfTheRun() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: #"{"pipeline":{"ingest":{"settle_seconds":0},"chunking":{"target_minutes":1,"seconds_per_image":60}}}"#)
        let now = Int64(Date().timeIntervalSince1970)
        try PriorityRequest.write(.high, cameras: ["camhi"], now: now, validFor: 3600, to: stack.objects)
        try PriorityRequest.write(.low, cameras: ["camlo"], now: now, validFor: 3600, to: stack.objects)
        try PriorityRequest.write(.high, cameras: ["camold"], now: now - 7200, validFor: 3600, to: stack.objects)
        let cameras = ["camhi", "camlo", "camold", "camnone"]
        let keys = cameras.enumerated().flatMap { position, camera in
            (1...2).map { ("raw/\(camera)/IMG_\($0).JPG", 1000 + $0, String(format: "%032x", position * 10 + $0)) }
        }
        let session = try stack.start("ingest")
        let result = invokeJSON(session, s3Event(bucket: stack.bucket, keys: keys))
        #expect((result["runsStarted"] as? [String])?.count == 4)
        var runOf: [String: String] = [:]
        var submitOf: [String: RecordingProxy.Call] = [:]
        for submit in stack.proxy.calls("submitjob") {
            let run = try #require((submit.json?["tags"] as? [String: String])?["odin:run"])
            let record = try #require(try RunRecord.load(run, state: stack.state))
            runOf[record.cameraID] = run
            submitOf[record.cameraID] = submit
        }
        #expect(submitOf["camhi"]?.json?["schedulingPriorityOverride"] as? Int == 300)
        #expect(submitOf["camlo"]?.json?["schedulingPriorityOverride"] as? Int == 100)
        #expect(submitOf["camold"]?.json?["schedulingPriorityOverride"] as? Int == 200, "expired request")
        #expect(submitOf["camnone"]?.json?["schedulingPriorityOverride"] as? Int == 200, "no request")
        #expect(try RunRecord.load(try #require(runOf["camhi"]), state: stack.state)?.priority == .high)
        let gets = stack.proxy.calls("S3 GET").map(\.path).filter { $0.contains("/control/priority/") }
        #expect(Set(gets) == Set(["camhi", "camlo", "camold"].map { "/\(stack.bucket)/control/priority/\($0).json" }),
                "\(gets)")

        // The high run's chunk 1 is cancelled by the Spot RUNNABLE limit: the fallback goes out at 300 too.
        let run = try #require(runOf["camhi"])
        let submit = try #require(submitOf["camhi"])
        let parent = try #require(submit.responseJSON?["jobId"] as? String)
        let tags = try #require(submit.json?["tags"] as? [String: String])
        stack.proxy.reset()
        let events = try stack.start("job-events")
        for index in 0..<2 {
            _ = invokeJSON(events, batchEvent(jobID: "\(parent):\(index)", jobName: "munin-\(run)-p0",
                                              queueARN: stack.spotQueueARN, status: index == 1 ? "FAILED" : "SUCCEEDED",
                                              reason: index == 1 ? timeoutReason : nil, index: index, tags: tags))
        }
        let fallback = try #require(stack.proxy.calls("submitjob").first?.json)
        #expect(fallback["jobQueue"] as? String == stack.onDemandQueue)
        #expect(fallback["schedulingPriorityOverride"] as? Int == 300)
    }

    @Test(arguments: ["s3-put.json", "sqs-s3.json", "eventbridge-s3.json"])
    func everyEnvelopeStartsARun(fixture: String) throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let session = try stack.start("ingest")
        // The samples name the production bucket; an object of another bucket than the deployment's is refused.
        let sample = try String(contentsOfFile: TestEnvironment.packageRoot + "/events/" + fixture, encoding: .utf8)
        let refused = invokeJSON(session, sample)
        #expect(refused["accepted"] as? Int == 0 && (refused["skippedCount"] as? Int ?? 0) >= 1, "\(refused)")
        let event = sample.replacingOccurrences(of: "odin-prod-data-123456789012", with: stack.bucket)
        let result = invokeJSON(session, event)
        #expect((result["accepted"] as? Int ?? 0) >= 1, "\(result)")
        let runs = result["runsStarted"] as? [String] ?? []
        #expect(!runs.isEmpty, "one run per camera in the event")
        #expect(stack.proxy.calls("submitjob").count == runs.count)
    }

    @Test func s3TestEventIsAcknowledgedWithoutCalls() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("ingest")
        let event = try String(contentsOfFile: TestEnvironment.packageRoot + "/events/s3-test-event.json", encoding: .utf8)
        let result = invokeJSON(session, event)
        #expect(result["testEvents"] as? Int == 1)
        #expect(!stack.proxy.calls.contains { $0.service != "dynamodb" }, "\(stack.proxy.calls)")
    }

    @Test func malformedS3EventNamesTheFieldAndCallsNothing() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let session = try stack.start("ingest")
        let result = session.invoke(Array(#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}"#.utf8))
        guard case .error(_, let body) = result.outcome else {
            Issue.record("expected an error, got \(describe(result.outcome))")
            return
        }
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("object"), "\(text)")
        #expect(stack.proxy.calls.isEmpty, "\(stack.proxy.calls)")
    }
}

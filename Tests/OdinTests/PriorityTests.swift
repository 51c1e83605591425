import Events
import FoundationEssentials
@testable import Odin
import OdinKit
import OdinLocal
import Synchronization
import Testing

/// `odin run --priority`: the per-camera request, the run record, every submission of the run, and the local start
/// order.
@Suite struct PriorityTests {
    @Test func requestIsReadUntilItExpiresAndABadOneIsReportedAndIgnored() throws {
        let harness = try Harness(label: "priority-request")
        let now = harness.services.nowSeconds
        try PriorityRequest.write(.high, cameras: ["cam01", "cam02"], now: now, validFor: 600, to: harness.objects)
        var problems: [String] = []
        #expect(PriorityRequest.current(camera: "cam01", now: now, store: harness.objects) { problems.append($0) } == .high)
        #expect(PriorityRequest.current(camera: "cam01", now: now + 600, store: harness.objects) { problems.append($0) } == nil,
                "expired")
        #expect(PriorityRequest.current(camera: "cam03", now: now, store: harness.objects) { problems.append($0) } == nil,
                "no request")
        #expect(problems.isEmpty)
        // The stored form is what infra/README.md documents.
        let stored = String(decoding: try harness.objects.get("control/priority/cam02.json"), as: UTF8.self)
        #expect(stored == #"{"expires_at":\#(now + 600),"priority":"high","set_at":\#(now),"source":"odin run"}"#)

        _ = try harness.objects.put(PriorityRequest.key(camera: "cam04"), bytes: Array(#"{"priority":"urgent"}"#.utf8))
        #expect(PriorityRequest.current(camera: "cam04", now: now, store: harness.objects) { problems.append($0) } == nil)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("control/priority/cam04.json") == true)
        #expect(problems.first?.contains("odin run --priority") == true)
    }

    @Test func parsesNamesAndNumbers() {
        #expect(RunPriority.schedulingPriority(parsing: "high") == 300)
        #expect(RunPriority.schedulingPriority(parsing: "normal") == 200)
        #expect(RunPriority.schedulingPriority(parsing: "low") == 100)
        #expect(RunPriority.schedulingPriority(parsing: "9999") == 9999)
        #expect(RunPriority.schedulingPriority(parsing: "10000") == nil)
        #expect(RunPriority.schedulingPriority(parsing: "urgent") == nil)
    }

    /// Each camera's run carries its request; the chunk job, the On-Demand fallback and condensation all get it.
    @Test func sealedRunCarriesThePriorityToEverySubmission() throws {
        var profile = Profile()
        profile.chunking.secondsPerImage = 300  // one image per chunk
        let harness = try Harness(profile: profile, label: "priority-seal")
        let now = harness.services.nowSeconds
        try PriorityRequest.write(.high, cameras: ["camhi"], now: now, validFor: 3600, to: harness.objects)
        try PriorityRequest.write(.low, cameras: ["camlo"], now: now, validFor: 3600, to: harness.objects)
        _ = try harness.ingest(["raw/camhi/A.JPG", "raw/camhi/B.JPG", "raw/camlo/A.JPG", "raw/camnone/A.JPG"])
        harness.clock.advance(seconds: 61)
        let sealed = try harness.sweep().runsSealed
        #expect(sealed.count == 3)
        var byCamera: [String: RunRecord] = [:]
        for run in try harness.runs() { byCamera[run.cameraID] = run }
        #expect(byCamera["camhi"]?.priority == .high)
        #expect(byCamera["camlo"]?.priority == .low)
        #expect(byCamera["camnone"]?.priority == nil)
        func submission(_ camera: String) -> JobSubmission? {
            harness.compute.submissions.first { $0.tags[JobTags.run] == byCamera[camera]?.runID }
        }
        #expect(submission("camhi")?.priority == .high)
        #expect(submission("camlo")?.priority == .low)
        #expect(submission("camnone").map { $0.priority == nil } == true)

        // Chunk 1 of the high run is cancelled by the Spot RUNNABLE limit: its fallback keeps the priority.
        let high = try #require(byCamera["camhi"])
        let events = JobEventsTests.finish(harness, job: high.jobs[0].jobID) { index in
            index == 1 ? (.failed, JobEventsTests.timeout) : (.succeeded, nil)
        }
        try JobEventsTests.deliver(events, to: harness, seed: nil)
        let fallback = try #require(harness.compute.submissions.first { $0.queue == profile.compute.onDemandQueue })
        #expect(fallback.priority == .high)
        let record = try #require(try RunRecord.load(high.runID, state: harness.state))
        let fallbackJob = try #require(record.jobs.first { $0.kind == "fallback" })
        try JobEventsTests.deliver(JobEventsTests.finish(harness, job: fallbackJob.jobID) { _ in (.succeeded, nil) },
                                   to: harness, seed: nil)
        #expect(harness.condensations.all.first { $0.runID == high.runID }?.priority == .high)
    }

    @Test func condensationJobIsSubmittedWithTheRunsPriority() throws {
        let harness = try Harness(label: "priority-condense")
        let condensation = BatchCondensation(compute: harness.compute, profile: harness.services.profile)
        var request = CondensationRequest(runID: "r1", chunkCount: 50, succeededChunks: 50, failedChunks: [],
                                          manifestKey: "runs/r1/manifest.jsonl.gz", stage1Prefix: "runs/r1/stage1/",
                                          stage3Prefix: "runs/r1/stage3/")
        request.priority = .low
        _ = try condensation.startCondensation(request)
        #expect(harness.compute.submissions.last?.priority == .low)
    }

    /// With one slot, waiting work starts highest priority first, then in submission order.
    @Test func localComputeStartsWaitingJobsHighestPriorityFirst() throws {
        let root = try makeTempDirectory("priority-order")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var profile = Profile()
        profile.costOptimization.maxParallelJobs = 1
        let log = root + "/started"
        let compute = LocalCompute(configuration: .init(
            profile: profile,
            runner: .command(["/bin/sh", "-c", "echo \"$ODIN_RUN_ID\" >> \"$LOG\""],
                             environment: ["LOG": log, "PATH": "/usr/bin:/bin"], logDirectory: nil)))
        // Submitted while the compute environment has no capacity, so all of them wait.
        for (run, priority, size) in [("low", RunPriority.low, 2), ("default", nil, 1), ("high", .high, 2),
                                      ("normal", .normal, 1), ("high2", .high, 1)] {
            _ = try compute.submitJob(JobSubmission(
                name: run, queue: profile.compute.spotQueue, jobDefinition: "worker", arraySize: size,
                environment: ["ODIN_RUN_ID": run], tags: [:], priority: priority))
        }
        try compute.updateComputeEnvironment(profile.compute.spotComputeEnvironment, .init(maxvCpus: 4))
        #expect(compute.waitUntilQuiescent(timeoutSeconds: 60))
        let started = String(decoding: try #require(FileManager.default.contents(atPath: log)), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        #expect(started == ["high", "high", "high2", "default", "normal", "low", "low"])
        // Listing keeps submission order.
        #expect(compute.allJobs().filter { $0.arrayProperties?.size != nil }.map(\.jobName) == ["low", "high"])
    }
}

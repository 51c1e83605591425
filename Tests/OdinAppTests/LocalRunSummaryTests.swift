import Events
import Foundation
import Odin
import OdinApp
import OdinKit
import OdinLocal
import Testing

/// The local run's typed summary (what `odin run --local --json`, `odin demo --json` and `odin resume --local
/// --json` print), checked at the library: its JSON keys, the counters it reads (`Schema.runCounters`) and the
/// Batch reasons it classifies by (`StatusReasons`).
@Suite struct LocalRunSummaryTests {
    static let spot = "odin-spot", onDemand = "odin-on-demand"

    static func child(_ parent: String, _ index: Int, queue: String, status: BatchJobStatus, reason: String? = nil,
                      attempts: [String?] = [], stoppedAt: Int64? = nil, kind: String = "chunks") -> BatchJobDetail {
        BatchJobDetail(jobName: "munin-\(parent)", jobId: "\(parent):\(index)", jobQueue: queue, status: status,
                       statusReason: reason, attempts: attempts.map { BatchJobDetail.Attempt(statusReason: $0) },
                       stoppedAt: stoppedAt, arrayProperties: .init(index: index), tags: [JobTags.kind: kind])
    }

    @Test func chunksAreCountedByTheReasonsBatchGives() {
        let reclaim = StatusReasons.reclaimPrefix + " (instance i-0abc) terminated."
        let noCapacity = StatusReasons.runnableTimeoutPrefix + " due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
        let jobs = [
            // On Spot after one reclaim; on On-Demand after the fallback.
            Self.child("p1", 0, queue: Self.spot, status: .succeeded, attempts: [reclaim, nil], stoppedAt: 2_000),
            Self.child("p2", 0, queue: "arn:aws:batch:eu-north-1:1:job-queue/" + Self.onDemand, status: .succeeded,
                       attempts: [nil], stoppedAt: 5_000),
            // Canceled RUNNABLE without Spot capacity, and reclaimed on its last attempt.
            Self.child("p1", 1, queue: Self.spot, status: .failed, reason: noCapacity),
            Self.child("p1", 2, queue: Self.spot, status: .failed, reason: reclaim, attempts: [reclaim, reclaim],
                       stoppedAt: 3_000),
            // Neither a chunk (condensation) nor a child (an array parent): not counted.
            Self.child("c1", 0, queue: Self.spot, status: .succeeded, attempts: [reclaim], stoppedAt: 9_000,
                       kind: "condense"),
            BatchJobDetail(jobName: "munin-p1", jobId: "p1", jobQueue: Self.spot, status: .failed,
                           arrayProperties: .init(size: 3)),
        ]
        let counted = LocalRunSummary.Chunks.count(jobs, spotQueue: Self.spot, failedChunks: 1)
        #expect(counted.chunks == LocalRunSummary.Chunks(spot: 1, onDemand: 1, failed: 1, spotReclaims: 3,
                                                         spotRunnableTimeouts: 1, spotReclaimedTooOften: 1))
        #expect(counted.jobs.map(\.jobID) == ["p1:0", "p2:0", "p1:1", "p1:2"])
        #expect(counted.jobs[2].reason == noCapacity)
        #expect(counted.lastStopMillis == 5_000)
        // Reasons other than Batch's are no reclaim and no capacity timeout.
        let other = Self.child("p3", 0, queue: Self.spot, status: .failed, reason: "Essential container exited",
                               attempts: ["Essential container exited"])
        #expect(LocalRunSummary.Chunks.count([other], spotQueue: Self.spot, failedChunks: 0).chunks
                == LocalRunSummary.Chunks())
    }

    @Test func costIsReadFromTheRunsCounters() throws {
        let state = InMemoryStateStore()
        _ = try state.add(Schema.runCounters("r1"), counters: ["vcpuMsSpot": 7_200_000, "vcpuMsOnDemand": 3_600_000],
                          set: [:])
        _ = try state.add(Schema.runCounters("r2"), counters: ["vcpuMsSpot": 3_600_000], set: [:])
        // Another run's counters are not this summary's.
        _ = try state.add(Schema.runCounters("r3"), counters: ["vcpuMsOnDemand": 99_000_000], set: [:])
        let profile = Profile()
        let cost = try LocalRunSummary.Cost.measured(runs: ["r1", "r2", "missing"], state: state, profile: profile)
        #expect(cost.vcpuHoursSpot == 3 && cost.vcpuHoursOnDemand == 1)
        let spot = profile.pricePerVcpuHour(spot: true), onDemand = profile.pricePerVcpuHour(spot: false)
        #expect(cost.pricePerVcpuHourSpot == spot && cost.pricePerVcpuHourOnDemand == onDemand)
        #expect(abs(cost.estimate - (3 * spot + onDemand)) < 1e-12)
        #expect(abs(cost.allOnDemand - 4 * onDemand) < 1e-12)
        #expect(abs(cost.savings - (cost.allOnDemand - cost.estimate)) < 1e-12)
        #expect(cost.label.hasPrefix("ESTIMATE: ") && cost.currency == profile.prices.currency)
    }

    static func sample() -> LocalRunSummary {
        var summary = LocalRunSummary(estimatedAWSCost: .init(
            label: "ESTIMATE: x", currency: "USD", vcpuHoursSpot: 0.5, vcpuHoursOnDemand: 0.25,
            pricePerVcpuHourSpot: 0.1, pricePerVcpuHourOnDemand: 0.3, estimate: 0.125, allOnDemand: 0.225,
            savings: 0.1))
        summary.runs = [.init(runID: "cam01-20260601-053000", cameraID: "cam01", status: "done", objects: 6, chunks: 2,
                              failedChunks: [1], stage1Records: 6, detections: 9, stage3Dir: "/s/runs/r/stage3",
                              priority: "default", visits: 2, reportHTML: "/s/runs/r/stage3/report.html")]
        summary.files = 6
        summary.detections = 9
        summary.sites = 1
        summary.visits = 2
        summary.chunks = .init(spot: 1, onDemand: 1, failed: 1, spotReclaims: 2, spotRunnableTimeouts: 1,
                               spotReclaimedTooOften: 0)
        summary.teardown = .init(recorded: true, at: "2026-06-01T05:31:00Z", reason: "idle", secondsAfterLastJob: 3)
        summary.jobs = [.init(jobID: "p1:0", queue: "odin-spot", status: "SUCCEEDED", attempts: 2, reason: "")]
        summary.wallSeconds = 12.3
        summary.continuedRuns = []
        summary.ingest = .init(accepted: 6, duplicates: 0, skipped: 0, runsStarted: ["cam01-20260601-053000"])
        summary.completed = true
        summary.nothingRunning = true
        return summary
    }

    @Test func jsonKeepsTheKeysTheCommandsPrintedAndRoundTrips() throws {
        let summary = Self.sample()
        let data = try JSONEncoder().encode(summary)
        #expect(try JSONDecoder().decode(LocalRunSummary.self, from: data) == summary)
        let object = try summary.jsonObject()
        #expect(Set(object.keys) == ["runs", "files", "detections", "sites", "visits", "visits_needing_review",
                                     "chunks", "teardown", "jobs", "condensation_failures", "wall_seconds",
                                     "estimated_aws_cost", "continued_runs", "ingest", "completed", "nothing_running"])
        #expect(Set((object["chunks"] as? [String: Int] ?? [:]).keys)
                == ["spot", "on_demand", "failed", "spot_reclaims", "spot_runnable_timeouts", "spot_reclaimed_too_often"])
        let run = try #require((object["runs"] as? [[String: Any]])?.first)
        #expect(Set(run.keys) == ["run_id", "camera_id", "status", "objects", "chunks", "failed_chunks",
                                  "stage1_records", "detections", "stage3_dir", "priority", "visits", "report_html"])
        #expect(Set((object["estimated_aws_cost"] as? [String: Any] ?? [:]).keys)
                == ["label", "currency", "vcpu_hours_spot", "vcpu_hours_on_demand", "price_per_vcpu_hour_spot",
                    "price_per_vcpu_hour_on_demand", "estimate", "all_on_demand", "savings"])
        #expect((object["teardown"] as? [String: Any])?["seconds_after_last_job"] as? Double == 3)
        #expect((object["ingest"] as? [String: Any])?["runs_started"] as? [String] == ["cam01-20260601-053000"])
        // A run without a Stage 3 report, and a teardown not recorded, leave their keys out.
        var bare = summary
        bare.runs[0].visits = nil
        bare.runs[0].reportHTML = nil
        bare.teardown = .init()
        let bareObject = try bare.jsonObject()
        #expect((bareObject["runs"] as? [[String: Any]])?.first?["visits"] == nil)
        #expect((bareObject["teardown"] as? [String: Any])?.keys.sorted() == ["recorded"])
    }

    @Test func textNamesEveryCount() {
        let text = Self.sample().render()
        #expect(text.contains("Files: 6   detections: 9   sites: 1   visits: 2 (0 need review)"))
        #expect(text.contains("Chunks: 1 on Spot, 1 on On-Demand, 1 failed for good"))
        #expect(text.contains("Spot faults: 2 reclaims; 0 children reclaimed too often and 1 timed out RUNNABLE"))
        #expect(text.contains("Teardown: recorded at 2026-06-01T05:31:00Z (idle), 3 s after the last job stopped"))
        #expect(text.contains("Cost on AWS: 0.125000 USD (all On-Demand: 0.225000 USD, saved 0.100000 USD)"))
        #expect(text.contains("Run cam01-20260601-053000 (camera cam01): done, 2 chunks, 2 visits"))
        #expect(text.hasSuffix("Wall time: 12.3 s"))
    }
}

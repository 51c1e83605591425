import Events
import Foundation
import Hugin
import Odin
import OdinBasics
import OdinKit

/// What a local run did, measured (`odin run --local`, `odin demo`, `odin resume --local`, `odin batch process`):
/// files, detections, sites, visits, chunks per queue, teardown, the estimated AWS cost. Its JSON (snake_case keys)
/// is what `--json` prints.
package struct LocalRunSummary: Codable, Sendable, Equatable {
    package struct Run: Codable, Sendable, Equatable {
        package var runID: String
        package var cameraID: String
        package var status: String
        package var objects: Int
        package var chunks: Int
        package var failedChunks: [Int]
        package var stage1Records: Int
        package var detections: Int
        package var stage3Dir: String
        /// The run's priority (`default`: none requested).
        package var priority: String
        /// From the run's Stage 3 report, when there is one.
        package var visits: Int?
        package var reportHTML: String?

        enum CodingKeys: String, CodingKey {
            case runID = "run_id", cameraID = "camera_id", status, objects, chunks, failedChunks = "failed_chunks"
            case stage1Records = "stage1_records", detections, stage3Dir = "stage3_dir", priority, visits
            case reportHTML = "report_html"
        }

        package init(runID: String, cameraID: String, status: String, objects: Int, chunks: Int, failedChunks: [Int],
                     stage1Records: Int, detections: Int, stage3Dir: String, priority: String, visits: Int? = nil,
                     reportHTML: String? = nil) {
            (self.runID, self.cameraID, self.status, self.objects, self.chunks) = (runID, cameraID, status, objects, chunks)
            (self.failedChunks, self.stage1Records, self.detections) = (failedChunks, stage1Records, detections)
            (self.stage3Dir, self.priority, self.visits, self.reportHTML) = (stage3Dir, priority, visits, reportHTML)
        }
    }

    /// Chunk jobs per queue and the Spot faults, from the (local) Batch's job records.
    package struct Chunks: Codable, Sendable, Equatable {
        package var spot = 0
        package var onDemand = 0
        /// Chunks the runs gave up on (their records' failed chunks).
        package var failed = 0
        /// Attempts ended by a Spot reclaim (`StatusReasons.reclaimPrefix`).
        package var spotReclaims = 0
        /// Children canceled RUNNABLE without Spot capacity (`StatusReasons.runnableTimeoutPrefix`).
        package var spotRunnableTimeouts = 0
        /// Children that failed on their last reclaim.
        package var spotReclaimedTooOften = 0

        enum CodingKeys: String, CodingKey {
            case spot, onDemand = "on_demand", failed, spotReclaims = "spot_reclaims"
            case spotRunnableTimeouts = "spot_runnable_timeouts", spotReclaimedTooOften = "spot_reclaimed_too_often"
        }

        package init(spot: Int = 0, onDemand: Int = 0, failed: Int = 0, spotReclaims: Int = 0,
                     spotRunnableTimeouts: Int = 0, spotReclaimedTooOften: Int = 0) {
            (self.spot, self.onDemand, self.failed, self.spotReclaims) = (spot, onDemand, failed, spotReclaims)
            (self.spotRunnableTimeouts, self.spotReclaimedTooOften) = (spotRunnableTimeouts, spotReclaimedTooOften)
        }
    }

    package struct Job: Codable, Sendable, Equatable {
        package var jobID: String
        package var queue: String
        package var status: String
        package var attempts: Int
        package var reason: String

        enum CodingKeys: String, CodingKey { case jobID = "job_id", queue, status, attempts, reason }

        package init(jobID: String, queue: String, status: String, attempts: Int, reason: String) {
            (self.jobID, self.queue, self.status, self.attempts, self.reason) = (jobID, queue, status, attempts, reason)
        }
    }

    package struct Teardown: Codable, Sendable, Equatable {
        package var recorded = false
        package var at: String?
        package var reason: String?
        /// Whole seconds between the last job's stop and the teardown record (1 s resolution).
        package var secondsAfterLastJob: Double?

        enum CodingKeys: String, CodingKey {
            case recorded, at, reason, secondsAfterLastJob = "seconds_after_last_job"
        }

        package init(recorded: Bool = false, at: String? = nil, reason: String? = nil,
                     secondsAfterLastJob: Double? = nil) {
            (self.recorded, self.at, self.reason, self.secondsAfterLastJob) = (recorded, at, reason, secondsAfterLastJob)
        }
    }

    /// Measured vCPU time × the profile's prices: an estimate, labelled as one.
    package struct Cost: Codable, Sendable, Equatable {
        package var label: String
        package var currency: String
        package var vcpuHoursSpot: Double
        package var vcpuHoursOnDemand: Double
        package var pricePerVcpuHourSpot: Double
        package var pricePerVcpuHourOnDemand: Double
        package var estimate: Double
        package var allOnDemand: Double
        package var savings: Double

        enum CodingKeys: String, CodingKey {
            case label, currency, vcpuHoursSpot = "vcpu_hours_spot", vcpuHoursOnDemand = "vcpu_hours_on_demand"
            case pricePerVcpuHourSpot = "price_per_vcpu_hour_spot"
            case pricePerVcpuHourOnDemand = "price_per_vcpu_hour_on_demand"
            case estimate, allOnDemand = "all_on_demand", savings
        }

        package init(label: String, currency: String, vcpuHoursSpot: Double, vcpuHoursOnDemand: Double,
                     pricePerVcpuHourSpot: Double, pricePerVcpuHourOnDemand: Double, estimate: Double,
                     allOnDemand: Double, savings: Double) {
            (self.label, self.currency, self.vcpuHoursSpot, self.vcpuHoursOnDemand) =
                (label, currency, vcpuHoursSpot, vcpuHoursOnDemand)
            (self.pricePerVcpuHourSpot, self.pricePerVcpuHourOnDemand) = (pricePerVcpuHourSpot, pricePerVcpuHourOnDemand)
            (self.estimate, self.allOnDemand, self.savings) = (estimate, allOnDemand, savings)
        }
    }

    /// What ingest made of the uploads.
    package struct Ingest: Codable, Sendable, Equatable {
        package var accepted: Int
        package var duplicates: Int
        package var skipped: Int
        package var runsStarted: [String]

        enum CodingKeys: String, CodingKey { case accepted, duplicates, skipped, runsStarted = "runs_started" }

        package init(accepted: Int, duplicates: Int, skipped: Int, runsStarted: [String]) {
            (self.accepted, self.duplicates, self.skipped, self.runsStarted) = (accepted, duplicates, skipped, runsStarted)
        }
    }

    package var runs: [Run] = []
    package var files = 0
    package var detections = 0
    package var sites = 0
    package var visits = 0
    package var visitsNeedingReview = 0
    package var chunks = Chunks()
    package var teardown = Teardown()
    package var jobs: [Job] = []
    package var condensationFailures: [String] = []
    package var wallSeconds = 0.0
    package var estimatedAWSCost: Cost
    // Set by the step that ran the pipeline (nil: not part of this summary).
    /// Runs an interrupted earlier run left unfinished, continued by this one.
    package var continuedRuns: [String]?
    package var ingest: Ingest?
    /// Every run finished within the timeout.
    package var completed: Bool?
    /// No job of the local Batch is waiting or running.
    package var nothingRunning: Bool?
    /// Where Stage 3 was copied (`odin run --local`).
    package var localOutput: String?

    enum CodingKeys: String, CodingKey {
        case runs, files, detections, sites, visits, visitsNeedingReview = "visits_needing_review", chunks, teardown
        case jobs, condensationFailures = "condensation_failures", wallSeconds = "wall_seconds"
        case estimatedAWSCost = "estimated_aws_cost", continuedRuns = "continued_runs", ingest, completed
        case nothingRunning = "nothing_running", localOutput = "local_output"
    }

    package init(estimatedAWSCost: Cost) { self.estimatedAWSCost = estimatedAWSCost }
}

extension LocalRunSummary.Chunks {
    /// Counts the chunk jobs (array children and plain jobs; condensation left out) of a Batch's job records: on
    /// which queue each succeeded, how many attempts Spot reclaimed and which children ran out of Spot capacity or
    /// reclaims, by the reasons AWS Batch gives (`StatusReasons`).
    /// - Returns: the counts, one entry per chunk job, and the latest stop (epoch ms, 0 when none stopped).
    package static func count(_ jobs: [BatchJobDetail], spotQueue: String, failedChunks: Int)
        -> (chunks: Self, jobs: [LocalRunSummary.Job], lastStopMillis: Int64)
    {
        var chunks = Self()
        chunks.failed = failedChunks
        var list: [LocalRunSummary.Job] = []
        var lastStop: Int64 = 0
        func reclaimed(_ reason: String?) -> Bool { reason?.hasPrefix(StatusReasons.reclaimPrefix) == true }
        for job in jobs where job.arrayIndex != nil || job.arrayProperties == nil {
            if job.tags?[JobTags.kind] == "condense" { continue }
            list.append(LocalRunSummary.Job(jobID: job.jobId, queue: job.jobQueue, status: job.status.rawValue,
                                            attempts: job.attemptCount, reason: job.statusReason ?? ""))
            chunks.spotReclaims += (job.attempts ?? []).filter { reclaimed($0.statusReason) }.count
            if job.status == .succeeded {
                if job.jobQueue == spotQueue || job.queueName == spotQueue {
                    chunks.spot += 1
                } else {
                    chunks.onDemand += 1
                }
            } else if job.statusReason?.hasPrefix(StatusReasons.runnableTimeoutPrefix) == true {
                chunks.spotRunnableTimeouts += 1
            } else if job.status == .failed && reclaimed(job.statusReason) {
                chunks.spotReclaimedTooOften += 1
            }
            lastStop = max(lastStop, job.stoppedAt ?? 0)
        }
        return (chunks, list, lastStop)
    }
}

extension LocalRunSummary.Cost {
    /// The vCPU time the job events charged to `runs` (their `Schema.runCounters` items) at the profile's prices.
    package static func measured(runs: [String], state: any StateStore, profile: Profile) throws -> Self {
        var spotMs: Int64 = 0, onDemandMs: Int64 = 0
        for run in runs {
            guard let counters = try state.get(Schema.runCounters(run)) else { continue }
            spotMs += counters["vcpuMsSpot"]?.intValue ?? 0
            onDemandMs += counters["vcpuMsOnDemand"]?.intValue ?? 0
        }
        let spotPrice = profile.pricePerVcpuHour(spot: true)
        let onDemandPrice = profile.pricePerVcpuHour(spot: false)
        let spotHours = Double(spotMs) / 3_600_000, onDemandHours = Double(onDemandMs) / 3_600_000
        let estimate = spotHours * spotPrice + onDemandHours * onDemandPrice
        let allOnDemand = (spotHours + onDemandHours) * onDemandPrice
        return Self(label: "ESTIMATE: measured local vCPU-time of the chunks × the profile's prices for "
                        + "\(profile.compute.instanceTypes[0]) (prices.* in the profile are editable assumptions; "
                        + "not a bill)",
                    currency: profile.prices.currency, vcpuHoursSpot: spotHours, vcpuHoursOnDemand: onDemandHours,
                    pricePerVcpuHourSpot: spotPrice, pricePerVcpuHourOnDemand: onDemandPrice, estimate: estimate,
                    allOnDemand: allOnDemand, savings: allOnDemand - estimate)
    }
}

extension LocalRunSummary {
    /// The summary as text.
    package func render() -> String {
        var lines: [String] = []
        lines.append("Files: \(files)   detections: \(detections)   sites: \(sites)   visits: \(visits) "
                     + "(\(visitsNeedingReview) need review)")
        lines.append("Chunks: \(chunks.spot) on Spot, \(chunks.onDemand) on On-Demand, \(chunks.failed) failed for good")
        lines.append("Spot faults: \(Plural.count(chunks.spotReclaims, "reclaim")); "
                     + "\(Plural.count(chunks.spotReclaimedTooOften, "child", "children")) "
                     + "reclaimed too often and \(chunks.spotRunnableTimeouts) timed out RUNNABLE "
                     + "without Spot capacity → resubmitted to On-Demand")
        if teardown.recorded {
            var text = "Teardown: recorded at \(teardown.at ?? "?") (\(teardown.reason ?? ""))"
            if let seconds = teardown.secondsAfterLastJob {
                text += ", \(Int(seconds)) s after the last job stopped (1 s resolution)"
            }
            lines.append(text)
        } else {
            lines.append("Teardown: NOT recorded")
        }
        let cost = estimatedAWSCost
        func money(_ value: Double) -> String { String(format: "%.6f %@", value, cost.currency) }
        lines.append("Cost on AWS: \(money(cost.estimate)) (all On-Demand: \(money(cost.allOnDemand)), "
                     + "saved \(money(cost.savings))) from "
                     + String(format: "%.4f", cost.vcpuHoursSpot) + " Spot + "
                     + String(format: "%.4f", cost.vcpuHoursOnDemand) + " On-Demand vCPU-h")
        lines.append("  \(cost.label)")
        for run in runs {
            lines.append("Run \(run.runID) (camera \(run.cameraID)): \(run.status), "
                         + "\(Plural.count(run.chunks, "chunk")), \(Plural.count(run.visits ?? 0, "visit"))")
            lines.append("  Stage 3: \(run.stage3Dir)")
            if let html = run.reportHTML { lines.append("  report:  \(html)") }
        }
        for failure in condensationFailures { lines.append("Condensation failed: \(failure)") }
        lines.append("Wall time: \(Self.formatSeconds(wallSeconds)) s")
        return lines.joined(separator: "\n")
    }

    /// Seconds to a tenth, as a Double prints (`12.0`, `3.4`).
    static func formatSeconds(_ value: Double) -> String { "\(value)" }

    /// Tenths of a second between two instants (what the summaries report).
    package static func tenths(from start: Date, to end: Date) -> Double {
        (end.timeIntervalSince(start) * 10).rounded() / 10
    }

}

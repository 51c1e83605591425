import Foundation
import Odin
import OdinBasics
import OdinKit

/// `odin batch`: the seed's batch config, {batch_id "batch-<epoch>", jobs[{name "<job-type>-<n>",
/// parameters{input_path, job_type, gpu_required, priority}, priority}], max_parallel_jobs, created_at}.
package struct BatchConfig {
    package struct Job: Equatable {
        package var inputPath: String
        package var priority: RunPriority

        package init(inputPath: String, priority: RunPriority) {
            self.inputPath = inputPath
            self.priority = priority
        }
    }

    package var batchID: String
    package var jobs: [Job]

    package init(batchID: String, jobs: [Job]) {
        self.batchID = batchID
        self.jobs = jobs
    }

    /// A new config: one job per input path.
    package static func create(inputs: [String], jobType: String, gpu: Bool, priority: RunPriority,
                               maxParallelJobs: Int, clock: any WallClock = SystemClock()) -> [String: Any] {
        let now = clock.now()
        return [
            "batch_id": "batch-\(Int(now.timeIntervalSince1970))",
            "jobs": inputs.enumerated().map { index, path in
                ["name": "\(jobType)-\(index + 1)", "priority": priority.rawValue,
                 "parameters": ["input_path": path, "job_type": jobType, "gpu_required": gpu,
                                "priority": priority.rawValue]] as [String: Any]
            },
            "max_parallel_jobs": maxParallelJobs,
            "created_at": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now.timeIntervalSince1970)),
        ]
    }

    /// Writes `object` as pretty JSON to `path`.
    package static func write(_ object: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw CLIError("--output \(path): cannot write the file")
        }
    }

    /// Reads a config; errors name the file, the job and the field.
    package static func read(_ path: String) throws(CLIError) -> BatchConfig {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let jobs = object["jobs"] as? [[String: Any]] else {
            throw CLIError("--config \(path): not a batch config (a JSON object with a jobs list)")
        }
        var config = BatchConfig(batchID: object["batch_id"] as? String ?? "", jobs: [])
        for (index, job) in jobs.enumerated() {
            let parameters = job["parameters"] as? [String: Any]
            guard let inputPath = parameters?["input_path"] as? String else {
                throw CLIError("--config \(path): jobs[\(index)].parameters.input_path is missing")
            }
            let raw = job["priority"] as? String ?? parameters?["priority"] as? String ?? "normal"
            guard let priority = RunPriority(rawValue: raw) else {
                throw CLIError("--config \(path): jobs[\(index)].priority '\(raw)' must be high, normal or low")
            }
            config.jobs.append(Job(inputPath: inputPath, priority: priority))
        }
        return config
    }

    package var inputs: [String] { jobs.map(\.inputPath) }

    /// A priority request per camera of each job's input (`cameras` of an input path); a camera in two jobs gets
    /// the higher priority.
    package func cameraPriorities(_ cameras: (String) throws -> Set<String>) rethrows -> [String: RunPriority] {
        var priorities: [String: RunPriority] = [:]
        for job in jobs {
            for camera in try cameras(job.inputPath) {
                if let other = priorities[camera], other.schedulingPriority >= job.priority.schedulingPriority { continue }
                priorities[camera] = job.priority
            }
        }
        return priorities
    }

    /// The seed's cost_report from a local run's summary (measured vCPU-time at the profile's prices, labelled).
    package func costReport(summary: LocalRunSummary) -> [String: Any] {
        let runs = summary.runs
        let succeeded = runs.filter { $0.status == "done" }.count
        let cost = summary.estimatedAWSCost
        return [
            "total_jobs": jobs.count, "runs": runs.count, "successful_jobs": succeeded,
            "failed_jobs": runs.count - succeeded,
            "success_rate": runs.isEmpty ? 0 : Double(succeeded) / Double(runs.count),
            "estimated_spot_cost": cost.vcpuHoursSpot * cost.pricePerVcpuHourSpot,
            "estimated_ondemand_cost": cost.allOnDemand,
            "estimated_savings": cost.savings,
            "currency": cost.currency,
            "label": cost.label,
        ]
    }
}

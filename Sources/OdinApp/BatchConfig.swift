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

    /// A config as `odin batch create-config` writes it (the seed's format).
    package struct File: Codable, Sendable, Equatable {
        package struct Job: Codable, Sendable, Equatable {
            package struct Parameters: Codable, Sendable, Equatable {
                package var inputPath: String
                package var jobType: String
                package var gpuRequired: Bool
                package var priority: String

                enum CodingKeys: String, CodingKey {
                    case inputPath = "input_path", jobType = "job_type", gpuRequired = "gpu_required", priority
                }
            }

            package var name: String
            package var priority: String
            package var parameters: Parameters
        }

        package var batchID: String
        package var jobs: [Job]
        package var maxParallelJobs: Int
        package var createdAt: String

        enum CodingKeys: String, CodingKey {
            case batchID = "batch_id", jobs, maxParallelJobs = "max_parallel_jobs", createdAt = "created_at"
        }
    }

    /// A new config: one job per input path.
    package static func create(inputs: [String], jobType: String, gpu: Bool, priority: RunPriority,
                               maxParallelJobs: Int, clock: any WallClock = SystemClock()) -> File {
        let now = clock.now()
        return File(
            batchID: "batch-\(Int(now.timeIntervalSince1970))",
            jobs: inputs.enumerated().map { index, path in
                .init(name: "\(jobType)-\(index + 1)", priority: priority.rawValue,
                      parameters: .init(inputPath: path, jobType: jobType, gpuRequired: gpu, priority: priority.rawValue))
            },
            maxParallelJobs: maxParallelJobs,
            createdAt: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now.timeIntervalSince1970)))
    }

    /// Writes `value` as pretty JSON (sorted keys) to `path`.
    package static func write(_ value: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(value)
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

    /// The seed's cost_report: measured vCPU-time at the profile's prices, labelled as an estimate.
    package struct CostReport: Codable, Sendable, Equatable {
        package var totalJobs: Int
        package var runs: Int
        package var successfulJobs: Int
        package var failedJobs: Int
        package var successRate: Double
        package var estimatedSpotCost: Double
        package var estimatedOnDemandCost: Double
        package var estimatedSavings: Double
        package var currency: String
        package var label: String

        enum CodingKeys: String, CodingKey {
            case totalJobs = "total_jobs", runs, successfulJobs = "successful_jobs", failedJobs = "failed_jobs"
            case successRate = "success_rate", estimatedSpotCost = "estimated_spot_cost"
            case estimatedOnDemandCost = "estimated_ondemand_cost", estimatedSavings = "estimated_savings"
            case currency, label
        }
    }

    /// The cost report of a local run's summary.
    package func costReport(summary: LocalRunSummary) -> CostReport {
        let runs = summary.runs
        let succeeded = runs.filter { $0.status == "done" }.count
        let cost = summary.estimatedAWSCost
        return CostReport(totalJobs: jobs.count, runs: runs.count, successfulJobs: succeeded,
                          failedJobs: runs.count - succeeded,
                          successRate: runs.isEmpty ? 0 : Double(succeeded) / Double(runs.count),
                          estimatedSpotCost: cost.vcpuHoursSpot * cost.pricePerVcpuHourSpot,
                          estimatedOnDemandCost: cost.allOnDemand, estimatedSavings: cost.savings,
                          currency: cost.currency, label: cost.label)
    }

    /// The result file of `odin batch process`: the local run's summary and cost report, or on AWS the upload.
    package struct Result: Codable, Sendable {
        package var batchID: String
        package var config: String
        package var costReport: CostReport?
        package var summary: LocalRunSummary?
        package var uploaded: Int?
        package var skipped: Int?
        package var note: String?

        enum CodingKeys: String, CodingKey {
            case batchID = "batch_id", config, costReport = "cost_report", summary, uploaded, skipped, note
        }

        package init(batchID: String, config: String) {
            self.batchID = batchID
            self.config = config
        }
    }
}

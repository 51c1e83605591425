import AWS
import Foundation
import Odin
import OdinAWS
import OdinKit
import OdinLocal

/// `odin status [RUN]`: queues, compute environments, jobs by state, runs in flight, last teardown, budget state
/// (JSON-shaped, as `--json` prints it).
package enum StatusReport {
    /// The binding, then the local state (--local) or the deployed queues, compute environments and table.
    package static func read(_ context: CommandContext, run runID: String?) throws -> [String: Any] {
        var output: [String: Any] = ["binding": context.local ? "local" : "aws"]
        if context.local {
            output.merge(try LocalStatus.read(root: context.localRoot, run: runID)) { $1 }
        } else {
            output.merge(try aws(context, run: runID)) { $1 }
        }
        return output
    }

    static func aws(_ context: CommandContext, run runID: String?) throws -> [String: Any] {
        let client = try AWSAccess.client(context)
        let deployed = try DeployedNames.resolve(context, client: client)
        let profile = deployed.profile
        do {
            let queues = try client.describeJobQueues(names: profile.queues).map { queue -> [String: Any] in
                var jobs: [String: Int] = [:]
                for status in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"] {
                    jobs[status] = (try? client.listAllJobs(.init(jobQueue: queue.jobQueueName, jobStatus: status)))?.count ?? 0
                }
                return ["name": queue.jobQueueName, "state": queue.state ?? "?", "status": queue.status ?? "?",
                        "jobs": jobs]
            }
            let environments = try client.describeComputeEnvironments(names: profile.computeEnvironments).map {
                ["name": $0.computeEnvironmentName, "state": $0.state ?? "?", "status": $0.status ?? "?",
                 "min_vcpus": $0.computeResources?.minvCpus ?? 0, "max_vcpus": $0.computeResources?.maxvCpus ?? 0,
                 "desired_vcpus": $0.computeResources?.desiredvCpus ?? 0] as [String: Any]
            }
            var output: [String: Any] = ["region": client.configuration.region, "queues": queues,
                                         "compute_environments": environments]
            if let table = deployed.table {
                output.merge(try LocalStatus.read(state: DynamoStateStore(client: client, table: table), run: runID,
                                                  location: "table \(table)")) { $1 }
                output["table"] = table
            } else {
                output["runs_note"] = "runs, teardown and budget state are in the stack's DynamoDB table: pass --stack NAME "
                    + "(or ODIN_STACK, or ODIN_TABLE) to show them"
            }
            return output
        } catch let error as CLIError { throw error } catch {
            throw CLIError("status: \(error)")
        }
    }

    /// The text form of `read`'s output.
    package static func render(_ output: [String: Any]) -> String {
        var lines: [String] = []
        for queue in output["queues"] as? [[String: Any]] ?? [] {
            let jobs = (queue["jobs"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key.lowercased()) \($0.value)" }.joined(separator: ", ")
            lines.append("queue \(queue["name"] ?? ""): \(queue["state"] ?? "") — \(jobs)")
        }
        for ce in output["compute_environments"] as? [[String: Any]] ?? [] {
            lines.append("compute environment \(ce["name"] ?? ""): \(ce["state"] ?? "") min \(ce["min_vcpus"] ?? 0) "
                         + "max \(ce["max_vcpus"] ?? 0) desired \(ce["desired_vcpus"] ?? 0) vCPUs")
        }
        if let note = output["runs_note"] as? String { lines.append(note) }
        let runs = output["runs"] as? [[String: Any]] ?? []
        if output["runs"] != nil {
            lines.append("\(runs.count) run(s) in \(output["root"] ?? output["table"] ?? "")")
        }
        for run in runs {
            lines.append("run \(run["run_id"] ?? "") camera \(run["camera_id"] ?? ""): \(run["status"] ?? "") "
                         + "\(run["chunks_done"] ?? 0)/\(run["chunks"] ?? 0) chunks, priority \(run["priority"] ?? "default")"
                         + ((run["failed_chunks"] as? [Int]).map { $0.isEmpty ? "" : ", failed \($0)" } ?? ""))
        }
        for entry in output["unfinished"] as? [[String: Any]] ?? [] {
            lines.append("unfinished: run \(entry["run_id"] ?? "") (\(entry["status"] ?? "")) — continue with: \(entry["continue_with"] ?? "")")
        }
        if let teardown = output["last_teardown"] as? [String: Any] {
            lines.append("last teardown: \(teardown["at"] ?? "?") (\(teardown["reason"] ?? ""))")
        } else if output["runs"] != nil {
            lines.append("last teardown: none recorded")
        }
        if let budget = output["budget_stop"] as? [String: Any] {
            lines.append("budget stop: \(budget["active"] as? Bool == true ? "ACTIVE (odin resume RUN clears it)" : "not active")")
        }
        for ledger in output["ledger"] as? [[String: Any]] ?? [] {
            func number(_ key: String, _ digits: Int) -> String {
                String(format: "%.\(digits)f", ledger[key] as? Double ?? 0)
            }
            lines.append("ledger \(ledger["month"] ?? ""): ESTIMATE \(number("estimated_cost", 6)) at the profile's prices "
                         + "(\(number("vcpu_hours_spot", 4)) Spot + \(number("vcpu_hours_on_demand", 4)) On-Demand vCPU-h)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Reads the local state folder (runs, progress, teardown, budget stop, ledger).
package enum LocalStatus {
    package static func read(root: String, run: String?) throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: root + "/state") else {
            throw CLIError("no local state in \(root)/state: run `odin run --local …` or `odin demo` first, "
                           + "or pass --local-root")
        }
        var output = try read(state: try LocalStateStore(root: root + "/state"), run: run, location: root + "/state")
        output["root"] = root
        output["unfinished"] = (output["unfinished"] as? [[String: Any]] ?? []).map { entry in
            var entry = entry
            let id = entry["run_id"] as? String ?? ""
            entry["continue_with"] = entry["status"] as? String == RunRecord.Status.stoppedByBudget.rawValue
                ? "odin resume \(id) --local --local-root \(root)"
                : "odin run --local --local-root \(root) <the same inputs> (or: odin resume \(id) --local --local-root \(root))"
            return entry
        }
        return output
    }

    /// Runs, progress, teardown, budget stop and ledger from any state store (local folder or DynamoDB).
    package static func read(state: any StateStore, run: String?, location: String) throws -> [String: Any] {
        var ids = try state.query(partition: Schema.allRunsPartition, sortPrefix: "").map(\.key.sort)
        if let run {
            guard ids.contains(run) else { throw CLIError("run \(run): not found in \(location)") }
            ids = [run]
        }
        var runs: [[String: Any]] = []
        for id in ids.sorted() {
            guard let record = try RunRecord.load(id, state: state) else { continue }
            let done = try state.query(partition: Schema.runPartition(id), sortPrefix: Schema.chunkDonePrefix).count
            var entry: [String: Any] = ["run_id": id, "camera_id": record.cameraID, "status": record.status.rawValue,
                                        "created_at": record.createdAt, "objects": record.objectCount,
                                        "chunks": record.chunkCount, "chunks_done": done,
                                        "failed_chunks": record.failedChunks,
                                        "priority": record.priority?.rawValue ?? "default"]
            if let completed = record.completedAt { entry["completed_at"] = completed }
            if run != nil {
                entry["jobs"] = record.jobs.map { ["job_id": $0.jobID, "kind": $0.kind, "queue": $0.queue, "size": $0.size] }
            }
            runs.append(entry)
        }
        var output: [String: Any] = ["runs": runs]
        if let teardown = try state.get(Schema.teardown) {
            output["last_teardown"] = ["at": teardown["at"]?.stringValue ?? "", "reason": teardown["reason"]?.stringValue ?? "",
                                       "count": teardown["count"]?.intValue ?? 0]
        }
        output["budget_stop"] = ["active": try state.get(Schema.budgetStop)?["active"]?.boolValue ?? false]
        // Runs left unfinished (an interrupted `odin run --local`, a crash) and the command that continues each.
        output["unfinished"] = try state.query(partition: Schema.activeRunsPartition, sortPrefix: "").compactMap { item -> [String: Any]? in
            guard let record = try RunRecord.load(item.key.sort, state: state), record.status != .done else { return nil }
            return ["run_id": record.runID, "status": record.status.rawValue,
                    "continue_with": "odin resume \(record.runID)"]
        }
        output["ledger"] = try state.query(partition: "ledger", sortPrefix: "").map { item -> [String: Any] in
            ["month": item.key.sort,
             "vcpu_hours_spot": Double(item["vcpuMsSpot"]?.intValue ?? 0) / 3_600_000,
             "vcpu_hours_on_demand": Double(item["vcpuMsOnDemand"]?.intValue ?? 0) / 3_600_000,
             "estimated_cost": Double(item["costMicros"]?.intValue ?? 0) / 1_000_000]
        }
        return output
    }
}

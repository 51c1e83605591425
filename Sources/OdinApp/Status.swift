import AWS
import Foundation
import Hugin
import Odin
import OdinAWS
import OdinBasics
import OdinKit
import OdinLocal

/// `odin status [RUN]`: queues, compute environments, jobs by state, runs in flight, last teardown, budget state,
/// as `--json` prints it (the coding keys are the JSON keys; an absent part is an absent key).
package struct StatusReport: Codable, Sendable, Equatable {
    /// A Batch job queue and its jobs per state (SUBMITTED … RUNNING).
    package struct Queue: Codable, Sendable, Equatable {
        package var name: String
        package var state: String
        package var status: String
        package var jobs: [String: Int]

        package init(name: String, state: String, status: String, jobs: [String: Int]) {
            self.name = name
            self.state = state
            self.status = status
            self.jobs = jobs
        }
    }

    /// A Batch compute environment and its vCPU bounds.
    package struct ComputeEnvironment: Codable, Sendable, Equatable {
        package var name: String
        package var state: String
        package var status: String
        package var minVcpus: Int
        package var maxVcpus: Int
        package var desiredVcpus: Int

        enum CodingKeys: String, CodingKey {
            case name, state, status, minVcpus = "min_vcpus", maxVcpus = "max_vcpus", desiredVcpus = "desired_vcpus"
        }

        package init(name: String, state: String, status: String, minVcpus: Int, maxVcpus: Int, desiredVcpus: Int) {
            self.name = name
            self.state = state
            self.status = status
            self.minVcpus = minVcpus
            self.maxVcpus = maxVcpus
            self.desiredVcpus = desiredVcpus
        }
    }

    /// What the state store holds (the local state folder or the stack's DynamoDB table).
    package struct State: Codable, Sendable, Equatable {
        /// A run and its chunk progress.
        package struct Run: Codable, Sendable, Equatable {
            /// One of the run's Batch jobs (with RUN only).
            package struct Job: Codable, Sendable, Equatable {
                package var jobID: String
                package var kind: String
                package var queue: String
                package var size: Int

                enum CodingKeys: String, CodingKey { case jobID = "job_id", kind, queue, size }
            }

            package var runID: String
            package var cameraID: String
            package var status: String
            package var createdAt: String
            package var objects: Int
            package var chunks: Int
            package var chunksDone: Int
            package var failedChunks: [Int]
            /// The run's priority request, "default" when it had none.
            package var priority: String
            package var completedAt: String?
            package var jobs: [Job]?

            enum CodingKeys: String, CodingKey {
                case runID = "run_id", cameraID = "camera_id", status, createdAt = "created_at", objects, chunks
                case chunksDone = "chunks_done", failedChunks = "failed_chunks", priority
                case completedAt = "completed_at", jobs
            }
        }

        /// The last recorded teardown.
        package struct Teardown: Codable, Sendable, Equatable {
            package var at: String
            package var reason: String
            package var count: Int
        }

        package struct BudgetStop: Codable, Sendable, Equatable {
            package var active: Bool
        }

        /// A run left unfinished and the command that continues it.
        package struct Unfinished: Codable, Sendable, Equatable {
            package var runID: String
            package var status: String
            package var continueWith: String

            enum CodingKeys: String, CodingKey { case runID = "run_id", status, continueWith = "continue_with" }
        }

        /// A month of the cost ledger (estimates at the profile's prices).
        package struct LedgerMonth: Codable, Sendable, Equatable {
            package var month: String
            package var vcpuHoursSpot: Double
            package var vcpuHoursOnDemand: Double
            package var estimatedCost: Double

            enum CodingKeys: String, CodingKey {
                case month, vcpuHoursSpot = "vcpu_hours_spot", vcpuHoursOnDemand = "vcpu_hours_on_demand"
                case estimatedCost = "estimated_cost"
            }
        }

        package var runs: [Run]
        package var lastTeardown: Teardown?
        package var budgetStop: BudgetStop
        package var unfinished: [Unfinished]
        package var ledger: [LedgerMonth]

        enum CodingKeys: String, CodingKey {
            case runs, lastTeardown = "last_teardown", budgetStop = "budget_stop", unfinished, ledger
        }
    }

    /// "local" or "aws".
    package var binding: String
    /// AWS: the client's region.
    package var region: String?
    package var queues: [Queue]?
    package var computeEnvironments: [ComputeEnvironment]?
    /// AWS: the stack's DynamoDB table the state was read from.
    package var table: String?
    /// AWS without a table: where runs, teardown and budget state are and how to show them.
    package var runsNote: String?
    /// Local: the local binding's folder.
    package var root: String?
    /// The state store's part (its keys sit beside the others); nil on AWS without a table.
    package var state: State?

    enum CodingKeys: String, CodingKey {
        case binding, region, queues, computeEnvironments = "compute_environments", table, runsNote = "runs_note", root
    }

    package init(binding: String, region: String? = nil, queues: [Queue]? = nil,
                 computeEnvironments: [ComputeEnvironment]? = nil, table: String? = nil, runsNote: String? = nil,
                 root: String? = nil, state: State? = nil) {
        self.binding = binding
        self.region = region
        self.queues = queues
        self.computeEnvironments = computeEnvironments
        self.table = table
        self.runsNote = runsNote
        self.root = root
        self.state = state
    }

    // MARK: - Codable (the state's keys flattened in)

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        binding = try container.decode(String.self, forKey: .binding)
        region = try container.decodeIfPresent(String.self, forKey: .region)
        queues = try container.decodeIfPresent([Queue].self, forKey: .queues)
        computeEnvironments = try container.decodeIfPresent([ComputeEnvironment].self, forKey: .computeEnvironments)
        table = try container.decodeIfPresent(String.self, forKey: .table)
        runsNote = try container.decodeIfPresent(String.self, forKey: .runsNote)
        root = try container.decodeIfPresent(String.self, forKey: .root)
        let stateKeys = try decoder.container(keyedBy: State.CodingKeys.self)
        state = stateKeys.contains(.runs) ? try State(from: decoder) : nil
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(binding, forKey: .binding)
        try container.encodeIfPresent(region, forKey: .region)
        try container.encodeIfPresent(queues, forKey: .queues)
        try container.encodeIfPresent(computeEnvironments, forKey: .computeEnvironments)
        try container.encodeIfPresent(table, forKey: .table)
        try container.encodeIfPresent(runsNote, forKey: .runsNote)
        try container.encodeIfPresent(root, forKey: .root)
        try state?.encode(to: encoder)
    }
}

extension StatusReport {
    /// The binding, then the local state (--local) or the deployed queues, compute environments and table.
    package static func read(_ context: CommandContext, run runID: String?) throws -> StatusReport {
        if context.local {
            return StatusReport(binding: "local", root: context.localRoot,
                                state: try LocalStatus.read(root: context.localRoot, run: runID))
        }
        return try aws(context, run: runID)
    }

    static func aws(_ context: CommandContext, run runID: String?) throws -> StatusReport {
        let client = try AWSAccess.client(context)
        let deployed = try DeployedNames.resolve(context, client: client)
        let profile = deployed.profile
        do {
            let queues = try client.describeJobQueues(names: profile.queues).map { queue in
                var jobs: [String: Int] = [:]
                for status in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"] {
                    jobs[status] = (try? client.listAllJobs(.init(jobQueue: queue.jobQueueName, jobStatus: status)))?.count ?? 0
                }
                return Queue(name: queue.jobQueueName, state: queue.state ?? "?", status: queue.status ?? "?", jobs: jobs)
            }
            let environments = try client.describeComputeEnvironments(names: profile.computeEnvironments).map {
                ComputeEnvironment(name: $0.computeEnvironmentName, state: $0.state ?? "?", status: $0.status ?? "?",
                                   minVcpus: $0.computeResources?.minvCpus ?? 0,
                                   maxVcpus: $0.computeResources?.maxvCpus ?? 0,
                                   desiredVcpus: $0.computeResources?.desiredvCpus ?? 0)
            }
            var report = StatusReport(binding: "aws", region: client.configuration.region, queues: queues,
                                      computeEnvironments: environments)
            if let table = deployed.table {
                report.state = try LocalStatus.read(state: DynamoStateStore(client: client, table: table), run: runID,
                                                    location: "table \(table)")
                report.table = table
            } else {
                report.runsNote = "runs, teardown and budget state are in the stack's DynamoDB table: pass --stack NAME "
                    + "(or ODIN_STACK, or ODIN_TABLE) to show them"
            }
            return report
        } catch let error as CLIError { throw error } catch {
            throw CLIError("status: \(error)")
        }
    }

    /// The text form (`odin status` without --json).
    package func render() -> String {
        var lines: [String] = []
        for queue in queues ?? [] {
            let jobs = queue.jobs.sorted { $0.key < $1.key }
                .map { "\($0.key.lowercased()) \($0.value)" }.joined(separator: ", ")
            lines.append("queue \(queue.name): \(queue.state) — \(jobs)")
        }
        for ce in computeEnvironments ?? [] {
            lines.append("compute environment \(ce.name): \(ce.state) min \(ce.minVcpus) "
                         + "max \(ce.maxVcpus) desired \(ce.desiredVcpus) vCPUs")
        }
        if let runsNote { lines.append(runsNote) }
        guard let state else { return lines.joined(separator: "\n") }
        lines.append("\(Plural.count(state.runs.count, "run")) in \(root ?? table ?? "")")
        for run in state.runs {
            lines.append("run \(run.runID) camera \(run.cameraID): \(run.status) "
                         + "\(run.chunksDone)/\(run.chunks) chunks, priority \(run.priority)"
                         + (run.failedChunks.isEmpty ? "" : ", failed \(run.failedChunks)"))
        }
        for entry in state.unfinished {
            lines.append("unfinished: run \(entry.runID) (\(entry.status)) — continue with: \(entry.continueWith)")
        }
        if let teardown = state.lastTeardown {
            lines.append("last teardown: \(teardown.at) (\(teardown.reason))")
        } else {
            lines.append("last teardown: none recorded")
        }
        lines.append("budget stop: \(state.budgetStop.active ? "ACTIVE (odin resume RUN clears it)" : "not active")")
        for ledger in state.ledger {
            func number(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
            lines.append("ledger \(ledger.month): ESTIMATE \(number(ledger.estimatedCost, 6)) at the profile's prices "
                         + "(\(number(ledger.vcpuHoursSpot, 4)) Spot + \(number(ledger.vcpuHoursOnDemand, 4)) On-Demand vCPU-h)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Reads the local state folder (runs, progress, teardown, budget stop, ledger).
package enum LocalStatus {
    package static func read(root: String, run: String?) throws -> StatusReport.State {
        guard FileManager.default.fileExists(atPath: root + "/state") else {
            throw CLIError("no local state in \(root)/state: run `odin run --local …` or `odin demo` first, "
                           + "or pass --local-root")
        }
        var state = try read(state: try LocalStateStore(root: root + "/state"), run: run, location: root + "/state")
        state.unfinished = state.unfinished.map { entry in
            var entry = entry
            let id = entry.runID
            entry.continueWith = entry.status == RunRecord.Status.stoppedByBudget.rawValue
                ? "odin resume \(id) --local --local-root \(root)"
                : "odin run --local --local-root \(root) <the same inputs> (or: odin resume \(id) --local --local-root \(root))"
            return entry
        }
        return state
    }

    /// Runs, progress, teardown, budget stop and ledger from any state store (local folder or DynamoDB).
    package static func read(state: any StateStore, run: String?, location: String) throws -> StatusReport.State {
        var ids = try state.query(partition: Schema.allRunsPartition, sortPrefix: "").map(\.key.sort)
        if let run {
            guard ids.contains(run) else { throw CLIError("run \(run): not found in \(location)") }
            ids = [run]
        }
        var runs: [StatusReport.State.Run] = []
        for id in ids.sorted() {
            guard let record = try RunRecord.load(id, state: state) else { continue }
            let done = try state.query(partition: Schema.runPartition(id), sortPrefix: Schema.chunkDonePrefix).count
            runs.append(.init(runID: id, cameraID: record.cameraID, status: record.status.rawValue,
                              createdAt: record.createdAt, objects: record.objectCount, chunks: record.chunkCount,
                              chunksDone: done, failedChunks: record.failedChunks,
                              priority: record.priority?.rawValue ?? "default", completedAt: record.completedAt,
                              jobs: run == nil ? nil : record.jobs.map {
                                  .init(jobID: $0.jobID, kind: $0.kind, queue: $0.queue, size: $0.size)
                              }))
        }
        let teardown = try state.get(Schema.teardown).map {
            StatusReport.State.Teardown(at: $0["at"]?.stringValue ?? "", reason: $0["reason"]?.stringValue ?? "",
                                        count: Int($0["count"]?.intValue ?? 0))
        }
        let budgetStop = StatusReport.State.BudgetStop(
            active: try state.get(Schema.budgetStop)?["active"]?.boolValue ?? false)
        // Runs left unfinished (an interrupted `odin run --local`, a crash) and the command that continues each.
        let unfinished = try state.query(partition: Schema.activeRunsPartition, sortPrefix: "").compactMap {
            item -> StatusReport.State.Unfinished? in
            guard let record = try RunRecord.load(item.key.sort, state: state), record.status != .done else { return nil }
            return .init(runID: record.runID, status: record.status.rawValue, continueWith: "odin resume \(record.runID)")
        }
        let ledger = try state.query(partition: "ledger", sortPrefix: "").map { item in
            StatusReport.State.LedgerMonth(
                month: item.key.sort,
                vcpuHoursSpot: Double(item["vcpuMsSpot"]?.intValue ?? 0) / 3_600_000,
                vcpuHoursOnDemand: Double(item["vcpuMsOnDemand"]?.intValue ?? 0) / 3_600_000,
                estimatedCost: Double(item["costMicros"]?.intValue ?? 0) / 1_000_000)
        }
        return .init(runs: runs, lastTeardown: teardown, budgetStop: budgetStop, unfinished: unfinished, ledger: ledger)
    }
}

import Foundation
import Odin
import OdinApp
import OdinLocal
import Testing
import TestSupport

/// `odin status`'s report: the JSON keys `--json` prints (the interface scripts read) and its text form.
@Suite struct StatusReportTests {
    /// A state folder with a finished run, an unfinished one (with a failed chunk and a priority), a teardown, an
    /// active budget stop and a ledger month.
    func makeLocalState() throws -> String {
        let dir = try TestEnvironment.makeTemporaryDirectory("status-report")
        let state = try LocalStateStore(root: dir + "/state")
        func run(_ id: String, status: String, completedAt: String?, failed: [Int64], priority: String?) throws {
            try state.put(StateItem(key: Schema.runIndex(id)), condition: .always)
            var attributes: [String: StateValue] = [
                "runID": .string(id), "camera": .string("cam01"), "status": .string(status),
                "createdAt": .string("2026-06-01T05:30:00Z"), "objects": .int(12), "chunks": .int(3),
                "jobs": .list([.map(["jobID": .string("job-1"), "kind": .string("chunks"), "queue": .string("spot"),
                                     "offset": .int(0), "size": .int(3)])]),
                "failedChunks": .list(failed.map { .int($0) }), "version": .int(1),
            ]
            if let completedAt { attributes["completedAt"] = .string(completedAt) }
            if let priority { attributes["priority"] = .string(priority) }
            try state.put(StateItem(key: Schema.runMeta(id), attributes: attributes), condition: .always)
            try state.put(StateItem(key: StateKey(Schema.runPartition(id), Schema.chunkDonePrefix + "0")),
                          condition: .always)
        }
        try run("cam01-20260601-053000", status: "done", completedAt: "2026-06-01T06:00:00Z", failed: [],
                priority: nil)
        try run("cam01-20260602-053000", status: "running", completedAt: nil, failed: [2], priority: "high")
        try state.put(StateItem(key: Schema.activeRun("cam01-20260602-053000")), condition: .always)
        try state.put(StateItem(key: Schema.teardown, attributes: ["at": .string("2026-06-01T07:00:00Z"),
                                                                  "reason": .string("idle"), "count": .int(2)]),
                      condition: .always)
        try state.put(StateItem(key: Schema.budgetStop, attributes: ["active": .bool(true)]), condition: .always)
        try state.put(StateItem(key: StateKey("ledger", "2026-06"),
                                attributes: ["vcpuMsSpot": .int(7_200_000), "vcpuMsOnDemand": .int(1_800_000),
                                             "costMicros": .int(123_456)]), condition: .always)
        return dir
    }

    @Test func localJSONKeysValuesAndRoundTrip() throws {
        let dir = try makeLocalState()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try StatusReport.read(CommandContext(local: true, localRoot: dir, environment: [:]), run: nil)
        let object = try report.jsonObject()
        #expect(Set(object.keys) == ["binding", "root", "runs", "last_teardown", "budget_stop", "unfinished", "ledger"])
        #expect(object["binding"] as? String == "local" && object["root"] as? String == dir)
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        #expect(Set(runs[0].keys) == ["run_id", "camera_id", "status", "created_at", "objects", "chunks", "chunks_done",
                                      "failed_chunks", "priority", "completed_at"])
        #expect(Set(runs[1].keys) == ["run_id", "camera_id", "status", "created_at", "objects", "chunks", "chunks_done",
                                      "failed_chunks", "priority"])
        #expect(runs[0]["priority"] as? String == "default" && runs[1]["priority"] as? String == "high")
        #expect(runs[1]["failed_chunks"] as? [Int] == [2] && runs[1]["chunks_done"] as? Int == 1)
        #expect(runs[1]["objects"] as? Int == 12 && runs[1]["chunks"] as? Int == 3)
        let teardown = try #require(object["last_teardown"] as? [String: Any])
        #expect(Set(teardown.keys) == ["at", "reason", "count"] && teardown["count"] as? Int == 2)
        #expect((object["budget_stop"] as? [String: Any])?["active"] as? Bool == true)
        let unfinished = try #require(object["unfinished"] as? [[String: Any]])
        #expect(unfinished.count == 1 && Set(unfinished[0].keys) == ["run_id", "status", "continue_with"])
        #expect((unfinished[0]["continue_with"] as? String)?.hasPrefix("odin run --local --local-root \(dir)") == true)
        let ledger = try #require((object["ledger"] as? [[String: Any]])?.first)
        #expect(Set(ledger.keys) == ["month", "vcpu_hours_spot", "vcpu_hours_on_demand", "estimated_cost"])
        #expect(ledger["vcpu_hours_spot"] as? Double == 2 && ledger["vcpu_hours_on_demand"] as? Double == 0.5)
        #expect(ledger["estimated_cost"] as? Double == 0.123456)

        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(StatusReport.self, from: data) == report)

        let detail = try StatusReport.read(CommandContext(local: true, localRoot: dir, environment: [:]),
                                           run: "cam01-20260602-053000")
        let job = try #require(((try detail.jsonObject()["runs"] as? [[String: Any]])?.first?["jobs"]
                                as? [[String: Any]])?.first)
        #expect(Set(job.keys) == ["job_id", "kind", "queue", "size"] && job["size"] as? Int == 3)
    }

    @Test func localText() throws {
        let dir = try makeLocalState()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try StatusReport.read(CommandContext(local: true, localRoot: dir, environment: [:]), run: nil).render()
        #expect(text.split(separator: "\n").map(String.init) == [
            "2 runs in \(dir)",
            "run cam01-20260601-053000 camera cam01: done 1/3 chunks, priority default",
            "run cam01-20260602-053000 camera cam01: running 1/3 chunks, priority high, failed [2]",
            "unfinished: run cam01-20260602-053000 (running) — continue with: odin run --local --local-root \(dir) "
                + "<the same inputs> (or: odin resume cam01-20260602-053000 --local --local-root \(dir))",
            "last teardown: 2026-06-01T07:00:00Z (idle)",
            "budget stop: ACTIVE (odin resume RUN clears it)",
            "ledger 2026-06: ESTIMATE 0.123456 at the profile's prices (2.0000 Spot + 0.5000 On-Demand vCPU-h)",
        ])
    }

    @Test func awsJSONKeysAndText() throws {
        let report = StatusReport(
            binding: "aws", region: "eu-north-1",
            queues: [.init(name: "odin-spot", state: "ENABLED", status: "VALID",
                           jobs: ["SUBMITTED": 0, "PENDING": 0, "RUNNABLE": 2, "STARTING": 0, "RUNNING": 1])],
            computeEnvironments: [.init(name: "odin-spot-ce", state: "ENABLED", status: "VALID", minVcpus: 0,
                                        maxVcpus: 16, desiredVcpus: 4)],
            runsNote: "runs are in the table")
        let object = try report.jsonObject()
        #expect(Set(object.keys) == ["binding", "region", "queues", "compute_environments", "runs_note"])
        let queue = try #require((object["queues"] as? [[String: Any]])?.first)
        #expect(Set(queue.keys) == ["name", "state", "status", "jobs"] && (queue["jobs"] as? [String: Int])?["RUNNABLE"] == 2)
        let environment = try #require((object["compute_environments"] as? [[String: Any]])?.first)
        #expect(Set(environment.keys) == ["name", "state", "status", "min_vcpus", "max_vcpus", "desired_vcpus"])
        #expect(try JSONDecoder().decode(StatusReport.self, from: JSONEncoder().encode(report)) == report)
        #expect(report.render() == """
            queue odin-spot: ENABLED — pending 0, runnable 2, running 1, starting 0, submitted 0
            compute environment odin-spot-ce: ENABLED min 0 max 16 desired 4 vCPUs
            runs are in the table
            """)
    }
}

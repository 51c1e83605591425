import Events
import Odin
import OdinLocal
import Testing

/// The Batch state machine both emulators run on (LocalCompute, the simulator's SimulatedBatch).
@Suite struct BatchStateMachineTests {
    static func machine(_ filter: BatchStateMachine.EventFilter) -> BatchStateMachine {
        BatchStateMachine(queues: ["spot", "od"], computeEnvironments: ["spot-ce", "od-ce"], arnPartition: "test",
                          epoch: 1_000, eventFilter: filter)
    }

    static func submission(size: Int, attempts: Int = 3) -> JobSubmission {
        JobSubmission(name: "munin-r1-p0", queue: "spot", jobDefinition: "worker", arraySize: size,
                      environment: ["B": "2", "A": "1"], tags: ["odin:run": "r1"], attempts: attempts,
                      retryOnStatusReason: ["Host EC2*"], vcpus: 4)
    }

    @Test func arrayParentFollowsItsChildren() throws {
        var machine = Self.machine(.every)
        let parent = try machine.submit(Self.submission(size: 3), id: "j-1", queue: 0, priority: 0, at: 0)
        let events = machine.takeEvents()
        #expect(events.map(\.detail.jobId) == ["j-1:0", "j-1:1", "j-1:2", "j-1"])
        #expect(events.allSatisfy { $0.detail.status == .runnable })
        #expect(events[0].detail.container?.environment?.map(\.name) == ["A", "B"])
        #expect(machine.runnableVcpus[0] == 12 && machine.runnableCount == 3)
        let children = try #require(machine.jobs[parent].children)
        machine.start(children.lowerBound, at: 10)
        #expect(machine.jobs[parent].status == .running)
        #expect(machine.runningVcpus[0] == 4 && machine.runningCount == 1 && machine.runnableCount == 2)
        machine.endAttempt(children.lowerBound, at: 70, exitCode: 0, reason: nil)
        machine.finish(children.lowerBound, .succeeded, reason: "Essential container in task exited", at: 70)
        machine.cancelRunnable(children.lowerBound + 1, reason: "odin: stopped by budget guard", at: 80)
        #expect(machine.jobs[parent].status == .running)
        machine.cancelRunnable(children.lowerBound + 2, reason: "odin: stopped by budget guard", at: 90)
        let detail = machine.detail(parent)
        #expect(detail.status == .failed && detail.statusReason == "Array Child Job failed")
        #expect(detail.arrayProperties?.statusSummary == ["SUCCEEDED": 1, "FAILED": 2])
        #expect(detail.startedAt == 1_010_000 && detail.stoppedAt == 1_090_000)
        let child = machine.detail(children.lowerBound)
        #expect(child.attempts?.first?.startedAt == 1_010_000 && child.attempts?.first?.stoppedAt == 1_070_000)
        #expect(machine.list(.queue("spot", status: .failed)).map(\.jobID) == ["j-1"])
        #expect(machine.list(.arrayChildren("j-1", status: .failed)).map(\.jobID) == ["j-1:1", "j-1:2"])
        #expect(try machine.describe(["j-1:2", "j-1:9", "nope"]).map(\.jobId) == ["j-1:2"])
        #expect(machine.runnableCount == 0 && machine.runningCount == 0)
    }

    @Test func retriesInQueueOnlyOnAMatchingReasonWhileAttemptsRemain() throws {
        var machine = Self.machine(.terminalAndFirstRunning)
        let job = try machine.submit(Self.submission(size: 1, attempts: 2), id: "j-1", queue: 0, priority: 0, at: 0)
        let submitted = machine.takeEvents()
        #expect(submitted.isEmpty, "the deployed rule passes no RUNNABLE event")
        let reclaim = "Host EC2 (instance i-1) terminated."
        machine.start(job, at: 1)
        let started = machine.takeEvents()
        #expect(started.map(\.detail.status) == [.running])
        machine.endAttempt(job, at: 2, exitCode: 1, reason: reclaim)
        let retried = machine.retryOrFail(job, reason: reclaim, at: 2)
        #expect(retried)
        #expect(machine.jobs[job].status == .runnable && machine.runnableCount == 1)
        machine.start(job, at: 3)
        let restarted = machine.takeEvents()
        #expect(restarted.isEmpty, "only a job's first RUNNING passes")
        machine.endAttempt(job, at: 4, exitCode: 1, reason: reclaim)
        let retriedAgain = machine.retryOrFail(job, reason: reclaim, at: 4)
        #expect(!retriedAgain, "attempts exhausted")
        let events = machine.takeEvents()
        #expect(events.map(\.detail.status) == [.failed] && events[0].detail.attemptCount == 2)

        let other = try machine.submit(Self.submission(size: 1), id: "j-2", queue: 0, priority: 0, at: 5)
        machine.start(other, at: 5)
        machine.endAttempt(other, at: 6, exitCode: 1, reason: "CannotStartContainerError: x")
        let otherRetried = machine.retryOrFail(other, reason: "CannotStartContainerError: x", at: 6)
        #expect(!otherRetried, "no RETRY rule matches")
    }

    @Test func terminateMarksRunningJobsAndCancelsTheRest() throws {
        var machine = Self.machine(.every)
        let parent = try machine.submit(Self.submission(size: 2), id: "j-1", queue: 0, priority: 0, at: 0)
        let first = try #require(machine.jobs[parent].children).lowerBound
        machine.start(first, at: 1)
        var running: [Int] = []
        for target in machine.stopTargets("j-1") where !machine.jobs[target].status.isTerminal {
            if machine.jobs[target].status == .running {
                machine.markTerminating(target, reason: "stop")
                running.append(target)
            } else {
                machine.cancelRunnable(target, reason: "stop", at: 2)
            }
        }
        #expect(running == [first])
        #expect(machine.jobs[first].terminating == "stop" && machine.jobs[first].maxAttempts == 0)
        machine.endAttempt(first, at: 3, exitCode: 137, reason: "stop")
        let firstRetried = machine.retryOrFail(first, reason: "stop", at: 3)
        #expect(!firstRetried)
        #expect(machine.jobs[parent].status == .failed)
    }

    @Test func computeEnvironmentUpdatesKeepBatchsRules() throws {
        var machine = Self.machine(.every)
        try machine.update(environment: 0, ComputeEnvironmentUpdate(minvCpus: 0, maxvCpus: 16), desired: 0)
        #expect(machine.environments[0].maxvCpus == 16)
        let before = machine
        #expect(throws: OdinError.self) {
            var copy = before
            try copy.update(environment: 0, ComputeEnvironmentUpdate(minvCpus: 20), desired: 0)
        }
        #expect(throws: OdinError.self) {
            var copy = before
            try copy.update(environment: 0, ComputeEnvironmentUpdate(maxvCpus: 4), desired: 8)
        }
        #expect(throws: OdinError.self) { try before.queueIndex("elsewhere", binding: "test") }
        #expect(throws: OdinError.self) {
            var copy = before
            _ = try copy.submit(Self.submission(size: 10_001), id: "j-9", queue: 0, priority: 0, at: 0)
        }
    }
}

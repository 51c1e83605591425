import Events
import Odin
import OdinKit
@testable import OdinCost
import OdinLocal
import Testing

/// A small season with Spot interruptions and a capacity gap while work is queued (also one of the golden cases).
func stormyScenario() throws -> Scenario {
    try Scenario.parseTrace("""
        name stormy
        set duration 2d
        set interruptions_per_hour 0.3
        set gap 1h+3h
        set scale_up 60-180
        set batch_scale_down 10m
        set sweeper 5m
        upload 0 camA 6000 10m
        upload 50m camB 9000 15m
        upload 1h30m camA 3000 5m video=20m
        upload 20h camC 4000 5m
        """, file: "stormy.trace")
}

@Suite struct SimulatorTests {
    @Test func sameSeedSameReport() throws {
        let scenario = try stormyScenario()
        let a = try Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 42).run()
        let b = try Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 42).run()
        #expect(try a.json() == b.json())
        let c = try Simulator(profile: Profile(), scenario: scenario, policy: .batchDefault, seed: 42).run()
        let d = try Simulator(profile: Profile(), scenario: scenario, policy: .batchDefault, seed: 42).run()
        #expect(try c.json() == d.json())
        let other = try Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 43).run()
        #expect(try other.json() != a.json(), "the seed must drive latency and interruption draws")
    }

    @Test func syntheticIsDeterministic() throws {
        let a = try Scenario.synthetic("days=10,images=50000,cameras=7,dumps=3", seed: 5)
        let b = try Scenario.synthetic("days=10,images=50000,cameras=7,dumps=3", seed: 5)
        #expect(a == b)
        #expect(a.totalImages == 50_000)
        #expect(a.bursts.count == 21)
    }

    /// Every chunk of every run ends succeeded or failed exactly once; every uploaded object is in exactly one run;
    /// teardown follows each drain within the sweeper interval; no control-logic error.
    @Test func invariantsHoldUnderInterruptionsAndGaps() throws {
        let scenario = try stormyScenario()
        let simulator = Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 3)
        let report = try simulator.run()
        #expect(report.invariants.eventErrors == 0, "\(report.invariants.firstEventError ?? "")")
        #expect(report.attemptsReclaimed > 0, "the scenario must exercise reclaims")
        #expect(report.chunksFallenBack > 0, "the capacity gap must exercise the On-Demand fallback")
        let runs = try simulator.state.query(partition: Schema.allRunsPartition, sortPrefix: "")
        #expect(!runs.isEmpty)
        var objects = 0
        for index in runs {
            let record = try #require(try RunRecord.load(index.key.sort, state: simulator.state))
            #expect(record.status == .done, "run \(record.runID) is \(record.status)")
            objects += record.objectCount
            let done = try simulator.state.query(partition: Schema.runPartition(record.runID),
                                                 sortPrefix: Schema.chunkDonePrefix)
            #expect(done.count == record.chunkCount)
            let counters = try #require(try simulator.state.get(Schema.runCounters(record.runID)))
            let terminal = (counters["succeeded"]?.intValue ?? 0) + (counters["failed"]?.intValue ?? 0)
            #expect(terminal == Int64(record.chunkCount), "each chunk counted once")
            #expect(Set(done.map(\.key.sort)).count == record.chunkCount)
        }
        #expect(objects == scenario.totalImages + 1, "stills + one video, each in exactly one run")
        #expect(report.invariants.teardownAfterDrain.count > 0)
        #expect(report.invariants.teardownAfterDrain.max <= scenario.inputs.sweeperSeconds + scenario.inputs.terminateSeconds)
        #expect(report.runsCompleted == runs.count)
    }

    /// The budget alarm reaches the real budget guard; nothing starts afterwards and the fleet stops.
    @Test func killSwitchStopsTheFleet() throws {
        var scenario = try stormyScenario()
        scenario.inputs.budget = 0.5
        scenario.inputs.alarmDelaySeconds = 120
        let simulator = Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 9)
        let report = try simulator.run()
        let arrived = try #require(report.budget.alarmReachedFunctionAt)
        #expect(arrived > 0)
        #expect(report.invariants.jobsStartedWhileKillSwitchActive == 0)
        #expect(try Capacity.budgetStopped(#require(simulator.services)))
        #expect(simulator.notifier.messages.contains { $0.subject.hasPrefix("Odin kill-switch") })
        #expect((report.budget.overshootSecondsOfFleetCost ?? .infinity) <= 60)
        #expect(report.samples.last.map { $0.spotVcpus + $0.onDemandVcpus } == 0)
        let alternative = try Simulator(profile: Profile(), scenario: scenario, policy: .batchDefault, seed: 9).run()
        #expect(alternative.budget.killSwitch == false)
    }

    /// The simulator must run Odin's production control logic: its decisions leave the production code's own state
    /// (job-event dedup keys, done markers, the cost ledger, teardown records with the reasons `Capacity` writes),
    /// and a profile knob only the production job-events logic reads changes the outcome.
    @Test func controlLogicIsTheProductionCodePath() throws {
        let scenario = try stormyScenario()
        let simulator = Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 3)
        let report = try simulator.run()
        let services = try #require(simulator.services)
        #expect(services.compute is SimulatedBatch)
        let snapshot = simulator.state.snapshot()
        let dedup = snapshot.filter { $0.key.partition.hasPrefix("event#") }
        #expect(dedup.count >= report.chunksSucceeded + report.chunksFailed)
        let teardown = try #require(try simulator.state.get(Schema.teardown))
        let reason = teardown["reason"]?.stringValue ?? ""
        #expect(reason.hasPrefix("array job ") || reason.hasPrefix("run ") || reason == "sweeper found queues idle")
        #expect((report.ledgerEstimate ?? 0) > 0)

        var noFallback = Profile()
        noFallback.compute.fallbackToOnDemand = false
        let without = try Simulator(profile: noFallback, scenario: scenario, policy: .ours, seed: 3).run()
        #expect(report.chunksFallenBack > 0)
        #expect(without.chunksFallenBack == 0, "fallback_to_ondemand=false must be honoured by JobEventsService")
    }

    @Test func alternativesDifferFromOurs() throws {
        let scenario = try stormyScenario()
        let ours = try Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 1).run()
        let fixed = try Simulator(profile: Profile(), scenario: scenario, policy: .staticFleet, seed: 1).run()
        let plain = try Simulator(profile: Profile(), scenario: scenario, policy: .batchDefault, seed: 1).run()
        #expect(fixed.totalCost > ours.totalCost)
        #expect(plain.idleVcpuMinutesAfterDrain > ours.idleVcpuMinutesAfterDrain)
        #expect(ours.ledgerEstimate != nil && fixed.ledgerEstimate == nil)
        let svg = SimulationChart.svg([ours, fixed, plain])
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))
        #expect(SimulationReport.comparison([ours, fixed]).contains("| static |"))
    }

    @Test func traceErrorsNameTheLine() {
        #expect(throws: ScenarioError.self) { try Scenario.parseTrace("upload 0 cam1 ten\n", file: "t") }
        do {
            _ = try Scenario.parseTrace("set interruptions 1\n", file: "x.trace")
        } catch {
            #expect("\(error)".contains("x.trace:1"))
        }
        #expect(throws: ScenarioError.self) { try Scenario.synthetic("days=ten", seed: 1) }
    }
}

@Suite struct SimulatedBatchTests {
    /// maxvCpus not a multiple of the instance size (the pacer's caps): Batch may overshoot by one instance, and the
    /// model must not launch and stop instances in a loop.
    @Test func noLaunchTerminateChurnAtOddCaps() throws {
        var profile = Profile()
        profile.compute.maxVcpus = 98
        let scenario = try Scenario.parseTrace("set duration 1d\nupload 0 camA 60000 10m\n", file: "odd.trace")
        let report = try Simulator(profile: profile, scenario: scenario, policy: .ours, seed: 1).run()
        #expect(report.runsCompleted == 1)
        #expect(report.instancesLaunchedSpot <= 30, "25 instances cover 98 vCPUs; got \(report.instancesLaunchedSpot)")
    }
}

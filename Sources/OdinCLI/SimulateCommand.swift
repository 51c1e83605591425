import ArgumentParser
import Foundation
import OdinApp
import OdinCost

/// `odin simulate`: replay an upload trace through the real control logic under a simulated Batch.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a season of uploads under a control policy and report cost, idle capacity and makespan.",
        discussion: """
            `ours` runs Odin's production control logic (ingest, job events, sweeper, budget guard) against a \
            simulated AWS Batch with a simulated clock: instance scale-up latency, Spot interruptions per hour, \
            Spot capacity gaps, prices and seconds per image come from the trace's `set` lines (simulation \
            inputs) and the profile's price table (editable assumptions). `static` keeps the Spot fleet at \
            max_vcpus all season (the seed's behaviour); `batch-default` is one Spot CE with min 0, Batch's own \
            scale-down, in-queue retries and no fallback; `on-demand` is ours with spot_instances=false; `all` runs \
            each. Deterministic for a seed.

            Trace lines: `name NAME`, `set INPUT VALUE` (\(SimulationInputs.names.joined(separator: ", "))), \
            `upload AT CAMERA IMAGES [OVER] [video=SECONDS]`; times take s/m/h/d suffixes (1h30m).
            Synthetic: --synthetic days=30,images=5000000,cameras=50,dumps=4,interruptions_per_hour=0.1,gap=10d+12h

            Examples:
              odin simulate --trace scenarios/field-season.trace --policy all --svg season.svg
              odin simulate --synthetic days=30,images=5000000 --seed 7 --json
            """)

    @Option(name: .long, help: "Upload trace file (see scenarios/).")
    var trace: String?

    @Option(name: .long, help: "Synthetic season: key=value,… (days, images, cameras, dumps, video_hours, any input).")
    var synthetic: String?

    @Option(name: .customLong("set"), help: "Override a simulation input: NAME=VALUE (repeatable), e.g. interruptions_per_hour=0.1.")
    var overrides: [String] = []

    @Option(name: .long, help: "ours, static, batch-default, on-demand or all.")
    var policy: String = "ours"

    @Option(name: .long, help: "Seed of the simulation's pseudo-random draws.")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "Print the reports as JSON.")
    var json = false

    @Flag(name: .long, help: "Print a Markdown comparison table (for docs and benchmarks).")
    var markdown = false

    @Flag(name: .long, help: "Leave the time series out of the JSON.")
    var noSamples = false

    @Option(name: .long, help: "Write an SVG chart of capacity and queue depth over time to this file.")
    var svg: String?

    @Option(name: .long, help: "Profile YAML (default: profiles/default.yaml when present, else built-in defaults).")
    var profile: String?

    func validate() throws {
        if (trace == nil) == (synthetic == nil) { throw ValidationError("give exactly one of --trace FILE or --synthetic SPEC") }
        if policy != "all" && SimulationPolicy(rawValue: policy) == nil {
            throw ValidationError("--policy '\(policy)' is not one of: \(SimulationPolicy.allCases.map(\.rawValue).joined(separator: ", ")), all")
        }
    }

    func run() throws {
        var trace: (text: String, file: String)?
        if let path = self.trace {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read trace \(path)") }
            trace = (String(decoding: data, as: UTF8.self), path)
        }
        let overrides = try self.overrides.map { entry -> (String, String) in
            let pair = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw ValidationError("--set '\(entry)': expected NAME=VALUE") }
            return (pair[0], pair[1])
        }
        let simulation = try SimulationRun(
            profile: try ProfileLoader().load(profile).profile, trace: trace, synthetic: synthetic, overrides: overrides,
            policies: policy == "all" ? SimulationPolicy.allCases : [SimulationPolicy(rawValue: policy)!], seed: seed)
        var reports = try simulation.run(note: { Terminal.error($0) })
        if let svg { try write(SimulationChart.svg(reports), to: svg) }
        if noSamples { for index in reports.indices { reports[index].samples = [] } }
        print(try SimulationRun.render(reports, as: json ? .json : markdown ? .markdown : .table), terminator: "")
    }

    func write(_ text: String, to path: String) throws {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ValidationError("cannot write \(path): \(error)")
        }
    }
}

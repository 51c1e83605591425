import ArgumentParser
import Foundation
import Hugin
import Odin
import OdinApp
import OdinKit
import OdinLocal

/// `odin demo` (what `make demo` runs): generate a sample set with FFmpeg and run the whole pipeline locally.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate camera-trap-like media with FFmpeg and run the whole pipeline on this machine.",
        discussion: """
            Writes a sample set to <dir>/samples (cameras with GPS and capture times in EXIF, bursts of stills with \
            a moving subject, short videos, an empty-scene burst), then runs it through the local binding: upload \
            to raw/<camera>/…, ingest, one array job per run on the "Spot" queue, munin-worker per chunk, the \
            On-Demand fallback, Hugin condensation and teardown, all driven by the same control logic as the \
            Lambda functions. The fault mode is on: some Spot attempts are reclaimed and Spot capacity runs out \
            after a few starts, so the fallback path runs. Each camera's upload is its own run; the demo ends by \
            condensing all of them into one season Stage 3 in <dir>/season (odin analyze --season --local: one \
            Camtrap DP package, one report.html across the runs). Prints where each run's and the season's \
            report.html are and a summary; every number is measured, or computed from the profile's prices and \
            labelled as an estimate.

            Example: odin demo --dir .odin/demo
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Folder for the samples and the local binding (its store/ and state/ are reset).")
    var dir: String = ".odin/demo"

    @Option(name: .long, help: "Cameras (1…20).")
    var cameras = 3

    @Option(name: .long, help: "Stills per burst (2…50).")
    var stillsPerBurst = 5

    @Option(name: .long, help: "Cameras that also get a short video (0…cameras).")
    var videos = 2

    @Option(name: .long, help: "Fault mode: fraction (0…1) of Spot child attempts reclaimed.")
    var reclaim: Double = 0.2

    @Option(name: .long, help: "Fault mode: Spot capacity runs out after this many Spot starts (0 = never).")
    var exhaustSpotAfter = 6

    @Option(name: .long, help: "Fault mode: seed of the (deterministic) reclaim choice.")
    var seed: UInt64 = 3

    @Option(name: .long, help: "Files per chunk in the demo (small, so the fan-out is visible).")
    var filesPerChunk = 3

    @Option(name: .long, help: "Parallel worker processes (default: CPU cores).")
    var maxParallel: Int?

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Double = 600

    @Option(name: .long, help: "Folder holding munin-worker and hugin (default: next to odin).")
    var binDir: String?

    func validate() throws {
        guard (1...20).contains(cameras) else { throw ValidationError("--cameras must be within 1…20") }
        guard (2...50).contains(stillsPerBurst) else { throw ValidationError("--stills-per-burst must be within 2…50") }
        guard (0...cameras).contains(videos) else { throw ValidationError("--videos must be within 0…--cameras") }
        guard (0...1).contains(reclaim) else { throw ValidationError("--reclaim must be within 0…1") }
        guard exhaustSpotAfter >= 0 else { throw ValidationError("--exhaust-spot-after must be ≥ 0") }
        guard (1...1000).contains(filesPerChunk) else { throw ValidationError("--files-per-chunk must be within 1…1000") }
    }

    func run() throws {
        let manager = FileManager.default
        let marker = dir + "/.odin-demo"
        if manager.fileExists(atPath: dir) {
            guard try manager.fileExists(atPath: marker) || manager.contentsOfDirectory(atPath: dir).isEmpty else {
                throw ValidationError("--dir \(dir) exists and is not a demo folder (no .odin-demo); choose another")
            }
            for name in ["samples", "store", "state", "logs", "stage3_output", "season"] {
                try? manager.removeItem(atPath: dir + "/" + name)
            }
        }
        try manager.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard manager.createFile(atPath: marker, contents: Data("odin demo folder; safe to delete\n".utf8)) else {
            throw CLIError("cannot write \(marker): is \(dir) writable?")
        }

        let started = Date()
        var generator = SampleGenerator(cameras: SampleGenerator.standard(cameras: cameras))
        generator.stillsPerBurst = stillsPerBurst
        generator.videos = videos
        let samples = try generator.generate(into: dir + "/samples")
        let generated = Date()
        if !global.json {
            Terminal.error("samples: \(samples.files.count) files (\(samples.stills) stills incl. "
                           + "\(samples.emptyStills) empty-scene, \(samples.videos) videos) from \(cameras) camera(s) "
                           + "in \(dir)/samples (\(String(format: "%.1f", generated.timeIntervalSince(started))) s)")
        }

        var profile = try global.loadProfile()
        // Small chunks so a few dozen files fan out into several array children (documented in the summary).
        profile.chunking.targetMinutes = 0.5
        profile.chunking.secondsPerImage = 30.0 / Double(filesPerChunk)
        profile.costOptimization.maxParallelJobs = maxParallel ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        let faults = LocalCompute.Faults(reclaimFraction: reclaim, seed: seed,
                                         exhaustSpotAfterStarts: exhaustSpotAfter == 0 ? nil : exhaustSpotAfter,
                                         runnableTimeLimitSeconds: 0.5)
        let pipeline = try LocalPipeline(.init(root: dir, profile: profile, faults: faults, binDir: binDir,
                                               verbose: global.verbose))
        let outcome = try LocalRun.execute(pipeline, inputs: [dir + "/samples"], camera: nil, timeout: timeout,
                                           progress: !global.json)
        try LocalRun.copyStage3(outcome.summary, to: dir + "/stage3_output")
        var summary = outcome.summary
        // The season: every run of this demo condensed into one Stage 3 (the runs registered their sites already).
        if outcome.completed {
            let store = pipeline.binding.objects
            let found = try SeasonInputs.inStore(store)
            let season = try SeasonCondenser(options: LocalPipeline.condensationOptions(profile),
                                             registryStore: ObjectStoreSiteRegistryStore(store: store))
                .condense(runs: found.runs, mediaRoot: store.rootURI, output: dir + "/season")
            summary["season"] = ["dir": season.outputPrefix, "report_html": season.outputPrefix + "/report.html",
                                 "runs": found.runs.map(\.id), "visits": season.visits, "sites": season.sites,
                                 "files": season.files]
        }
        summary["samples"] = ["files": samples.files.count, "stills": samples.stills, "videos": samples.videos,
                              "empty_scene_stills": samples.emptyStills, "cameras": cameras,
                              "generate_seconds": (generated.timeIntervalSince(started) * 10).rounded() / 10]
        summary["demo_settings"] = ["files_per_chunk": filesPerChunk, "reclaim_fraction": reclaim,
                                    "spot_exhausted_after_starts": exhaustSpotAfter,
                                    "max_parallel": profile.costOptimization.maxParallelJobs]
        summary["total_wall_seconds"] = (Date().timeIntervalSince(started) * 10).rounded() / 10
        if global.json {
            try Terminal.printJSON(summary)
        } else {
            print("")
            print("== Odins Ravne demo: \(samples.files.count) generated files, local binding in \(dir)")
            print("Fault mode: \(Int(reclaim * 100)) % of Spot attempts reclaimed, Spot capacity gone after "
                  + "\(exhaustSpotAfter) start(s); chunks of ≤ \(filesPerChunk) files.")
            print(LocalPipeline.render(summary))
            print("Stage 3 copies: \(dir)/stage3_output/<run>/   total time \(summary["total_wall_seconds"] ?? 0) s")
            if let season = summary["season"] as? [String: Any] {
                let runs = season["runs"] as? [String] ?? []
                let visits = Plural.count(season["visits"] as? Int ?? 0, "visit")
                let sites = Plural.count(season["sites"] as? Int ?? 0, "site")
                print("Season across \(Plural.count(runs.count, "run")): \(visits) at \(sites), one Camtrap DP package: "
                      + "\(season["dir"] ?? "")/")
                print("Season report: \(season["report_html"] ?? "")")
            }
        }
        if !outcome.completed { throw CLIError("the demo did not finish within \(Int(timeout)) s (--timeout)") }
    }
}

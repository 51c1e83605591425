import ArgumentParser
import Foundation
import OdinApp
import OdinBasics

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
        if let refusal = Demo.folderRefusal(dir) { throw ValidationError(refusal) }
    }

    func run() throws {
        let settings = Demo.Settings(dir: dir, cameras: cameras, stillsPerBurst: stillsPerBurst, videos: videos,
                                     reclaim: reclaim, exhaustSpotAfter: exhaustSpotAfter, seed: seed,
                                     filesPerChunk: filesPerChunk, maxParallel: maxParallel, timeout: timeout)
        let demo = Demo(settings: settings, profile: try global.loadProfile(),
                        worker: try Tools.locate("munin-worker", binDir: binDir),
                        environment: ProcessEnvironment.snapshot(),
                        processorCount: ProcessInfo.processInfo.activeProcessorCount, verbose: global.verbose,
                        feedback: .terminal)
        let (summary, completed) = try demo.run(progress: !global.json, interrupts: .terminal)
        if global.json { try Terminal.printJSON(try summary.jsonObject()) } else { print(summary.render(dir: dir)) }
        if !completed { throw CLIError("the demo did not finish within \(Int(timeout)) s (--timeout)") }
    }
}

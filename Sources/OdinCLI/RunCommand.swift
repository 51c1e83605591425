import ArgumentParser
import Foundation
import Odin
import OdinApp
import OdinCost
import OdinKit
import OdinLocal

/// `odin run FILES|DIRS…`: upload to `raw/<camera_id>/…`, which starts the pipeline; `--local` runs it here.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Upload camera-trap media to raw/<camera_id>/… (which starts the pipeline); --local runs it here.",
        discussion: """
            A FILE goes to raw/<camera>/<name> (camera = --camera, else its folder's name). A DIR with sub-folders \
            is an SD-card dump: one camera per sub-folder. A DIR of files is one camera (--camera, else its name).

            Uploads are parallel and resumable: an object already in the bucket with the same content (size and MD5, \
            or the multipart ETag recomputed from the file) is skipped, and a large file whose multipart upload was \
            interrupted continues from the parts S3 already has (each checked against the file's MD5), so re-running \
            after an interruption sends only the rest.

            With --local the whole pipeline runs on this machine (ingest, Batch-shaped fan-out, Munin, fallback, \
            Hugin condensation, teardown) and Stage 3 lands in <local-root>/store/runs/<run>/stage3/ and is copied \
            to --local-output. Modes (as the seed's pipeline script; precedence --status > --costs > \
            --analyze-only > --download-only): --status runs `odin status`, --costs `odin costs`, --analyze-only \
            analyzes --local-output, --download-only downloads s3://BUCKET/runs/RUN/stage3 (needs --bucket, --run-id).

            Examples:
              odin run --local ./sdcard-dump --wait
              odin run --bucket my-odin-data --camera cam07 /media/DCIM/*.JPG
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Media files or folders to process.")
    var inputs: [String] = []

    @Option(name: .long, help: "Where Stage 3 is copied when the run finishes (with --wait or --local).")
    var localOutput: String = "./stage3_output"

    @Option(name: .long, help: ArgumentHelp(
        "Scheduling priority of the runs these uploads start: high, normal or low.",
        discussion: "Written per camera to control/priority/<camera>.json before the upload; ingest seals the camera's run with it and every job of the run (chunks, On-Demand fallbacks, condensation) is submitted with it: on AWS as the fair-share schedulingPriorityOverride (high 300, normal 200, low 100), locally as the start order. Waiting work starts highest first; running jobs are not pre-empted. The request expires about an hour after the upload (settle + max wait + 1 h); a later odin run for the same camera replaces it."))
    var priority: RunPriority = .normal

    @Flag(name: .long, help: ArgumentHelp(
        "Quote the run first: expected cost range and duration on Spot and On-Demand.",
        discussion: "Refuses to start (exit 1) when the upper estimate exceeds the remaining budget (budget.amount minus this month's ledger), unless --accept-cost is given."))
    var quote = false

    @Flag(name: .long, help: "With --quote: start the run even when its upper estimate exceeds the remaining budget.")
    var acceptCost = false

    @Option(name: .long, help: "Camera id for all inputs (default: from the folder names).")
    var camera: String?

    @Flag(name: .long, help: "Follow the run live and download Stage 3 when it is done.")
    var wait = false

    @Option(name: .long, help: "Bucket to upload to (AWS mode; or ODIN_BUCKET).")
    var bucket: String?

    @Option(name: .long, help: "Run id for --download-only.")
    var runID: String?

    @Flag(name: .long, help: "Only download Stage 3 of --run-id to --local-output.")
    var downloadOnly = false

    @Flag(name: .long, help: "Only analyze the Stage 3 files in --local-output.")
    var analyzeOnly = false

    @Flag(name: .long, help: "Only show `odin status`.")
    var status = false

    @Flag(name: .long, help: "Only show `odin costs`.")
    var costs = false

    @Option(name: .long, help: "Parallel uploads.")
    var concurrency = 8

    @Option(name: .long, help: "Local mode: fraction (0…1) of Spot child attempts reclaimed (fault mode).")
    var reclaim: Double = 0

    @Option(name: .long, help: "Local mode: Spot capacity runs out after this many Spot starts (fault mode).")
    var exhaustSpotAfter: Int?

    @Option(name: .long, help: "Local mode: parallel worker processes (default: the profile's max_parallel_jobs).")
    var maxParallel: Int?

    @Option(name: .long, help: "Give up waiting (--local, --wait) after this many seconds.")
    var timeout: Double = 1800

    @Option(name: .long, help: "Folder holding munin-worker and hugin (default: next to odin).")
    var binDir: String?

    func validate() throws {
        let modes = status || costs || analyzeOnly || downloadOnly
        if !modes && inputs.isEmpty { throw ValidationError("give media FILES or DIRS to run (or a mode such as --status)") }
        guard (0...1).contains(reclaim) else { throw ValidationError("--reclaim must be within 0…1, got \(reclaim)") }
        guard concurrency >= 1 && concurrency <= 64 else { throw ValidationError("--concurrency must be within 1…64") }
        if let maxParallel, maxParallel < 1 { throw ValidationError("--max-parallel must be ≥ 1") }
        if let camera, camera.isEmpty || camera.contains("/") {
            throw ValidationError("--camera '\(camera)' must be a non-empty id without '/'")
        }
        if downloadOnly && !status && !costs && !analyzeOnly && (runID == nil || resolvedBucket == nil) {
            throw ValidationError("--download-only needs --run-id RUN and --bucket BUCKET (or ODIN_BUCKET)")
        }
    }

    var resolvedBucket: String? { bucket ?? ProcessInfo.processInfo.environment["ODIN_BUCKET"] }

    func run() throws {
        if status { return try delegate(["status"]) }
        if costs { return try delegate(["costs"]) }
        if analyzeOnly { return try delegate(["analyze", localOutput]) }
        if downloadOnly, let runID, let bucket = resolvedBucket {
            return try delegate(["download", "s3://\(bucket)/runs/\(runID)/stage3", "--local-path", localOutput, "--summary"])
        }
        if quote { try quoteOrRefuse() }
        if global.local { try runLocal() } else { try runAWS() }
    }

    /// `--quote`: prices the inputs with the cost model (issue 9) and refuses an over-budget run unless
    /// `--accept-cost`.
    func quoteOrRefuse() throws {
        let clock = SystemClock()
        let ledger = try RunQuote.ledger(global.context, clock: clock)
        if let note = ledger.note { Terminal.error(note) }
        do {
            let result = try RunQuote.quote(try usage { try LocalPipeline.plan(inputs, camera: camera) },
                                            profile: try global.loadProfile(), state: ledger.state, now: clock.now(),
                                            acceptCost: acceptCost)
            if global.json { Terminal.error(result.text()) } else { print(result.text()) }
        } catch let refusal as QuoteRefusal {
            Terminal.error(refusal.quote.text())
            throw CLIError(refusal.description)
        }
    }

    /// Runs another odin command, in this process, with the same global options.
    func delegate(_ arguments: [String]) throws {
        var forwarded = arguments
        if let profile = global.profile { forwarded += ["--profile", profile] }
        if let region = global.region { forwarded += ["--region", region] }
        if let stack = global.stack { forwarded += ["--stack", stack] }
        if global.local { forwarded += ["--local", "--local-root", global.localRoot] }
        if global.json { forwarded.append("--json") }
        var command = try OdinCommand.parseAsRoot(forwarded)
        try command.run()
    }

    // MARK: - Local

    func runLocal() throws {
        var profile = try global.loadProfile()
        if let maxParallel { profile.costOptimization.maxParallelJobs = maxParallel }
        var faults = LocalCompute.Faults(reclaimFraction: reclaim, exhaustSpotAfterStarts: exhaustSpotAfter,
                                         runnableTimeLimitSeconds: 0.5)
        faults.seed = 7
        let pipeline = try LocalPipeline(.init(root: global.localRoot, profile: profile, faults: faults,
                                               binDir: binDir, verbose: global.verbose))
        let plan = try usage { try LocalPipeline.plan(inputs, camera: camera) }
        let outcome = try LocalRun.execute(pipeline, plan: plan, timeout: timeout, progress: !global.json,
                                           interrupts: .terminal, priority: { [priority] _ in priority })
        try LocalRun.copyStage3(outcome.summary, to: localOutput)
        if global.json {
            var summary = outcome.summary
            summary.localOutput = localOutput
            try Terminal.printJSON(try summary.jsonObject())
        } else {
            print(outcome.summary.render())
            print("Stage 3 copied to \(localOutput)/<run>/")
        }
        if !outcome.completed { throw CLIError("the local run did not finish within \(Int(timeout)) s (--timeout)") }
    }

    // MARK: - AWS

    func runAWS() throws {
        let plan = try usage { try LocalPipeline.plan(inputs, camera: camera) }
        let run = AWSRun(bucket: bucket, concurrency: concurrency, priority: priority, wait: wait,
                         timeoutSeconds: timeout, localOutput: localOutput)
        let outcome = try run.execute(plan, global.context, progress: !global.json, feedback: .terminal) {
            [json = global.json] in if !json { print($0.uploadText) }
        }
        if global.json {
            try Terminal.printJSON(try outcome.jsonObject())
        } else {
            outcome.downloadText.forEach { print($0) }
        }
    }
}

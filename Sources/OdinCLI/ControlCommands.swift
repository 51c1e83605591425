import ArgumentParser
import Foundation
import Odin
import OdinApp
import OdinLocal

/// `odin setup [--job-count N] [--gpu]`: open capacity (the seed's `--action setup`).
struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Open capacity: enable the queues and compute environments and raise maxvCpus for N jobs.",
        discussion: """
            Enables the profile's two job queues and compute environments and sets maxvCpus to \
            min(cloud.aws.compute.max_vcpus, N × vcpus_per_job) (all of max_vcpus without --job-count) and \
            minvCpus to min_vcpus. desiredvCpus is never set (AWS rejects lowering it). Ingest does this by itself \
            when uploads arrive; setup is for warming up before a large upload.

            Example: odin setup --job-count 10 --gpu
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Jobs to make room for (≥ 1).")
    var jobCount: Int?

    @Flag(name: .long, help: "GPU jobs: check the profile's instance types are GPU types (g*/p*).")
    var gpu = false

    func validate() throws {
        if let jobCount, jobCount < 1 { throw ValidationError("--job-count must be ≥ 1, got \(jobCount)") }
    }

    func run() throws {
        try emit(global, try CapacityControl.setup(jobCount: jobCount, gpu: gpu, global.context))
    }
}

/// `odin teardown [--force]`: scale to zero when idle (the seed's `--action teardown`).
struct TeardownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Scale every compute environment to zero when no job is queued or running (--force: regardless).",
        discussion: """
            Sets minvCpus=0 on both compute environments and, with freeze_on_teardown, maxvCpus=0 — or DISABLED \
            while instances still count in desiredvCpus (which AWS does not let anyone lower). Refuses while jobs \
            are SUBMITTED…RUNNING unless --force (jobs then stay queued until capacity is opened again). Odin \
            tears down by itself when the queues drain; this is the manual lever.

            Example: odin teardown --force
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Tear down even while jobs are active.")
    var force = false

    func run() throws {
        try emit(global, try CapacityControl.teardown(force: force, global.context))
    }
}

/// `odin resume RUN`: clear the budget stop and resubmit what a run has left (the local binding runs it here).
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Clear the budget stop and resubmit the chunks a run has left (then condense it).",
        discussion: """
            Uses the same ResumeService the control plane has, and finishes whatever the run left: an interrupted \
            seal (claims the camera's pending files, writes the manifest, submits), chunks without a terminal marker \
            whose jobs are no longer queued or running (one array job, original chunk indices kept), counters behind \
            the chunk markers, a failed condensation (started again); with nothing left, condensation starts. Safe \
            to run any number of times. With --local the resumed chunks run here and the command waits for them.

            Example: odin resume 20260601-053000-cam01-1a2b --local
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The run id.", valueName: "RUN"))
    var runID: String

    @Option(name: .long, help: "Folder holding munin-worker and hugin (default: next to odin).")
    var binDir: String?

    @Option(name: .long, help: "Give up waiting after this many seconds (local).")
    var timeout: Double = 1800

    func run() throws {
        guard global.local else { return try emit(global, try RunResume.aws(runID, global.context)) }
        let profile = try global.loadProfile()
        let pipeline = try LocalPipeline(.init(root: global.localRoot, profile: profile, binDir: binDir,
                                               verbose: global.verbose))
        guard let record = try RunRecord.load(runID, state: pipeline.binding.state) else {
            throw CLIError("run \(runID): not found in \(global.localRoot)/state")
        }
        if record.status == .done {
            try emit(global, ["run_id": runID, "status": "done", "resubmitted": false],
                     text: "run \(runID) is already done (condensed \(record.completedAt ?? "")); nothing to resume")
            return
        }
        let started = Date()
        // The local process that held the run's leases (condensation, fallback flush) is gone: take them over.
        let jobID = try ResumeService(services: pipeline.binding.services).resume(runID, takeOverLeases: true)
        let completed = try pipeline.wait(runs: [runID], timeoutSeconds: timeout, progress: !global.json)
        var summary = try pipeline.summary(runs: [runID], startedAt: started, finishedAt: Date())
        summary.completed = completed
        if global.json {
            var object = try summary.jsonObject()
            object["resume_job_id"] = jobID ?? NSNull()
            try Terminal.printJSON(object)
        } else {
            print(jobID.map { "resubmitted as \($0)" } ?? "nothing left to run; condensation started")
            print(summary.render())
        }
        if !completed { throw CLIError("run \(runID) did not finish within \(Int(timeout)) s") }
    }
}

/// `odin submit --name … --params JSON`: one job on the worker definition (the seed's `--action submit-job`).
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit one Batch job on the worker job definition with parameters as environment variables.",
        discussion: """
            Each key of the JSON object becomes an environment variable ODIN_PARAM_<KEY> (upper-cased) of the \
            container; values must be strings, numbers or booleans. Goes to the Spot queue (the On-Demand queue \
            with --on-demand). Runs normally start from uploads; this is for one-off jobs.

            Example: odin submit --name my-job --params '{"input_path": "/data/images"}'
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Job name (letters, digits, - and _; ≤ 128).")
    var name: String

    @Option(name: .long, help: "Job parameters as a JSON object.")
    var params: String = "{}"

    @Flag(name: .long, help: "Submit to the On-Demand queue.")
    var onDemand = false

    func validate() throws {
        if let problem = ManualJob.nameProblem(name) { throw ValidationError(problem) }
        try usage { _ = try ManualJob.environment(params) }
    }

    func run() throws {
        try emit(global, try ManualJob(name: name, params: params, onDemand: onDemand).submit(global.context))
    }
}

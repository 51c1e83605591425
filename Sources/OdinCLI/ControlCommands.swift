import ArgumentParser
import AWS
import Events
import Foundation
import Odin
import OdinApp
import OdinAWS
import OdinKit
import OdinLocal

/// Output helper: JSON object or its text line.
func emit(_ global: GlobalOptions, _ object: [String: Any], text: String) throws {
    if global.json { try Terminal.printJSON(object) } else { print(text) }
}

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
        let profile = try global.loadProfile()
        if gpu, let type = profile.compute.instanceTypes.first(where: { !($0.hasPrefix("g") || $0.hasPrefix("p")) }) {
            throw CLIError("--gpu: instance type \(type) in cloud.aws.compute.instance_types is not a GPU type")
        }
        let maximum = jobCount.map { min(profile.compute.maxVcpus, $0 * profile.compute.vcpusPerJob) }
            ?? profile.compute.maxVcpus
        if global.local {
            try emit(global, ["binding": "local", "changed": false],
                     text: "local binding: capacity exists only while `odin run --local` runs (max_parallel_jobs "
                        + "\(profile.costOptimization.maxParallelJobs)); nothing to set up")
            return
        }
        let client = try AWSAccess.client(global: global)
        let deployed = try DeployedNames.resolve(global: global, client: client).profile
        do {
            for queue in deployed.queues {
                _ = try client.updateJobQueue(.init(jobQueue: queue, state: "ENABLED"))
            }
            for ce in deployed.computeEnvironments {
                _ = try client.updateComputeEnvironment(.init(
                    computeEnvironment: ce, state: "ENABLED",
                    computeResources: .init(minvCpus: min(profile.compute.minVcpus, maximum), maxvCpus: maximum)))
            }
        } catch { throw CLIError("setup: \(error)") }
        try emit(global, ["queues": deployed.queues, "compute_environments": deployed.computeEnvironments,
                          "max_vcpus": maximum, "min_vcpus": min(profile.compute.minVcpus, maximum)],
                 text: "enabled \(deployed.queues.joined(separator: ", ")); \(deployed.computeEnvironments.joined(separator: ", ")) "
                    + "maxvCpus \(maximum), minvCpus \(min(profile.compute.minVcpus, maximum))")
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
        if global.local {
            let status = try LocalStatus.read(root: global.localRoot, run: nil)
            let last = status["last_teardown"] as? [String: Any]
            try emit(global, ["binding": "local", "last_teardown": last ?? NSNull()],
                     text: "local binding: compute stops with each local run and tears down by itself; last teardown: "
                        + "\(last?["at"] ?? "none recorded")")
            return
        }
        let client = try AWSAccess.client(global: global)
        // With the whole deployment known, the control plane's own teardown runs (idle check, race check, and the
        // teardown is recorded in the state table for `odin status`).
        if !force, let services = try? DeployedNames.awsServices(global: global, client: client) {
            guard try Capacity.teardownIfIdle(reason: "odin teardown", services: services) else {
                throw CLIError("teardown: jobs are still queued or running in \(services.profile.queues.joined(separator: ", ")); "
                               + "wait, or pass --force")
            }
            try emit(global, ["recorded": true, "forced": false],
                     text: "torn down (minvCpus 0\(services.profile.compute.freezeOnTeardown ? ", maxvCpus 0" : "")); recorded in the state table")
            return
        }
        let profile = try DeployedNames.resolve(global: global, client: client).profile
        var actions: [String] = []
        do {
            var active = 0
            for queue in profile.queues {
                for status in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"] {
                    active += try client.listAllJobs(.init(jobQueue: queue, jobStatus: status)).count
                }
            }
            if active > 0 && !force {
                throw CLIError("teardown: \(active) job(s) are still queued or running in \(profile.queues.joined(separator: ", ")); "
                               + "wait, or pass --force")
            }
            for ce in try client.describeComputeEnvironments(names: profile.computeEnvironments) {
                let resources = ce.computeResources
                var update = Batch.UpdateComputeEnvironmentRequest(computeEnvironment: ce.computeEnvironmentName)
                var newResources = Batch.ComputeResources()
                var changed = false
                if (resources?.minvCpus ?? 0) != 0 { newResources.minvCpus = 0; changed = true }
                if profile.compute.freezeOnTeardown && (resources?.maxvCpus ?? 0) != 0 {
                    if (resources?.desiredvCpus ?? 0) == 0 { newResources.maxvCpus = 0; changed = true }
                    else if ce.state != "DISABLED" { update.state = "DISABLED"; changed = true }
                }
                guard changed else { continue }
                if newResources != Batch.ComputeResources() { update.computeResources = newResources }
                _ = try client.updateComputeEnvironment(update)
                actions.append("\(ce.computeEnvironmentName): minvCpus 0"
                               + (newResources.maxvCpus == 0 ? ", maxvCpus 0" : "")
                               + (update.state == "DISABLED" ? ", DISABLED until desiredvCpus drains" : ""))
            }
        } catch let error as CLIError { throw error } catch { throw CLIError("teardown: \(error)") }
        try emit(global, ["actions": actions, "forced": force],
                 text: actions.isEmpty ? "already torn down" : actions.joined(separator: "\n"))
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
        guard global.local else {
            let services = try DeployedNames.awsServices(global: global, client: try AWSAccess.client(global: global))
            guard let record = try RunRecord.load(runID, state: services.state) else {
                throw CLIError("run \(runID): not found in the state table")
            }
            if record.status == .done {
                try emit(global, ["run_id": runID, "status": "done", "resubmitted": false],
                         text: "run \(runID) is already done; nothing to resume")
                return
            }
            let jobID = try ResumeService(services: services).resume(runID)
            try emit(global, ["run_id": runID, "resubmitted": jobID != nil, "job_id": jobID ?? NSNull()],
                     text: jobID.map { "run \(runID): remaining chunks resubmitted as job \($0)" }
                        ?? "run \(runID): nothing left to run; condensation started")
            return
        }
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
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 128,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw ValidationError("--name '\(name)': use 1–128 letters, digits, '-' or '_', starting with a letter or digit")
        }
        _ = try Self.environment(params)
    }

    static func environment(_ params: String) throws -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(params.utf8)) as? [String: Any] else {
            throw ValidationError("--params must be a JSON object, e.g. '{\"input_path\": \"/data\"}'")
        }
        var environment: [String: String] = [:]
        for (key, value) in object {
            let name = "ODIN_PARAM_" + key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            switch value {
            case let string as String: environment[String(name)] = string
            case let number as NSNumber: environment[String(name)] = number.stringValue
            default: throw ValidationError("--params: '\(key)' must be a string, number or boolean")
            }
        }
        return environment
    }

    func run() throws {
        if global.local {
            throw CLIError("submit targets AWS Batch; locally, jobs come from `odin run --local` (drop --local)")
        }
        let client = try AWSAccess.client(global: global)
        let profile = try DeployedNames.resolve(global: global, client: client).profile
        let queue = onDemand ? profile.compute.onDemandQueue : profile.primaryQueue
        // The functions' submitter: the stack's queues are fair-share, so every SubmitJob needs the shareIdentifier
        // (ODIN_SHARE_IDENTIFIER, the stack's `odin`) and carries the default scheduling priority.
        let share = ProcessInfo.processInfo.environment["ODIN_SHARE_IDENTIFIER"].flatMap { $0.isEmpty ? nil : $0 } ?? "odin"
        let compute = BatchCompute(client: client, shareIdentifier: share)
        do {
            let jobID = try compute.submitJob(JobSubmission(
                name: name, queue: queue, jobDefinition: profile.compute.workerJobDefinition, arraySize: 1,
                environment: try Self.environment(params),
                tags: [JobTags.project: "odins-ravne", JobTags.kind: "manual"],
                attempts: profile.compute.reclaimRetries + 1, retryOnStatusReason: ["Host EC2*"]))
            try emit(global, ["job_id": jobID, "job_name": name, "queue": queue],
                     text: "submitted \(name) as \(jobID) to \(queue)")
        } catch { throw CLIError("submit: \(error)") }
    }
}

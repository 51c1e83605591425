import ArgumentParser
import Foundation
import Hugin
import Odin
import OdinApp
import OdinAWS
import OdinBasics

/// `odin batch create-config|process`: the seed's batch workflow manager on the new design.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Describe a batch of inputs in a config file, then process it (the seed's batch workflow).",
        subcommands: [CreateConfig.self, Process.self])

    struct CreateConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-config",
            abstract: "Write a batch config: one job per input path.",
            discussion: """
                Writes {batch_id "batch-<epoch>", jobs[{name "<job-type>-<n>", parameters{input_path, job_type, \
                gpu_required, priority}, priority}], max_parallel_jobs, created_at} (the seed's format).

                Example: odin batch create-config --input /data/a /data/b --job-type image_processing --gpu --output batch.json
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, parsing: .upToNextOption, help: "Input paths (files or folders), one job each.")
        var input: [String]

        @Option(name: .long, help: "Job type: image_processing or video_processing.")
        var jobType: String = "image_processing"

        @Flag(name: .long, help: "Mark the jobs as needing a GPU.")
        var gpu = false

        @Option(name: .long, help: "Priority of every job: high, normal or low (odin batch process honours it as odin run --priority does).")
        var priority: RunPriority = .normal

        @Option(name: .long, help: "The config file to write.")
        var output: String

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("--input needs at least one path") }
            guard ["image_processing", "video_processing"].contains(jobType) else {
                throw ValidationError("--job-type '\(jobType)' must be image_processing or video_processing")
            }
        }

        func run() throws {
            let profile = try global.loadProfile()
            try BatchConfig.write(BatchConfig.create(inputs: input, jobType: jobType, gpu: gpu, priority: priority,
                                                     maxParallelJobs: profile.costOptimization.maxParallelJobs),
                                  to: output)
            try emit(global, ["output": output, "jobs": input.count], text: "wrote \(Plural.count(input.count, "job")) to \(output)")
        }
    }

    struct Process: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "process",
            abstract: "Process a batch config: run every job's input through the pipeline and write a cost report.",
            discussion: """
                With --local all inputs run through the local pipeline and the report holds cost_report{total_jobs, \
                successful_jobs, failed_jobs, success_rate, estimated_spot_cost, estimated_ondemand_cost, \
                estimated_savings} computed from measured vCPU-time and the profile's prices (labelled estimates). \
                On AWS the inputs are uploaded (which starts the runs; see odin status / odin costs).

                Example: odin batch process --config batch.json --output result.json --local
                """)

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "The batch config (from create-config).")
        var config: String

        @Option(name: .long, help: "The result file to write.")
        var output: String

        @Option(name: .long, help: "Bucket to upload to (AWS mode; or ODIN_BUCKET).")
        var bucket: String?

        @Option(name: .long, help: "Folder holding munin-worker and hugin (default: next to odin).")
        var binDir: String?

        func run() throws {
            let batch = try usage { try BatchConfig.read(config) }
            let inputs = batch.inputs
            let priorities = try batch.cameraPriorities { PriorityRequests.cameras(try LocalPipeline.plan([$0], camera: nil)) }
            var result = BatchConfig.Result(batchID: batch.batchID, config: config)
            if global.local {
                let profile = try global.loadProfile()
                let pipeline = try LocalPipeline(.init(root: global.localRoot, profile: profile, binDir: binDir,
                                                       verbose: global.verbose))
                let plan = try usage { try LocalPipeline.plan(inputs, camera: nil) }
                let outcome = try LocalRun.execute(pipeline, plan: plan, timeout: 3600, progress: !global.json,
                                                   interrupts: .terminal, priority: { priorities[$0] })
                result.costReport = batch.costReport(summary: outcome.summary)
                result.summary = outcome.summary
            } else {
                let client = try AWSAccess.client(global.context)
                guard let bucket = try bucket ?? DeployedNames.resolve(global.context, client: client).bucket else {
                    throw ValidationError("--bucket BUCKET (or ODIN_BUCKET, or --stack NAME) is required without --local")
                }
                let plan = try LocalPipeline.plan(inputs, camera: nil)
                let report = try PriorityRequests.around(priorities, store: S3ObjectStore(client: client, bucket: bucket),
                                                         ingest: try global.loadProfile().ingest) {
                    try Uploader(client: client, bucket: bucket, concurrency: 8, feedback: .terminal)
                        .upload(plan, progress: !global.json)
                }
                result.uploaded = report.uploaded
                result.skipped = report.skipped
                result.note = "runs start from the uploads; costs per run: odin costs"
            }
            try BatchConfig.write(result, to: output)
            try emit(global, try result.jsonObject(), text: "wrote \(output)")
        }
    }
}

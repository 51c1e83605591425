import Foundation
import Odin
import OdinApp
import Testing
import TestSupport

/// The `odin` command's logic, called as the commands call it (no binary).
@Suite struct CommandLogicTests {
    @Test func s3LocationsAndSeasonPrefixes() throws {
        let location = try S3Location("s3://bucket/runs/2026", argument: "SOURCE")
        #expect(location.bucket == "bucket" && location.prefix == "runs/2026")
        #expect(try SeasonAnalysis.runPrefix(location) == "2026")
        #expect(try SeasonAnalysis.runPrefix(S3Location("s3://bucket", argument: "SOURCE")) == "")
        let notRuns = try #require(throws: CLIError.self) {
            try SeasonAnalysis.runPrefix(S3Location("s3://bucket/raw/cam01", argument: "SOURCE"))
        }
        #expect(notRuns.description.contains("s3://bucket/runs/<start of the run ids>"))
        let notS3 = try #require(throws: CLIError.self) { try S3Location("/tmp/x", argument: "source") }
        #expect(notS3.description.contains("is not an s3:// URI"))
    }

    @Test func aSeasonDownloadsManifestsStageOneAndReportsOnly() {
        let wanted = ["r1/manifest.jsonl.gz", "r1/stage1/chunk-00000.jsonl.gz", "r1/stage1/thumbnails/a.jpg",
                      "r1/stage3/report.json"]
        for key in wanted { #expect(SeasonDownload.wanted(key, runPrefix: "r"), "\(key)") }
        for key in ["r1/stage3/report.html", "r1/stage1/thumbnails/x/y.jpg", "other/manifest.jsonl.gz", "r1"] {
            #expect(!SeasonDownload.wanted(key, runPrefix: "r"), "\(key)")
        }
    }

    @Test func parallelWorkReportsEveryFailure() {
        let errors = Parallel.forEach(Array(0..<50), concurrency: 4) { value in
            if value % 10 == 3 { throw CLIError("item \(value)") }
        }
        #expect(errors == ["item 3", "item 13", "item 23", "item 33", "item 43"])
    }

    @Test func batchConfigsRoundTripAndNameTheBadField() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("batch-config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/batch.json"
        try BatchConfig.write(BatchConfig.create(inputs: ["/a/camA", "/a/camB"], jobType: "image_processing", gpu: true,
                                                 priority: .high, maxParallelJobs: 4), to: path)
        let config = try BatchConfig.read(path)
        #expect(config.batchID.hasPrefix("batch-"))
        #expect(config.jobs == [.init(inputPath: "/a/camA", priority: .high), .init(inputPath: "/a/camB", priority: .high)])
        // A camera in two jobs gets the higher priority.
        let mixed = BatchConfig(batchID: "b", jobs: [.init(inputPath: "x", priority: .low),
                                                     .init(inputPath: "y", priority: .high)])
        let priorities = mixed.cameraPriorities { _ in ["cam01"] }
        #expect(priorities == ["cam01": RunPriority.high])

        try #"{"jobs":[{"parameters":{"input_path":"/a"},"priority":"urgent"}]}"#.write(toFile: path, atomically: true,
                                                                                      encoding: .utf8)
        let bad = try #require(throws: CLIError.self) { try BatchConfig.read(path) }
        #expect(bad.description.contains("jobs[0].priority 'urgent' must be high, normal or low"))
    }

    @Test func manualJobParametersBecomeEnvironmentVariables() throws {
        #expect(try ManualJob.environment(#"{"input_path": "/data", "max-size": 3, "gpu": true}"#)
                == ["ODIN_PARAM_INPUT_PATH": "/data", "ODIN_PARAM_MAX_SIZE": "3", "ODIN_PARAM_GPU": "1"])
        #expect(throws: CLIError.self) { try ManualJob.environment(#"{"nested": {"a": 1}}"#) }
        #expect(ManualJob.nameProblem("ok-name_1") == nil)
        #expect(ManualJob.nameProblem("-starts-with-dash") != nil)
    }

    @Test func costsMonthPrefixes() {
        #expect(CostReport.monthPrefix("2026-06") == "2026-06")
        #expect(CostReport.monthPrefix("2026-06-15") == "2026-06")
        #expect(CostReport.monthPrefix("June") == nil)
    }

    @Test func localStatusWithoutStateNamesTheFolderAndTheFix() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("status")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = try #require(throws: CLIError.self) {
            try StatusReport.read(CommandContext(local: true, localRoot: dir, environment: [:]), run: nil)
        }
        #expect(error.description.contains(dir + "/state"))
        #expect(error.description.contains("odin run --local"))
    }

    @Test func theLocalBindingHasNoCapacityToOpenOrClose() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("capacity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
        let context = CommandContext(local: true, localRoot: dir, environment: [:])
        let setup = try CapacityControl.setup(jobCount: 2, gpu: false, context)
        #expect(setup.object["binding"] as? String == "local" && setup.object["changed"] as? Bool == false)
        let teardown = try CapacityControl.teardown(force: false, context)
        #expect(teardown.text.hasSuffix("last teardown: none recorded"))
        let status = try StatusReport.read(context, run: nil)
        #expect(status.state?.runs.isEmpty == true)
        #expect(status.state?.budgetStop.active == false)
        #expect(status.render().contains("0 runs in \(dir)"))
    }
}

import AWS
import Foundation
import Hugin
import Odin
import OdinAWS
import OdinBasics

/// `odin run` on AWS: uploads the planned files (`LocalPipeline.plan`) to `raw/<camera>/…` with each camera's priority request written around the
/// upload (ingest starts the runs as the uploads settle), then with `wait` follows the runs the upload started and
/// downloads each run's Stage 3.
package struct AWSRun {
    /// `--bucket`, else ODIN_BUCKET, else the stack's bucket (DeployedNames).
    package var bucket: String?
    package var concurrency: Int
    package var priority: RunPriority
    package var wait: Bool
    package var timeoutSeconds: Double
    /// Where each run's Stage 3 goes (`<localOutput>/<run>`) with `wait`.
    package var localOutput: String

    package init(bucket: String?, concurrency: Int, priority: RunPriority, wait: Bool, timeoutSeconds: Double,
                 localOutput: String) {
        (self.bucket, self.concurrency) = (bucket, concurrency)
        (self.priority, self.wait, self.timeoutSeconds, self.localOutput) = (priority, wait, timeoutSeconds, localOutput)
    }

    /// What `odin run` did on AWS; its `--json` form has the keys bucket, uploaded, skipped, bytes, priority and,
    /// with `wait`, runs.
    package struct Outcome: Encodable {
        package var bucket: String
        package var upload: Uploader.Report
        package var priority: RunPriority
        /// With `wait`: the runs whose Stage 3 was downloaded.
        package var downloaded: [RunFollower.Downloaded]?

        /// The line printed once the upload is done (before any waiting).
        package var uploadText: String {
            "Uploaded \(Plural.count(upload.uploaded, "file")) (\(ProgressBar.format(upload.bytes, "B"))), "
                + "\(upload.skipped) already in s3://\(bucket)/ — ingest starts the runs as the uploads settle, "
                + "at \(priority.rawValue) priority."
        }

        /// One line per downloaded run.
        package var downloadText: [String] {
            (downloaded ?? []).map { "Stage 3 of \($0.runID) → \($0.localPath)" }
        }

        enum CodingKeys: String, CodingKey { case bucket, uploaded, skipped, bytes, priority, runs }

        // MARK: - Encodable (the upload report's counts flattened in)

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(bucket, forKey: .bucket)
            try container.encode(upload.uploaded, forKey: .uploaded)
            try container.encode(upload.skipped, forKey: .skipped)
            try container.encode(upload.bytes, forKey: .bytes)
            try container.encode(priority.rawValue, forKey: .priority)
            try container.encodeIfPresent(downloaded, forKey: .runs)
        }
    }

    /// Uploads `plan`, then (with `wait`) follows and downloads. `uploaded` is called with the outcome so far once
    /// the upload is done, before the wait. A missing bucket and failed transfers throw `CLIError`.
    package func execute(_ plan: [(source: String, key: String)], _ context: CommandContext, progress: Bool,
                         feedback: Feedback, uploaded: (Outcome) -> Void = { _ in }) throws -> Outcome {
        let client = try AWSAccess.client(context, concurrency: concurrency)
        guard let bucket = try bucket ?? DeployedNames.resolve(context, client: client).bucket else {
            throw CLIError("--bucket BUCKET (or ODIN_BUCKET, or --stack NAME) is required without --local")
        }
        let profile = try context.loadProfile()
        let uploadStarted = Date()
        let cameras = PriorityRequests.cameras(plan)
        let report = try PriorityRequests.around(Dictionary(uniqueKeysWithValues: cameras.map { ($0, priority) }),
                                                 store: S3ObjectStore(client: client, bucket: bucket),
                                                 ingest: profile.ingest) {
            try Uploader(client: client, bucket: bucket, concurrency: concurrency, feedback: feedback)
                .upload(plan, progress: progress)
        }
        var outcome = Outcome(bucket: bucket, upload: report, priority: priority)
        uploaded(outcome)
        guard wait else { return outcome }
        let follower = RunFollower(client: client, bucket: bucket, cameras: cameras, since: uploadStarted,
                                   timeoutSeconds: timeoutSeconds, progress: progress, feedback: feedback)
        outcome.downloaded = try follower.followAndDownload(to: localOutput) { run, directory in
            let report = try S3Downloader(client: client, concurrency: 8, names: nil)
                .download(try S3Location("s3://\(bucket)/runs/\(run)/stage3", argument: "run"), to: directory,
                          progress: progress)
            if !report.errors.isEmpty || !report.refused.isEmpty {
                throw CLIError("download of run \(run): \((report.errors + report.refused).prefix(5).joined(separator: "; "))")
            }
            return report.files
        }
        return outcome
    }
}

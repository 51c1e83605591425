import AWS
import Foundation
import Hugin
import Odin
import OdinBasics

/// `odin run --wait` on AWS: follows the runs the upload started through their S3 artefacts (runs/<camera>-<time>/:
/// manifest, Stage 1 chunks, Stage 3 report) and downloads each run's Stage 3 when it is there.
package struct RunFollower {
    package let client: AWSClient
    package let bucket: String
    package let cameras: Set<String>
    package let since: Date
    package let timeoutSeconds: Double
    package let progress: Bool
    package var pollSeconds: Double = 5
    package var feedback: Feedback

    package init(client: AWSClient, bucket: String, cameras: Set<String>, since: Date, timeoutSeconds: Double,
                 progress: Bool, feedback: Feedback) {
        (self.client, self.bucket, self.cameras, self.since) = (client, bucket, cameras, since)
        (self.timeoutSeconds, self.progress, self.feedback) = (timeoutSeconds, progress, feedback)
    }

    /// A run's Stage 3, downloaded.
    package struct Downloaded: Codable, Sendable, Equatable {
        package var runID: String
        package var files: Int
        package var localPath: String
        enum CodingKeys: String, CodingKey { case runID = "run_id", files, localPath = "local_path" }
    }

    /// Run folders `runs/<sanitized camera>-<yyyyMMdd-HHmmss>[-n]/` of our cameras, created since the upload began
    /// (a minute of clock skew allowed).
    package func discoverRuns() throws -> [String] {
        let page = try client.listObjectsV2(bucket: bucket, prefix: "runs/", delimiter: "/")
        var prefixes = page.commonPrefixes
        var token = page.isTruncated ? page.nextContinuationToken : nil
        while let next = token {
            let more = try client.listObjectsV2(bucket: bucket, prefix: "runs/", delimiter: "/", continuationToken: next)
            prefixes += more.commonPrefixes
            token = more.isTruncated ? more.nextContinuationToken : nil
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let sanitized = Set(cameras.map(RunSealer.sanitize))  // how ingest names a camera's runs
        return prefixes.compactMap { prefix -> String? in
            let run = String(prefix.dropFirst("runs/".count).dropLast())
            for camera in sanitized where run.hasPrefix(camera + "-") {
                let stamp = String(run.dropFirst(camera.count + 1).prefix(15))
                if let date = formatter.date(from: stamp), date >= since.addingTimeInterval(-60) { return run }
            }
            return nil
        }.sorted()
    }

    /// Polls until every run of the cameras is condensed (or the timeout), then downloads each run's Stage 3 to
    /// `output/<run>` with `download` (runs/<run>/stage3 into a folder; returns the number of files, throws naming
    /// what failed).
    package func followAndDownload(to output: String, download: (_ run: String, _ directory: String) throws -> Int)
        throws -> [Downloaded]
    {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var finished: [String] = []
        var runs: [String] = []
        var lastLine = ""
        while Date() < deadline {
            do {
                runs = try discoverRuns()
                finished = []
                var chunkInfo: [String] = []
                for run in runs {
                    let stage1 = try client.listAllObjects(bucket: bucket, prefix: "runs/\(run)/stage1/chunk-").count
                    let done = (try? client.headObject(bucket: bucket, key: "runs/\(run)/stage3/report.json")) != nil
                    if done { finished.append(run) }
                    chunkInfo.append("\(run): \(Plural.count(stage1, "Stage 1 chunk"))\(done ? ", condensed" : "")")
                }
                let line = runs.isEmpty ? "waiting for ingest to seal a run (settle_seconds after the last upload)…"
                                        : chunkInfo.joined(separator: "; ")
                if progress && line != lastLine { feedback.note(line) }
                lastLine = line
            } catch {
                throw CLIError("following s3://\(bucket)/runs/: \(error)")
            }
            if !runs.isEmpty && finished.count == runs.count { break }
            usleep(UInt32(pollSeconds * 1_000_000))
        }
        guard !runs.isEmpty && finished.count == runs.count else {
            throw CLIError("--wait: \(finished.count) of \(Plural.count(runs.count, "run")) condensed within \(Int(timeoutSeconds)) s "
                           + "(--timeout); check `odin status`")
        }
        return try runs.map { run in
            Downloaded(runID: run, files: try download(run, output + "/" + run), localPath: output + "/" + run)
        }
    }
}

import AWS
import Crypto
import Foundation
import Hugin
import HuginState
import OdinBasics
import OdinKit

/// The size of a local file in bytes (0 when it does not exist).
package enum LocalFiles {
    package static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}

/// `odin download s3://BUCKET/runs/RUN[/stage3] --local-path DIR`: every object under the prefix into DIR (parallel,
/// resumable, verified), then optionally the Stage 3 summary and a runner script.
package struct StageDownload: Sendable {
    package var source: String
    package var localPath: String
    package var concurrency = 16
    /// Only objects with these file names (nil: all).
    package var names: Set<String>?
    /// Summarize the downloaded Stage 3 (`--summary`).
    package var summarize = false
    /// Write DIR/run_analysis.sh re-running the analysis with this `odin` executable (`--create-runner`).
    package var runnerExecutable: String?

    package init(source: String, localPath: String) {
        self.source = source
        self.localPath = localPath
    }

    package struct Result {
        package var report: S3Downloader.Report
        package var seconds: Double
        /// The Stage 3 summary, or why there is none (with `summarize`).
        package var analysis: String?
        /// The runner script written.
        package var runner: String?
    }

    /// What `odin download --json` prints.
    package struct Summary: Codable, Sendable, Equatable {
        package var source: String
        package var localPath: String
        package var files: Int
        package var downloaded: Int
        package var resumed: Int
        package var skippedComplete: Int
        package var bytes: Int64
        /// Rounded to milliseconds.
        package var seconds: Double
        package var refusedKeys: [String]
        package var analysis: String?
        package var runner: String?

        enum CodingKeys: String, CodingKey {
            case source, localPath = "local_path", files, downloaded, resumed, skippedComplete = "skipped_complete"
            case bytes, seconds, refusedKeys = "refused_keys", analysis, runner
        }
    }

    /// `result` of this download as `odin download --json` prints it.
    package func summary(_ result: Result) -> Summary {
        let report = result.report
        return Summary(source: source, localPath: localPath, files: report.files, downloaded: report.downloaded,
                       resumed: report.resumed, skippedComplete: report.skipped, bytes: report.bytes,
                       seconds: (result.seconds * 1000).rounded() / 1000, refusedKeys: report.refused,
                       analysis: result.analysis, runner: result.runner)
    }

    /// Downloads, then summarizes and writes the runner; the caller prints the result and then calls
    /// `result.report.throwIfIncomplete`, so what did arrive is reported before the failure.
    package func run(_ context: CommandContext) throws -> Result {
        let location = try S3Location(source, argument: "source")
        let client = try AWSAccess.client(context, concurrency: concurrency)
        let started = ContinuousClock.now
        var downloader = S3Downloader(client: client, concurrency: concurrency)
        downloader.names = names
        let report = try downloader.download(location, to: localPath, progress: context.progress)
        let elapsed = ContinuousClock.now - started
        var result = Result(report: report, seconds: Double(elapsed.components.seconds)
                                + Double(elapsed.components.attoseconds) / 1e18)
        if summarize {
            if FileManager.default.fileExists(atPath: localPath + "/report.json") {
                do { result.analysis = try Stage3Analysis.summarize(directory: localPath) } catch {
                    result.analysis = "cannot analyze \(localPath): \(error)"
                }
            } else {
                result.analysis = "no report.json in \(localPath): the downloaded prefix holds no Stage 3 report"
            }
        }
        if let runnerExecutable {
            let runner = localPath + "/run_analysis.sh"
            let script = """
                #!/bin/sh
                # Re-runs the local analysis of this Stage 3 folder (written by odin download --create-runner).
                exec "${ODIN:-\(runnerExecutable)}" analyze "$(dirname "$0")" "$@"

                """
            guard FileManager.default.createFile(atPath: runner, contents: Data(script.utf8),
                                                 attributes: [.posixPermissions: 0o755]) else {
                throw CLIError("--create-runner: cannot write \(runner)")
            }
            result.runner = runner
        }
        return result
    }
}

/// `odin download --season s3://BUCKET[/runs/PREFIX]`: each run's manifest, Stage 1 (chunks and the worker's
/// thumbnails, which report.html embeds) and report.json into DIR/<run>/, then one season Stage 3 of the runs the
/// bucket holds now (the bucket's site registry names the sites), as `odin analyze --season DIR` would write it.
package struct SeasonDownload: Sendable {
    package var source: String
    package var localPath: String
    package var concurrency = 16
    /// The season's Stage 3 folder (default DIR/season).
    package var output: String?
    /// The season's name (default season-<hash of the run ids>).
    package var name: String?

    package init(source: String, localPath: String) {
        self.source = source
        self.localPath = localPath
    }

    /// The object keys (relative to runs/) a season needs of the runs whose id starts with `runPrefix`.
    package static func wanted(_ relative: String, runPrefix: String) -> Bool {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix(runPrefix) else { return false }
        return (parts.count == 2 && parts[1] == "manifest.jsonl.gz") || (parts.count == 3 && parts[1] == "stage1")
            || (parts.count == 4 && parts[1] == "stage1" && parts[2] == "thumbnails")
            || (parts.count == 3 && parts[1] == "stage3" && parts[2] == Stage3Files.report)
    }

    package struct Result {
        package var report: S3Downloader.Report
        /// The ids of the condensed runs: those the bucket holds now (DIR may keep older downloads).
        package var runs: [String]
        package var summary: CondensationSummary
    }

    /// Downloads what the season needs, then condenses it; throws when a download failed or no run matches.
    package func run(_ context: CommandContext, options: CondensationOptions) throws -> Result {
        let location = try S3Location(source, argument: "source")
        let runPrefix = try SeasonAnalysis.runPrefix(location)
        let client = try AWSAccess.client(context, concurrency: concurrency)
        var downloader = S3Downloader(client: client, concurrency: concurrency)
        downloader.keyFilter = { Self.wanted($0, runPrefix: runPrefix) }
        let report = try downloader.download(try S3Location("s3://\(location.bucket)/runs/", argument: "source"),
                                             to: localPath, progress: context.progress)
        try report.throwIfIncomplete(localPath: localPath)
        if context.progress {
            Terminal.error("downloaded \(Plural.count(report.downloaded, "file")) (\(report.skipped) already complete) of the runs "
                           + "under \(source) → \(localPath)")
        }
        let listed = Set(report.keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        guard !listed.isEmpty else {
            throw CLIError("no runs under s3://\(location.bucket)/runs/\(runPrefix): check the bucket and the run "
                           + "prefix (odin status lists runs)")
        }
        do {
            let runs = try SeasonInputs.inFolder(localPath).runs.filter { listed.contains($0.id) }
            let registry = try SiteRegistries.open(storeURI: "s3://" + location.bucket, environment: context.environment)
            let summary = try SeasonAnalysis.condense(runs, name: name, mediaRoot: "s3://" + location.bucket,
                                                      registry: registry, output: output ?? localPath + "/season",
                                                      options: options)
            return Result(report: report, runs: runs.map(\.id), summary: summary)
        } catch let error as CLIError { throw error } catch {
            throw CLIError("download --season \(source): \(error)")
        }
    }
}

/// The download engine (also used by the benchmark through `odin download`): parallel, resumable (a partial
/// `<file>.odin-part` continues with a ranged GET), verified against size and single-part ETag (MD5), and never
/// writing outside the folder.
package struct S3Downloader {
    package let client: AWSClient
    package let concurrency: Int
    /// Only objects with these file names (nil: all).
    package var names: Set<String>? = nil
    /// Only objects whose key relative to the prefix passes (nil: all).
    package var keyFilter: (@Sendable (String) -> Bool)? = nil

    package init(client: AWSClient, concurrency: Int, names: Set<String>? = nil) {
        self.client = client
        self.concurrency = concurrency
        self.names = names
    }

    package struct Report {
        package var files = 0, downloaded = 0, resumed = 0, skipped = 0
        package var bytes: Int64 = 0
        package var refused: [String] = []
        package var errors: [String] = []
        /// Keys (relative to the prefix) of the objects downloaded or already complete.
        package var keys: [String] = []

        /// Refused keys and failed downloads are errors (after everything else was downloaded).
        package func throwIfIncomplete(localPath: String) throws {
            if !refused.isEmpty {
                throw CLIError("refused \(Plural.count(refused.count, "key")) that would leave \(localPath): "
                               + refused.prefix(5).joined(separator: ", "))
            }
            if !errors.isEmpty {
                throw CLIError("\(Plural.count(errors.count, "download")) failed (re-run to resume):\n  "
                               + errors.prefix(10).joined(separator: "\n  "))
            }
        }
    }

    /// One object to fetch: its key, the local file, and the size and ETag the listing gave.
    package struct Item: Sendable {
        package var key: String
        package var path: String
        package var size: Int64
        package var eTag: String

        package init(key: String, path: String, size: Int64, eTag: String) {
            self.key = key
            self.path = path
            self.size = size
            self.eTag = eTag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
    }

    package func download(_ location: S3Location, to directory: String, progress: Bool) throws -> Report {
        var prefix = location.prefix
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        let objects: [AWSClient.S3ListedObject]
        do { objects = try client.listAllObjects(bucket: location.bucket, prefix: prefix) } catch {
            throw CLIError("list s3://\(location.bucket)/\(prefix): \(error)")
        }
        var report = Report()
        var items: [Item] = []
        for object in objects {
            let relative = String(object.key.dropFirst(prefix.count))
            if relative.isEmpty || relative.hasSuffix("/") { continue }  // folder markers
            if let names, !names.contains(String(relative.split(separator: "/").last ?? "")) { continue }
            if let keyFilter, !keyFilter(relative) { continue }
            guard let path = try? ObjectKey.localPath(root: directory, key: relative) else {
                report.refused.append(object.key)
                continue
            }
            report.keys.append(relative)
            items.append(Item(key: object.key, path: path, size: object.size,
                              eTag: object.eTag ?? ""))
        }
        report.files = items.count
        var total: Int64 = 0
        for item in items { total += item.size }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bar = ProgressBar("download", total: total, unit: "B", enabled: progress)
        let lock = NSLock()
        nonisolated(unsafe) var shared = report
        let client = client, bucket = location.bucket
        let errors = Parallel.forEach(items, concurrency: concurrency) { item in
            let outcome = try Self.fetch(item, client: client, bucket: bucket)
            lock.lock()
            switch outcome {
            case .skipped: shared.skipped += 1
            case .downloaded(let bytes): shared.downloaded += 1; shared.bytes += bytes
            case .resumed(let bytes): shared.downloaded += 1; shared.resumed += 1; shared.bytes += bytes
            }
            lock.unlock()
            bar.advance(by: item.size)
        }
        bar.finish()
        shared.errors = errors
        return shared
    }

    /// What `fetch` did: the file was complete already, downloaded whole, or continued from a partial file (the
    /// bytes transferred).
    package enum Outcome: Equatable { case skipped, downloaded(Int64), resumed(Int64) }

    package static func fetch(_ item: Item, client: AWSClient, bucket: String) throws -> Outcome {
        let manager = FileManager.default
        if manager.fileExists(atPath: item.path), LocalFiles.size(item.path) == item.size,
           (try? verify(item.path, item)) == true {
            return .skipped
        }
        try manager.createDirectory(atPath: (item.path as NSString).deletingLastPathComponent,
                                    withIntermediateDirectories: true)
        let part = item.path + ".odin-part"
        var have = manager.fileExists(atPath: part) ? LocalFiles.size(part) : 0
        if have > item.size { try? manager.removeItem(atPath: part); have = 0 }
        var resumed = false
        do {
            if have > 0 && have < item.size {
                let tail = part + ".tail"
                _ = try client.getObject(bucket: bucket, key: item.key, range: .from(have), downloadTo: tail)
                try append(tail, to: part)
                try? manager.removeItem(atPath: tail)
                resumed = true
            } else if have == 0 {
                _ = try client.getObject(bucket: bucket, key: item.key, downloadTo: part)
                if item.size == 0 && !manager.fileExists(atPath: part) && !manager.createFile(atPath: part, contents: Data()) {
                    throw CLIError("cannot create \(part)")
                }
            }
            if !(try verify(part, item)) {
                // A stale or corrupt partial file: start over once.
                try? manager.removeItem(atPath: part)
                _ = try client.getObject(bucket: bucket, key: item.key, downloadTo: part)
                resumed = false
                guard try verify(part, item) else {
                    throw CLIError("s3://\(bucket)/\(item.key): downloaded bytes do not match the object's size/ETag")
                }
            }
        } catch let error as CLIError { throw error } catch {
            throw CLIError("s3://\(bucket)/\(item.key): \(error)")
        }
        try? manager.removeItem(atPath: item.path)
        try manager.moveItem(atPath: part, toPath: item.path)
        return resumed ? .resumed(item.size - have) : .downloaded(item.size)
    }

    /// Size always; MD5 when the ETag is a single-part MD5 (32 hex digits).
    package static func verify(_ path: String, _ item: Item) throws -> Bool {
        guard LocalFiles.size(path) == item.size else { return false }
        guard item.eTag.count == 32, item.eTag.allSatisfy(\.isHexDigit) else { return true }
        return Hex.encode(try MD5.hash(filePath: path)) == item.eTag.lowercased()
    }

    package static func append(_ source: String, to destination: String) throws {
        guard let input = FileHandle(forReadingAtPath: source), let output = FileHandle(forWritingAtPath: destination) else {
            throw CLIError("cannot append \(source) to \(destination)")
        }
        defer { try? input.close(); try? output.close() }
        try output.seekToEnd()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
    }
}

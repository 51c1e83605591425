import ArgumentParser
import AWS
import Crypto
import Foundation
import Hugin
import HuginState
import OdinApp
import OdinAWS
import OdinKit

/// `odin download s3://BUCKET/runs/RUN[/stage3] --local-path DIR`: parallel, resumable, verified downloads.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a run's results (Stage 3, or everything under runs/RUN), or a season's runs, from S3: parallel, resumable, verified.",
        discussion: """
            Every object under the prefix is written to DIR/<key relative to the prefix>. Downloads go to \
            <file>.odin-part first; an interrupted download continues from the bytes already there (a ranged GET) \
            on the next run, and files already complete are skipped. Each file is checked against the object's \
            size and, for single-part objects, its ETag (MD5); a mismatch discards the partial file and downloads \
            it again once. Keys that would leave DIR (`..`, `.` segments, absolute keys) are refused and reported.

            --summary prints the Stage 3 analysis (odin analyze); --create-runner writes DIR/run_analysis.sh, which \
            re-runs that analysis locally.

            --season s3://BUCKET[/runs/RUN-ID-PREFIX] downloads what a season needs of every run under the prefix \
            (DIR/<run>/manifest.jsonl.gz, stage1/ with the worker's thumbnails, and stage3/report.json) and then \
            condenses them into ONE Stage 3 in --output (default DIR/season), exactly as `odin analyze --season DIR \
            --media-root s3://BUCKET` does (see `odin analyze --help`); the bucket's site registry names the sites.

            Examples:
              odin download s3://my-odin-data/runs/20260601-053000-cam01-1a2b/stage3 --local-path ./stage3_output --summary
              odin download --season s3://my-odin-data/runs/202606 --local-path ./runs-june --output ./season-june
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "s3://BUCKET/runs/RUN or s3://BUCKET/runs/RUN/stage3")
    var source: String

    @Option(name: .long, help: "Folder to download into.")
    var localPath: String

    @Flag(name: .long, help: "Print a summary of the downloaded Stage 3 files.")
    var summary = false

    @Flag(name: .long, help: "Write DIR/run_analysis.sh, which re-runs the local analysis.")
    var createRunner = false

    @Flag(name: .long, help: "Only compressed_observations.json (the seed downloader's flag).")
    var observationsOnly = false

    @Flag(name: .long, help: "Only report.json and report.html (the seed downloader's flag).")
    var reportOnly = false

    @Option(name: .long, help: "Parallel downloads (1…64).")
    var concurrency = 16

    @Flag(name: .long, help: "Download every run under s3://BUCKET[/runs/PREFIX] and condense them into one Stage 3.")
    var season = false

    @Option(name: .long, help: ArgumentHelp("With --season: the folder for the season's Stage 3 (default: DIR/season).",
                                            valueName: "OUT"))
    var output: String?

    @Option(name: .long, help: "With --season: the season's name (default: season-<hash of the run ids>).")
    var name: String?

    func validate() throws {
        _ = try S3Location(source, argument: "source")
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be within 1…64") }
        if observationsOnly && reportOnly {
            throw ValidationError("--observations-only and --report-only exclude each other; pass one")
        }
        if season {
            for (flag, set) in [("--observations-only", observationsOnly), ("--report-only", reportOnly),
                                ("--create-runner", createRunner)] where set {
                throw ValidationError("\(flag) does not apply with --season")
            }
            _ = try AnalyzeCommand.runPrefix(try S3Location(source, argument: "source"))
        } else if output != nil || name != nil {
            throw ValidationError("--output and --name only apply with --season")
        }
    }

    func run() throws {
        if season { return try downloadSeason() }
        let location = try S3Location(source, argument: "source")
        let client = try AWSAccess.client(global: global, concurrency: concurrency)
        let started = Date()
        var downloader = S3Downloader(client: client, concurrency: concurrency)
        if observationsOnly { downloader.names = ["compressed_observations.json"] }
        if reportOnly { downloader.names = ["report.json", "report.html"] }
        let report = try downloader.download(location, to: localPath, progress: !global.json)
        let seconds = Date().timeIntervalSince(started)
        var output: [String: Any] = [
            "source": source, "local_path": localPath, "files": report.files, "downloaded": report.downloaded,
            "resumed": report.resumed, "skipped_complete": report.skipped, "bytes": report.bytes,
            "seconds": (seconds * 1000).rounded() / 1000, "refused_keys": report.refused,
        ]
        var analysis: String?
        if summary {
            let reportPath = localPath + "/report.json"
            if FileManager.default.fileExists(atPath: reportPath) {
                do { analysis = try Stage3Analysis.summarize(directory: localPath) } catch {
                    analysis = "cannot analyze \(localPath): \(error)"
                }
            } else {
                analysis = "no report.json in \(localPath): the downloaded prefix holds no Stage 3 report"
            }
            output["analysis"] = analysis ?? ""
        }
        if createRunner {
            let runner = localPath + "/run_analysis.sh"
            let script = """
                #!/bin/sh
                # Re-runs the local analysis of this Stage 3 folder (written by odin download --create-runner).
                exec "${ODIN:-\(Tools.ownPath)}" analyze "$(dirname "$0")" "$@"

                """
            guard FileManager.default.createFile(atPath: runner, contents: Data(script.utf8),
                                                 attributes: [.posixPermissions: 0o755]) else {
                throw CLIError("--create-runner: cannot write \(runner)")
            }
            output["runner"] = runner
        }
        if global.json { try Terminal.printJSON(output) } else {
            print("Downloaded \(report.downloaded) file(s) (\(report.resumed) resumed), \(report.skipped) already "
                  + "complete, \(ProgressBar.format(report.bytes, "B")) in \(String(format: "%.2f", seconds)) s → \(localPath)")
            if let analysis { print(analysis) }
            if let runner = output["runner"] { print("Runner: \(runner)") }
        }
        try report.throwIfIncomplete(localPath: localPath)
    }
}

extension DownloadCommand {
    /// `--season`: each run's manifest, Stage 1 (chunks and the worker's thumbnails, which report.html embeds) and
    /// report.json into DIR/<run>/, then one season Stage 3.
    func downloadSeason() throws {
        let location = try S3Location(source, argument: "source")
        let runPrefix = try AnalyzeCommand.runPrefix(location)
        let client = try AWSAccess.client(global: global, concurrency: concurrency)
        var downloader = S3Downloader(client: client, concurrency: concurrency)
        downloader.keyFilter = { relative in
            let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].hasPrefix(runPrefix) else { return false }
            return (parts.count == 2 && parts[1] == "manifest.jsonl.gz") || (parts.count == 3 && parts[1] == "stage1")
                || (parts.count == 4 && parts[1] == "stage1" && parts[2] == "thumbnails")
                || (parts.count == 3 && parts[1] == "stage3" && parts[2] == Stage3Files.report)
        }
        let report = try downloader.download(try S3Location("s3://\(location.bucket)/runs/", argument: "source"),
                                             to: localPath, progress: !global.json)
        try report.throwIfIncomplete(localPath: localPath)
        if !global.json {
            Terminal.error("downloaded \(report.downloaded) file(s) (\(report.skipped) already complete) of the runs "
                           + "under \(source) → \(localPath)")
        }
        // Only the runs the bucket holds now (the folder may keep older downloads).
        let listed = Set(report.keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        guard !listed.isEmpty else {
            throw CLIError("no runs under s3://\(location.bucket)/runs/\(runPrefix): check the bucket and the run "
                           + "prefix (odin status lists runs)")
        }
        do {
            let found = try SeasonInputs.inFolder(localPath)
            let runs = found.runs.filter { listed.contains($0.id) }
            let registry = try SiteRegistries.open(storeURI: "s3://" + location.bucket,
                                                      environment: ProcessInfo.processInfo.environment)
            try AnalyzeCommand.condense(runs, name: name, mediaRoot: "s3://" + location.bucket, registry: registry,
                                        output: output ?? localPath + "/season", global: global)
        } catch let error as CLIError { throw error } catch {
            throw CLIError("download --season \(source): \(error)")
        }
    }
}

/// The download engine (also used by the benchmark through `odin download`).
struct S3Downloader {
    let client: AWSClient
    let concurrency: Int
    /// Only objects with these file names (nil: all).
    var names: Set<String>? = nil
    /// Only objects whose key relative to the prefix passes (nil: all).
    var keyFilter: (@Sendable (String) -> Bool)? = nil

    struct Report {
        var files = 0, downloaded = 0, resumed = 0, skipped = 0
        var bytes: Int64 = 0
        var refused: [String] = []
        var errors: [String] = []
        /// Keys (relative to the prefix) of the objects downloaded or already complete.
        var keys: [String] = []

        /// Refused keys and failed downloads are errors (after everything else was downloaded).
        func throwIfIncomplete(localPath: String) throws {
            if !refused.isEmpty {
                throw CLIError("refused \(refused.count) key(s) that would leave \(localPath): "
                               + refused.prefix(5).joined(separator: ", "))
            }
            if !errors.isEmpty {
                throw CLIError("\(errors.count) download(s) failed (re-run to resume):\n  "
                               + errors.prefix(10).joined(separator: "\n  "))
            }
        }
    }

    struct Item: Sendable {
        var key: String
        var path: String
        var size: Int64
        var eTag: String
    }

    func download(_ location: S3Location, to directory: String, progress: Bool) throws -> Report {
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
                              eTag: (object.eTag ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))))
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

    enum Outcome { case skipped, downloaded(Int64), resumed(Int64) }

    static func fetch(_ item: Item, client: AWSClient, bucket: String) throws -> Outcome {
        let manager = FileManager.default
        if manager.fileExists(atPath: item.path), LocalPipeline.size(item.path) == item.size,
           (try? verify(item.path, item)) == true {
            return .skipped
        }
        try manager.createDirectory(atPath: (item.path as NSString).deletingLastPathComponent,
                                    withIntermediateDirectories: true)
        let part = item.path + ".odin-part"
        var have = manager.fileExists(atPath: part) ? LocalPipeline.size(part) : 0
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
    static func verify(_ path: String, _ item: Item) throws -> Bool {
        guard LocalPipeline.size(path) == item.size else { return false }
        guard item.eTag.count == 32, item.eTag.allSatisfy(\.isHexDigit) else { return true }
        return Hex.encode(try MD5.hash(filePath: path)) == item.eTag.lowercased()
    }

    static func append(_ source: String, to destination: String) throws {
        guard let input = FileHandle(forReadingAtPath: source), let output = FileHandle(forWritingAtPath: destination) else {
            throw CLIError("cannot append \(source) to \(destination)")
        }
        defer { try? input.close(); try? output.close() }
        try output.seekToEnd()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
    }
}

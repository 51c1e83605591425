import ArgumentParser
import Foundation
import Hugin
import OdinApp
import OdinBasics

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
        try usage { _ = try S3Location(source, argument: "source") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be within 1…64") }
        if observationsOnly && reportOnly {
            throw ValidationError("--observations-only and --report-only exclude each other; pass one")
        }
        if season {
            for (flag, set) in [("--observations-only", observationsOnly), ("--report-only", reportOnly),
                                ("--create-runner", createRunner)] where set {
                throw ValidationError("\(flag) does not apply with --season")
            }
            try usage { _ = try SeasonAnalysis.runPrefix(try S3Location(source, argument: "source")) }
        } else if output != nil || name != nil {
            throw ValidationError("--output and --name only apply with --season")
        }
    }

    func run() throws {
        let context = global.context
        if season {
            var download = SeasonDownload(source: source, localPath: localPath)
            download.concurrency = concurrency
            download.output = output
            download.name = name
            let result = try download.run(context, options: try global.condensationOptions())
            return try AnalyzeCommand.printSeason(result.summary, runs: result.runs, json: global.json)
        }
        var download = StageDownload(source: source, localPath: localPath)
        download.concurrency = concurrency
        if observationsOnly { download.names = ["compressed_observations.json"] }
        if reportOnly { download.names = ["report.json", "report.html"] }
        download.summarize = summary
        if createRunner { download.runnerExecutable = Tools.ownPath }
        let result = try download.run(context)
        let report = result.report
        if global.json { try Terminal.printJSON(try download.summary(result).jsonObject()) } else {
            print("Downloaded \(Plural.count(report.downloaded, "file")) (\(report.resumed) resumed), \(report.skipped) already "
                  + "complete, \(ProgressBar.format(report.bytes, "B")) in \(String(format: "%.2f", result.seconds)) s → \(localPath)")
            if let analysis = result.analysis { print(analysis) }
            if let runner = result.runner { print("Runner: \(runner)") }
        }
        try report.throwIfIncomplete(localPath: localPath)
    }
}

import ArgumentParser
import Foundation
import Hugin
import Odin
import OdinApp
import OdinKit

/// `odin analyze DIR`: the Stage 3 summary (Hugin's `Stage3Analysis`); `odin analyze --season SOURCE --output OUT`:
/// many runs condensed into one Stage 3 (Hugin's `SeasonCondenser`).
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Summarize a Stage 3 folder, or condense many runs into one season Stage 3 (--season).",
        discussion: """
            odin analyze DIR prints the summary of a downloaded Stage 3 folder (report.json and the files beside it).

            odin analyze --season SOURCE --output OUT condenses every run of one store into ONE Stage 3 in OUT: one \
            Camtrap DP package with a deployment per camera per site and time span, one megadetector.json, one \
            sites.geojson, one report.json and one report.html. SOURCE is one store: a folder of downloaded runs \
            (DIR/<run>/stage1/…), a store folder (DIR/runs/<run>/stage1/…), --local (the local binding's store), or \
            s3://BUCKET[/runs/RUN-ID-PREFIX]. The union of the runs' Stage 1 goes through one Hugin condensation \
            (not a concatenation of their Stage 3): runs are read in run-id order, a media file two runs hold counts \
            once, visits may continue across an upload window (run) boundary but never across a camera or site, a \
            camera staying at a site over many runs is one deployment, and chunks a run's own report lists as failed \
            stay out. Sites come from the persistent site registry (read, never written). No processing time is \
            written (generated_at is the newest capture time), so rerunning over the same runs gives byte-identical \
            files. OUT is written whole or not at all (a temporary folder, then a rename); an earlier season in OUT \
            is replaced, any other non-empty OUT is refused.

            Examples:
              odin analyze ./stage3_output/<run>
              odin analyze --season --local --output ./season
              odin analyze --season ./runs --media-root s3://my-odin-data --output ./season
              odin analyze --season s3://my-odin-data/runs/202606 --output ./season-june
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("DIR: a folder holding a run's Stage 3 files (report.json, …). With --season: the "
                                 + "one store to read (a folder or s3://BUCKET[/runs/PREFIX]); omit it with --local.",
                                 valueName: "DIR|SOURCE"))
    var sources: [String] = []

    @Flag(name: .long, help: "Condense every run of SOURCE (or of --local) into one Stage 3 in --output.")
    var season = false

    @Option(name: .long, help: ArgumentHelp("With --season: the folder to write the season's Stage 3 to.",
                                            valueName: "OUT"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("With --season: the season's name (report.json run_id, Camtrap DP id; "
                                            + "default: season-<hash of the run ids>)."))
    var name: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --season: where the runs' raw/ media are (s3://BUCKET or a folder holding raw/), for Camtrap DP "
        + "filePath. Needed for a folder of downloaded runs; a store's own root otherwise.", valueName: "URI"))
    var mediaRoot: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --season: the store whose site registry names the sites (a folder or s3://BUCKET; with ODIN_TABLE "
        + "set, that table). Default: SOURCE's own (for a folder of downloaded runs, DIR/state/sites.json if "
        + "present, else sites are numbered from their coordinates).", valueName: "STORE"))
    var registry: String?

    func validate() throws {
        if !season {
            for (flag, value) in [("--output", output), ("--name", name), ("--media-root", mediaRoot),
                                  ("--registry", registry)] where value != nil {
                throw ValidationError("\(flag) only applies with --season")
            }
            guard sources.count == 1, let dir = sources.first else {
                throw ValidationError(sources.isEmpty ? "pass DIR, a folder holding a run's Stage 3 files"
                    : "pass one DIR (got \(sources.count)); to condense many runs use --season SOURCE --output OUT")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("DIR '\(dir)' is not a folder")
            }
            return
        }
        guard output != nil else { throw ValidationError("--season needs --output OUT, the folder to write to") }
        let given = sources + (global.local ? ["--local"] : [])
        guard given.count == 1 else {
            throw ValidationError(given.isEmpty
                ? "--season needs one store: a folder of runs, s3://BUCKET[/runs/PREFIX], or --local"
                : "a season reads one store, got \(given.count): \(given.joined(separator: ", ")); pass one (put "
                    + "downloaded runs in one folder)")
        }
        if let source = sources.first, source.hasPrefix("s3://") {
            try usage { _ = try SeasonAnalysis.runPrefix(try S3Location(source, argument: "SOURCE")) }
        }
    }

    func run() throws {
        if season {
            var analysis = SeasonAnalysis(source: sources.first, output: output ?? "")
            analysis.name = name
            analysis.mediaRoot = mediaRoot
            analysis.registry = registry
            let result = try analysis.run(global.context, options: try global.condensationOptions())
            return try Self.printSeason(result.summary, runs: result.runs, json: global.json)
        }
        let dir = sources[0]
        if global.json {
            guard let data = FileManager.default.contents(atPath: dir + "/report.json") else {
                throw CLIError("no report.json in \(dir): pass the folder a run's stage3/ was downloaded to")
            }
            print(String(decoding: data, as: UTF8.self))
            return
        }
        do { print(try Stage3Analysis.summarize(directory: dir), terminator: "") } catch {
            throw CLIError("analyze \(dir): \(error)")
        }
    }

    static func printSeason(_ summary: CondensationSummary, runs: [String], json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            return
        }
        print(try Stage3Analysis.summarize(directory: summary.outputPrefix), terminator: "")
        print("Season Stage 3 (\(runs.count) runs): \(summary.outputPrefix)/")
        print("  report:      \(summary.outputPrefix)/\(Stage3Files.reportHTML)")
        if summary.files.contains(Stage3Files.datapackage) {
            print("  Camtrap DP:  \(summary.outputPrefix)/\(Stage3Files.datapackage)")
        }
    }
}

/// `odin sites list|name|merge|cluster`: the persistent site registry (Hugin) of a store.
struct SitesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sites",
        abstract: "List, name, merge and cluster camera sites (Hugin's persistent site registry).",
        subcommands: [List.self, Name.self, Merge.self, Cluster.self])

    /// The store holding the registry: --store, else the local binding's store.
    struct StoreOptions: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp(
            "Store holding the site registry: a folder (default: <local-root>/store) or s3://BUCKET.",
            discussion: "With ODIN_TABLE set (the deployed stack's state table), the registry is read from that table, as the Hugin job does."))
        var store: String?

        func registry(_ global: GlobalOptions) throws -> SiteRegistryService {
            try SiteRegistryAccess.service(store: store, global.context)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered sites (id, name, position, points).",
                                                        discussion: "Example: odin sites list --local")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: StoreOptions
        func run() throws {
            let sites: [RegisteredSite]
            do { sites = try options.registry(global).list() } catch let error as CLIError { throw error } catch {
                throw CLIError("sites list: \(error)")
            }
            if global.json {
                try Terminal.printJSON(try SiteListing(sites).jsonObject())
                return
            }
            if sites.isEmpty { print("no sites registered yet") }
            for site in sites {
                let state = site.mergedInto.map { "merged into \($0)" } ?? "\(site.pointsSeen) points"
                print("\(site.id)\t\(site.name ?? "(unnamed)")\t"
                      + String(format: "%.6f,%.6f", site.latitude, site.longitude) + "\t\(state)")
            }
        }
    }

    struct Name: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a site a human name (kept across runs and shown in later reports).",
            discussion: "Example: odin sites name site-0001 \"North lake\" --local")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: StoreOptions
        @Argument(help: "Site id.") var site: String
        @Argument(help: "Name.") var name: String
        func validate() throws {
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("NAME must not be empty") }
        }
        func run() throws {
            do {
                let named = try options.registry(global).name(site: site, as: name)
                try emit(global, ["site_id": named.id, "name": named.displayName],
                         text: "\(named.id) is now named \(named.displayName)")
            } catch let error as CLIError { throw error } catch { throw CLIError("sites name \(site): \(error)") }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge site SOURCE into TARGET (SOURCE's points and name move to TARGET).",
            discussion: "Example: odin sites merge site-0003 site-0001 --local")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: StoreOptions
        @Argument(help: "Site to merge away.") var source: String
        @Argument(help: "Site to keep.") var target: String
        func run() throws {
            do {
                let kept = try options.registry(global).merge(source, into: target)
                try emit(global, ["merged": source, "into": kept.id, "name": kept.displayName],
                         text: "merged \(source) into \(kept.id) (\(kept.displayName))")
            } catch let error as CLIError { throw error } catch {
                throw CLIError("sites merge \(source) \(target): \(error)")
            }
        }
    }

    struct Cluster: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cluster a CSV of lat,lon points into sites (radius in metres) and label every row.",
            discussion: "Example: odin sites cluster points.csv --radius 5 --output labels.csv")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "CSV with a header naming lat and lon columns.") var points: String
        @Option(name: .long, help: "Radius in metres (> 0; default: the profile's pipeline.clustering.radius_m).")
        var radius: Double?
        @Option(name: .long, help: "Write the labels CSV here instead of stdout.") var output: String?
        func validate() throws {
            if let radius, !(radius > 0) { throw ValidationError("--radius must be > 0 metres, got \(radius)") }
        }
        func run() throws {
            let r = try radius ?? global.loadProfile().clustering.radiusMeters
            guard let data = FileManager.default.contents(atPath: points) else {
                throw ValidationError("POINTS '\(points)' cannot be read")
            }
            do {
                let parsed = try PointClustering.parse(bytes: [UInt8](data))
                let result = try PointClustering.cluster(parsed, radius: r)
                let labels = PointClustering.labelsCSV(result)
                if let output {
                    guard FileManager.default.createFile(atPath: output, contents: Data(labels.utf8)) else {
                        throw CLIError("--output \(output): cannot write the file")
                    }
                    try emit(global, ["points": parsed.count, "sites": result.clusterCount, "output": output],
                             text: "\(parsed.count) points, \(result.clusterCount) sites; labels written to \(output)")
                } else {
                    print(labels, terminator: "")
                }
            } catch let error as CLIError { throw error } catch { throw CLIError("sites cluster \(points): \(error)") }
        }
    }
}

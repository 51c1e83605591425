import ArgumentParser
import Foundation
import Odin

/// `odin analyze DIR`: the Stage 3 summary (Hugin's analysis, run by the `hugin` executable).
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Summarize a downloaded Stage 3 folder: visits per species and camera, sites, time range.",
        discussion: "Example: odin analyze ./stage3_output/<run>")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A folder holding a run's Stage 3 files (report.json, …).")
    var dir: String

    @Option(name: .long, help: "Folder holding the hugin executable (default: next to odin).")
    var binDir: String?

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("DIR '\(dir)' is not a folder")
        }
    }

    func run() throws {
        if global.json {
            guard let data = FileManager.default.contents(atPath: dir + "/report.json") else {
                throw CLIError("no report.json in \(dir): pass the folder a run's stage3/ was downloaded to")
            }
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let result = try Tools.run(try Tools.locate("hugin", binDir: binDir), ["analyze", dir], check: false)
        if result.status != 0 { throw CLIError(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) }
        print(result.output, terminator: "")
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
        @Option(name: .long, help: "Store folder holding the site registry (default: <local-root>/store).")
        var store: String?

        @Option(name: .long, help: "Folder holding the hugin executable (default: next to odin).")
        var binDir: String?

        func storePath(_ global: GlobalOptions) throws -> String {
            let path = store ?? global.localRoot + "/store"
            if path.hasPrefix("s3://") {
                throw ValidationError("--store \(path): the site registry on S3 is reached through the AWS binding, "
                                      + "which this build does not include; use a local store folder")
            }
            return path
        }

        func hugin(_ arguments: [String]) throws {
            let result = try Tools.run(try Tools.locate("hugin", binDir: binDir), arguments, check: false)
            if result.status != 0 { throw CLIError(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) }
            print(result.output, terminator: "")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered sites (id, name, position, points).",
                                                        discussion: "Example: odin sites list --local")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: StoreOptions
        func run() throws { try options.hugin(["sites", "list", "--store", try options.storePath(global)]) }
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
        func run() throws { try options.hugin(["sites", "name", "--store", try options.storePath(global), site, name]) }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge site SOURCE into TARGET (SOURCE's points and name move to TARGET).",
            discussion: "Example: odin sites merge site-0003 site-0001 --local")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: StoreOptions
        @Argument(help: "Site to merge away.") var source: String
        @Argument(help: "Site to keep.") var target: String
        func run() throws { try options.hugin(["sites", "merge", "--store", try options.storePath(global), source, target]) }
    }

    struct Cluster: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cluster a CSV of lat,lon points into sites (radius in metres) and label every row.",
            discussion: "Example: odin sites cluster points.csv --radius 5 --output labels.csv")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "Folder holding the hugin executable (default: next to odin).") var binDir: String?
        @Argument(help: "CSV with a header naming lat and lon columns.") var points: String
        @Option(name: .long, help: "Radius in metres (> 0; default: the profile's pipeline.clustering.radius_m).")
        var radius: Double?
        @Option(name: .long, help: "Write the labels CSV here instead of stdout.") var output: String?
        func validate() throws {
            if let radius, !(radius > 0) { throw ValidationError("--radius must be > 0 metres, got \(radius)") }
        }
        func run() throws {
            let r = try radius ?? global.loadProfile().clustering.radiusMeters
            var arguments = ["sites", "cluster", points, "--radius", String(r)]
            if let output { arguments += ["--output", output] }
            let result = try Tools.run(try Tools.locate("hugin", binDir: binDir), arguments, check: false)
            if result.status != 0 { throw CLIError(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) }
            print(result.output, terminator: "")
        }
    }
}

import ArgumentParser
import Foundation
import Hugin
import HuginState
import Odin
import OdinAWS
import OdinKit

/// `odin analyze DIR`: the Stage 3 summary (Hugin's `Stage3Analysis`).
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Summarize a downloaded Stage 3 folder: visits per species and camera, sites, time range.",
        discussion: "Example: odin analyze ./stage3_output/<run>")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A folder holding a run's Stage 3 files (report.json, …).")
    var dir: String

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
        do { print(try Stage3Analysis.summarize(directory: dir), terminator: "") } catch {
            throw CLIError("analyze \(dir): \(error)")
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
            let path = store ?? global.localRoot + "/store"
            let environment = ProcessInfo.processInfo.environment
            if path.hasPrefix("s3://") || environment["ODIN_TABLE"].map({ !$0.isEmpty }) == true {
                return SiteRegistryService(store: try SiteRegistries.open(
                    state: try DynamoStateStore.fromEnvironment(environment),
                    store: { try ObjectStores.open(uri: path, environment: environment) }))
            }
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError("store \(path) does not exist: run `odin run --local` first, or pass --store DIR")
            }
            return SiteRegistryService(store: ObjectStoreSiteRegistryStore(store: try DirectoryObjectStore(root: path)))
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
                try Terminal.printJSON(["sites": sites.map { site -> [String: Any] in
                    ["site_id": site.id, "name": site.name ?? NSNull(), "latitude": site.latitude,
                     "longitude": site.longitude, "points_seen": site.pointsSeen, "merged_into": site.mergedInto ?? NSNull()]
                }])
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

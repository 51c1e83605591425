// `hugin`: the condensation Batch job command, plus the site and analysis tools researchers run locally.
// Arguments are parsed by hand (few, flat); every bad argument is reported with the usage line.
import FoundationEssentials
import Hugin
import HuginState
import OdinAWS
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage:
  hugin condense --store file:///DIR|DIR|s3://BUCKET --run RUN [--failed-chunks 3,7] [--radius M] [--visit-gap MIN]
                 [--min-confidence C] [--review-threshold C] [--max-buffered N]
  hugin sites cluster POINTS.csv [--radius M] [--output LABELS.csv] [--timing]
  hugin sites list --store DIR
  hugin sites name --store DIR SITE NAME
  hugin sites names --store DIR NAMES.yaml
  hugin sites merge --store DIR SOURCE TARGET
  hugin analyze DIR
"""

struct UsageError: Error, CustomStringConvertible {
    let description: String
}

/// Splits `--flag value` pairs from positional arguments.
struct Arguments {
    var flags: [String: String] = [:]
    var positional: [String] = []

    init(_ args: ArraySlice<String>, known: Set<String>, switches: Set<String> = []) throws {
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a.hasPrefix("--") {
                var name = String(a.dropFirst(2))
                var value: String
                if let eq = name.firstIndex(of: "=") {
                    value = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                } else if switches.contains(name) {
                    value = "true"
                } else {
                    guard i + 1 < args.endIndex else { throw UsageError(description: "--\(name) needs a value") }
                    i += 1
                    value = args[i]
                }
                guard known.contains(name) || switches.contains(name) else { throw UsageError(description: "unknown option --\(name)") }
                flags[name] = value
            } else {
                positional.append(a)
            }
            i += 1
        }
    }

    func double(_ name: String) throws -> Double? {
        guard let text = flags[name] else { return nil }
        guard let v = Double(text) else { throw UsageError(description: "--\(name) must be a number, got '\(text)'") }
        return v
    }

    /// `--store`: a folder, `file:///DIR`, or `s3://bucket[/prefix]` (through the AWS binding, with the usual AWS
    /// credentials and region).
    func store() throws -> any ObjectStore {
        guard let uri = flags["store"] else { throw UsageError(description: "--store DIR|s3://BUCKET is required") }
        return try ObjectStores.open(uri: uri, environment: ProcessInfo.processInfo.environment)
    }

    /// The site registry: the state table when ODIN_TABLE is set (AWS), else `state/sites.json` in the store.
    func registry() throws -> any SiteRegistryStore {
        guard let uri = flags["store"] else { throw UsageError(description: "--store DIR|s3://BUCKET is required") }
        return try SiteRegistries.open(storeURI: uri, environment: ProcessInfo.processInfo.environment)
    }
}

func printError(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func writeFile(_ path: String, _ text: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
        throw HuginError.io("cannot write \(path)")
    }
}

/// The Batch job form: `hugin` with no arguments condenses the run the control plane names in the environment
/// (ODIN_RUN_ID, ODIN_FAILED_CHUNKS, ODIN_RADIUS_M, ODIN_VISIT_GAP_MIN, and ODIN_STORE or ODIN_BUCKET).
func condenseArgumentsFromEnvironment() throws -> [String] {
    let environment = ProcessInfo.processInfo.environment
    guard let run = environment["ODIN_RUN_ID"], !run.isEmpty else { throw UsageError(description: "missing command") }
    guard let store = environment["ODIN_STORE"] ?? environment["ODIN_BUCKET"].map({ "s3://" + $0 }) else {
        throw UsageError(description: "ODIN_RUN_ID is set but neither ODIN_STORE nor ODIN_BUCKET names the store")
    }
    var arguments = ["hugin", "condense", "--store", store, "--run", run]
    if let failed = environment["ODIN_FAILED_CHUNKS"], !failed.isEmpty { arguments += ["--failed-chunks", failed] }
    if let radius = environment["ODIN_RADIUS_M"], !radius.isEmpty { arguments += ["--radius", radius] }
    if let gap = environment["ODIN_VISIT_GAP_MIN"], !gap.isEmpty { arguments += ["--visit-gap", gap] }
    return arguments
}

func main(_ argv: [String]) throws -> Int32 {
    let argv = argv.count >= 2 ? argv : try condenseArgumentsFromEnvironment()
    switch argv[1] {
    case "condense":
        let args = try Arguments(argv[2...], known: ["store", "run", "failed-chunks", "radius", "visit-gap",
                                                     "min-confidence", "review-threshold", "max-buffered"])
        guard args.positional.isEmpty else {
            throw UsageError(description: "unexpected argument '\(args.positional[0])'")
        }
        guard let run = args.flags["run"] else { throw UsageError(description: "--run RUN is required") }
        var failed: [Int] = []
        if let list = args.flags["failed-chunks"], !list.isEmpty {
            for part in list.split(separator: ",") {
                guard let n = Int(part.filter { $0 != " " }), n >= 0 else {
                    throw UsageError(description: "--failed-chunks must be chunk indices like 3,7; got '\(part)'")
                }
                failed.append(n)
            }
        }
        var options = CondensationOptions()
        if let v = try args.double("radius") { options.radiusMeters = v }
        if let v = try args.double("visit-gap") { options.visitGapMinutes = v }
        if let v = try args.double("min-confidence") { options.minConfidence = v }
        if let v = try args.double("review-threshold") { options.reviewThreshold = v }
        if let v = try args.double("max-buffered") { options.maxBufferedDetections = Int(v) }
        let condenser = Condenser(options: options, store: try args.store(), registryStore: try args.registry())
        let summary = try condenser.condense(run: run, failedChunks: failed)
        print(summary.paragraph)
        return 0

    case "sites":
        guard argv.count >= 3 else { throw UsageError(description: "missing sites subcommand") }
        let args = try Arguments(argv[3...], known: ["store", "radius", "output"], switches: ["timing"])
        switch argv[2] {
        case "cluster":
            guard args.positional.count == 1 else { throw UsageError(description: "sites cluster needs POINTS.csv") }
            guard let data = FileManager.default.contents(atPath: args.positional[0]) else {
                throw HuginError.invalidInput("cannot read \(args.positional[0])")
            }
            let points = try PointClustering.parse(bytes: [UInt8](data))
            let started = ContinuousClock.now
        let startedCPU = clock()
        let result = try PointClustering.cluster(points, radius: try args.double("radius") ?? 5)
        if args.flags["timing"] != nil {
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let cpu = Double(clock() - startedCPU) / Double(CLOCKS_PER_SEC)
            printError("clustering_seconds=\(seconds) clustering_cpu_seconds=\(cpu)")
        }
            let labels = PointClustering.labelsCSV(result)
            if let output = args.flags["output"] {
                try writeFile(output, labels)
                printError("\(points.count) points, \(result.clusterCount) sites; labels written to \(output)")
            } else {
                print(labels, terminator: "")
            }
        case "list":
            let service = SiteRegistryService(store: try args.registry())
            let sites = try service.list()
            if sites.isEmpty { print("no sites registered yet") }
            for s in sites {
                let state = s.mergedInto.map { "merged into \($0)" } ?? "\(s.pointsSeen) points"
                print("\(s.id)\t\(s.name ?? "(unnamed)")\t\(Fixed.format(s.latitude, 6)),"
                      + "\(Fixed.format(s.longitude, 6))\t\(state)")
            }
        case "name":
            guard args.positional.count == 2 else { throw UsageError(description: "sites name needs SITE NAME") }
            let service = SiteRegistryService(store: try args.registry())
            let site = try service.name(site: args.positional[0], as: args.positional[1])
            print("\(site.id) is now named \(site.displayName)")
        case "names":
            guard args.positional.count == 1 else { throw UsageError(description: "sites names needs NAMES.yaml") }
            guard let data = FileManager.default.contents(atPath: args.positional[0]) else {
                throw HuginError.invalidInput("cannot read \(args.positional[0])")
            }
            let names = try SiteNames.parse(String(decoding: data, as: UTF8.self))
            try SiteRegistryService(store: try args.registry()).applyNames(names)
            print("named \(Plural.count(names.count, "site"))")
        case "merge":
            guard args.positional.count == 2 else { throw UsageError(description: "sites merge needs SOURCE TARGET") }
            let service = SiteRegistryService(store: try args.registry())
            let site = try service.merge(args.positional[0], into: args.positional[1])
            print("merged \(args.positional[0]) into \(site.id) (\(site.displayName))")
        default:
            throw UsageError(description: "unknown sites subcommand '\(argv[2])'")
        }
        return 0

    case "bench-generate":
        // Synthetic Stage 1 data for scripts/bench/60-hugin.sh.
        let args = try Arguments(argv[2...], known: ["store", "run", "detections", "cameras", "chunks"])
        guard let run = args.flags["run"] else { throw UsageError(description: "--run RUN is required") }
        var synthetic = SyntheticRun(detections: Int(try args.double("detections") ?? 1_000_000),
                                     cameras: Int(try args.double("cameras") ?? 300),
                                     chunks: Int(try args.double("chunks") ?? 100))
        let n = try synthetic.write(to: try args.store(), run: run)
        printError("wrote \(n) synthetic detections for run \(run)")
        return 0

    case "bench-core":
        // The condensation core alone (sort + visits), for scripts/bench/60-hugin.sh.
        let args = try Arguments(argv[2...], known: ["detections", "cameras"])
        let r = try CondensationBenchmark.run(detections: Int(try args.double("detections") ?? 10_000_000),
                                              cameras: Int(try args.double("cameras") ?? 300))
        print("core_detections=\(r.detections) core_visits=\(r.visits) core_spilled_runs=\(r.spilledRuns) "
              + "core_cpu_seconds=\(r.cpuSeconds)")
        return 0

    case "analyze":
        guard argv.count == 3 else { throw UsageError(description: "analyze needs DIR") }
        print(try Stage3Analysis.summarize(directory: argv[2]), terminator: "")
        return 0

    case "-h", "--help", "help":
        print(usage)
        return 0

    default:
        throw UsageError(description: "unknown command '\(argv[1])'")
    }
}

do {
    exit(try main(CommandLine.arguments))
} catch let error as UsageError {
    printError("hugin: \(error.description)\n\(usage)")
    exit(64)
} catch {
    printError("hugin: \(error)")
    exit(1)
}

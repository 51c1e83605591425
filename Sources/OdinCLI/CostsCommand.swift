import ArgumentParser
import AWS
import Foundation
import Odin
import OdinAWS
import OdinCost
import OdinKit
import ProfileYAML

/// `odin costs`: the cost ledger (per month or per run), and price-aware instance advice.
struct CostsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "costs",
        abstract: "Show recorded spend per month or per run, or rank instance types by cost per 1,000 images.",
        discussion: """
            Spend comes from Odin's ledger (job vCPU-time × the profile's price table — an estimate, not the AWS \
            bill). With --advise, candidate instance types are ranked by expected cost per 1,000 images = price × \
            seconds per image (measured from the ledger of finished runs when there are any, else the profile's \
            assumption) and the Spot CE's instance list is recommended. --measure-spot reads Spot prices with EC2 \
            DescribeSpotPriceHistory (90 days, every AZ; cached in the state store for 6 h); otherwise the profile's \
            editable table is used and labelled as an assumption.

            Examples:
              odin costs --local ./demo
              odin costs RUN-ID --local ./demo --json
              odin costs --advise --images 250000 --video-hours 12 --measure-spot
            """)

    @Argument(help: ArgumentHelp("A run id: show that run's ledger.", valueName: "run"))
    var runID: String?

    @Option(name: .long, help: "Only months/runs from this date on (YYYY-MM or YYYY-MM-DD).")
    var since: String?

    @Flag(name: .long, help: "Rank the candidate instance types by expected cost per 1,000 images.")
    var advise = false

    @Option(name: .long, help: "With --advise: cost this many images on the best type.")
    var images: Int?

    @Option(name: .long, help: "With --advise: cost this many hours of video on the best type.")
    var videoHours: Double?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Option(name: .long, help: "Profile YAML (default: profiles/default.yaml when present, else built-in defaults).")
    var profile: String?

    @Option(name: .long, help: "Folder of a local run (`odin run --local DIR`): read its state store DIR/state.")
    var local: String?

    @Flag(name: .long, help: "Measure Spot prices with DescribeSpotPriceHistory (AWS credentials and region needed).")
    var measureSpot = false

    func validate() throws {
        if let since, CostsCommand.monthPrefix(since) == nil {
            throw ValidationError("--since '\(since)' is not YYYY-MM or YYYY-MM-DD")
        }
        if (images != nil || videoHours != nil) && !advise {
            throw ValidationError("--images and --video-hours go with --advise")
        }
        if let images, images < 0 { throw ValidationError("--images must be ≥ 0") }
        if let videoHours, videoHours < 0 || !videoHours.isFinite { throw ValidationError("--video-hours must be ≥ 0") }
        if runID != nil && advise { throw ValidationError("give either a RUN or --advise, not both") }
    }

    func run() throws {
        let profile = try CostProfileFile.load(self.profile)
        let clock = SystemClock()
        let environment = ProcessInfo.processInfo.environment
        // The ledger: a local run's state folder, or the deployed stack's DynamoDB table (ODIN_TABLE, the stack
        // output StateTableName) with the usual AWS credentials and region.
        let state: (any StateStore)? = try local.map { try LocalStateStore(root: $0 + "/state", clock: clock) }
            ?? environment["ODIN_TABLE"].map { table in
                let client = AWSClient(configuration: try AWSClient.Configuration.fromEnvironment(
                    environment, region: environment["AWS_REGION"] == nil ? profile.compute.region : nil))
                return DynamoStateStore(client: client, table: table)
            }
        if advise {
            var measured: [String: PriceFigure] = [:]
            if measureSpot {
                let client = AWSClient(configuration: try AWSClient.Configuration.fromEnvironment(
                    ProcessInfo.processInfo.environment, region: ProcessInfo.processInfo.environment["AWS_REGION"] == nil ? profile.compute.region : nil))
                let cache = SpotPriceCache(state: state ?? InMemoryStateStore(clock: clock), clock: clock)
                let types = Array(Set(profile.compute.instanceTypes).union(profile.prices.onDemand.keys)).sorted()
                measured = try cache.figures(for: types, source: EC2SpotPriceSource(client: client))
            }
            let rate = try state.flatMap { try WorkRate.fromLedger(state: $0, profile: profile) }
            let advice = Advisor(profile: profile, prices: PriceBook(profile: profile, measuredSpot: measured),
                                 workRate: rate).advise(images: images, videoHours: videoHours)
            print(json ? try Self.encode(advice) : advice.text())
            return
        }
        guard let state else {
            throw CostsError("the ledger lives in a state store: pass --local DIR (the folder of `odin run --local`), or set ODIN_TABLE to the deployed stack's state table (output StateTableName)")
        }
        if let run = runID {
            guard let record = try RunRecord.load(run, state: state) else {
                throw CostsError("no run \(run) in \(local ?? "")/state; `odin costs --local DIR` lists the runs")
            }
            let line = try RunCost(record: record, state: state, profile: profile)
            print(json ? try Self.encode(line) : line.text)
            return
        }
        let prefix = since.flatMap(Self.monthPrefix)
        let months = try state.query(partition: "ledger", sortPrefix: "")
            .filter { prefix == nil || $0.key.sort >= prefix! }
            .map { MonthCost(month: $0.key.sort, item: $0, currency: profile.prices.currency) }
        var runs: [RunCost] = []
        for index in try state.query(partition: Schema.allRunsPartition, sortPrefix: "") {
            guard let record = try RunRecord.load(index.key.sort, state: state) else { continue }
            if let since, record.createdAt < since { continue }
            runs.append(try RunCost(record: record, state: state, profile: profile))
        }
        if json {
            print(try Self.encode(Ledger(currency: profile.prices.currency, months: months, runs: runs,
                                         note: Ledger.noteText)))
            return
        }
        print("Estimated spend (\(profile.prices.currency)) — \(Ledger.noteText)")
        for month in months { print("  \(month.month): \(Self.money(month.cost)) (Spot \(Self.num(month.spotVcpuHours)) vCPU-h, On-Demand \(Self.num(month.onDemandVcpuHours)) vCPU-h)") }
        if months.isEmpty { print("  (no spend recorded)") }
        print("Runs:")
        for line in runs { print("  " + line.text) }
        if runs.isEmpty { print("  (none)") }
    }

    struct MonthCost: Codable {
        var month: String
        var cost: Double
        var spotVcpuHours: Double
        var onDemandVcpuHours: Double
        var currency: String
        init(month: String, item: StateItem, currency: String) {
            self.month = month
            cost = Double(item["costMicros"]?.intValue ?? 0) / 1e6
            spotVcpuHours = Double(item["vcpuMsSpot"]?.intValue ?? 0) / 3.6e6
            onDemandVcpuHours = Double(item["vcpuMsOnDemand"]?.intValue ?? 0) / 3.6e6
            self.currency = currency
        }
    }

    struct RunCost: Codable {
        var run: String
        var status: String
        var createdAt: String
        var objects: Int
        var chunks: Int
        var failedChunks: Int
        var cost: Double
        var per1000Objects: Double?
        var spotShare: Double?
        var currency: String
        init(record: RunRecord, state: any StateStore, profile: Profile) throws {
            let counters = try state.get(Schema.runCounters(record.runID))
            let spot = Double(counters?["vcpuMsSpot"]?.intValue ?? 0)
            let onDemand = Double(counters?["vcpuMsOnDemand"]?.intValue ?? 0)
            run = record.runID
            status = record.status.rawValue
            createdAt = record.createdAt
            objects = record.objectCount
            chunks = record.chunkCount
            failedChunks = record.failedChunks.count
            cost = Double(counters?["costMicros"]?.intValue ?? 0) / 1e6
            per1000Objects = objects > 0 ? cost / Double(objects) * 1000 : nil
            spotShare = spot + onDemand > 0 ? spot / (spot + onDemand) : nil
            currency = profile.prices.currency
        }
        var text: String {
            "\(run) [\(status)] \(objects) objects, \(chunks) chunks (\(failedChunks) failed): \(CostsCommand.money(cost)) \(currency)" +
                (per1000Objects.map { ", \(CostsCommand.money($0)) per 1,000 objects" } ?? "") +
                (spotShare.map { ", \(CostsCommand.num($0 * 100)) % on Spot" } ?? "")
        }
    }

    struct Ledger: Codable {
        static let noteText = "Odin's ledger: job vCPU-time × the profile's price table (an estimate; excludes boot and idle time)"
        var currency: String
        var months: [MonthCost]
        var runs: [RunCost]
        var note: String
    }

    static func monthPrefix(_ text: String) -> String? {
        let parts = text.split(separator: "-")
        guard (2...3).contains(parts.count), parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else { return nil }
        return "\(parts[0])-\(parts[1])"
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
    static func num(_ value: Double) -> String { String(format: "%.1f", value) }
    static func money(_ value: Double) -> String { String(format: abs(value) < 10 ? "%.4f" : "%.2f", value) }
}

/// Reads a profile YAML into the validated `Profile` (errors name the key path).
enum CostProfileFile {
    static func load(_ path: String?) throws -> Profile {
        let chosen = path ?? (FileManager.default.fileExists(atPath: "profiles/default.yaml") ? "profiles/default.yaml" : nil)
        guard let chosen else { return Profile() }
        guard let data = FileManager.default.contents(atPath: chosen) else {
            throw ValidationError("cannot read profile \(chosen)")
        }
        let text = String(decoding: data, as: UTF8.self)
        do { return try ProfileYAML.profile(yaml: text, source: chosen) } catch { throw ValidationError("\(error)") }
    }
}

/// A failure of `odin costs` that is not a usage error (printed as "Error: …", exit 1).
struct CostsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

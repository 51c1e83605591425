import ArgumentParser
import AWS
import Foundation
import Odin
import OdinAWS
import OdinCost
import OdinKit
import OdinLocal
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

            The ledger is read from the local binding's state (--local, folder --local-root) or from the deployed \
            stack's state table (--stack NAME, ODIN_STACK or ODIN_TABLE).

            Examples:
              odin costs --local                                  # after odin run --local
              odin costs --local --local-root .odin/demo          # after odin demo
              odin costs RUN-ID --stack odins-ravne-dev --json
              odin costs --advise --images 250000 --video-hours 12 --measure-spot
            """)

    @OptionGroup var global: GlobalOptions

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
        let profile = try global.loadProfile()
        let clock = SystemClock()
        let json = global.json
        // The ledger: the local binding's state folder, or the deployed stack's DynamoDB table (--stack, ODIN_STACK
        // or ODIN_TABLE) with the usual AWS credentials and region.
        var state: (any StateStore)?
        var location = ""
        if global.local {
            location = global.localRoot + "/state"
            guard FileManager.default.fileExists(atPath: location) else {
                throw CostsError("no local state in \(location): run `odin run --local …` or `odin demo` first, or pass --local-root")
            }
            state = try LocalStateStore(root: location, clock: clock)
        } else if (global.stackName ?? "").isEmpty == false || ProcessInfo.processInfo.environment["ODIN_TABLE"] != nil {
            let client = try AWSAccess.client(global: global)
            if let table = try DeployedNames.resolve(global: global, client: client).table {
                state = DynamoStateStore(client: client, table: table)
                location = "table \(table)"
            }
        }
        if advise {
            var measured: [String: PriceFigure] = [:]
            if measureSpot {
                let client = try AWSAccess.client(global: global)
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
            throw CostsError("the ledger lives in a state store: pass --local (and --local-root DIR unless it is .odin/local) for a local run, or --stack NAME (or ODIN_STACK, or ODIN_TABLE = the stack output StateTableName) for the deployed one")
        }
        if let run = runID {
            guard let record = try RunRecord.load(run, state: state) else {
                throw CostsError("no run \(run) in \(location); `odin costs` without a RUN lists the runs")
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

/// A failure of `odin costs` that is not a usage error (printed as "Error: …", exit 1).
struct CostsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

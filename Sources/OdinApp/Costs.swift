import AWS
import Foundation
import Odin
import OdinAWS
import OdinCost
import OdinKit
import OdinLocal

/// `odin costs`: the cost ledger (per month, or one run's) from the local binding's state or the deployed stack's
/// table, or price-aware instance advice.
package struct CostReport {
    /// A run id: that run's ledger.
    package var runID: String?
    /// Only months/runs from this date on (YYYY-MM or YYYY-MM-DD).
    package var since: String?
    package var advise = false
    package var images: Int?
    package var videoHours: Double?
    package var measureSpot = false
    package var clock: any WallClock = SystemClock()

    package init() {}

    /// What `odin costs` shows.
    package enum Output {
        case advice(Advice)
        case run(RunCost)
        case ledger(Ledger)
    }

    package func run(_ context: CommandContext) throws -> Output {
        let profile = try context.loadProfile()
        // The ledger: the local binding's state folder, or the deployed stack's DynamoDB table (--stack, ODIN_STACK
        // or ODIN_TABLE) with the usual AWS credentials and region.
        var state: (any StateStore)?
        var location = ""
        if context.local {
            location = context.localRoot + "/state"
            guard FileManager.default.fileExists(atPath: location) else {
                throw CLIError("no local state in \(location): run `odin run --local …` or `odin demo` first, or pass --local-root")
            }
            state = try LocalStateStore(root: location, clock: clock)
        } else if (context.stackName ?? "").isEmpty == false || context.environment["ODIN_TABLE"] != nil {
            let client = try AWSAccess.client(context)
            if let table = try DeployedNames.resolve(context, client: client).table {
                state = DynamoStateStore(client: client, table: table)
                location = "table \(table)"
            }
        }
        if advise {
            var measured: [String: PriceFigure] = [:]
            if measureSpot {
                let client = try AWSAccess.client(context)
                let cache = SpotPriceCache(state: state ?? InMemoryStateStore(clock: clock), clock: clock)
                let types = Array(Set(profile.compute.instanceTypes).union(profile.prices.onDemand.keys)).sorted()
                measured = try cache.figures(for: types, source: EC2SpotPriceSource(client: client))
            }
            let rate = try state.flatMap { try WorkRate.fromLedger(state: $0, profile: profile) }
            return .advice(Advisor(profile: profile, prices: PriceBook(profile: profile, measuredSpot: measured),
                                   workRate: rate).advise(images: images, videoHours: videoHours))
        }
        guard let state else {
            throw CLIError("the ledger lives in a state store: pass --local (and --local-root DIR unless it is .odin/local) for a local run, or --stack NAME (or ODIN_STACK, or ODIN_TABLE = the stack output StateTableName) for the deployed one")
        }
        if let run = runID {
            guard let record = try RunRecord.load(run, state: state) else {
                throw CLIError("no run \(run) in \(location); `odin costs` without a RUN lists the runs")
            }
            return .run(try RunCost(record: record, state: state, profile: profile))
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
        return .ledger(Ledger(currency: profile.prices.currency, months: months, runs: runs, note: Ledger.noteText))
    }

    /// One month of the ledger.
    package struct MonthCost: Codable {
        package var month: String
        package var cost: Double
        package var spotVcpuHours: Double
        package var onDemandVcpuHours: Double
        package var currency: String
        package init(month: String, item: StateItem, currency: String) {
            self.month = month
            cost = Double(item["costMicros"]?.intValue ?? 0) / 1e6
            spotVcpuHours = Double(item["vcpuMsSpot"]?.intValue ?? 0) / 3.6e6
            onDemandVcpuHours = Double(item["vcpuMsOnDemand"]?.intValue ?? 0) / 3.6e6
            self.currency = currency
        }
        package var text: String {
            "\(month): \(CostReport.money(cost)) (Spot \(CostReport.num(spotVcpuHours)) vCPU-h, On-Demand "
                + "\(CostReport.num(onDemandVcpuHours)) vCPU-h)"
        }
    }

    /// One run's cost from its counters.
    package struct RunCost: Codable {
        package var run: String
        package var status: String
        package var createdAt: String
        package var objects: Int
        package var chunks: Int
        package var failedChunks: Int
        package var cost: Double
        package var per1000Objects: Double?
        package var spotShare: Double?
        package var currency: String
        package init(record: RunRecord, state: any StateStore, profile: Profile) throws {
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
        package var text: String {
            "\(run) [\(status)] \(objects) objects, \(chunks) chunks (\(failedChunks) failed): \(CostReport.money(cost)) \(currency)" +
                (per1000Objects.map { ", \(CostReport.money($0)) per 1,000 objects" } ?? "") +
                (spotShare.map { ", \(CostReport.num($0 * 100)) % on Spot" } ?? "")
        }
    }

    /// The months and runs of the ledger.
    package struct Ledger: Codable {
        package static let noteText = "Odin's ledger: job vCPU-time × the profile's price table (an estimate; excludes boot and idle time)"
        package var currency: String
        package var months: [MonthCost]
        package var runs: [RunCost]
        package var note: String
    }

    /// `YYYY-MM` of a YYYY-MM or YYYY-MM-DD date; nil for anything else.
    package static func monthPrefix(_ text: String) -> String? {
        let parts = text.split(separator: "-")
        guard (2...3).contains(parts.count), parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else { return nil }
        return "\(parts[0])-\(parts[1])"
    }

    /// Pretty JSON with sorted keys.
    package static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
    package static func num(_ value: Double) -> String { String(format: "%.1f", value) }
    package static func money(_ value: Double) -> String { String(format: abs(value) < 10 ? "%.4f" : "%.2f", value) }
}

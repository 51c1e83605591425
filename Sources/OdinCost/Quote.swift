import FoundationEssentials
import Odin
import OdinKit

/// Seconds of detector work per image, with where the figure comes from.
public struct WorkRate: Sendable, Equatable, Codable {
    public var secondsPerImage: Double
    /// "measured: ledger of 12 past runs (…)" or "assumption: profile pipeline.chunking.seconds_per_image".
    public var source: String
    public var measured: Bool

    public init(secondsPerImage: Double, source: String, measured: Bool) {
        self.secondsPerImage = secondsPerImage
        self.source = source
        self.measured = measured
    }

    public static func assumption(_ profile: Profile) -> WorkRate {
        WorkRate(secondsPerImage: profile.chunking.secondsPerImage,
                 source: "assumption: profile pipeline.chunking.seconds_per_image", measured: false)
    }

    /// Seconds per object measured from Odin's ledger of finished runs: Σ job vCPU-ms ÷ vcpus_per_job ÷ Σ objects
    /// (includes retries and videos; the ledger does not record the instance type, so the figure is attributed to
    /// the profile's first instance type). Nil when no finished run has usage.
    public static func fromLedger(state: any StateStore, profile: Profile) throws -> WorkRate? {
        var millis = 0.0
        var objects = 0
        var runs = 0
        for index in try state.query(partition: Schema.allRunsPartition, sortPrefix: "")
        where index["status"]?.stringValue == RunRecord.Status.done.rawValue {
            guard let record = try RunRecord.load(index.key.sort, state: state), record.objectCount > 0,
                  let counters = try state.get(Schema.runCounters(record.runID)) else { continue }
            let used = Double((counters["vcpuMsSpot"]?.intValue ?? 0) + (counters["vcpuMsOnDemand"]?.intValue ?? 0))
            guard used > 0 else { continue }
            millis += used
            objects += record.objectCount
            runs += 1
        }
        guard objects > 0 else { return nil }
        let seconds = millis / 1000 / Double(profile.compute.vcpusPerJob) / Double(objects)
        return WorkRate(secondsPerImage: seconds,
                        source: "measured: ledger of \(runs) finished run\(runs == 1 ? "" : "s") (\(objects) objects; job time incl. retries, attributed to \(profile.compute.instanceTypes[0]))",
                        measured: true)
    }
}

/// The expected cost range and duration of a new run, before it starts. Money in `currency` (prices) and
/// `budgetCurrency`.
public struct Quote: Sendable, Equatable, Codable {
    public var images: Int
    public var videoSeconds: Double
    /// Detector work: images × seconds_per_image + video seconds × work_seconds_per_video_second.
    public var workSeconds: Double
    public var workRate: WorkRate
    public var instanceType: String
    /// Chunks one instance runs at once: ⌊instance vCPUs ÷ vcpus_per_job⌋ (≥ 1).
    public var slotsPerInstance: Int
    public var instanceHours: Double
    public var currency: String
    /// All work on Spot at the lowest / highest Spot price seen (the table value when not measured).
    public var spotLow: Double
    public var spotHigh: Double
    public var spotPrice: PriceFigure
    /// All work on On-Demand.
    public var onDemand: Double
    public var onDemandPrice: PriceFigure
    /// The range the run is expected to cost: [all on Spot at the low price, worst case]. The worst case is all work
    /// falling back to On-Demand when `fallback_to_ondemand` is on (else all Spot at the high price).
    public var expectedLow: Double
    public var expectedHigh: Double
    /// The upper estimate in the budget's currency (× budget.exchange_rate).
    public var upperInBudgetCurrency: Double
    public var budgetCurrency: String
    /// budget.amount − month-to-date ledger spend × exchange rate.
    public var remainingBudget: Double
    public var chunks: Int
    /// vCPUs the budget pacer allows now, and the chunks that can run at once under it.
    public var pacedVcpus: Int
    public var parallelChunks: Int
    /// Shortest duration at the paced capacity: ⌈chunks ÷ parallel⌉ × work per chunk (excludes instance boot and
    /// queueing; `odin simulate` models those).
    public var durationSeconds: Double
    public var withinBudget: Bool
    public var notes: [String]
}

/// Why a run was refused: its upper estimate exceeds the remaining budget and `--accept-cost` was not given.
public struct QuoteRefusal: Error, CustomStringConvertible, Sendable, Equatable {
    public var quote: Quote
    public var description: String {
        "refused: the run's upper estimate \(Fmt.money(quote.upperInBudgetCurrency)) \(quote.budgetCurrency) exceeds the remaining budget \(Fmt.money(quote.remainingBudget)) \(quote.budgetCurrency) (budget.amount minus this month's ledger). Re-run with --accept-cost to start it anyway, or raise budget.amount."
    }
}

/// Quotes new runs. Used by `odin run --quote/--accept-cost` (and the ingest hook's arithmetic mirrors it).
///
/// ```swift
/// let engine = QuoteEngine(profile: profile, prices: PriceBook(profile: profile, measuredSpot: figures),
///                          spentThisMonth: try CostLedger.spend(month: "2026-06", state: state))
/// let quote = try engine.quote(images: 12_000, videoSeconds: 0, acceptCost: false)  // throws QuoteRefusal
/// ```
public struct QuoteEngine: Sendable {
    public var profile: Profile
    public var prices: PriceBook
    /// Month-to-date spend in the prices' currency (`CostLedger.spend`).
    public var spentThisMonth: Double
    public var workRate: WorkRate

    public init(profile: Profile, prices: PriceBook, spentThisMonth: Double, workRate: WorkRate? = nil) {
        self.profile = profile
        self.prices = prices
        self.spentThisMonth = spentThisMonth
        self.workRate = workRate ?? .assumption(profile)
    }

    /// Computes the quote without judging it (never throws).
    public func quote(images: Int, videoSeconds: Double) -> Quote {
        let chunking = profile.chunking
        let type = profile.compute.instanceTypes[0]
        let work = Double(images) * workRate.secondsPerImage + videoSeconds * chunking.workSecondsPerVideoSecond
        let od = prices.onDemand[type] ?? .table(0, key: "prices.on_demand")
        let spot = prices.spot[type] ?? od
        let estimate = RunCostEstimate(profile: profile, workSeconds: work, spotLowPerHour: spot.low,
                                       spotHighPerHour: spot.high, onDemandPerHour: od.mean)
        let slots = estimate.slotsPerInstance, hours = estimate.instanceHours
        let spotLow = estimate.spotLow, spotHigh = estimate.spotHigh, onDemand = estimate.onDemand
        let low = estimate.expectedLow, high = estimate.expectedHigh
        let rate = profile.budget.exchangeRate
        let remaining = profile.budget.amount - spentThisMonth * rate
        let target = chunking.targetMinutes * 60
        let chunks = work > 0 ? Int((work / target).rounded(.up)) : 0
        let paced = Pacer.cap(profile: profile, spent: spentThisMonth)
        let parallel = max(0, paced / profile.compute.vcpusPerJob)
        let perChunk = chunks > 0 ? work / Double(chunks) : 0
        let duration = parallel > 0 ? (Double(chunks) / Double(parallel)).rounded(.up) * perChunk : .infinity
        var notes = ["work rate: \(workRate.source)", "Spot price: \(spot.source)", "On-Demand price: \(od.source)",
                     "excludes instance boot, idle time and condensation; `odin simulate` models them"]
        if videoSeconds > 0 { notes.append("video: assumption pipeline.chunking.work_seconds_per_video_second") }
        if parallel == 0 { notes.append("the budget pacer allows 0 vCPUs now: the run would wait for budget") }
        return Quote(images: images, videoSeconds: videoSeconds, workSeconds: work, workRate: workRate,
                     instanceType: type, slotsPerInstance: slots, instanceHours: hours, currency: prices.currency,
                     spotLow: spotLow, spotHigh: spotHigh, spotPrice: spot, onDemand: onDemand, onDemandPrice: od,
                     expectedLow: low, expectedHigh: high, upperInBudgetCurrency: high * rate,
                     budgetCurrency: profile.budget.currency, remainingBudget: remaining, chunks: chunks,
                     pacedVcpus: paced, parallelChunks: parallel, durationSeconds: duration,
                     withinBudget: high * rate <= remaining, notes: notes)
    }

    /// Refuses a quote whose upper estimate exceeds the remaining budget, unless `acceptCost`.
    public func authorize(_ quote: Quote, acceptCost: Bool) throws(QuoteRefusal) {
        if !quote.withinBudget && !acceptCost { throw QuoteRefusal(quote: quote) }
    }

    /// `quote` + `authorize`: what `odin run --quote [--accept-cost]` calls.
    /// - Throws: `QuoteRefusal` when the upper estimate (in the budget currency) exceeds the remaining budget and
    ///   `acceptCost` is false. The refusal carries the quote for display.
    public func quote(images: Int, videoSeconds: Double, acceptCost: Bool) throws(QuoteRefusal) -> Quote {
        let result = quote(images: images, videoSeconds: videoSeconds)
        try authorize(result, acceptCost: acceptCost)
        return result
    }
}

extension Quote {
    /// Text for the terminal.
    public func text() -> String {
        var lines = [
            "Quote for \(images) images" + (videoSeconds > 0 ? " + \(Fmt.num(videoSeconds / 3600, 2)) h video" : "") +
                " on \(instanceType) (\(slotsPerInstance) chunk\(slotsPerInstance == 1 ? "" : "s") per instance)",
            "  work: \(Fmt.num(workSeconds / 3600, 2)) h detector time = \(Fmt.num(instanceHours, 2)) instance-hours",
            "  Spot:      \(Fmt.money(spotLow)) – \(Fmt.money(spotHigh)) \(currency)",
            "  On-Demand: \(Fmt.money(onDemand)) \(currency)",
            "  expected:  \(Fmt.money(expectedLow)) – \(Fmt.money(expectedHigh)) \(currency) (upper = \(Fmt.money(upperInBudgetCurrency)) \(budgetCurrency))",
            "  remaining budget: \(Fmt.money(remainingBudget)) \(budgetCurrency) → \(withinBudget ? "within budget" : "OVER BUDGET")",
            "  duration: ≥ \(durationSeconds.isFinite ? Fmt.duration(durationSeconds) : "∞ (no budget)") (\(chunks) chunks, \(parallelChunks) at once under the paced cap of \(pacedVcpus) vCPUs)",
        ]
        lines += notes.map { "  note: \($0)" }
        return lines.joined(separator: "\n")
    }
}

import OdinBasics
import OdinKit

// Price-source port and the quote arithmetic shared by `odin run --quote` (OdinCost.QuoteEngine) and the ingest
// function's `budget.quote_before_run` gate, so the two can never disagree (issue 9).

/// One Spot price observation (EC2 DescribeSpotPriceHistory item).
public struct SpotPriceObservation: Sendable, Equatable, Codable {
    public var instanceType: String
    public var availabilityZone: String
    /// Price per instance-hour in USD (EC2 reports Spot prices in USD).
    public var price: Double
    /// Epoch seconds when this price took effect.
    public var timestamp: Double
    public init(instanceType: String, availabilityZone: String, price: Double, timestamp: Double) {
        self.instanceType = instanceType
        self.availabilityZone = availabilityZone
        self.price = price
        self.timestamp = timestamp
    }
}

/// The price-source port: Spot price history per instance type and AZ. The AWS binding is `EC2SpotPriceSource`
/// (OdinAWS, DescribeSpotPriceHistory, paginated); tests use a fixed list.
public protocol SpotPriceSource: Sendable {
    /// Where the figures come from, shown next to every price (e.g. "DescribeSpotPriceHistory eu-north-1").
    var origin: String { get }
    /// Observations between `start` and `end` (≤ 90 days back), including the price in effect at `start`.
    func history(instanceTypes: [String], start: Instant, end: Instant) throws -> [SpotPriceObservation]
}

/// The quote arithmetic (hand-checkable): work seconds spread over `⌊instance vCPUs ÷ vcpus_per_job⌋` chunks per
/// instance, times the price per instance-hour. Used by OdinCost's `QuoteEngine` and by the ingest gate.
public struct RunCostEstimate: Sendable, Equatable, Codable {
    public var workSeconds: Double
    public var instanceType: String
    public var slotsPerInstance: Int
    public var instanceHours: Double
    public var spotLow: Double
    public var spotHigh: Double
    public var onDemand: Double
    /// All work on Spot at the low price (On-Demand when the profile does not prefer Spot).
    public var expectedLow: Double
    /// Worst case: all work falling back to On-Demand when `fallback_to_ondemand` (else Spot at the high price).
    public var expectedHigh: Double

    public init(profile: Profile, workSeconds: Double, spotLowPerHour: Double, spotHighPerHour: Double,
                onDemandPerHour: Double) {
        let type = profile.compute.instanceTypes[0]
        let vcpus = profile.prices.vcpus[type] ?? Double(profile.compute.vcpusPerJob)
        let slots = max(1, Int(vcpus) / profile.compute.vcpusPerJob)
        let hours = workSeconds / Double(slots) / 3600
        self.workSeconds = workSeconds
        instanceType = type
        slotsPerInstance = slots
        instanceHours = hours
        spotLow = hours * spotLowPerHour
        spotHigh = hours * spotHighPerHour
        onDemand = hours * onDemandPerHour
        let onSpot = profile.compute.spotInstances && profile.costOptimization.spotPreferred
        expectedLow = onSpot ? spotLow : onDemand
        expectedHigh = onSpot ? (profile.compute.fallbackToOnDemand ? max(spotHigh, onDemand) : spotHigh) : onDemand
    }
}

/// The ingest side of `budget.quote_before_run`: before a sealed run is submitted, estimate its cost from its
/// manifest (the profile's work assumptions) and the prices (the cached measured Spot history in `prices|spot#<type>`
/// when present, else the profile table), and hold the run when the upper estimate exceeds the remaining budget.
enum QuoteGate {
    /// The refusal text, or nil when the run may start.
    static func refusal(_ record: RunRecord, services: OdinServices) throws -> String? {
        let profile = services.profile
        guard profile.budget.quoteBeforeRun else { return nil }
        let work = try record.estimatedWorkSeconds ?? manifestWork(record, services: services)
        let type = profile.compute.instanceTypes[0]
        let onDemand = profile.prices.onDemand[type] ?? 0
        var spotLow = profile.prices.spot[type] ?? onDemand
        var spotHigh = spotLow
        var source = profile.prices.spot[type] != nil ? "profile prices.spot (assumption)" : "On-Demand (no Spot entry)"
        if let cached = try services.state.get(StateKey("prices", "spot#\(type)")),
           let low = cached["low"]?.doubleValue, let high = cached["high"]?.doubleValue {
            spotLow = low
            spotHigh = high
            source = cached["source"]?.stringValue ?? "cached DescribeSpotPriceHistory"
        }
        let estimate = RunCostEstimate(profile: profile, workSeconds: work, spotLowPerHour: spotLow,
                                       spotHighPerHour: spotHigh, onDemandPerHour: onDemand)
        let rate = profile.budget.exchangeRate
        let spent = try CostLedger.spend(month: UTC.month(services.clock.now()), state: services.state)
        let remaining = profile.budget.amount - spent * rate
        let upper = estimate.expectedHigh * rate
        guard upper > remaining else { return nil }
        func money(_ value: Double) -> String { String(Int((value * 100).rounded())) .leftPad3Cents }
        return "quote_before_run: upper estimate \(money(upper)) \(profile.budget.currency) exceeds the remaining budget \(money(remaining)) \(profile.budget.currency) (work \(Int(work.rounded())) s on \(type); Spot price: \(source); On-Demand: profile prices.on_demand (assumption)). Raise budget.amount or quote it with `odin run --quote --accept-cost`."
    }
}

extension QuoteGate {
    /// Work of a run recorded before `estimatedWorkSeconds` existed: from its manifest.
    static func manifestWork(_ record: RunRecord, services: OdinServices) throws -> Double {
        let profile = services.profile
        let planner = IngestPlanner(chunking: profile.chunking)
        var work = 0.0
        for chunk in try IngestPlanner.readManifest(try services.objects.get(record.manifestKey)) {
            for item in chunk.items {
                if let segment = item.segment {
                    work += Double(item.size) / profile.chunking.videoBytesPerSecond *
                        profile.chunking.workSecondsPerVideoSecond / Double(segment.count)
                } else {
                    let kind: MediaObject.Kind = planner.classify(bucket: "", key: item.key, size: item.size)
                        .map(\.kind).get(or: .image)
                    work += planner.workSeconds(MediaObject(bucket: "", key: item.key, cameraID: item.cameraID,
                                                            size: item.size, kind: kind))
                }
            }
        }
        return work
    }
}

extension Result {
    fileprivate func get(or fallback: Success) -> Success {
        if case .success(let value) = self { return value }
        return fallback
    }
}

extension String {
    /// "12345" cents → "123.45".
    fileprivate var leftPad3Cents: String {
        let negative = hasPrefix("-")
        var digits = negative ? String(dropFirst()) : self
        while digits.count < 3 { digits = "0" + digits }
        return (negative ? "-" : "") + digits.dropLast(2) + "." + digits.suffix(2)
    }
}

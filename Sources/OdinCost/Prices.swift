import FoundationEssentials
import Odin
import OdinBasics
import OdinKit

/// Where a price came from. Every price Odin prints carries one of these.
public enum PriceOrigin: String, Sendable, Equatable, Codable {
    /// DescribeSpotPriceHistory (moto returns a synthetic constant; the origin string says which endpoint).
    case measured
    /// The profile's `prices.*` table: an editable assumption.
    case profileAssumption = "profile-assumption"
    /// Given to the simulator.
    case simulationInput = "simulation-input"
}

/// A price per instance-hour with its spread and origin.
public struct PriceFigure: Sendable, Equatable, Codable {
    public var low: Double
    /// Time-weighted mean over the window (equal to low/high for a table value).
    public var mean: Double
    public var high: Double
    public var latest: Double
    public var origin: PriceOrigin
    /// Human-readable source: "DescribeSpotPriceHistory eu-north-1, 90 days, 3 AZs, 41 changes" or "profile prices.spot".
    public var source: String

    public init(low: Double, mean: Double, high: Double, latest: Double, origin: PriceOrigin, source: String) {
        self.low = low
        self.mean = mean
        self.high = high
        self.latest = latest
        self.origin = origin
        self.source = source
    }

    public static func table(_ value: Double, key: String) -> PriceFigure {
        PriceFigure(low: value, mean: value, high: value, latest: value, origin: .profileAssumption,
                    source: "profile \(key) (editable assumption)")
    }

    /// Summarises observations (any AZs) over `[start, end]`: each price holds from its timestamp until that AZ's next
    /// change. Nil when there is none.
    public static func summarise(_ observations: [SpotPriceObservation], start: Double, end: Double,
                                 source: String) -> PriceFigure? {
        guard !observations.isEmpty, end > start else { return nil }
        var weighted = 0.0
        var seconds = 0.0
        var low = Double.infinity, high = 0.0
        var latest: (Double, Double) = (-.infinity, 0)
        for (_, zone) in Dictionary(grouping: observations, by: \.availabilityZone) {
            let sorted = zone.sorted { $0.timestamp < $1.timestamp }
            for (index, item) in sorted.enumerated() {
                let from = max(start, item.timestamp)
                let to = index + 1 < sorted.count ? min(end, sorted[index + 1].timestamp) : end
                low = min(low, item.price)
                high = max(high, item.price)
                if to > from {
                    weighted += item.price * (to - from)
                    seconds += to - from
                }
                if item.timestamp >= latest.0 { latest = (item.timestamp, item.price) }
            }
        }
        let mean = seconds > 0 ? weighted / seconds : (low + high) / 2
        return PriceFigure(low: low, mean: mean, high: high, latest: latest.1, origin: .measured, source: source)
    }
}

/// Spot history cached in the state store (`prices | spot#<type>`), refreshed when older than `maxAge`.
public struct SpotPriceCache: Sendable {
    public static let partition = "prices"
    let state: any StateStore
    let clock: any WallClock
    public var maxAgeSeconds: Double
    public var windowDays: Double

    public init(state: any StateStore, clock: any WallClock, maxAgeSeconds: Double = 6 * 3600, windowDays: Double = 90) {
        self.state = state
        self.clock = clock
        self.maxAgeSeconds = maxAgeSeconds
        self.windowDays = min(90, max(1, windowDays))
    }

    /// The Spot figure per type: from the cache when fresh, else from `source` (then cached). Types without any
    /// observation are absent.
    public func figures(for types: [String], source: (any SpotPriceSource)?) throws -> [String: PriceFigure] {
        let now = clock.now().timeIntervalSince1970
        var result: [String: PriceFigure] = [:]
        var stale: [String] = []
        for type in types {
            if let item = try state.get(StateKey(Self.partition, "spot#\(type)")),
               let fetched = item["fetchedAt"]?.intValue, now - Double(fetched) < maxAgeSeconds,
               let figure = Self.decode(item) {
                result[type] = figure
            } else {
                stale.append(type)
            }
        }
        guard let source, !stale.isEmpty else { return result }
        let start = now - windowDays * 86_400
        let observations = try source.history(instanceTypes: stale, start: Instant(timeIntervalSince1970: start),
                                              end: Instant(timeIntervalSince1970: now))
        for type in stale {
            let mine = observations.filter { $0.instanceType == type }
            let zones = Set(mine.map(\.availabilityZone)).count
            guard let figure = PriceFigure.summarise(
                mine, start: start, end: now,
                source: "\(source.origin), \(Int(windowDays)) days, \(zones) AZ\(zones == 1 ? "" : "s"), \(mine.count) price points")
            else { continue }
            result[type] = figure
            try state.put(StateItem(key: StateKey(Self.partition, "spot#\(type)"), attributes: [
                "fetchedAt": .int(Int64(now)), "low": .double(figure.low), "mean": .double(figure.mean),
                "high": .double(figure.high), "latest": .double(figure.latest), "source": .string(figure.source),
            ]), condition: .always)
        }
        return result
    }

    static func decode(_ item: StateItem) -> PriceFigure? {
        guard let low = item["low"]?.doubleValue, let mean = item["mean"]?.doubleValue,
              let high = item["high"]?.doubleValue, let latest = item["latest"]?.doubleValue else { return nil }
        return PriceFigure(low: low, mean: mean, high: high, latest: latest, origin: .measured,
                           source: (item["source"]?.stringValue ?? "DescribeSpotPriceHistory") + " (cached)")
    }
}

/// Prices per instance type: On-Demand from the profile table, Spot measured when a figure exists, else the profile
/// table, else On-Demand (the profile's conservative rule). Money in `currency` (the profile's prices.currency).
public struct PriceBook: Sendable, Equatable {
    public var currency: String
    public var onDemand: [String: PriceFigure]
    public var spot: [String: PriceFigure]

    public init(profile: Profile, measuredSpot: [String: PriceFigure] = [:]) {
        currency = profile.prices.currency
        onDemand = profile.prices.onDemand.mapValues { PriceFigure.table($0, key: "prices.on_demand") }
        var spot: [String: PriceFigure] = [:]
        for type in Set(profile.prices.onDemand.keys).union(profile.prices.spot.keys).union(measuredSpot.keys) {
            if let measured = measuredSpot[type] {
                spot[type] = measured
            } else if let table = profile.prices.spot[type] {
                spot[type] = .table(table, key: "prices.spot")
            } else if let od = profile.prices.onDemand[type] {
                var figure = PriceFigure.table(od, key: "prices.on_demand")
                figure.source = "no Spot figure: profile prices.on_demand (editable assumption; conservative rule)"
                spot[type] = figure
            }
        }
        self.spot = spot
    }
}

import FoundationEssentials
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
    func history(instanceTypes: [String], start: Date, end: Date) throws -> [SpotPriceObservation]
}


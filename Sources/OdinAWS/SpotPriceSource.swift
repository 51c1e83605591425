import AWS
import Odin
import OdinBasics

/// The AWS binding of the price-source port: EC2 DescribeSpotPriceHistory for "Linux/UNIX" in the client's region,
/// every AZ, following `nextToken` (bounded by `maxPages`). The window is clamped to the 90 days EC2 keeps. Against
/// moto the prices are a synthetic constant, and `origin` says which endpoint answered so reports never pass them
/// off as market prices.
public struct EC2SpotPriceSource: SpotPriceSource {
    let client: AWSClient
    let productDescription: String
    let maxPages: Int

    public init(client: AWSClient, productDescription: String = "Linux/UNIX", maxPages: Int = 50) {
        self.client = client
        self.productDescription = productDescription
        self.maxPages = maxPages
    }

    public var origin: String {
        let endpoint = client.endpoint(for: .ec2)
        return "DescribeSpotPriceHistory \(client.region)" +
            (endpoint.isOverride ? " at \(endpoint.baseURL) (endpoint override: an emulator such as moto returns a synthetic constant price)" : "")
    }

    public func history(instanceTypes: [String], start: Instant, end: Instant) throws -> [SpotPriceObservation] {
        let earliest = end.addingTimeInterval(-90 * 86_400)
        let from = start < earliest ? earliest : start
        return try client.describeSpotPriceHistory(instanceTypes: instanceTypes, productDescriptions: [productDescription],
                                                   startTime: from, endTime: end, maxPages: maxPages)
            .filter { $0.price > 0 }
            .map { SpotPriceObservation(instanceType: $0.instanceType, availabilityZone: $0.availabilityZone,
                                        price: $0.price, timestamp: $0.timestamp?.timeIntervalSince1970 ?? end.timeIntervalSince1970) }
    }
}

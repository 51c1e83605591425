import AWS
import FoundationEssentials
import Odin
import OdinAWS
import OdinBasics
@testable import OdinCost
import OdinKit
import OdinLocal
import TestSupport
import Testing

/// The AWS binding of the price-source port against moto_server (`scripts/with-moto.sh` exports MOTO_ENDPOINT).
@Suite struct SpotPriceSourceTests {
    @Test(.requires(.moto)) func describeSpotPriceHistoryThroughTheCache() throws {
        let endpoint = try #require(Peers.motoEndpoint)
        let client = AWSClient(configuration: AWSClient.Configuration(
            region: "eu-north-1",
            credentials: StaticCredentialsProvider(AWSCredentials(accessKeyID: "test", secretAccessKey: "test")),
            endpoints: AWSEndpointResolver(globalOverride: ContractProxy.endpoint(for: endpoint))))  // model-checked
        let source = EC2SpotPriceSource(client: client)
        #expect(source.origin.contains("synthetic"), "an emulator's prices must be labelled synthetic")
        let clock = ManualClock(Instant.now)
        let state = InMemoryStateStore(clock: clock)
        let figures = try SpotPriceCache(state: state, clock: clock).figures(for: ["g4dn.xlarge"], source: source)
        let figure = try #require(figures["g4dn.xlarge"], "moto returns Spot history for g4dn.xlarge")
        #expect(figure.origin == .measured)
        #expect(figure.low > 0 && figure.low <= figure.mean && figure.mean <= figure.high)
        #expect(figure.source.contains("DescribeSpotPriceHistory eu-north-1"))
        #expect(try state.get(StateKey(SpotPriceCache.partition, "spot#g4dn.xlarge")) != nil, "cached in the state store")
    }
}

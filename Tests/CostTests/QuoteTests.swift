import FoundationEssentials
import Odin
import OdinBasics
@testable import OdinCost
import OdinKit
import OdinLocal
import Testing

private struct FixedSpotSource: SpotPriceSource {
    let observations: [SpotPriceObservation]
    var origin: String { "fixed test history" }
    func history(instanceTypes: [String], start: Instant, end: Instant) throws -> [SpotPriceObservation] {
        observations.filter { instanceTypes.contains($0.instanceType) }
    }
}

@Suite struct QuoteTests {
    /// 10,000 images × 0.5 s = 5,000 s of work; g4dn.xlarge (4 vCPUs) with 4 vCPUs per job = 1 chunk per instance
    /// → 1.3889 instance-hours; Spot 0.16/h → 0.22222; On-Demand 0.526/h → 0.73056.
    @Test func handComputedDefaultProfile() throws {
        let profile = Profile()
        let quote = QuoteEngine(profile: profile, prices: PriceBook(profile: profile), spentThisMonth: 0)
            .quote(images: 10_000, videoSeconds: 0)
        #expect(quote.workSeconds == 5_000)
        #expect(quote.slotsPerInstance == 1)
        #expect(abs(quote.instanceHours - 5_000.0 / 3600) < 1e-12)
        #expect(abs(quote.spotLow - 5_000.0 / 3600 * 0.16) < 1e-12)
        #expect(quote.spotLow == quote.spotHigh)
        #expect(abs(quote.onDemand - 5_000.0 / 3600 * 0.526) < 1e-12)
        #expect(quote.expectedLow == quote.spotLow)
        #expect(quote.expectedHigh == quote.onDemand, "fallback on: worst case is all On-Demand")
        // 5,000 s in 5-minute chunks = 17 chunks; paced cap 100 vCPUs / 4 = 25 at once → one wave of 5000/17 s.
        #expect(quote.chunks == 17)
        #expect(quote.parallelChunks == 25)
        #expect(abs(quote.durationSeconds - 5_000.0 / 17) < 1e-9)
        #expect(quote.withinBudget)
        #expect(quote.notes.contains { $0.contains("assumption") })
    }

    /// g4dn.2xlarge (8 vCPUs) first → 2 chunks per instance; video adds work_seconds_per_video_second × seconds.
    @Test func handComputedTwoSlotsAndVideo() throws {
        var profile = Profile()
        profile.compute.instanceTypes = ["g4dn.2xlarge"]
        profile.chunking.workSecondsPerVideoSecond = 2
        let quote = QuoteEngine(profile: profile, prices: PriceBook(profile: profile), spentThisMonth: 0)
            .quote(images: 7_200, videoSeconds: 1_800)
        // 7,200 × 0.5 + 1,800 × 2 = 7,200 s; 2 slots → 1 instance-hour; no Spot entry → charged at On-Demand 0.752.
        #expect(quote.workSeconds == 7_200)
        #expect(quote.slotsPerInstance == 2)
        #expect(abs(quote.instanceHours - 1) < 1e-12)
        #expect(abs(quote.spotLow - 0.752) < 1e-12)
        #expect(abs(quote.onDemand - 0.752) < 1e-12)
    }

    @Test func refusalAndAcceptCostWithCurrencyConversion() throws {
        var profile = Profile()
        profile.budget.currency = "DKK"
        profile.budget.exchangeRate = 7
        profile.budget.amount = 10
        // Spent 1 USD = 7 DKK → 3 DKK remaining; 10,000 images upper = 0.73056 USD = 5.1139 DKK > 3.
        let engine = QuoteEngine(profile: profile, prices: PriceBook(profile: profile), spentThisMonth: 1)
        let quote = engine.quote(images: 10_000, videoSeconds: 0)
        #expect(abs(quote.remainingBudget - 3) < 1e-12)
        #expect(abs(quote.upperInBudgetCurrency - 5_000.0 / 3600 * 0.526 * 7) < 1e-12)
        #expect(!quote.withinBudget)
        #expect(throws: QuoteRefusal.self) { try engine.quote(images: 10_000, videoSeconds: 0, acceptCost: false) }
        do {
            _ = try engine.quote(images: 10_000, videoSeconds: 0, acceptCost: false)
        } catch {
            #expect(error.description.contains("--accept-cost"))
            #expect(error.description.contains("DKK"))
        }
        let accepted = try engine.quote(images: 10_000, videoSeconds: 0, acceptCost: true)
        #expect(accepted == quote)
        #expect(try engine.quote(images: 1_000, videoSeconds: 0, acceptCost: false).withinBudget)
    }

    /// Measured Spot history replaces the table; the range uses the low and high prices; the cache serves the next call.
    @Test func measuredSpotHistoryIsCachedAndUsed() throws {
        let clock = ManualClock()
        let now = clock.now().timeIntervalSince1970
        let state = InMemoryStateStore(clock: clock)
        let source = FixedSpotSource(observations: [
            .init(instanceType: "g4dn.xlarge", availabilityZone: "eu-north-1a", price: 0.2, timestamp: now - 10 * 86_400),
            .init(instanceType: "g4dn.xlarge", availabilityZone: "eu-north-1a", price: 0.3, timestamp: now - 5 * 86_400),
        ])
        let cache = SpotPriceCache(state: state, clock: clock, windowDays: 20)
        let figures = try cache.figures(for: ["g4dn.xlarge"], source: source)
        let figure = try #require(figures["g4dn.xlarge"])
        #expect(figure.origin == .measured && figure.low == 0.2 && figure.high == 0.3 && figure.latest == 0.3)
        // 0.2 for 5 days, 0.3 for 5 days → 0.25 (the window starts before the first point).
        #expect(abs(figure.mean - 0.25) < 1e-12)
        let cached = try cache.figures(for: ["g4dn.xlarge"], source: nil)
        #expect(cached["g4dn.xlarge"]?.high == 0.3)
        let profile = Profile()
        let quote = QuoteEngine(profile: profile, prices: PriceBook(profile: profile, measuredSpot: figures),
                                spentThisMonth: 0).quote(images: 7_200, videoSeconds: 0)
        #expect(abs(quote.spotLow - 0.2) < 1e-12 && abs(quote.spotHigh - 0.3) < 1e-12)
        #expect(quote.spotPrice.source.contains("fixed test history"))
    }

    @Test func advisorRanksByCostPerThousandImages() {
        let profile = Profile()
        let advice = Advisor(profile: profile, prices: PriceBook(profile: profile)).advise(images: 1_000_000)
        #expect(advice.candidates.first?.instanceType == "g4dn.xlarge")
        // 0.16/h ÷ 1 slot × 0.5 s × 1000 ÷ 3600
        #expect(abs((advice.candidates.first?.spotPer1000Images ?? 0) - 0.16 * 0.5 * 1000 / 3600) < 1e-12)
        #expect(advice.recommendedSpotInstanceTypes == ["g4dn.xlarge"])
        #expect(advice.text().contains("(a)"))
        let sorted = advice.candidates.map(\.spotPer1000Images)
        #expect(sorted == sorted.sorted())
    }

    @Test func workRateFromTheLedger() throws {
        let scenario = try Scenario.parseTrace("set duration 1d\nupload 0 camA 3000 2m\n", file: "t")
        let simulator = Simulator(profile: Profile(), scenario: scenario, policy: .ours, seed: 1)
        _ = try simulator.run()
        let rate = try #require(try WorkRate.fromLedger(state: simulator.state, profile: Profile()))
        #expect(rate.measured)
        // The simulated detector takes the profile's 0.5 s per image; the ledger measures it back (no reclaims here).
        #expect(abs(rate.secondsPerImage - 0.5) < 0.01)
    }
}

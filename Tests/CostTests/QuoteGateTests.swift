import Odin
import OdinKit
@testable import OdinCost
import OdinLocal
import Testing

/// The ingest side of `budget.quote_before_run`, driven through the production ingest/sweeper code by the simulator.
@Suite struct QuoteGateTests {
    let scenario: Scenario

    init() throws {
        scenario = try Scenario.parseTrace("set duration 1d\nupload 0 camA 3000 2m\n", file: "gate.trace")
    }

    @Test func holdsARunOverBudgetRecordsAndNotifies() throws {
        var profile = Profile()
        profile.budget.quoteBeforeRun = true
        // 3,000 × 0.5 s = 1,500 s → 0.41667 instance-hours; upper (all On-Demand) = 0.21917 USD > 0.05.
        profile.budget.amount = 0.05
        let simulator = Simulator(profile: profile, scenario: scenario, policy: .ours, seed: 1)
        let report = try simulator.run()
        #expect(report.chunks == 0, "no job may be submitted for a held run")
        let index = try #require(try simulator.state.query(partition: Schema.allRunsPartition, sortPrefix: "").first)
        let record = try #require(try RunRecord.load(index.key.sort, state: simulator.state))
        #expect(record.status == .waitingForBudget)
        let refusal = try #require(record.quoteRefusal)
        #expect(refusal.contains("0.22 USD exceeds the remaining budget 0.05 USD"))
        #expect(simulator.notifier.messages.filter { $0.subject.contains("held by its quote") }.count == 1,
                "notified once, not on every sweep")
        // The same arithmetic as `odin run --quote`.
        let quote = QuoteEngine(profile: profile, prices: PriceBook(profile: profile), spentThisMonth: 0)
            .quote(images: 3_000, videoSeconds: 0)
        #expect(abs(quote.upperInBudgetCurrency - 1_500.0 / 3600 * 0.526) < 1e-12)
        #expect(throws: QuoteRefusal.self) { try QuoteEngine(profile: profile, prices: PriceBook(profile: profile), spentThisMonth: 0).authorize(quote, acceptCost: false) }
    }

    @Test func letsARunWithinBudgetStart() throws {
        var profile = Profile()
        profile.budget.quoteBeforeRun = true
        let simulator = Simulator(profile: profile, scenario: scenario, policy: .ours, seed: 1)
        let report = try simulator.run()
        #expect(report.runsCompleted == 1)
        #expect(report.chunksSucceeded > 0)
        #expect(simulator.notifier.messages.allSatisfy { !$0.subject.contains("held by its quote") })
    }
}

import FoundationEssentials
import Odin
@testable import OdinCost
import Testing

/// The simulator's results for fixed seeds, recorded before the simulator was optimised (issue 17): every field of
/// the report is compared byte for byte, and the time series through a digest of its JSON. A change here means the
/// simulation's behaviour changed, not only its speed.
///
/// Re-record (only for an intended behaviour change, and say why in the commit):
/// `ODIN_RECORD_SIMULATION_FIXTURES=1 swift test --filter SimulationGoldenTests`.
@Suite struct SimulationGoldenTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var scenario: @Sendable () throws -> Scenario
        var policy: SimulationPolicy
        var seed: UInt64
        var profile: @Sendable () -> Profile = { Profile() }
        var testDescription: String { name }
    }

    /// What a fixture holds: the report without its samples, and the samples' count and digest.
    struct Fixture: Codable, Equatable {
        var report: SimulationReport
        var samples: Int
        var samplesFNV1a64: String
    }

    static let cases: [Case] = [
        Case(name: "stormy-ours-3", scenario: { try stormyScenario() }, policy: .ours, seed: 3),
        Case(name: "stormy-ours-42", scenario: { try stormyScenario() }, policy: .ours, seed: 42),
        Case(name: "stormy-static-1", scenario: { try stormyScenario() }, policy: .staticFleet, seed: 1),
        Case(name: "stormy-batch-default-1", scenario: { try stormyScenario() }, policy: .batchDefault, seed: 1),
        Case(name: "stormy-on-demand-1", scenario: { try stormyScenario() }, policy: .onDemand, seed: 1),
        Case(name: "stormy-budget-ours-9", scenario: {
            var scenario = try stormyScenario()
            scenario.inputs.budget = 0.5
            scenario.inputs.alarmDelaySeconds = 120
            return scenario
        }, policy: .ours, seed: 9),
        Case(name: "synthetic-ours-7", scenario: {
            try Scenario.synthetic("days=3,images=40000,cameras=5,dumps=2,interruptions_per_hour=0.2,gap=1d+4h,video_hours=1",
                                   seed: 7)
        }, policy: .ours, seed: 7),
        Case(name: "synthetic-batch-default-7", scenario: {
            try Scenario.synthetic("days=3,images=40000,cameras=5,dumps=2,interruptions_per_hour=0.2,gap=1d+4h", seed: 7)
        }, policy: .batchDefault, seed: 7),
        Case(name: "odd-cap-ours-1", scenario: { try Scenario.parseTrace("set duration 1d\nupload 0 camA 60000 10m\n", file: "odd.trace") },
             policy: .ours, seed: 1, profile: {
                 var profile = Profile()
                 profile.compute.maxVcpus = 98
                 return profile
             }),
    ]

    static let directory: String = {
        let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        return "/\(root)/Tests/Fixtures/Simulation"
    }()

    static func fnv1a64(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func encode(_ fixture: Fixture) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(fixture), as: UTF8.self) + "\n"
    }

    @Test(arguments: cases)
    func sameSeedSameResultsAsRecorded(_ testCase: Case) throws {
        var report = try Simulator(profile: testCase.profile(), scenario: testCase.scenario(), policy: testCase.policy,
                                   seed: testCase.seed).run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let samples = try encoder.encode(report.samples)
        let count = report.samples.count
        report.samples = []
        let actual = try Self.encode(Fixture(report: report, samples: count, samplesFNV1a64: Self.fnv1a64(samples)))
        let path = "\(Self.directory)/\(testCase.name).json"
        if ProcessInfo.processInfo.environment["ODIN_RECORD_SIMULATION_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(actual.utf8)))
            return
        }
        let recorded = try #require(FileManager.default.contents(atPath: path),
                                    "fixture \(path) is missing (record with ODIN_RECORD_SIMULATION_FIXTURES=1)")
        let expected = String(decoding: recorded, as: UTF8.self)
        if actual != expected {
            let copy = "/tmp/\(testCase.name).actual.json"
            _ = FileManager.default.createFile(atPath: copy, contents: Data(actual.utf8))
            Issue.record("\(testCase.name): the simulation's results differ from \(path) (actual: \(copy))")
        }
    }
}

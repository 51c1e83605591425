import Foundation
import Odin
import OdinCost

/// `odin simulate`: a season of uploads under one or more control policies (OdinCost's Simulator).
package struct SimulationRun {
    package var profile: Profile
    package var scenario: Scenario
    package var policies: [SimulationPolicy]
    package var seed: UInt64

    /// - Parameters:
    ///   - trace: an upload trace's text and its file name, or nil for `synthetic`.
    ///   - synthetic: a synthetic season's `key=value,…` spec.
    ///   - overrides: simulation inputs to set (NAME, VALUE).
    package init(profile: Profile, trace: (text: String, file: String)?, synthetic: String?,
                 overrides: [(String, String)], policies: [SimulationPolicy], seed: UInt64) throws {
        var scenario: Scenario
        if let trace {
            scenario = try Scenario.parseTrace(trace.text, file: trace.file)
        } else if let synthetic {
            scenario = try Scenario.synthetic(synthetic, seed: seed)
        } else {
            throw CLIError("give exactly one of --trace FILE or --synthetic SPEC")
        }
        for (name, value) in overrides { try scenario.inputs.set(name, value, at: "--set") }
        (self.profile, self.scenario, self.policies, self.seed) = (profile, scenario, policies, seed)
    }

    /// Runs each policy; `note` gets one line per policy (what was simulated, in how much wall time).
    package func run(note: (String) -> Void) throws -> [SimulationReport] {
        var reports: [SimulationReport] = []
        for policy in policies {
            let started = Date()
            let report = try Simulator(profile: profile, scenario: scenario, policy: policy, seed: seed).run()
            let elapsed = Date().timeIntervalSince(started)
            note("simulated \(scenario.name) / \(policy.rawValue): \(report.imagesUploaded) images, "
                 + "\(String(format: "%.1f", report.simulatedSeconds / 86_400)) days in "
                 + "\(String(format: "%.2f", elapsed)) s wall time")
            reports.append(report)
        }
        return reports
    }

    /// How the reports are printed.
    package enum Output { case json, markdown, table }

    /// The reports as `output` (JSON: one object, or an array of several).
    package static func render(_ reports: [SimulationReport], as output: Output) throws -> String {
        switch output {
        case .json:
            return (reports.count == 1 ? try reports[0].json()
                : "[\n" + (try reports.map { try $0.json() }).joined(separator: ",\n") + "\n]") + "\n"
        case .markdown:
            return SimulationReport.comparison(reports)
        case .table:
            var text = reports.map { $0.table() }.joined(separator: "\n\n") + "\n"
            if reports.count > 1 { text += "\n" + SimulationReport.comparison(reports) }
            return text
        }
    }
}

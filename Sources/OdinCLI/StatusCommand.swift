import ArgumentParser
import OdinApp

/// `odin status [RUN]`: queues, compute environments, jobs by state, runs in flight, last teardown, budget state.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show queues, compute environments, jobs by state, runs in flight, last teardown and budget state.",
        discussion: """
            On AWS: the profile's Batch queues (state), compute environments (state, min/max/desired vCPUs) and \
            jobs per state from the Batch API. With --local: runs, their chunk progress, the last teardown, the \
            budget stop and the cost ledger from the local state folder (the local Batch lives only while a \
            local run does). With RUN, that run's detail.

            Examples: odin status --local;  odin status --region eu-north-1 --json
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A run id for detail.", valueName: "RUN"))
    var runID: String?

    func run() throws {
        let report = try StatusReport.read(global.context, run: runID)
        if global.json { try Terminal.printJSON(try report.jsonObject()) } else { print(report.render()) }
    }
}

import ArgumentParser

/// `odin`: status, costs, results and local runs of the Odins Ravne pipeline.
@main
struct OdinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "odin",
        abstract: "Drive the Odins Ravne camera-trap pipeline: local runs, replay, status, costs and results.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage error.
            """,
        version: "0.1.0",
        subcommands: [ReplayCommand.self, CostsCommand.self, SimulateCommand.self, DeployCommand.self,
                      DestroyCommand.self]
    )
}

import ArgumentParser
import OdinApp

#if canImport(Glibc)
import Glibc
#endif

/// `odin`: local runs, status, costs, results and replay of the Odins Ravne pipeline.
///
/// Exit codes: 0 success, 1 failure (`CLIError`, `ExitCode.failure`), 2 usage error (unknown option, bad value,
/// `ValidationError`). ArgumentParser's own usage code (64) is mapped to 2 in `main()`.
@main
struct OdinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "odin",
        abstract: "Drive the Odins Ravne camera-trap pipeline: local runs, status, costs, results and replay.",
        discussion: """
            Start with `make demo` (or `odin demo`): it generates camera-trap-like media with FFmpeg and runs the \
            whole pipeline on this machine. `--local` selects the local binding (a folder as the bucket, local \
            processes as Batch); without it commands talk to AWS with the usual SDK settings (AWS_PROFILE, \
            AWS_REGION, AWS_ENDPOINT_URL).

            Exit codes: 0 success, 1 failure, 2 usage error.
            """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, RunCommand.self, StatusCommand.self, SetupCommand.self, TeardownCommand.self,
            ResumeCommand.self, SubmitCommand.self, BatchCommand.self, DownloadCommand.self, AnalyzeCommand.self,
            SitesCommand.self, CostsCommand.self, SimulateCommand.self, ReplayCommand.self, DeployCommand.self,
            DestroyCommand.self,
        ]
    )

    /// Parses, runs, and exits with 0/1/2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch {
            Glibc.exit(Self.exitStatus(reporting: error))
        }
    }

    /// Prints the error (or help) the way ArgumentParser would and returns the exit status (0/1/2).
    static func exitStatus(reporting error: any Error) -> Int32 {
        if let cliError = error as? CLIError {
            Terminal.error("odin: \(cliError)")
            return 1
        }
        let code = exitCode(for: error)
        if code == .success {
            print(fullMessage(for: error))
            return 0
        }
        let message = fullMessage(for: error)
        if !message.isEmpty { Terminal.error(message) }
        // Usage errors (ArgumentParser's 64, or an explicit 2) are 2; everything else that is not success is 1.
        return code == .validationFailure || code.rawValue == 2 ? 2 : 1
    }
}

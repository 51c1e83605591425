import ArgumentParser
import Foundation
import OdinApp
import OdinBasics
import OdinDeploy

/// Options shared by `odin deploy` and `odin destroy`.
struct StageOptions: ParsableArguments {
    @Option(name: .long, help: "The stage: 2–10 lower-case letters or digits, e.g. dev (default: $STAGE).")
    var stage: String?

    @Option(name: .long, help: "Project name, the first part of every stack and resource name.")
    var project: String = "odins-ravne"

    @Option(name: .long, help: """
        Odin profile: a YAML file, or a name under profiles/ (default: profiles/default.yaml). \
        The AWS credentials profile is AWS_PROFILE.
        """)
    var profile: String?

    @Option(name: .long, help: "AWS region (default: the profile's cloud.aws.region).")
    var region: String?

    @Option(name: .long, help: "Package root holding infra/, functions/ and .build/lambda/manifest.json.")
    var root: String = "."

    @Flag(name: .long, help: "Do not ask for confirmation.")
    var yes = false

    /// A `--profile` that names no file is a usage error (exit 2), as for every other command.
    func validate() throws {
        if let profile { try usage { try ProfileLoader(root: root).path(profile) } }
    }

    func resolvedStage() throws -> String {
        guard let stage = stage ?? ProcessInfo.processInfo.environment["STAGE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("no stage: pass --stage dev (or STAGE=dev)")
        }
        return stage
    }

    /// The stage's deploy logic with these options.
    func deployer() throws -> StageDeploy {
        var deploy = StageDeploy(stage: try resolvedStage(), environment: ProcessEnvironment.snapshot(),
                                 output: Console.line)
        deploy.project = project
        deploy.profile = profile
        deploy.region = region
        deploy.root = root
        return deploy
    }
}

/// `odin deploy`.
struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy the stack: validate the templates, upload the function zips, apply a change set, stream events.",
        discussion: """
            Order (infra/README.md): cfn-lint and the policy check (from .venv), the artefacts stack \
            <project>-<stage>-artefacts, the function zips of .build/lambda/manifest.json (run `make package` first) \
            under content-hash keys (existing keys are skipped), then the main stack <project>-<stage> through a \
            change set that is shown (and confirmed unless --yes) before it runs. Stack events stream with a progress \
            count until the stack is COMPLETE or FAILED; on failure the failing resource, the reason and the state the \
            stack was left in are printed and the exit code is 1.

            Parameters come from the profile (instance types, bid, vCPUs, fallback timeout, lifecycle, budget), the \
            stage file infra/parameters/<stage>.json, the manifest (code keys, memory, timeout, architecture) and \
            --parameter Key=Value (VpcId, SubnetIds, WorkerImageUri, BudgetWarnAmount, BudgetStopAmount have no other \
            source). A key given twice with different values is an error; --parameter wins over everything.

            --cf deploys the stacks only (the zips must already be uploaded); --lambda uploads the zips and updates \
            only the functions' code keys (and memory/timeout) on the deployed template and parameters.

            Example: odin deploy --stage dev --parameter VpcId=vpc-0abc --parameter SubnetIds=subnet-1,subnet-2 \\
                       --parameter WorkerImageUri=123456789012.dkr.ecr.eu-north-1.amazonaws.com/odin-worker:1 \\
                       --parameter BudgetWarnAmount=50 --parameter BudgetStopAmount=90
            """)

    enum Mode: String, EnumerableFlag {
        case complete, cf, lambda

        static func help(for value: Mode) -> ArgumentHelp? {
            switch value {
            case .complete: "Everything: lint, artefacts stack, upload, main stack (the default)."
            case .cf: "The stacks only (CloudFormation); no upload."
            case .lambda: "Function code only: upload the zips and update the functions' code keys."
            }
        }
    }

    @Flag var mode: Mode = .complete

    @OptionGroup var options: StageOptions

    @Option(name: .customLong("parameter"), help: ArgumentHelp("A stack parameter, Key=Value (repeatable).",
                                                                valueName: "key=value"))
    var parameters: [String] = []

    @Flag(name: .long, help: "Create and show the change sets, then delete them; change nothing.")
    var dryRun = false

    @Option(name: .long, help: "Deploy manifest (default: <root>/.build/lambda/manifest.json).")
    var manifest: String?

    func run() throws {
        let deploy = try options.deployer()
        try Console.reportingFailures {
            let yes = options.yes
            let results = try deploy.deploy(mode: Deployment.Mode(rawValue: mode.rawValue) ?? .complete,
                                            parameters: parameters, dryRun: dryRun, manifest: manifest) { preview in
                yes || Console.confirm("Execute change set \(preview.changeSetName) on \(preview.stackName)?")
            }
            for result in results {
                Console.line("\(result.stackName): \(result.outcome.rawValue) (\(result.status))")
                for (key, value) in result.outputs.sorted(by: { $0.key < $1.key }) { Console.line("  \(key) = \(value)") }
            }
            if results.contains(where: { $0.outcome == .cancelled }) { throw ExitCode.failure }
        }
    }
}

/// `odin destroy`.
struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Delete the stage's stacks after emptying the buckets they own (every object version).",
        discussion: """
            Lists the stacks <project>-<stage> and <project>-<stage>-artefacts and the buckets they own with their \
            object-version counts, asks you to type the stage name (unless --yes), then deletes every object version \
            and delete marker of those buckets, deletes the main stack, then the artefacts stack, streaming events \
            until each is DELETE_COMPLETE. Batch compute environments take minutes to delete while instances drain.

            Example: odin destroy --stage dev
            """)

    @OptionGroup var options: StageOptions

    func run() throws {
        let deploy = try options.deployer()
        let stage = deploy.stage
        try Console.reportingFailures {
            let (deployment, plan) = try deploy.destroyPlan()
            Console.line(plan.summary)
            guard !plan.stacks.isEmpty else { return }
            if !options.yes {
                guard Console.isInteractive else {
                    Console.error("destroy: not a terminal, cannot ask for confirmation: pass --yes")
                    throw ExitCode.failure
                }
                guard Console.ask("Type the stage name (\(stage)) to confirm: ") == stage else {
                    Console.line("Cancelled: nothing was deleted.")
                    throw ExitCode.failure
                }
            }
            try deployment.destroy(plan)
            Console.line("Stage \(stage) destroyed.")
        }
    }
}

/// Terminal I/O of the deploy commands.
enum Console {
    @Sendable static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) { Terminal.error(text) }

    /// Runs a deploy command's body; a `DeployError` or `CLIError` is printed as its description alone (no "odin: "
    /// prefix) and the command exits 1.
    static func reportingFailures(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as DeployError {
            self.error(error.description)
            throw ExitCode.failure
        } catch let error as CLIError {
            self.error(error.description)
            throw ExitCode.failure
        }
    }

    static var isInteractive: Bool { isatty(0) == 1 }

    static func ask(_ prompt: String) -> String? {
        FileHandle.standardOutput.write(Data(prompt.utf8))
        return readLine()?.trimmingCharacters(in: .whitespaces)
    }

    /// y/N question; false when stdin is not a terminal (pass --yes there).
    static func confirm(_ question: String) -> Bool {
        guard isInteractive else {
            error("not a terminal, cannot ask \"\(question)\": pass --yes")
            return false
        }
        let answer = ask(question + " [y/N] ")?.lowercased()
        return answer == "y" || answer == "yes"
    }
}

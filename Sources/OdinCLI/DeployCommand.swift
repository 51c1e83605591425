import ArgumentParser
import AWS
import Foundation
import Odin
import OdinApp
import OdinDeploy
import ProfileYAML

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

    func resolvedStage() throws -> String {
        guard let stage = stage ?? ProcessInfo.processInfo.environment["STAGE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("no stage: pass --stage dev (or STAGE=dev)")
        }
        return stage
    }

    var profilePath: String {
        guard let profile else { return root + "/profiles/default.yaml" }
        if profile.contains("/") || profile.hasSuffix(".yaml") || profile.hasSuffix(".yml") { return profile }
        return root + "/profiles/\(profile).yaml"
    }

    /// The profile's YAML tree and the validated profile.
    func loadProfile() throws -> (tree: ConfigValue, profile: Profile) {
        let tree = try YAMLProfile.read(profilePath)
        do {
            return (tree, try Profile(tree))
        } catch {
            throw DeployCLIError("\(profilePath): \(error)")
        }
    }

    func makeClient(region profileRegion: String) throws -> AWSClient {
        do {
            let configuration = try AWSClient.Configuration.fromEnvironment(
                ProcessInfo.processInfo.environment, region: region ?? profileRegion)
            return AWSClient(configuration: configuration)
        } catch {
            throw DeployCLIError("\(error)")
        }
    }

    /// Prints the account and identity the commands act on (and fails early on missing credentials).
    func announceIdentity(_ client: AWSClient) throws {
        do {
            let identity = try client.getCallerIdentity()
            Console.line("AWS account \(identity.account) (\(identity.arn)), region \(client.region).")
        } catch {
            throw DeployCLIError("cannot identify the AWS account: \(error.description)")
        }
    }

    func makeStacks(_ client: AWSClient) -> StackDeployer {
        var poll = 5.0
        if let text = ProcessInfo.processInfo.environment["ODIN_DEPLOY_POLL_SECONDS"], let value = Double(text), value > 0 {
            poll = value
        }
        return StackDeployer(client: client, output: Console.line, pollSeconds: poll)
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
        Console.setUp()
        let stage = try options.resolvedStage()
        do {
            let (tree, profile) = try options.loadProfile()
            var request = Deployment.Request(stage: stage, root: options.root)
            request.project = options.project
            request.mode = Deployment.Mode(rawValue: mode.rawValue) ?? .complete
            request.dryRun = dryRun
            request.manifestPath = manifest
            request.overrides = try StackParameters.fromArguments(parameters)
            if request.mode != .lambda {
                request.profileParameters = try StackParameters.fromProfile(profile)
                if let note = StackParameters.fallbackTimeoutNote(profile) { print(note) }
                let defaults = try? YAMLProfile.read(options.root + "/profiles/default.yaml")
                request.profileParameters["ProfileJson"] = try ProfileJSON.encode(tree, defaults: defaults)
            }
            let client = try options.makeClient(region: profile.compute.region)
            try options.announceIdentity(client)
            let stacks = options.makeStacks(client)
            let deployment = Deployment(client: client, stacks: stacks, linter: Self.linter(root: options.root))
            Console.line("Deploying \(request.mode.rawValue) to stage \(stage) in \(client.region) "
                         + "(profile \(options.profilePath))\(dryRun ? ", dry run" : "").")
            let yes = options.yes
            let results = try deployment.deploy(request) { preview in
                yes || Console.confirm("Execute change set \(preview.changeSetName) on \(preview.stackName)?")
            }
            for result in results {
                Console.line("\(result.stackName): \(result.outcome.rawValue) (\(result.status))")
                for (key, value) in result.outputs.sorted(by: { $0.key < $1.key }) { Console.line("  \(key) = \(value)") }
            }
            if results.contains(where: { $0.outcome == .cancelled }) { throw ExitCode.failure }
        } catch let error as DeployError {
            Console.error(error.description)
            throw ExitCode.failure
        } catch let error as DeployCLIError {
            Console.error(error.message)
            throw ExitCode.failure
        }
    }

    /// cfn-lint and the policy check from the project venv (`$ODIN_VENV` or <root>/.venv), or nil when absent.
    static func linter(root: String) -> TemplateLinter? {
        let venv = ProcessInfo.processInfo.environment["ODIN_VENV"].flatMap { $0.isEmpty ? nil : $0 } ?? root + "/.venv"
        let cfnLint = venv + "/bin/cfn-lint"
        guard FileManager.default.isExecutableFile(atPath: cfnLint) else { return nil }
        let check = root + "/scripts/infra/check_template.py"
        return TemplateLinter(cfnLint: cfnLint, python: venv + "/bin/python",
                              policyCheck: FileManager.default.fileExists(atPath: check) ? check : nil,
                              run: Console.run)
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
        Console.setUp()
        let stage = try options.resolvedStage()
        do {
            let region = options.region ?? (try? options.loadProfile().profile.compute.region) ?? Profile().compute.region
            let client = try options.makeClient(region: region)
            try options.announceIdentity(client)
            let deployment = Deployment(client: client, stacks: options.makeStacks(client), linter: nil)
            let plan = try deployment.destroyPlan(project: options.project, stage: stage)
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
        } catch let error as DeployError {
            Console.error(error.description)
            throw ExitCode.failure
        } catch let error as DeployCLIError {
            Console.error(error.message)
            throw ExitCode.failure
        }
    }
}

struct DeployCLIError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Reads a YAML profile into a `ConfigValue` tree (Yams stays in the CLI).
enum YAMLProfile {
    static func read(_ path: String) throws -> ConfigValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeployCLIError("cannot read profile \(path): pass --profile <file.yaml> or a name under profiles/")
        }
        do {
            return try ProfileYAMLReader.tree(yaml: String(decoding: data, as: UTF8.self), source: path)
        } catch {
            throw DeployCLIError("\(error)")
        }
    }
}

/// Terminal I/O of the deploy commands.
enum Console {
    /// Nothing to set up: every line is written straight to the file descriptor (no stdio buffering), so
    /// progress shows as it happens even through a pipe.
    static func setUp() {}

    @Sendable static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
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

    /// Runs a program; returns its status and combined stdout+stderr.
    @Sendable static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (127, "cannot run \(executable): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

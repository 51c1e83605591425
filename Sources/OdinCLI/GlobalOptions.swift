import ArgumentParser
import Foundation
import Hugin
import Odin
import OdinApp
import OdinBasics

extension RunPriority: ExpressibleByArgument {}

/// The options every command takes (`@OptionGroup var global: GlobalOptions`).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Profile: a YAML file, or NAME for profiles/NAME.yaml.",
                                            valueName: "NAME|FILE"))
    var profile: String?

    @Option(name: .long, help: "AWS region (overrides the profile's cloud.aws.region and AWS_REGION).")
    var region: String?

    @Option(name: .long, help: ArgumentHelp(
        "Deployed CloudFormation stack (or ODIN_STACK): its outputs name the bucket, queues, compute environments and job definition.",
        valueName: "NAME"))
    var stack: String?

    /// `--stack`, else ODIN_STACK.
    var stackName: String? { stack ?? ProcessInfo.processInfo.environment["ODIN_STACK"] }

    @Flag(name: .long, help: "Use the local binding: a folder as the bucket, local processes as Batch.")
    var local = false

    @Option(name: .long, help: ArgumentHelp("Folder of the local binding (store/, state/, logs/).", valueName: "DIR"))
    var localRoot: String = ProcessInfo.processInfo.environment["ODIN_LOCAL_ROOT"] ?? ".odin/local"

    @Flag(name: .long, help: "Print machine-readable JSON on stdout instead of text.")
    var json = false

    @Flag(name: .long, help: "Print more detail (per-chunk events, worker logs) on stderr.")
    var verbose = false

    /// A `--profile` that names no file is a usage error (exit 2); its content is checked when a command loads it.
    func validate() throws {
        if let profile { try usage { _ = try ProfileLoader().path(profile) } }
    }

    /// The options as the library takes them, with the environment read once.
    var context: CommandContext {
        CommandContext(profile: profile, region: region, stack: stack, local: local, localRoot: localRoot, json: json,
                       verbose: verbose, environment: ProcessEnvironment.snapshot())
    }

    /// The validated profile (the one ProfileLoader), with `--region` applied.
    func loadProfile() throws -> Profile { try context.loadProfile() }

    /// Hugin's settings from the profile (pipeline.clustering).
    func condensationOptions() throws -> CondensationOptions {
        LocalPipeline.condensationOptions(try loadProfile())
    }
}

/// Runs a library check of an argument: its `CLIError` is a usage error (exit 2, with the usage line).
@discardableResult
func usage<T>(_ check: () throws -> T) throws -> T {
    do { return try check() } catch let error as CLIError { throw ValidationError(error.description) }
}

/// Output helper: JSON object or its text line.
func emit(_ global: GlobalOptions, _ object: [String: Any], text: String) throws {
    if global.json { try Terminal.printJSON(object) } else { print(text) }
}

/// A library outcome: its JSON object with --json, else its text.
func emit(_ global: GlobalOptions, _ outcome: Outcome) throws {
    try emit(global, outcome.object, text: outcome.text)
}

import ArgumentParser
import Foundation
import Odin
import OdinApp
import ProfileYAML
import Yams

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

    /// The validated profile, with `--region` applied.
    func loadProfile() throws -> Profile {
        var profile = try ProfileLoader.load(profile)
        if let region { profile.compute.region = region }
        return profile
    }
}

/// YAML profiles (Yams) → `ConfigValue` → `Profile` (Odin validates keys and ranges and names the key path).
enum ProfileLoader {
    /// `nil` → `profiles/default.yaml` when present, else the built-in defaults (the same values).
    static func load(_ nameOrPath: String?) throws -> Profile {
        let path: String
        if let nameOrPath {
            if FileManager.default.fileExists(atPath: nameOrPath) {
                path = nameOrPath
            } else if FileManager.default.fileExists(atPath: "profiles/\(nameOrPath).yaml") {
                path = "profiles/\(nameOrPath).yaml"
            } else {
                throw ValidationError("--profile \(nameOrPath): no such file, and no profiles/\(nameOrPath).yaml")
            }
        } else if FileManager.default.fileExists(atPath: "profiles/default.yaml") {
            path = "profiles/default.yaml"
        } else {
            return Profile()
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("profile \(path): cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// The profile file's tree as JSON (what the functions receive in ODIN_PROFILE_JSON); nil without a file.
    static func json(_ nameOrPath: String?) throws -> String? {
        let candidates = [nameOrPath, nameOrPath.map { "profiles/\($0).yaml" }, "profiles/default.yaml"].compactMap { $0 }
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
              let data = FileManager.default.contents(atPath: path),
              let node = try Yams.load(yaml: String(decoding: data, as: UTF8.self)) else { return nil }
        let json = try JSONSerialization.data(withJSONObject: node, options: [.sortedKeys])
        return String(decoding: json, as: UTF8.self)
    }

    /// Parses YAML text into a validated profile; errors name the file and the key path.
    static func parse(_ text: String, source: String) throws -> Profile {
        try ProfileYAMLReader.profile(yaml: text, source: source)
    }
}

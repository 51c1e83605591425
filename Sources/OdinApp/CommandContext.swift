import Odin

/// What every `odin` command is given besides its own arguments (the CLI's `GlobalOptions`, as values) and the
/// process environment, read once when the command starts and passed down (never read again by the library).
package struct CommandContext: Sendable {
    /// `--profile`: a YAML file, or NAME for profiles/NAME.yaml.
    package var profile: String?
    /// `--region`: overrides the profile's cloud.aws.region and AWS_REGION.
    package var region: String?
    /// `--stack`.
    package var stack: String?
    package var local: Bool
    package var localRoot: String
    package var json: Bool
    package var verbose: Bool
    package var environment: [String: String]

    package init(profile: String? = nil, region: String? = nil, stack: String? = nil, local: Bool = false,
                 localRoot: String = ".odin/local", json: Bool = false, verbose: Bool = false,
                 environment: [String: String]) {
        self.profile = profile
        self.region = region
        self.stack = stack
        self.local = local
        self.localRoot = localRoot
        self.json = json
        self.verbose = verbose
        self.environment = environment
    }

    /// `--stack`, else ODIN_STACK.
    package var stackName: String? { stack ?? environment["ODIN_STACK"] }

    /// The validated profile (ProfileLoader), with `--region` applied.
    package func loadProfile() throws -> Profile {
        var profile = try ProfileLoader().load(profile).profile
        if let region { profile.compute.region = region }
        return profile
    }

    /// Whether progress goes to stderr (not with --json).
    package var progress: Bool { !json }
}

/// What a command reports: the JSON object `--json` prints, and the text printed otherwise.
package struct Outcome {
    package var object: [String: Any]
    package var text: String

    package init(_ object: [String: Any], text: String) {
        self.object = object
        self.text = text
    }
}

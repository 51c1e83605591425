import FoundationEssentials
import JSONEscaping
import Odin

/// The deploy manifest `make package` writes (`.build/lambda/manifest.json`).
public struct LambdaManifest: Sendable, Equatable, Decodable {
    public struct Function: Sendable, Equatable, Decodable {
        /// Path of the zip, relative to the package root.
        public var zip: String
        public var bytes: Int
        public var sha256: String
        /// S3 key: `functions/<name>/<sha256>.zip`.
        public var key: String
        /// Stack parameters of this function (code key, memory, timeout); empty for functions not deployed.
        public var parameters: [String: String]
    }

    public var architecture: String
    public var functions: [String: Function]

    /// Reads and checks the manifest (every key is a content-hash key of its own function).
    public static func load(_ path: String) throws(DeployError) -> LambdaManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeployError(step: "parameters", "no deploy manifest at \(path)",
                              fix: "run `make package` first (it builds the zips and writes the manifest)")
        }
        let manifest: LambdaManifest
        do {
            manifest = try JSONDecoder().decode(LambdaManifest.self, from: data)
        } catch {
            throw DeployError(step: "parameters", "\(path) is not a valid deploy manifest: \(error)",
                              fix: "run `make package` again")
        }
        for (name, function) in manifest.functions {
            let hex = function.sha256.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
            guard function.sha256.count == 64, hex, function.key == "functions/\(name)/\(function.sha256).zip" else {
                throw DeployError(step: "parameters", "\(path): function \(name) has key '\(function.key)', not "
                                  + "functions/\(name)/<sha256>.zip", fix: "run `make package` again")
            }
        }
        return manifest
    }

    /// The deployed functions (those with stack parameters), sorted by name.
    public var deployedFunctions: [(name: String, function: Function)] {
        functions.filter { !$0.value.parameters.isEmpty }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// Stack parameters gathered from several sources, each value remembering where it came from, so a key given by
/// two sources with different values is reported with both.
public struct StackParameters: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]
    public private(set) var sources: [String: String] = [:]

    public init() {}

    /// Adds `parameters` from `source`; a key already set to another value is an error naming both sources.
    public mutating func add(_ parameters: [String: String], from source: String) throws(DeployError) {
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
            if let old = values[key], old != value {
                throw DeployError(step: "parameters", "parameter \(key) is '\(old)' from \(sources[key] ?? "?") but "
                                  + "'\(value)' from \(source)", fix: "set it in one place only")
            }
            values[key] = value
            sources[key] = sources[key] ?? source
        }
    }

    /// Explicit `--parameter` values: they replace anything else (the replaced value is returned for a note).
    public mutating func override(_ parameters: [String: String], from source: String) -> [String] {
        var notes: [String] = []
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
            if let old = values[key], old != value { notes.append("\(key): '\(old)' (\(sources[key] ?? "?")) → '\(value)'") }
            values[key] = value
            sources[key] = source
        }
        return notes
    }

    /// Fails naming every required parameter that has no value, and where it could come from.
    public func requireAll(_ required: [String: String]) throws(DeployError) {
        let missing = required.keys.filter { (values[$0] ?? "").isEmpty }.sorted()
        guard !missing.isEmpty else { return }
        throw DeployError(step: "parameters", "no value for " + missing.joined(separator: ", "),
                          fix: missing.map { "\($0): \(required[$0] ?? "")" }.joined(separator: "; "))
    }

    // MARK: - Sources

    /// Parameters of `infra/stack.yaml` without a default, and where a value can come from.
    public static let requiredInStack: [String: String] = [
        "Stage": "--stage or STAGE=",
        "ArtefactsBucketName": "the artefacts stack's output (deployed first)",
        "IngestCodeKey": "make package", "JobEventsCodeKey": "make package",
        "BudgetGuardCodeKey": "make package", "SweeperCodeKey": "make package",
        "VpcId": "--parameter VpcId=vpc-… (PARAMS=\"VpcId=…\" with make), or infra/parameters/<stage>.json",
        "SubnetIds": "--parameter SubnetIds=subnet-a,subnet-b, or infra/parameters/<stage>.json",
        "WorkerImageUri": "--parameter WorkerImageUri=<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> "
            + "(`make image` prints it)",
        "BudgetAmount": "profile budget.amount",
        "BudgetWarnAmount": "--parameter BudgetWarnAmount=<amount in the budget currency>",
        "BudgetStopAmount": "--parameter BudgetStopAmount=<amount in the budget currency>",
    ]

    /// A line for the deploy output when the profile's fallback timeout is below what AWS Batch accepts.
    public static func fallbackTimeoutNote(_ profile: Profile) -> String? {
        let timeout = profile.costOptimization.fallbackTimeout
        guard timeout < 600 else { return nil }
        return "note: pipeline.cost_optimization.fallback_timeout is \(timeout) s; AWS Batch's RUNNABLE time limit "
            + "is at least 600 s, so the Spot queue falls back to On-Demand after 600 s (local runs use \(timeout) s)"
    }

    /// The stack parameters the profile decides (infra/README.md, "Parameters of stack.yaml"), checked against
    /// what AWS accepts; errors name the profile key.
    public static func fromProfile(_ profile: Profile) throws(DeployError) -> [String: String] {
        func bad(_ key: String, _ message: String) -> DeployError {
            DeployError(step: "parameters", "profile \(key): \(message)", fix: "edit \(key) in the profile")
        }
        // AWS Batch accepts a queue RUNNABLE time limit of 600…86400 s. The profile's default (the seed's 300 s) is
        // below that: the Spot queue then uses AWS's minimum, 600 s (`fallbackTimeoutNote` says so at deploy time);
        // local mode and the simulator keep the profile's value.
        let timeout = max(600, profile.costOptimization.fallbackTimeout)
        guard timeout <= 86_400 else {
            throw bad("pipeline.cost_optimization.fallback_timeout",
                      "\(timeout) s, but AWS Batch accepts a RUNNABLE time limit of 600…86400 s only")
        }
        let life = profile.lifecycle
        guard life.transitionToIA >= 30 else {
            throw bad("storage.lifecycle.transition_to_ia", "\(life.transitionToIA) days, but S3 moves objects to "
                      + "STANDARD_IA after 30 days at the earliest")
        }
        guard life.transitionToGlacier >= life.transitionToIA + 30 else {
            throw bad("storage.lifecycle.transition_to_glacier", "\(life.transitionToGlacier) days, but S3 needs at "
                      + "least transition_to_ia + 30 = \(life.transitionToIA + 30)")
        }
        guard profile.compute.maxVcpus >= 4 else {
            throw bad("cloud.aws.compute.max_vcpus", "\(profile.compute.maxVcpus), but the compute environments "
                      + "need at least 4 (one GPU instance)")
        }
        guard profile.compute.maxVcpus >= profile.smallestInstanceVcpus else {
            throw bad("cloud.aws.compute.max_vcpus", "\(profile.compute.maxVcpus) is below the smallest instance "
                      + "type's \(profile.smallestInstanceVcpus) vCPUs: jobs would stay RUNNABLE")
        }
        guard profile.budget.amount >= 1 else {
            throw bad("budget.amount", "\(profile.budget.amount), but the budget needs at least 1")
        }
        return [
            "GpuInstanceTypes": profile.compute.instanceTypes.joined(separator: ","),
            "SpotBidPercentage": String(profile.compute.bidPercentage),
            "SpotMaxvCpus": String(profile.compute.maxVcpus),
            "OnDemandMaxvCpus": String(profile.compute.maxVcpus),
            "FallbackTimeoutSeconds": String(timeout),
            "TransitionToIaDays": String(life.transitionToIA),
            "TransitionToGlacierDays": String(life.transitionToGlacier),
            "NoncurrentVersionExpirationDays": String(life.deleteOldVersions),
            "BudgetCurrency": profile.budget.currency,
            "BudgetAmount": Self.number(profile.budget.amount),
            "WorkerTimeoutSeconds": String(profile.compute.jobTimeoutSeconds),
        ]
    }

    /// Reads an AWS CLI `--parameters file://` file (`[{"ParameterKey", "ParameterValue"}]`).
    public static func fromParameterFile(_ path: String) throws(DeployError) -> [String: String] {
        struct Entry: Decodable { var ParameterKey: String; var ParameterValue: String }
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        do {
            var values: [String: String] = [:]
            for entry in try JSONDecoder().decode([Entry].self, from: data) { values[entry.ParameterKey] = entry.ParameterValue }
            return values
        } catch {
            throw DeployError(step: "parameters", "\(path) is not a list of {ParameterKey, ParameterValue}: \(error)",
                              fix: "fix the file (AWS CLI --parameters file:// format)")
        }
    }

    /// `Key=Value` arguments → a map; a malformed one is an error naming it.
    public static func fromArguments(_ arguments: [String]) throws(DeployError) -> [String: String] {
        var values: [String: String] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                throw DeployError(step: "parameters", "--parameter '\(argument)' is not Key=Value",
                                  fix: "write it as --parameter VpcId=vpc-0123")
            }
            values[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
        }
        return values
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// The profile as compact JSON for the `ProfileJson` parameter (≤ 2048 bytes).
public enum ProfileJSON {
    /// Compact JSON of `tree` with sorted keys. When longer than `limit`, keys whose value equals the default
    /// profile's (`defaults`) are dropped (the functions fill defaults in themselves); still too long is an error.
    public static func encode(_ tree: ConfigValue, defaults: ConfigValue?, limit: Int = 2048) throws(DeployError) -> String {
        var text = json(tree)
        if text.utf8.count > limit, let defaults {
            text = json(prune(tree, defaults) ?? .map([:]))
        }
        guard text.utf8.count <= limit else {
            throw DeployError(step: "parameters", "the profile is \(text.utf8.count) bytes as JSON even without its "
                              + "default values; the stack allows \(limit) (Lambda environment limit)",
                              fix: "remove keys that keep their defaults, or shorten long lists in the profile")
        }
        return text
    }

    /// `tree` without the parts equal to `defaults` (nil when nothing differs).
    static func prune(_ tree: ConfigValue, _ defaults: ConfigValue) -> ConfigValue? {
        if tree == defaults { return nil }
        guard case .map(let map) = tree, case .map(let base) = defaults else { return tree }
        var kept: [String: ConfigValue] = [:]
        for (key, value) in map {
            if let baseValue = base[key] {
                if let rest = prune(value, baseValue) { kept[key] = rest }
            } else {
                kept[key] = value
            }
        }
        return kept.isEmpty ? nil : .map(kept)
    }

    public static func json(_ value: ConfigValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let bool): return bool ? "true" : "false"
        case .number(let number): return StackParameters.number(number)
        case .string(let string): return JSONString.quoted(string)
        case .list(let list): return "[" + list.map(json).joined(separator: ",") + "]"
        case .map(let map):
            return "{" + map.sorted { $0.key < $1.key }.map { JSONString.quoted($0.key) + ":" + json($0.value) }
                .joined(separator: ",") + "}"
        }
    }
}

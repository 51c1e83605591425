import ArgumentParser
import AWS
import Foundation
import Odin
import OdinApp
import OdinAWS
import OdinBasics
import OdinLocal
import Synchronization

/// `s3://bucket/prefix` parsed.
struct S3Location: Equatable {
    var bucket: String
    var prefix: String

    init(_ uri: String, argument: String) throws {
        guard uri.hasPrefix("s3://") else {
            throw ValidationError("\(argument) '\(uri)' is not an s3:// URI (expected s3://BUCKET/runs/RUN[/stage3])")
        }
        let rest = uri.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else {
            throw ValidationError("\(argument) '\(uri)' has no bucket name")
        }
        bucket = String(first)
        prefix = parts.count > 1 ? String(parts[1]) : ""
    }
}

/// Builds the AWS client from the SDK environment, with `--region`/`--profile` region applied.
enum AWSAccess {
    static func client(global: GlobalOptions, concurrency: Int = 8) throws -> AWSClient {
        let environment = ProcessInfo.processInfo.environment
        var region = global.region
        if region == nil && environment["AWS_REGION"] == nil && environment["AWS_DEFAULT_REGION"] == nil {
            region = try global.loadProfile().compute.region
        }
        do {
            var configuration = try AWSClient.Configuration.fromEnvironment(environment, region: region)
            configuration.maxPooledConnections = max(4, concurrency)
            return AWSClient(configuration: configuration)
        } catch {
            throw CLIError("AWS configuration: \(error)")
        }
    }
}

/// Runs `body` over `items` on `concurrency` threads; collects errors (never drops one).
enum Parallel {
    static func forEach<T: Sendable>(_ items: [T], concurrency: Int, _ body: @escaping @Sendable (T) throws -> Void)
        -> [String] {
        let next = Atomic<Int>(0)
        let errors = Mutex<[String]>([])
        BlockingThreads.run(count: max(1, min(concurrency, items.count))) {
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < items.count else { break }
                do { try body(items[index]) } catch {
                    errors.withLock { $0.append("\(error)") }
                }
            }
        }
        return errors.withLock { $0 }
    }
}

/// The deployed resources' names: from the stack outputs (`--stack`), then the functions' variables (ODIN_BUCKET,
/// ODIN_SPOT_QUEUE, ODIN_OD_QUEUE, ODIN_SPOT_CE, ODIN_OD_CE, ODIN_WORKER_JOB_DEFINITION), over the profile's names.
struct DeployedNames {
    var profile: Profile
    var bucket: String?
    var table: String?

    static func resolve(global: GlobalOptions, client: AWSClient) throws -> DeployedNames {
        var profile = try global.loadProfile()
        var bucket: String?, table: String?
        let environment = ProcessInfo.processInfo.environment
        func name(_ arnOrName: String) -> String {
            guard arnOrName.hasPrefix("arn:") else { return arnOrName }
            let resource = arnOrName.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).last ?? ""
            return resource.split(separator: "/").dropFirst().first.map(String.init) ?? arnOrName
        }
        if let stackName = global.stackName, !stackName.isEmpty {
            let stack: CloudFormation.Stack
            do { stack = try client.describeStack(name: stackName) } catch {
                throw CLIError("--stack \(stackName): \(error)")
            }
            let outputs = stack.outputs
            if let v = outputs["SpotJobQueueArn"] { profile.compute.spotQueue = name(v) }
            if let v = outputs["OnDemandJobQueueArn"] { profile.compute.onDemandQueue = name(v) }
            if let v = outputs["SpotComputeEnvironmentArn"] { profile.compute.spotComputeEnvironment = name(v) }
            if let v = outputs["OnDemandComputeEnvironmentArn"] { profile.compute.onDemandComputeEnvironment = name(v) }
            if let v = outputs["WorkerJobDefinitionArn"] { profile.compute.workerJobDefinition = name(v) }
            bucket = outputs["DataBucketName"]
            table = outputs["StateTableName"]
        }
        if let v = environment["ODIN_SPOT_QUEUE"], !v.isEmpty { profile.compute.spotQueue = name(v) }
        if let v = environment["ODIN_OD_QUEUE"], !v.isEmpty { profile.compute.onDemandQueue = name(v) }
        if let v = environment["ODIN_SPOT_CE"], !v.isEmpty { profile.compute.spotComputeEnvironment = name(v) }
        if let v = environment["ODIN_OD_CE"], !v.isEmpty { profile.compute.onDemandComputeEnvironment = name(v) }
        if let v = environment["ODIN_WORKER_JOB_DEFINITION"], !v.isEmpty { profile.compute.workerJobDefinition = name(v) }
        if let v = environment["ODIN_BUCKET"], !v.isEmpty { bucket = v }
        if let v = environment["ODIN_TABLE"], !v.isEmpty { table = v }
        return DeployedNames(profile: profile, bucket: bucket, table: table)
    }
}

extension DeployedNames {
    /// The control plane's services on AWS (what the Lambda functions build), from the ODIN_* variables, filled in
    /// from the stack's outputs with `--stack`; the CLI's profile goes in as ODIN_PROFILE_JSON. Metrics are dropped
    /// and logs go to stderr, so stdout stays clean for --json.
    static func awsServices(global: GlobalOptions, client: AWSClient) throws -> OdinServices {
        var environment = ProcessInfo.processInfo.environment
        if let stackName = global.stackName, !stackName.isEmpty {
            let stack: CloudFormation.Stack
            do { stack = try client.describeStack(name: stackName) } catch {
                throw CLIError("--stack \(stackName): \(error)")
            }
            let map = ["ODIN_BUCKET": "DataBucketName", "ODIN_TABLE": "StateTableName", "ODIN_SPOT_QUEUE": "SpotJobQueueArn",
                       "ODIN_OD_QUEUE": "OnDemandJobQueueArn", "ODIN_SPOT_CE": "SpotComputeEnvironmentArn",
                       "ODIN_OD_CE": "OnDemandComputeEnvironmentArn", "ODIN_WORKER_JOB_DEFINITION": "WorkerJobDefinitionArn",
                       "ODIN_HUGIN_JOB_DEFINITION": "HuginJobDefinitionArn", "ODIN_TOPIC_ARN": "NotifyTopicArn"]
            for (variable, output) in map where (environment[variable] ?? "").isEmpty {
                if let value = stack.outputs[output] { environment[variable] = value }
            }
            if (environment["ODIN_STAGE"] ?? "").isEmpty, let stage = stackName.split(separator: "-").last {
                environment["ODIN_STAGE"] = String(stage)
            }
            if (environment["ODIN_SHARE_IDENTIFIER"] ?? "").isEmpty { environment["ODIN_SHARE_IDENTIFIER"] = "odin" }
        }
        if (environment["ODIN_PROFILE_JSON"] ?? "").isEmpty, let json = try ProfileLoader.json(global.profile) {
            environment["ODIN_PROFILE_JSON"] = json
        }
        if let region = global.region { environment["AWS_REGION"] = region }
        var services: OdinServices
        do { services = try AWSBinding.makeServices(environment: environment) } catch {
            throw CLIError("the AWS binding needs the deployed names: \(error) (pass --stack NAME or set ODIN_STACK)")
        }
        services.metrics = NoMetrics()
        services.log = global.verbose ? Logger(level: .info) { Terminal.error($0.jsonLine) } : .silent
        return services
    }
}

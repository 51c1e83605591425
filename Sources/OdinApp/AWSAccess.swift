import AWS
import Foundation
import Odin
import OdinAWS
import OdinBasics
import OdinLocal

/// `s3://bucket/prefix` parsed; errors name the argument and the expected form.
package struct S3Location: Equatable, Sendable {
    package var bucket: String
    package var prefix: String

    package init(_ uri: String, argument: String) throws(CLIError) {
        guard uri.hasPrefix("s3://") else {
            throw CLIError("\(argument) '\(uri)' is not an s3:// URI (expected s3://BUCKET/runs/RUN[/stage3])")
        }
        let rest = uri.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else {
            throw CLIError("\(argument) '\(uri)' has no bucket name")
        }
        bucket = String(first)
        prefix = parts.count > 1 ? String(parts[1]) : ""
    }
}

/// Builds the AWS client from the SDK environment, with `--region`/`--profile` region applied.
package enum AWSAccess {
    package static func client(_ context: CommandContext, concurrency: Int = 8) throws -> AWSClient {
        let environment = context.environment
        var region = context.region
        if region == nil && environment["AWS_REGION"] == nil && environment["AWS_DEFAULT_REGION"] == nil {
            region = try context.loadProfile().compute.region
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

/// Runs `body` over `items` on `concurrency` threads (OdinBasics' BlockingThreads); returns every error, in item
/// order (never drops one).
package enum Parallel {
    package static func forEach<T: Sendable>(_ items: [T], concurrency: Int,
                                             _ body: @escaping @Sendable (T) throws -> Void) -> [String] {
        BlockingThreads.map(items.count, concurrency: concurrency) { index -> String? in
            do { try body(items[index]); return nil } catch { return "\(error)" }
        }.compactMap { $0 }
    }
}

/// The deployed resources' names: from the stack outputs (`--stack`), then the functions' variables (ODIN_BUCKET,
/// ODIN_SPOT_QUEUE, ODIN_OD_QUEUE, ODIN_SPOT_CE, ODIN_OD_CE, ODIN_WORKER_JOB_DEFINITION), over the profile's names.
package struct DeployedNames: Sendable {
    package var profile: Profile
    package var bucket: String?
    package var table: String?

    package static func resolve(_ context: CommandContext, client: AWSClient) throws -> DeployedNames {
        var profile = try context.loadProfile()
        var bucket: String?, table: String?
        let environment = context.environment
        func name(_ arnOrName: String) -> String {
            guard arnOrName.hasPrefix("arn:") else { return arnOrName }
            let resource = arnOrName.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).last ?? ""
            return resource.split(separator: "/").dropFirst().first.map(String.init) ?? arnOrName
        }
        if let stackName = context.stackName, !stackName.isEmpty {
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
    package static func awsServices(_ context: CommandContext, client: AWSClient) throws -> OdinServices {
        var environment = context.environment
        if let stackName = context.stackName, !stackName.isEmpty {
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
        if (environment["ODIN_PROFILE_JSON"] ?? "").isEmpty, let json = try ProfileLoader().json(context.profile) {
            environment["ODIN_PROFILE_JSON"] = json
        }
        if let region = context.region { environment["AWS_REGION"] = region }
        var services: OdinServices
        do { services = try AWSBinding.makeServices(environment: environment) } catch {
            throw CLIError("the AWS binding needs the deployed names: \(error) (pass --stack NAME or set ODIN_STACK)")
        }
        services.metrics = NoMetrics()
        services.log = context.verbose ? Logger(level: .info) { Terminal.error($0.jsonLine) } : .silent
        return services
    }
}

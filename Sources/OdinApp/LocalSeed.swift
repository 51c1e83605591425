import AWS
import Events
import Foundation
import Odin
import OdinAWS
import OdinKit

/// Creates the stack's resources on a loopback endpoint (moto_server) and a run matching a Batch event, and returns the
/// functions' environment as infra/stack.yaml sets it.
package enum LocalSeed {
    package static let project = "odins-ravne"

    /// Why `environment` cannot be seeded (its AWS_ENDPOINT_URL is not a loopback server), nil when it can.
    package static func endpointRefusal(_ environment: [String: String]) -> String? {
        guard let endpoint = environment["AWS_ENDPOINT_URL"], let host = URL(string: endpoint)?.host,
              ["127.0.0.1", "localhost", "::1"].contains(host)
        else {
            return "--seed-local needs AWS_ENDPOINT_URL on 127.0.0.1/localhost (a moto_server); "
                + "got '\(environment["AWS_ENDPOINT_URL"] ?? "")'. make replay starts one for you"
        }
        return nil
    }

    /// Seeds the endpoint and returns the functions' environment; `note` gets one line saying what was seeded.
    package static func seed(event: [UInt8], environment: [String: String],
                             note: (String) -> Void) throws -> [String: String] {
        if let refusal = endpointRefusal(environment) { throw CLIError(refusal) }
        let endpoint = environment["AWS_ENDPOINT_URL"] ?? ""
        var settings = environment
        if settings["AWS_REGION"]?.isEmpty ?? true { settings["AWS_REGION"] = "us-east-1" }
        if settings["AWS_ACCESS_KEY_ID"]?.isEmpty ?? true {
            settings["AWS_ACCESS_KEY_ID"] = "testing"
            settings["AWS_SECRET_ACCESS_KEY"] = "testing"
        }
        let client = try AWSBinding.makeClient(environment: settings.filter { $0.key != "ODIN_LOG_AWS_CALLS" })
        let region = client.region
        let stage = environment["ODIN_STAGE"].flatMap { $0.isEmpty ? nil : $0 } ?? "local"
        let prefix = "\(project)-\(stage)"
        let batchEvent = try? BatchJobStateChange.decode(event)
        // Queue names: the event's queue keeps its name, so the function sees the event as coming from our queue.
        var spotQueue = "\(prefix)-spot"
        var onDemandQueue = "\(prefix)-on-demand"
        if let queue = batchEvent?.detail.queueName, !queue.isEmpty {
            if queue.contains("on-demand") || queue.hasSuffix("-od") { onDemandQueue = queue } else { spotQueue = queue }
        }
        // An S3 event's bucket becomes the data bucket, so ingest sees the deployment's own bucket (it refuses
        // objects of other buckets).
        var bucket = "\(prefix)-data-123456789012-\(region)"
        if case .objects(let objects, _, _)? = try? IngestEvent.decode(event), let named = objects.first?.bucket,
           !named.isEmpty {
            bucket = named
        }
        let table = "\(prefix)-state"
        let worker = "\(prefix)-worker"
        let hugin = "\(prefix)-hugin"
        do {
            try ignoringExisting { () throws(AWSError) in try client.createBucket(bucket) }
            try ignoringExisting { () throws(AWSError) in try client.createTable(table, partitionKey: "pk", sortKey: "sk") }
            let (subnet, group) = try defaultNetwork(client)
            // moto needs an explicit Batch service role (the stack's BatchServiceRoleArn; AWS uses the linked role).
            let (serviceRole, instanceProfile) = try iamResources(prefix, client: client)
            var ceARNs: [String] = []
            for (name, type) in [("\(prefix)-spot-gpu", "SPOT"), ("\(prefix)-on-demand-gpu", "EC2")] {
                let existing = try client.describeComputeEnvironments(names: [name]).first?.computeEnvironmentArn
                if let existing { ceARNs.append(existing); continue }
                let created = try client.createComputeEnvironment(.init(
                    computeEnvironmentName: name, serviceRole: serviceRole,
                    computeResources: .init(type: type, allocationStrategy: type == "SPOT" ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
                                            minvCpus: 0, maxvCpus: 100, instanceTypes: ["g4dn.xlarge", "g4dn.2xlarge"],
                                            subnets: [subnet], securityGroupIds: [group],
                                            instanceRole: instanceProfile,
                                            bidPercentage: type == "SPOT" ? 70 : nil,
                                            tags: ["project": project, "stage": stage])))
                ceARNs.append(created.computeEnvironmentArn ?? name)
            }
            var queueARNs: [String] = []
            for (name, ce) in [(spotQueue, ceARNs[0]), (onDemandQueue, ceARNs[1])] {
                if let existing = try client.describeJobQueues(names: [name]).first?.jobQueueArn {
                    queueARNs.append(existing)
                    continue
                }
                queueARNs.append(try client.createJobQueue(.init(
                    jobQueueName: name, priority: 10, computeEnvironmentOrder: [.init(order: 1, computeEnvironment: ce)],
                    tags: ["project": project, "stage": stage])).jobQueueArn ?? name)
            }
            for (name, vcpus, memory) in [(worker, "4", "14336"), (hugin, "2", "7168")] {
                _ = try client.registerJobDefinition(.init(
                    jobDefinitionName: name,
                    containerProperties: .init(image: "odins-ravne-worker:local", command: [name == worker ? "munin-worker" : "hugin"],
                                               resourceRequirements: [.init(type: "VCPU", value: vcpus),
                                                                      .init(type: "MEMORY", value: memory)]),
                    retryStrategy: .init(attempts: 3, evaluateOnExit: [.init(onStatusReason: "Host EC2*", action: "RETRY"),
                                                                       .init(onReason: "*", action: "EXIT")])))
            }
            let topic = try client.createTopic(name: "\(prefix)-notify")
            var result: [String: String] = [
                "ODIN_STAGE": stage, "ODIN_BUCKET": bucket, "ODIN_TABLE": table,
                "ODIN_SPOT_QUEUE": queueARNs[0], "ODIN_OD_QUEUE": queueARNs[1],
                "ODIN_SPOT_CE": ceARNs[0], "ODIN_OD_CE": ceARNs[1],
                "ODIN_WORKER_JOB_DEFINITION": worker, "ODIN_HUGIN_JOB_DEFINITION": hugin,
                "ODIN_SHARE_IDENTIFIER": "odin", "ODIN_FALLBACK_REASON": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                "ODIN_TOPIC_ARN": topic, "ODIN_BUDGET_NAME": prefix, "ODIN_BUDGET_CURRENCY": "USD",
                "ODIN_BUDGET_STOP_AMOUNT": "100", "ODIN_METRICS_NAMESPACE": "OdinsRavne",
                "ODIN_PROFILE_JSON": environment["ODIN_PROFILE_JSON"] ?? "{}",
                "AWS_REGION": region, "AWS_ACCESS_KEY_ID": settings["AWS_ACCESS_KEY_ID"] ?? "",
                "AWS_SECRET_ACCESS_KEY": settings["AWS_SECRET_ACCESS_KEY"] ?? "",
            ]
            var seeded = "seeded \(endpoint): bucket \(bucket), table \(table), queues \(spotQueue)/\(onDemandQueue)"
            if let detail = batchEvent?.detail, let run = detail.tags?[JobTags.run] {
                try seedRun(run, detail: detail, spotQueue: spotQueue, now: Date(),
                            state: DynamoStateStore(client: client, table: table),
                            objects: S3ObjectStore(client: client, bucket: bucket))
                seeded += ", run \(run)"
            }
            note(seeded)
            result = result.filter { !$0.value.isEmpty }
            return result
        } catch {
            throw CLIError("seeding \(endpoint) failed: \(error)")
        }
    }

    /// A run record (status running), its job's lookup item and manifest, so a Batch event tagged with the run
    /// finds it: recorded as ingest and RunSubmitter record a submitted run (`RunRecord.recordSubmitted`).
    static func seedRun(_ run: String, detail: BatchJobDetail, spotQueue: String, now: Date, state: any StateStore,
                        objects: any ObjectStore) throws {
        let chunks = max(Int(detail.tags?[JobTags.chunks] ?? "") ?? 0, (detail.arrayIndex ?? 0) + 1,
                         detail.arrayProperties?.size ?? 0)
        let camera = run.split(separator: "-").last.map(String.init) ?? "cam"
        let manifest = StoreLayout.manifestKey(run: run)
        let job = RunRecord.JobRef(jobID: detail.parentJobID, kind: "chunks", queue: spotQueue, offset: 0, size: chunks)
        try RunRecord(runID: run, cameraID: camera, status: .running, createdAt: ISO8601DateFormatter().string(from: now),
                      objectCount: chunks, chunkCount: chunks, manifestKey: manifest, jobs: [job])
            .recordSubmitted(state: state, now: Int64(now.timeIntervalSince1970))
        let lines = (0..<chunks).map { index in
            Chunk(runID: run, index: index,
                  items: [.init(key: "raw/\(camera)/seed/IMG_\(index).JPG", cameraID: camera, size: 3_145_728)])
        }
        try objects.put(manifest, bytes: try IngestPlanner.manifest(lines))
    }

    /// Creates (or finds) the Batch service role and the instance profile the compute environments name.
    /// Returns (role ARN, instance profile ARN).
    static func iamResources(_ prefix: String, client: AWSClient) throws(AWSError) -> (String, String) {
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        let roleName = "\(prefix)-batch-service", profileName = "\(prefix)-instance"
        let role: IAM.Resource
        do throws(AWSError) {
            role = try client.createRole(name: roleName, assumeRolePolicyDocument: trust)
        } catch where error.code == "EntityAlreadyExists" {
            role = try client.getRole(name: roleName)
        }
        let profile: IAM.Resource
        do throws(AWSError) {
            profile = try client.createInstanceProfile(name: profileName)
        } catch where error.code == "EntityAlreadyExists" {
            profile = try client.getInstanceProfile(name: profileName)
        }
        return (role.arn, profile.arn)
    }

    /// The default VPC's first subnet and security group (moto's).
    static func defaultNetwork(_ client: AWSClient) throws(AWSError) -> (String, String) {
        (try client.describeSubnets().first?.subnetID ?? "", try client.describeSecurityGroups().first?.groupID ?? "")
    }

    /// Runs a create call, treating "already exists" as success (replaying twice against the same server).
    static func ignoringExisting(_ body: () throws(AWSError) -> Void) throws(AWSError) {
        do throws(AWSError) {
            try body()
        } catch {
            let known = ["BucketAlreadyOwnedByYou", "BucketAlreadyExists", "ResourceInUseException"]
            if !known.contains(error.code) { throw error }
        }
    }
}

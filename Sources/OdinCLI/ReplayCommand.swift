import AWS
import ArgumentParser
import Events
import Foundation
import HTTP
import Odin
import OdinAWS
import OdinKit
import RuntimeEmulator

/// `odin replay`: hands events to a real `bootstrap` under the local Runtime API emulator.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a Lambda event (or a folder of events, in name order) through a function's real bootstrap.",
        discussion: """
            The function's binary runs as a separate process against a loopback Runtime API emulator that behaves \
            like the Lambda service (Content-Type and epoch deadline on next, 202 on accepted posts, 413 above \
            6,291,556 bytes, 400 for unknown request ids). Prints each response on stdout; START/END/REPORT lines \
            and the function's logs go to stderr. Exits 1 if any invocation failed.

            Without --function the function is chosen from the event's shape: S3 records or an S3 test event → \
            ingest, source aws.batch → job-events, SNS records → budget-guard, a scheduled event → sweeper.

            With --seed-local (what `make replay` uses when AWS_ENDPOINT_URL is unset: it starts a moto_server first) \
            the stack's resources are created on the local endpoint (data bucket, state table, Spot and On-Demand \
            compute environments and queues, worker and Hugin job definitions, notification topic), plus, for a Batch \
            event, a run record, job record and manifest matching its odin:run tag; the function then gets the \
            ODIN_* variables infra/stack.yaml gives it, and ODIN_LOG_AWS_CALLS=1 prints one line per AWS call.

            Example: odin replay events/job-done.json --function echo
            """)

    @Argument(help: "An event JSON file, or a folder of *.json events replayed in name order.")
    var event: String

    @Option(name: .long, help: "Function to run: echo, ingest, job-events, budget-guard or sweeper.")
    var function: String?

    @Option(name: .long, help: "Folder holding the function binaries (swift build output).")
    var binDir: String = ".build/debug"

    @Option(name: .long, help: "Function timeout in seconds, as configured in Lambda.")
    var timeout: Double = 30

    @Option(name: .long, help: "Memory size in MB reported to the function.")
    var memory: Int = 128

    @Flag(name: .long, help: "Create the stack's resources (and a run matching a Batch event) on the loopback AWS_ENDPOINT_URL first.")
    var seedLocal = false

    static let functions = ["echo", "ingest", "job-events", "budget-guard", "sweeper"]

    func validate() throws {
        if let function, !Self.functions.contains(function) {
            throw ValidationError("--function '\(function)' is not one of: \(Self.functions.joined(separator: ", "))")
        }
        guard timeout > 0, timeout <= 900 else { throw ValidationError("--timeout must be in 1…900 seconds") }
    }

    func run() throws {
        let files = try eventFiles()
        let events = try files.map { path -> (String, Data) in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read event file \(path)")
            }
            return (path, data)
        }
        let name = try function ?? Self.functionName(for: events[0].1, path: events[0].0)
        let bootstrap = (binDir as NSString).appendingPathComponent(name)
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = name
        configuration.timeoutSeconds = timeout
        configuration.memoryMB = memory
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            key.hasPrefix("AWS_") && key != "AWS_LAMBDA_RUNTIME_API" || key.hasPrefix("ODIN_") || key == "LOG_LEVEL"
                || key == "HOME"
        }
        if seedLocal && name != "echo" {
            let seeded = try LocalSeed.seed(event: Array(events[0].1), environment: ProcessInfo.processInfo.environment)
            for (key, value) in seeded { environment[key] = value }
            environment["ODIN_LOG_AWS_CALLS"] = "1"
        }
        let session = try ReplaySession(bootstrap: bootstrap, configuration: configuration,
                                        extraEnvironment: environment) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        var failed = false
        for (path, data) in events {
            if events.count > 1 { FileHandle.standardError.write(Data("== \(path)\n".utf8)) }
            let result = session.invoke([UInt8](data))
            switch result.outcome {
            case .response(let body):
                print(String(decoding: body, as: UTF8.self))
            case .error(let type, let body):
                failed = true
                print(String(decoding: body, as: UTF8.self))
                FileHandle.standardError.write(Data("error (\(type ?? "no type header")) from \(name) for \(path)\n".utf8))
            case .responseTooLarge(let size):
                failed = true
                FileHandle.standardError.write(Data("response of \(size) bytes exceeds 6291556 bytes for \(path)\n".utf8))
            case .requestTooLarge(let size):
                failed = true
                print(RuntimeAPIEmulator.requestTooLargeBody)
                FileHandle.standardError.write(Data("413 RequestEntityTooLargeException: the event of \(size) bytes exceeds Lambda's 6291456-byte invoke limit (\(path)); it never reached \(name)\n".utf8))
            case .timedOut:
                failed = true
                if let initError = session.emulator.initError {
                    print(String(decoding: initError.body, as: UTF8.self))
                    FileHandle.standardError.write(Data("init error (\(initError.type ?? "no type")) from \(name)\n".utf8))
                }
                break
            }
            if session.process.poll() != nil { break }
        }
        if failed { throw ExitCode.failure }
    }

    private func eventFiles() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: event, isDirectory: &isDirectory) else {
            throw ValidationError("event file or folder '\(event)' does not exist")
        }
        guard isDirectory.boolValue else { return [event] }
        let names = try FileManager.default.contentsOfDirectory(atPath: event).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw ValidationError("folder '\(event)' holds no *.json events") }
        return names.map { (event as NSString).appendingPathComponent($0) }
    }

    /// Picks the function for an event by its shape.
    static func functionName(for data: Data, path: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("\(path) is not a JSON object; pass --function to replay it anyway")
        }
        if object["Event"] as? String == "s3:TestEvent" { return "ingest" }
        if let source = object["source"] as? String {
            if source == "aws.batch" { return "job-events" }
            if source == "aws.s3" { return "ingest" }
            if source == "aws.events" || object["detail-type"] as? String == "Scheduled Event" { return "sweeper" }
        }
        if let records = object["Records"] as? [[String: Any]], let first = records.first {
            let source = (first["eventSource"] ?? first["EventSource"]) as? String
            switch source {
            case "aws:s3": return "ingest"
            case "aws:sns": return "budget-guard"
            case "aws:sqs": return "ingest"
            default: break
            }
        }
        throw ValidationError("cannot tell which function \(path) is for (not S3, aws.batch, SNS or a schedule); pass --function")
    }
}

/// Creates the stack's resources on a loopback endpoint (moto_server) and a run matching a Batch event, and returns the
/// functions' environment as infra/stack.yaml sets it.
enum LocalSeed {
    static let project = "odins-ravne"

    static func seed(event: [UInt8], environment: [String: String]) throws -> [String: String] {
        guard let endpoint = environment["AWS_ENDPOINT_URL"], let host = URL(string: endpoint)?.host,
              ["127.0.0.1", "localhost", "::1"].contains(host)
        else {
            throw ValidationError("--seed-local needs AWS_ENDPOINT_URL on 127.0.0.1/localhost (a moto_server); "
                                  + "got '\(environment["AWS_ENDPOINT_URL"] ?? "")'. make replay starts one for you")
        }
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
            let (serviceRole, instanceProfile) = try iamResources(prefix, endpoint: endpoint, credentials: AWSCredentials(accessKeyID: settings["AWS_ACCESS_KEY_ID"] ?? "",
                                                                      secretAccessKey: settings["AWS_SECRET_ACCESS_KEY"] ?? ""))
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
            var note = "seeded \(endpoint): bucket \(bucket), table \(table), queues \(spotQueue)/\(onDemandQueue)"
            if let detail = batchEvent?.detail, let run = detail.tags?[JobTags.run] {
                try seedRun(run, detail: detail, spotQueue: spotQueue,
                            state: DynamoStateStore(client: client, table: table),
                            objects: S3ObjectStore(client: client, bucket: bucket))
                note += ", run \(run)"
            }
            FileHandle.standardError.write(Data((note + "\n").utf8))
            result = result.filter { !$0.value.isEmpty }
            return result
        } catch {
            throw ValidationError("seeding \(endpoint) failed: \(error)")
        }
    }

    /// A run record (status running), its job record and manifest, so a Batch event tagged with the run finds it.
    static func seedRun(_ run: String, detail: BatchJobDetail, spotQueue: String, state: DynamoStateStore,
                        objects: S3ObjectStore) throws {
        let chunks = max(Int(detail.tags?[JobTags.chunks] ?? "") ?? 0, (detail.arrayIndex ?? 0) + 1, detail.arrayProperties?.size ?? 0)
        let camera = run.split(separator: "-").last.map(String.init) ?? "cam"
        let manifest = StoreLayout.manifestKey(run: run)
        let parent = detail.parentJobID
        let now = ISO8601DateFormatter().string(from: Date())
        let job: StateValue = .map(["jobID": .string(parent), "kind": .string("chunks"), "queue": .string(spotQueue),
                                    "offset": .int(0), "size": .int(Int64(chunks))])
        // The attribute names of RunRecord's item (Sources/Odin/Logic/RunRecord.swift).
        try state.put(StateItem(key: Schema.runMeta(run), attributes: [
            "runID": .string(run), "camera": .string(camera), "status": .string("running"), "createdAt": .string(now),
            "objects": .int(Int64(chunks)), "chunks": .int(Int64(chunks)), "manifest": .string(manifest),
            "jobs": .list([job]), "failedChunks": .list([]), "version": .int(1),
        ]), condition: .always)
        try state.put(StateItem(key: Schema.runIndex(run), attributes: [
            "status": .string("running"), "camera": .string(camera), "createdAt": .string(now), "chunks": .int(Int64(chunks)),
        ]), condition: .always)
        try state.put(StateItem(key: Schema.activeRun(run), attributes: ["since": .int(Int64(Date().timeIntervalSince1970))]),
                      condition: .always)
        try state.put(StateItem(key: Schema.job(parent), attributes: [
            "runID": .string(run), "kind": .string("chunks"), "offset": .int(0),
        ]), condition: .always)
        let lines = (0..<chunks).map { index in
            Chunk(runID: run, index: index,
                  items: [.init(key: "raw/\(camera)/seed/IMG_\(index).JPG", cameraID: camera, size: 3_145_728)])
        }
        try objects.put(manifest, bytes: try IngestPlanner.manifest(lines))
    }

    /// Creates (or finds) the IAM role and instance profile the compute environments name; the client speaks no IAM,
    /// so these are signed Query calls. Returns (role ARN, instance profile ARN).
    static func iamResources(_ prefix: String, endpoint: String, credentials: AWSCredentials) throws -> (String, String) {
        func call(_ parameters: [(String, String)]) throws -> (Int, XMLNode?) {
            let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "iam")
            let request = try signer.signed(
                HTTPRequest(method: "POST", url: endpoint + "/",
                            headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
                            body: .bytes(Array(URIEncoding.formEncode(parameters + [("Version", "2010-05-08")]).utf8))),
                date: Date())
            let response = try HTTPClient().send(request)
            return (response.status, try? XMLNode.parse(response.body))
        }
        func createOrGet(_ create: [(String, String)], _ get: [(String, String)], what: String) throws -> String {
            let (status, created) = try call(create)
            if status == 200, let arn = created?.first(named: "Arn")?.text { return arn }
            guard let arn = try call(get).1?.first(named: "Arn")?.text else {
                throw ValidationError("could not create IAM \(what) on \(endpoint) (HTTP \(status))")
            }
            return arn
        }
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        let role = try createOrGet([("Action", "CreateRole"), ("RoleName", "\(prefix)-batch-service"),
                                    ("AssumeRolePolicyDocument", trust)],
                                   [("Action", "GetRole"), ("RoleName", "\(prefix)-batch-service")], what: "role")
        let profile = try createOrGet([("Action", "CreateInstanceProfile"), ("InstanceProfileName", "\(prefix)-instance")],
                                      [("Action", "GetInstanceProfile"), ("InstanceProfileName", "\(prefix)-instance")],
                                      what: "instance profile")
        return (role, profile)
    }

    /// moto's default VPC: its first subnet and security group (EC2 Query API over the client's signer).
    static func defaultNetwork(_ client: AWSClient) throws(AWSError) -> (String, String) {
        func query(_ action: String) throws(AWSError) -> XMLNode {
            let request = HTTPRequest(
                method: "POST", url: client.endpoint(for: .ec2).baseURL + "/",
                headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
                body: .bytes(Array("Action=\(action)&Version=2016-11-15".utf8)))
            let response = try client.send(request, operation: AWSOperation(.ec2, action))
            do throws(XMLError) {
                return try XMLNode.parse(response.body)
            } catch {
                throw AWSError(kind: .invalidResponse, service: "EC2", operation: action, code: "InvalidResponse",
                               message: error.description)
            }
        }
        let subnet = try query("DescribeSubnets").first(named: "subnetId")?.text ?? ""
        let group = try query("DescribeSecurityGroups").first(named: "groupId")?.text ?? ""
        return (subnet, group)
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

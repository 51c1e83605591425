import AWS
import Events
import Compression
import Foundation
import HTTP
import Odin
import OdinAWS
import OdinKit
import RuntimeEmulator
import Synchronization
import Testing
import TestSupport

/// A private moto_server with signature checking on (IAM user + `/moto-api/reset-auth`), shared by this test process,
/// plus the EC2/IAM bits compute environments need, and the AWS contract checker (scripts/contract/server.py, started
/// by scripts/with-moto.sh as ODIN_CONTRACT_ENDPOINT) that every recorded request goes through.
final class FunctionMoto: Sendable {
    let server: MotoServer
    /// The setup user (Action "*"): creates the test stacks' resources and roles; never given to product code.
    let credentials: AWSCredentials
    /// The contract checker: botocore model validation and IAM evaluation with infra/stack.yaml's roles.
    let contractEndpoint: String
    let serviceRoleARN: String
    let instanceProfileARN: String
    let subnet: String
    let securityGroup: String
    var endpoint: String { server.endpoint }

    static let shared: Result<FunctionMoto, TestServerError> = {
        do { return .success(try FunctionMoto()) } catch let error as TestServerError { return .failure(error) } catch {
            return .failure(TestServerError("\(error)"))
        }
    }()

    /// More private servers for sweeps that run cases at once (each case on its own server: moto's DynamoDB
    /// transactions snapshot and restore every table, so concurrent cases on one server disturb each other); started
    /// on first use, they die with the test process.
    static func pool(_ count: Int) -> [FunctionMoto]? {
        guard let shared = require() else { return nil }
        let extra = extraServers.withLock { servers -> Result<[FunctionMoto], TestServerError> in
            do {
                while servers.count < count - 1 { servers.append(try FunctionMoto()) }
                return .success(Array(servers.prefix(count - 1)))
            } catch {
                return .failure(TestServerError("\(error)"))
            }
        }
        switch extra {
        case .success(let servers): return [shared] + servers
        case .failure(let error):
            Issue.record("more moto_servers for a concurrent sweep did not start: \(error)")
            return nil
        }
    }

    private static let extraServers = Mutex<[FunctionMoto]>([])

    /// The shared server, or nil after recording a failure saying why it did not start. Suites using it declare
    /// `.requires(.venv, .contractChecker)`, which skips them (or fails them under `make test`) when a peer is missing.
    static func require() -> FunctionMoto? {
        switch shared {
        case .success(let moto): return moto
        case .failure(let error):
            Issue.record("moto_server and the AWS contract checker needed: \(error)")
            return nil
        }
    }

    private init() throws {
        guard let contract = ContractVerdict.endpoint else {
            throw TestServerError("ODIN_CONTRACT_ENDPOINT is not set: run the tests through scripts/with-moto.sh "
                                  + "(make test), which starts scripts/contract/server.py")
        }
        contractEndpoint = contract
        server = try MotoServer()
        let bootstrap = AWSCredentials(accessKeyID: "bootstrap", secretAccessKey: "bootstrap")
        let user = "odin-fn-tests"
        _ = try Self.query(server.endpoint, bootstrap, "iam", "2010-05-08", ["Action": "CreateUser", "UserName": user])
        let allow = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try Self.query(server.endpoint, bootstrap, "iam", "2010-05-08",
                           ["Action": "PutUserPolicy", "UserName": user, "PolicyName": "all", "PolicyDocument": allow])
        let key = try XMLNode.parse(Array(try Self.query(server.endpoint, bootstrap, "iam", "2010-05-08",
                                                         ["Action": "CreateAccessKey", "UserName": user]).utf8))
        guard let id = key.first(named: "AccessKeyId")?.text, let secret = key.first(named: "SecretAccessKey")?.text
        else { throw TestServerError("CreateAccessKey returned no key") }
        credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret)
        let reset = try MotoServer.request("POST", "\(server.endpoint)/moto-api/reset-auth", body: "0")
        guard reset.status == 200 else { throw TestServerError("reset-auth failed: \(reset)") }
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#
        let role = try XMLNode.parse(Array(try Self.query(server.endpoint, credentials, "iam", "2010-05-08",
            ["Action": "CreateRole", "RoleName": "odin-batch", "AssumeRolePolicyDocument": trust]).utf8))
        serviceRoleARN = role.first(named: "Arn")?.text ?? ""
        let profile = try XMLNode.parse(Array(try Self.query(server.endpoint, credentials, "iam", "2010-05-08",
            ["Action": "CreateInstanceProfile", "InstanceProfileName": "odin-instance"]).utf8))
        instanceProfileARN = profile.first(named: "Arn")?.text ?? ""
        let subnets = try XMLNode.parse(Array(try Self.query(server.endpoint, credentials, "ec2", "2016-11-15",
                                                             ["Action": "DescribeSubnets"]).utf8))
        let groups = try XMLNode.parse(Array(try Self.query(server.endpoint, credentials, "ec2", "2016-11-15",
                                                            ["Action": "DescribeSecurityGroups"]).utf8))
        subnet = subnets.first(named: "subnetId")?.text ?? ""
        securityGroup = groups.first(named: "groupId")?.text ?? ""
    }

    /// A signed query-protocol call for setup (IAM, EC2).
    static func query(_ endpoint: String, _ credentials: AWSCredentials, _ service: String, _ version: String,
                      _ parameters: [String: String]) throws -> String {
        try SignedQuery.post(endpoint, credentials, service: service, version: version, parameters)
    }

    /// A client talking to moto directly (setup and assertions; never recorded).
    func makeClient() -> AWSClient {
        AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1", credentials: StaticCredentialsProvider(credentials),
            endpoints: AWSEndpointResolver(globalOverride: endpoint), random: { 0 }, sleep: { _ in }))
    }
}

/// A loopback HTTP proxy between the functions and moto that records every request (service from the SigV4 scope,
/// operation from X-Amz-Target, the Batch path, the Query `Action`, or the S3 method), has the contract checker
/// validate it against botocore's model of its operation and evaluate it with the caller's role from
/// infra/stack.yaml, and forwards it unchanged (same Host header, so moto's signature check still passes) only when
/// both pass. A denied call is answered 403 AccessDenied and an invalid one 400, as AWS would, without reaching moto.
final class RecordingProxy: Sendable {
    struct Call: Sendable, CustomStringConvertible {
        var service: String
        var operation: String
        var path: String
        var body: [UInt8]
        var status: Int
        var responseBody: [UInt8]
        /// The contract checker's findings (denials, model violations); empty for a clean call.
        var findings: [String] = []
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        var responseJSON: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(responseBody))) as? [String: Any]
        }
        var description: String { "\(service) \(operation) \(status)" }
    }

    final class Log: Sendable {
        let calls = Mutex<[Call]>([])
        /// Operations to answer once with HTTP 429 ThrottlingException (the request is not forwarded).
        let throttleOnce = Mutex<[String: Int]>([:])
        func withLock<R>(_ body: (inout [Call]) -> R) -> R { calls.withLock { body(&$0) } }
    }

    private let server: ScriptedHTTPServer
    private let log: Log
    var endpoint: String { server.baseURL }

    /// `checker` defaults to ODIN_CONTRACT_ENDPOINT (scripts/with-moto.sh); without one the proxy refuses to start,
    /// so no request can bypass the contract check.
    init(upstream: String, checker: String? = nil) throws {
        guard let checker = checker ?? ContractVerdict.endpoint else { throw TestServerError("RecordingProxy needs the contract checker (ODIN_CONTRACT_ENDPOINT): run scripts/with-moto.sh") }
        let log = Log()
        self.log = log
        server = try ScriptedHTTPServer { request in
            let operation = Self.describe(request, status: 0, body: []).operation
            let verdict = ContractVerdict.check(request, checker: checker)
            if !verdict.findings.isEmpty {
                let reply = verdict.reply(for: request)
                var call = Self.describe(request, status: reply.status, body: reply.body)
                call.findings = verdict.findings
                log.withLock { $0.append(call) }
                return .response(status: reply.status, headers: reply.headers, body: reply.body)
            }
            let throttled = log.throttleOnce.withLock { pending -> Bool in
                guard let count = pending[operation], count > 0 else { return false }
                pending[operation] = count - 1
                return true
            }
            if throttled {
                let body = Array(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.utf8)
                log.withLock { $0.append(Self.describe(request, status: 429, body: body)) }
                return .response(status: 429, headers: [("Content-Type", "application/json"),
                                                        ("x-amzn-ErrorType", "ThrottlingException")], body: body)
            }
            let reply = ContractProxy.forward(request, to: upstream)
            if case .response(let status, _, let body) = reply {
                log.withLock { $0.append(Self.describe(request, status: status, body: body)) }
            }
            return reply
        }
    }

    deinit { server.stop() }

    var calls: [Call] { log.withLock { $0 } }
    /// Every denial and model violation the checker reported for this proxy's calls.
    var findings: [String] { calls.flatMap { call in call.findings.map { "\(call.service) \(call.operation): \($0)" } } }
    func calls(_ operation: String) -> [Call] { calls.filter { $0.operation == operation } }
    func reset() { log.withLock { $0.removeAll() } }
    /// The next `times` requests of `operation` get HTTP 429 ThrottlingException without reaching moto.
    func throttle(_ operation: String, times: Int = 1) { log.throttleOnce.withLock { $0[operation, default: 0] += times } }

    static func describe(_ request: ScriptedHTTPServer.Request, status: Int, body: [UInt8]) -> Call {
        var service = "?"
        if let auth = request.header("Authorization"), let range = auth.range(of: "Credential=") {
            let scope = auth[range.upperBound...].split(separator: ",")[0].split(separator: "/")
            if scope.count >= 4 { service = String(scope[3]) }
        }
        var operation = request.method
        if let target = request.header("X-Amz-Target") {
            operation = String(target.split(separator: ".").last ?? "")
        } else if request.path.hasPrefix("/v1/") {
            operation = String(request.path.dropFirst(4))
        } else if let form = String(bytes: request.body, encoding: .utf8), form.hasPrefix("Action=") || form.contains("&Action=") {
            for pair in form.split(separator: "&") where pair.hasPrefix("Action=") { operation = String(pair.dropFirst(7)) }
        } else if service == "s3" {
            operation = "S3 " + request.method
        }
        return Call(service: service, operation: operation, path: request.path, body: request.body, status: status,
                    responseBody: body)
    }
}

/// One test's copy of the stack's resources in moto (unique names), the recording proxy in front of moto, and the
/// functions' environment as `infra/stack.yaml` sets it (ARNs for queues and CEs, names for job definitions).
final class TestStack: @unchecked Sendable {
    let moto: FunctionMoto
    let client: AWSClient
    let proxy: RecordingProxy
    let id: String
    let bucket: String
    let table: String
    let spotQueue: String
    let onDemandQueue: String
    let spotCE: String
    let onDemandCE: String
    let workerDefinition: String
    let huginDefinition: String
    var spotQueueARN = ""
    var onDemandQueueARN = ""
    var spotCEARN = ""
    var onDemandCEARN = ""
    var topicARN = ""
    let profileJSON: String
    /// Temporary credentials of each function's and each job definition's role, as infra/stack.yaml assigns them
    /// (the checker created the roles in moto from the template's own policies and assumed them).
    private(set) var functionCredentials: [String: AWSCredentials] = [:]
    private(set) var jobCredentials: [String: AWSCredentials] = [:]
    /// The bootstraps' stdout/stderr (`<function>.log`), removed with the stack.
    let logDirectory: String

    deinit { try? FileManager.default.removeItem(atPath: logDirectory) }

    init(_ moto: FunctionMoto, profileJSON: String = "{}") throws {
        self.moto = moto
        client = moto.makeClient()
        proxy = try RecordingProxy(upstream: moto.endpoint, checker: moto.contractEndpoint)
        let letters = "abcdefghijklmnopqrstuvwxyz0123456789"
        id = "t" + String((0..<7).map { _ in letters.randomElement()! })
        // Names as infra/stack.yaml derives them with Project=odin, Stage=<id> (the roles' ARNs are rendered with them).
        bucket = "odin-\(id)-data-123456789012-us-east-1"
        table = "odin-\(id)-state"
        spotQueue = "odin-\(id)-spot"
        onDemandQueue = "odin-\(id)-on-demand"
        spotCE = "odin-\(id)-spot-gpu"
        onDemandCE = "odin-\(id)-on-demand-gpu"
        workerDefinition = "odin-\(id)-worker"
        huginDefinition = "odin-\(id)-hugin"
        self.profileJSON = profileJSON
        logDirectory = try TestEnvironment.makeTemporaryDirectory("fn-\(id)")
        try client.createBucket(bucket)
        try client.createTable(table, partitionKey: "pk", sortKey: "sk")
        for (name, type) in [(spotCE, "SPOT"), (onDemandCE, "EC2")] {
            let ce = try client.createComputeEnvironment(.init(
                computeEnvironmentName: name, serviceRole: moto.serviceRoleARN,
                computeResources: .init(type: type, allocationStrategy: type == "SPOT" ? "SPOT_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
                                        minvCpus: 0, maxvCpus: 4, desiredvCpus: 0, instanceTypes: ["g4dn.xlarge"],
                                        subnets: [moto.subnet], securityGroupIds: [moto.securityGroup],
                                        instanceRole: moto.instanceProfileARN, bidPercentage: type == "SPOT" ? 70 : nil)))
            if type == "SPOT" { spotCEARN = ce.computeEnvironmentArn ?? "" } else { onDemandCEARN = ce.computeEnvironmentArn ?? "" }
        }
        for (name, ce) in [(spotQueue, spotCEARN), (onDemandQueue, onDemandCEARN)] {
            let queue = try client.createJobQueue(.init(jobQueueName: name, priority: 10,
                                                        computeEnvironmentOrder: [.init(order: 1, computeEnvironment: ce)]))
            if name == spotQueue { spotQueueARN = queue.jobQueueArn ?? "" } else { onDemandQueueARN = queue.jobQueueArn ?? "" }
        }
        for name in [workerDefinition, huginDefinition] {
            _ = try client.registerJobDefinition(.init(
                jobDefinitionName: name,
                containerProperties: .init(image: "odin:test", command: ["true"],
                                           resourceRequirements: [.init(type: "VCPU", value: "4"),
                                                                  .init(type: "MEMORY", value: "8192")])))
        }
        topicARN = try client.createTopic(name: "odin-\(id)-notify")
        try registerRoles()
    }

    /// Has the contract checker create infra/stack.yaml's roles in moto for this stack's resources and assume them.
    private func registerRoles() throws {
        let request: [String: Any] = [
            "endpoint": moto.endpoint,
            "credentials": ["accessKeyId": moto.credentials.accessKeyID, "secretAccessKey": moto.credentials.secretAccessKey],
            "parameters": ["Project": "odin", "Stage": id, "AWS::AccountId": "123456789012", "AWS::Region": "us-east-1",
                           "AWS::Partition": "aws"],
            "resources": ["SpotJobQueue": ["Ref": spotQueueARN], "OnDemandJobQueue": ["Ref": onDemandQueueARN],
                          "SpotComputeEnvironment": ["Ref": spotCEARN], "OnDemandComputeEnvironment": ["Ref": onDemandCEARN],
                          "NotifyTopic": ["Ref": topicARN]],
        ]
        let reply = try ContractVerdict.post(moto.contractEndpoint + "/stack", request)
        func credentials(_ key: String) throws -> [String: AWSCredentials] {
            guard let roles = reply[key] as? [String: [String: String]] else {
                throw TestServerError("contract checker: no \(key) in \(reply.keys.sorted())")
            }
            return roles.compactMapValues { role in
                guard let id = role["accessKeyId"], let secret = role["secretAccessKey"] else { return nil }
                return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: role["sessionToken"])
            }
        }
        functionCredentials = try credentials("functions")
        jobCredentials = try credentials("jobs")
    }

    /// The environment a Batch job command (`worker`, `hugin`) gets: its job role's credentials, the proxy.
    func jobEnvironment(_ job: String) throws -> [String: String] {
        guard let role = jobCredentials[job] else {
            throw TestServerError("infra/stack.yaml has no job definition \(job) with a job role: \(jobCredentials.keys.sorted())")
        }
        return ["ODIN_BUCKET": bucket, "ODIN_TABLE": table, "ODIN_TOPIC_ARN": topicARN, "AWS_ENDPOINT_URL": proxy.endpoint,
                "AWS_REGION": "us-east-1"].merging(Self.variables(role)) { $1 }
    }

    static func variables(_ credentials: AWSCredentials) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
         "AWS_SESSION_TOKEN": credentials.sessionToken ?? ""]
    }

    /// The functions' environment (infra/stack.yaml), pointed at the recording proxy, with the setup user's keys;
    /// `start` replaces them with the function's own role.
    var environment: [String: String] {
        [
            "ODIN_STAGE": "test", "ODIN_BUCKET": bucket, "ODIN_TABLE": table,
            "ODIN_SPOT_QUEUE": spotQueueARN, "ODIN_OD_QUEUE": onDemandQueueARN,
            "ODIN_SPOT_CE": spotCEARN, "ODIN_OD_CE": onDemandCEARN,
            "ODIN_WORKER_JOB_DEFINITION": workerDefinition, "ODIN_HUGIN_JOB_DEFINITION": huginDefinition,
            "ODIN_SHARE_IDENTIFIER": "odin", "ODIN_FALLBACK_REASON": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
            "ODIN_TOPIC_ARN": topicARN, "ODIN_BUDGET_NAME": "odins-ravne-test", "ODIN_BUDGET_CURRENCY": "USD",
            "ODIN_BUDGET_STOP_AMOUNT": "100", "ODIN_METRICS_NAMESPACE": "OdinsRavne", "ODIN_PROFILE_JSON": profileJSON,
            "AWS_ENDPOINT_URL": proxy.endpoint, "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey, "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "HOME": "/nonexistent", "AWS_MAX_ATTEMPTS": "3",
        ]
    }

    /// The functions' environment with `function`'s role credentials, for running its logic in this process.
    func environment(as function: String) throws -> [String: String] {
        guard let role = functionCredentials[function] else {
            throw TestServerError("infra/stack.yaml has no function \(function): \(functionCredentials.keys.sorted())")
        }
        return environment.merging(Self.variables(role)) { $1 }
    }

    /// Starts a function's real bootstrap under the Runtime API emulator.
    /// `timeoutSeconds`: the function's timeout (each invocation's Lambda-Runtime-Deadline-Ms is that far ahead).
    func start(_ function: String, environment override: [String: String] = [:],
               timeoutSeconds: Double = 60) throws -> ReplaySession {
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = function
        configuration.region = "us-east-1"
        configuration.timeoutSeconds = timeoutSeconds
        var environment = try self.environment(as: function)
        for (key, value) in override { environment[key] = value }
        environment = environment.filter { !$0.value.isEmpty || $0.key == "ODIN_PROFILE_JSON" }
        return try ReplaySession(bootstrap: TestEnvironment.binary(function), configuration: configuration,
                                 extraEnvironment: environment, outputPath: "\(logDirectory)/\(function).log",
                                 log: { _ in })
    }

    /// The services of the AWS binding, talking to moto directly (for assertions on state).
    var state: DynamoStateStore { DynamoStateStore(client: client, table: table) }
    var objects: S3ObjectStore { S3ObjectStore(client: client, bucket: bucket) }
}

/// Invokes and decodes a JSON object response; records an issue (with the error) otherwise.
func invokeJSON(_ session: ReplaySession, _ event: String, sourceLocation: SourceLocation = #_sourceLocation)
    -> [String: Any]
{
    let result = session.invoke(Array(event.utf8))
    guard case .response(let body) = result.outcome else {
        Issue.record("invocation failed: \(describe(result.outcome))", sourceLocation: sourceLocation)
        return [:]
    }
    return ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:]
}

func describe(_ outcome: RuntimeAPIEmulator.Outcome) -> String {
    switch outcome {
    case .response(let body): "response \(String(decoding: body, as: UTF8.self))"
    case .error(let type, let body): "error \(type ?? "-"): \(String(decoding: body, as: UTF8.self))"
    case .responseTooLarge(let size): "response too large (\(size))"
    case .requestTooLarge(let size): "413 RequestEntityTooLargeException (request of \(size) bytes)"
    case .timedOut: "timed out"
    }
}

/// Reads a gzip JSON-lines manifest into chunks.
func readManifest(_ bytes: [UInt8]) throws -> [Chunk] {
    let text = String(decoding: try Gzip.decompress(bytes), as: UTF8.self)
    return try text.split(separator: "\n").map { try JSONDecoder().decode(Chunk.self, from: Data($0.utf8)) }
}


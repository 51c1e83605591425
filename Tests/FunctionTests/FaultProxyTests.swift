import AWS
import Events
import Foundation
import HTTP
import Odin
import OdinAWS
import OdinKit
import RuntimeEmulator
import Synchronization
import Testing
import TestSupport

// The fault sweep through the AWS binding: the functions' logic runs in this process over `OdinAWS.makeServices`
// (the DynamoDB, S3, Batch and SNS bindings with AWS_MAX_ATTEMPTS=1, so an injected fault reaches the logic instead of
// the client's retry), talking to a loopback `FaultProxy` that fails the k-th AWS request of the scenario once and
// forwards everything else to the stack's RecordingProxy and moto. A failed invocation is redelivered, as Lambda
// (async retries), S3 and EventBridge do. For every k (and each kind of fault) the end state — every DynamoDB item,
// every SubmitJob, every S3 object — must equal the fault-free one, with no SubmitJob repeated.

/// A loopback proxy that fails one request: the `target`-th it receives.
final class FaultProxy: Sendable {
    enum Fault: String, Sendable, CaseIterable {
        /// HTTP 500 InternalServerError / InternalError; the request never reaches the service.
        case internalError = "HTTP 500"
        /// HTTP 400 ThrottlingException (S3: 503 SlowDown); not forwarded.
        case throttling = "throttling"
        /// The connection is reset before the request is forwarded.
        case reset = "connection reset"
        /// The request is forwarded and applied, then the connection is reset: the answer is lost (a timeout).
        case answerLost = "applied, answer lost"
    }

    final class Counter: Sendable {
        let value = Mutex<(count: Int, fired: String?)>((0, nil))
        func withLock<R>(_ body: (inout (count: Int, fired: String?)) -> R) -> R { value.withLock { body(&$0) } }
    }

    private let server: ScriptedHTTPServer
    private let state: Counter
    var endpoint: String { server.baseURL }
    var count: Int { state.withLock { $0.count } }
    var fired: String? { state.withLock { $0.fired } }

    init(upstream: String, target: Int?, fault: Fault) throws {
        let state = Counter()
        self.state = state
        server = try ScriptedHTTPServer { request in
            let operation = request.headers.first { $0.name.lowercased() == "x-amz-target" }.map { String($0.value.split(separator: ".").last ?? "") }
                ?? "\(request.method) \(request.target.split(separator: "?").first ?? "")"
            let fire = state.withLock { state -> Bool in
                state.count += 1
                guard state.count == target, state.fired == nil else { return false }
                state.fired = operation
                return true
            }
            let json = request.headers.contains { $0.name.lowercased() == "x-amz-target" } || request.target.hasPrefix("/v1/")
            guard fire else { return FaultProxy.forward(request, upstream: upstream) }
            switch fault {
            case .internalError:
                return json ? .response(status: 500, headers: [("Content-Type", "application/json"), ("x-amzn-ErrorType", "InternalServerError")],
                                        body: Array(#"{"__type":"InternalServerError","message":"injected"}"#.utf8))
                    : .response(status: 500, headers: [("Content-Type", "application/xml")],
                                body: Array("<Error><Code>InternalError</Code><Message>injected</Message></Error>".utf8))
            case .throttling:
                return json ? .response(status: 400, headers: [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ThrottlingException")],
                                        body: Array(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.utf8))
                    : .response(status: 503, headers: [("Content-Type", "application/xml")],
                                body: Array("<Error><Code>SlowDown</Code><Message>injected</Message></Error>".utf8))
            case .reset:
                return .reset
            case .answerLost:
                _ = FaultProxy.forward(request, upstream: upstream)
                return .reset
            }
        }
    }

    deinit { server.stop() }

    static func forward(_ request: ScriptedHTTPServer.Request, upstream: String) -> ScriptedHTTPServer.Reply {
        var headers = HTTPHeaders()
        for (name, value) in request.headers
        where !["content-length", "connection", "transfer-encoding", "expect"].contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        let forwarded = HTTPRequest(method: request.method, url: upstream + request.target, headers: headers,
                                    body: request.body.isEmpty ? .empty : .bytes(request.body))
        do {
            let response = try HTTPClient().send(forwarded)
            var replyHeaders: [(String, String)] = []
            for (name, value) in response.headers {
                let lower = name.lowercased()
                if ["transfer-encoding", "connection"].contains(lower) { continue }
                if lower == "content-length" && request.method != "HEAD" { continue }
                replyHeaders.append((name, value))
            }
            return .response(status: response.status, headers: replyHeaders, body: response.body)
        } catch {
            return .text(502, "fault proxy: \(error)")
        }
    }
}

/// One scenario over a fresh stack: fault-free setup, the steps under the fault, then a fault-free settle.
struct ProxyScenario: Sendable, CustomTestStringConvertible {
    let name: String
    /// The function whose role the steps run on.
    let role: String
    let profileJSON: String
    /// Run without faults before the steps (e.g. a run to send events for).
    let setup: @Sendable (TestStack, OdinServices, ManualClock) throws -> Void
    /// The invocations under the fault (each redelivered after an error).
    let steps: @Sendable (TestStack) -> [@Sendable (OdinServices, ManualClock) throws -> Void]
    /// Every k for the `answerLost` fault (small scenarios); sampled otherwise.
    var everyK = false
    var testDescription: String { name }

    struct Outcome {
        var state: [String]
        var calls: Int
        var duplicateSubmits: [String]
    }

    func run(_ moto: FunctionMoto, target: Int?, fault: FaultProxy.Fault) throws -> Outcome {
        let stack = try TestStack(moto, profileJSON: profileJSON)
        let clock = ManualClock()
        // Each step runs on its function's role from infra/stack.yaml (the contract checker behind stack.proxy
        // enforces it); the fault-free setup ingests on the ingest role, the settle sweeps on the sweeper's.
        var environment = try stack.environment(as: role)
        environment["AWS_MAX_ATTEMPTS"] = "1"
        var setupEnvironment = try stack.environment(as: "ingest")
        setupEnvironment["AWS_MAX_ATTEMPTS"] = "1"
        try setup(stack, try OdinAWS.makeServices(environment: setupEnvironment, clock: clock), clock)
        let direct = try OdinAWS.makeServices(environment: try stack.environment(as: "sweeper"), clock: clock)
        let proxy = try FaultProxy(upstream: stack.proxy.endpoint, target: target, fault: fault)
        environment["AWS_ENDPOINT_URL"] = proxy.endpoint
        let faulty = try OdinAWS.makeServices(environment: environment, clock: clock)
        for step in steps(stack) {
            var deliveries = 0
            while true {
                deliveries += 1
                do {
                    try step(faulty, clock)
                    break
                } catch {
                    if deliveries >= 3 { throw error }
                }
            }
        }
        let calls = proxy.count
        // Settle: the sweeper finishes what a fault left (a seal, a flush, a condensation whose lease expired).
        // Moto moves Batch jobs on its own clock, so the settle sweeps see no job of moto's (what the events of the
        // steps said is the truth); everything else goes to moto.
        var settle = direct
        settle.compute = JobsHidden(base: direct.compute)
        for _ in 0..<2 {
            clock.advance(seconds: 2_000)
            _ = try SweeperService(services: settle).sweep()
        }
        let submits = stack.proxy.calls("submitjob").compactMap { $0.json?["jobName"] as? String }
        let duplicates = Dictionary(grouping: submits, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        let state = try Self.endState(stack).map { $0.replacingOccurrences(of: stack.id, with: "<stack>") }
        return Outcome(state: state, calls: calls, duplicateSubmits: duplicates)
    }

    /// Compute that reports no jobs (ListJobs/DescribeJobs empty) and forwards the rest.
    struct JobsHidden: Compute {
        let base: any Compute
        func describeQueues(_ names: [String]) throws -> [QueueInfo] { try base.describeQueues(names) }
        func setQueueEnabled(_ name: String, _ enabled: Bool) throws { try base.setQueueEnabled(name, enabled) }
        func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
            try base.describeComputeEnvironments(names)
        }
        func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
            try base.updateComputeEnvironment(name, update)
        }
        func submitJob(_ submission: JobSubmission) throws -> String { try base.submitJob(submission) }
        func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
            if case .namePrefix = filter { return try base.listJobs(filter) }
            return []
        }
        func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] { [] }
        func terminateJob(_ jobID: String, reason: String) throws { try base.terminateJob(jobID, reason: reason) }
        func cancelJob(_ jobID: String, reason: String) throws { try base.cancelJob(jobID, reason: reason) }
    }

    /// Every item of the table (times masked, job ids named), every SubmitJob (name, queue, size), every object.
    static func endState(_ stack: TestStack) throws -> [String] {
        var names: [String: String] = [:]
        var submissions: [String] = []
        for call in stack.proxy.calls("submitjob") where call.status == 200 {
            guard let name = call.json?["jobName"] as? String, let id = call.responseJSON?["jobId"] as? String else { continue }
            names[id] = name
            let size = (call.json?["arrayProperties"] as? [String: Any])?["size"] as? Int ?? 1
            submissions.append("submit \(name) queue=\((call.json?["jobQueue"] as? String ?? "").split(separator: "/").last ?? "") size=\(size)")
        }
        var items: [String] = []
        var start: [String: Any]?
        repeat {
            var input: [String: Any] = ["TableName": stack.table, "ConsistentRead": true]
            if let start { input["ExclusiveStartKey"] = start }
            let request = HTTPRequest(
                method: "POST", url: stack.client.endpoint(for: .dynamoDB).baseURL + "/",
                headers: HTTPHeaders([("Content-Type", "application/x-amz-json-1.0"),
                                      ("X-Amz-Target", "DynamoDB_20120810.Scan")]),
                body: .bytes(Array(try JSONSerialization.data(withJSONObject: input))))
            let response = try stack.client.send(request, operation: AWSOperation(.dynamoDB, "Scan"))
            let page = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
            for item in page["Items"] as? [[String: Any]] ?? [] { items.append(render(item, names: names)) }
            start = page["LastEvaluatedKey"] as? [String: Any]
        } while start != nil
        let objects = try stack.client.listAllObjects(bucket: stack.bucket).map { "object \($0.key) \($0.size)" }
        return (items + submissions + objects).sorted()
    }

    static let times: Set<String> = ["at", "since", "seenAt", "lastSeen", "openedAt", "startedAt", "leaseUntil",
                                     "completedAt", "atEpoch", "clearedAt", "expiresAt"]

    static func render(_ item: [String: Any], names: [String: String]) -> String {
        func value(_ raw: Any) -> String {
            guard let typed = raw as? [String: Any], let (type, inner) = typed.first else { return "\(raw)" }
            switch type {
            case "M": return "{" + ((inner as? [String: Any]) ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\(value($0.value))" }.joined(separator: " ") + "}"
            case "L": return "[" + ((inner as? [Any]) ?? []).map(value).joined(separator: ",") + "]"
            default: return "\(type):\(inner)"
            }
        }
        let pk = value(item["pk"] ?? ""), sk = value(item["sk"] ?? "")
        let teardown = pk == "S:control" && sk == "S:teardown"
        let attributes = item.filter { $0.key != "pk" && $0.key != "sk" && (!teardown || $0.key == "froze") }
            .sorted { $0.key < $1.key }
            .map { times.contains($0.key) ? "\($0.key)=<time>" : "\($0.key)=\(value($0.value))" }
        var line = "\(pk)|\(sk) " + attributes.joined(separator: " ")
        // Moto's job ids are random: name them.
        for (id, name) in names { line = line.replacingOccurrences(of: id, with: "<\(name)>") }
        return line
    }
}

enum ProxyScenarios {
    static let settleProfile = #"{"pipeline":{"ingest":{"settle_seconds":60},"chunking":{"target_minutes":2,"seconds_per_image":60}}}"#

    static func ingestEvent(_ stack: TestStack, _ keys: [String]) -> [UInt8] {
        Array(s3Event(bucket: stack.bucket, keys: keys.enumerated().map { ($1, 2000 + $0, String(format: "%032x", $0 + 1)) }).utf8)
    }

    /// Burst ingest: two invocations, a camera spelled in NFC and NFD; every invocation seals at once.
    static let burstIngest = ProxyScenario(name: "ingest: burst", role: "ingest", profileJSON: smallChunksProfile,
                                           setup: { _, _, _ in }) { stack in
        [{ services, _ in
            _ = try IngestFunction.handleDecoded(ingestEvent(stack, ["raw/cam01/A.JPG", "raw/cam01/B.JPG", "raw/cam\u{E9}ra/C.JPG"]),
                                                 services: services)
        }, { services, _ in
            _ = try IngestFunction.handleDecoded(ingestEvent(stack, ["raw/cam01/D.JPG", "raw/came\u{301}ra/E.JPG"]),
                                                 services: services)
        }]
    }

    /// The sweeper seals a settled window (lost and redelivered scheduled events included) and paces capacity.
    static let sweeper = everyK(ProxyScenario(name: "sweeper: seal and pace", role: "sweeper", profileJSON: settleProfile, setup: { stack, services, clock in
        _ = try IngestFunction.handleDecoded(ingestEvent(stack, ["raw/cam02/A.JPG", "raw/cam02/B.JPG", "raw/cam02/C.JPG"]),
                                             services: services)
        clock.advance(seconds: 61)
    }) { _ in
        [{ services, _ in
            // What moto says of jobs moves on its own clock: this scenario is about sealing and pacing.
            var services = services
            services.compute = ProxyScenario.JobsHidden(base: services.compute)
            _ = try SweeperService(services: services).sweep()
        }]
    })

    static func everyK(_ scenario: ProxyScenario) -> ProxyScenario {
        var scenario = scenario
        scenario.everyK = true
        return scenario
    }

    /// A run of three chunks on Spot: one succeeds, one is cancelled by the RUNNABLE time limit, one is reclaimed;
    /// the On-Demand fallback succeeds; Hugin condenses.
    static let reclaims = ProxyScenario(name: "job events: reclaims and RUNNABLE cancels", role: "job-events", profileJSON: smallChunksProfile,
                                        setup: { stack, services, _ in
        _ = try IngestFunction.handleDecoded(ingestEvent(stack, (1...5).map { "raw/cam03/IMG_\($0).JPG" }), services: services)
    }) { stack in
        @Sendable func submitted(_ kind: String) -> (id: String, name: String, tags: [String: String])? {
            for call in stack.proxy.calls("submitjob").reversed() where call.status == 200 {
                guard let tags = call.json?["tags"] as? [String: String], tags["odin:kind"] == kind,
                      let id = call.responseJSON?["jobId"] as? String, let name = call.json?["jobName"] as? String
                else { continue }
                return (id, name, tags)
            }
            return nil
        }
        @Sendable func deliver(_ event: String, _ services: OdinServices) throws {
            _ = try JobEventsFunction.handle(Array(event.utf8), services: services)
        }
        var steps: [@Sendable (OdinServices, ManualClock) throws -> Void] = []
        let outcomes: [(String, String?)] = [("SUCCEEDED", nil), ("FAILED", timeoutReason),
                                             ("FAILED", "Host EC2 (instance i-0abc) terminated.")]
        for (index, outcome) in outcomes.enumerated() {
            steps.append { services, _ in
                guard let job = submitted("chunks") else { throw OdinError("test", "no chunk job") }
                try deliver(batchEvent(jobID: "\(job.id):\(index)", jobName: job.name, queueARN: stack.spotQueueARN,
                                       status: outcome.0, reason: outcome.1, index: index, tags: job.tags), services)
            }
        }
        for index in 0..<2 {
            steps.append { services, _ in
                guard let job = submitted("fallback") else { throw OdinError("test", "no fallback job yet") }
                try deliver(batchEvent(jobID: "\(job.id):\(index)", jobName: job.name, queueARN: stack.onDemandQueueARN,
                                       status: "SUCCEEDED", index: index, tags: job.tags), services)
            }
        }
        steps.append { services, _ in
            guard let job = submitted("condense") else { throw OdinError("test", "no Hugin job yet") }
            try deliver(batchEvent(jobID: job.id, jobName: job.name, queueARN: stack.onDemandQueueARN,
                                   status: "SUCCEEDED", tags: job.tags), services)
        }
        return steps
    }
}

@Suite(.serialized, .requires(.venv, .contractChecker)) struct FaultProxyTests {
    /// Every k for the first kind of fault, and every `stride`-th k for the others (each case builds a stack in moto).
    @Test(arguments: [ProxyScenarios.burstIngest, ProxyScenarios.sweeper, ProxyScenarios.reclaims])
    func everyFailedAWSCallGivesTheFaultFreeEndState(scenario: ProxyScenario) throws {
        guard let moto = FunctionMoto.require() else { return }
        let expected = try scenario.run(moto, target: nil, fault: .internalError)
        #expect(expected.duplicateSubmits.isEmpty)
        var cases = 0
        var divergent: [String] = []
        // Each case builds a stack in moto (seconds): every k for one kind of fault where the scenario is small,
        // about ten evenly spread k per kind otherwise (the port-level sweep covers every k of every scenario).
        let sampled = max(1, expected.calls / 10)
        for fault in FaultProxy.Fault.allCases {
            let every = scenario.everyK && fault == .answerLost
            for k in Swift.stride(from: every ? 1 : 1 + (sampled / 2), through: expected.calls, by: every ? 1 : sampled) {
                cases += 1
                do {
                    let outcome = try scenario.run(moto, target: k, fault: fault)
                    if !outcome.duplicateSubmits.isEmpty {
                        divergent.append("k=\(k) \(fault.rawValue): SubmitJob repeated: \(outcome.duplicateSubmits)")
                    } else if outcome.state != expected.state {
                        let extra = Set(outcome.state).subtracting(expected.state).sorted().prefix(3)
                        let missing = Set(expected.state).subtracting(outcome.state).sorted().prefix(3)
                        divergent.append("k=\(k) \(fault.rawValue): only with the fault \(Array(extra)); only without \(Array(missing))")
                    }
                } catch {
                    divergent.append("k=\(k) \(fault.rawValue): \(error)")
                }
            }
        }
        print("fault sweep (AWS binding over moto): \(scenario.name): \(cases) cases over \(expected.calls) calls, \(divergent.count) divergent")
        #expect(divergent.isEmpty, "\(divergent.count) divergent:\n\(divergent.prefix(8).joined(separator: "\n"))")
    }
}

@Suite(.serialized, .requires(.venv, .contractChecker)) struct LongKeyTests {
    /// An S3 key near its 1,024-byte limit makes `<bucket>/<key>#<version>` longer than DynamoDB's sort-key limit;
    /// the pending item is stored under `h#<sha256>` with the full key as an attribute, and the run's manifest has it.
    @Test func aKeyNearOneKilobyteIsIngestedAndSealedThroughDynamoDB() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let services = try OdinAWS.makeServices(environment: try stack.environment(as: "ingest"), clock: ManualClock())
        let key = "raw/cam07/" + String(repeating: "a", count: 1000) + ".JPG"
        #expect(key.utf8.count <= 1024)
        let result = try IngestFunction.handleDecoded(ProxyScenarios.ingestEvent(stack, [key]), services: services)
        #expect(result.accepted == 1, "\(result)")
        let run = try #require(result.runsStarted.first)
        let record = try #require(try RunRecord.load(run, state: stack.state))
        let chunks = try readManifest(try stack.objects.get(record.manifestKey))
        #expect(chunks.flatMap(\.items).map(\.key) == [key])
        // A redelivery is a duplicate, not a second object.
        #expect(try IngestFunction.handleDecoded(ProxyScenarios.ingestEvent(stack, [key]), services: services).duplicates == 1)
    }
}

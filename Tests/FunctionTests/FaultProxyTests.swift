import AWS
import Events
import Foundation
import HTTP
import Odin
import OdinAWS
import OdinBasics
import OdinKit
import OdinLocal
import RuntimeEmulator
import Synchronization
import Testing
import TestSupport

// The fault sweep through the AWS binding: the functions' logic runs in this process over `AWSBinding.makeServices`
// (the DynamoDB, S3, Batch and SNS bindings with AWS_MAX_ATTEMPTS=1, so an injected fault reaches the logic instead of
// the client's retry), talking to a loopback `FaultProxy` that fails the k-th AWS request of the scenario once and
// forwards everything else to the stack's RecordingProxy and moto. A failed invocation is redelivered, as Lambda
// (async retries), S3 and EventBridge do. For every k (and each kind of fault) the end state — every DynamoDB item,
// every SubmitJob, every S3 object — must equal the fault-free one, with no SubmitJob repeated.
// Bounded: every k of one scenario per function (ingest, job events, budget guard, sweeper) for the applied-then-reset
// fault, a seeded sample of k otherwise (printed with the seed); the cases run on a few threads at once (each case its
// own stack, proxy and clock). The counts go to `.build/reliability/sweeps.jsonl` (`SweepReport`).

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
            guard fire else { return ContractProxy.forward(request, to: upstream) }
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
                _ = ContractProxy.forward(request, to: upstream)
                return .reset
            }
        }
    }

    deinit { server.stop() }
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
    /// Every k for the `answerLost` fault (one small scenario per function); sampled otherwise.
    var everyK = false
    /// How many k per kind of fault are drawn (seeded) where not every k is run (each case builds a stack in moto:
    /// seconds).
    var samples = 1
    var testDescription: String { name }

    struct Outcome {
        var state: [String]
        var calls: Int
        var duplicateSubmits: [String]
    }

    /// `maxAttempts`: the AWS client's own attempts (1: every injected fault reaches the logic; more: the client
    /// retries what is safe to retry — never a non-idempotent call that may have been applied).
    func run(_ moto: FunctionMoto, target: Int?, fault: FaultProxy.Fault, maxAttempts: Int = 1) throws -> Outcome {
        let stack = try TestStack(moto, profileJSON: profileJSON)
        let clock = ManualClock()
        // Each step runs on its function's role from infra/stack.yaml (the contract checker behind stack.proxy
        // enforces it); the fault-free setup ingests on the ingest role, the settle sweeps on the sweeper's.
        var environment = try stack.environment(as: role)
        environment["AWS_MAX_ATTEMPTS"] = String(maxAttempts)
        var setupEnvironment = try stack.environment(as: "ingest")
        setupEnvironment["AWS_MAX_ATTEMPTS"] = "1"
        try setup(stack, try AWSBinding.makeServices(environment: setupEnvironment, clock: clock), clock)
        let direct = try AWSBinding.makeServices(environment: try stack.environment(as: "sweeper"), clock: clock)
        let proxy = try FaultProxy(upstream: stack.proxy.endpoint, target: target, fault: fault)
        environment["AWS_ENDPOINT_URL"] = proxy.endpoint
        let faulty = try AWSBinding.makeServices(environment: environment, clock: clock)
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
        var objects: [String] = []
        for object in try stack.client.listAllObjects(bucket: stack.bucket) {
            guard object.key.hasPrefix(BudgetGuardService.receiptPrefix) else {
                objects.append("object \(object.key) \(object.size)")
                continue
            }
            // A teardown receipt by content: times masked, job ids named.
            let bytes = try stack.client.getObject(bucket: stack.bucket, key: object.key).body
            var receipt = try JSONDecoder().decode(TeardownReceipt.self, from: Data(bytes))
            receipt.startedAt = "<time>"
            receipt.finishedAt = "<time>"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var line = "receipt \(object.key) " + String(decoding: try encoder.encode(receipt), as: UTF8.self)
            for (id, name) in names { line = line.replacingOccurrences(of: id, with: "<\(name)>") }
            objects.append(line)
        }
        return (items + submissions + objects).sorted()
    }

    static let times: Set<String> = ["at", "since", "seenAt", "lastSeen", "openedAt", "startedAt", "leaseUntil",
                                     "completedAt", "atEpoch", "clearedAt", "expiresAt", "checkedAt"]

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
    static let burstIngest = sampled(2, ProxyScenario(name: "ingest: burst", role: "ingest", profileJSON: smallChunksProfile,
                                           setup: { _, _, _ in }) { stack in
        [{ services, _ in
            _ = try IngestHandler.handleDecoded(ingestEvent(stack, ["raw/cam01/A.JPG", "raw/cam01/B.JPG", "raw/cam\u{E9}ra/C.JPG"]),
                                                 services: services)
        }, { services, _ in
            _ = try IngestHandler.handleDecoded(ingestEvent(stack, ["raw/cam01/D.JPG", "raw/came\u{301}ra/E.JPG"]),
                                                 services: services)
        }]
    })

    /// The sweeper seals a settled window (lost and redelivered scheduled events included) and paces capacity.
    static let sweeper = everyK(ProxyScenario(name: "sweeper: seal and pace", role: "sweeper", profileJSON: settleProfile, setup: { stack, services, clock in
        _ = try IngestHandler.handleDecoded(ingestEvent(stack, ["raw/cam02/A.JPG", "raw/cam02/B.JPG", "raw/cam02/C.JPG"]),
                                             services: services)
        clock.advance(seconds: 61)
    }) { _ in
        [{ services, _ in
            // What moto says of jobs moves on its own clock: this scenario is about sealing and pacing.
            var services = services
            services.compute = JobsHidden(base: services.compute)
            _ = try SweeperService(services: services).sweep()
        }]
    })

    /// A small ingest: one invocation, two objects of one camera, sealed at once (every k).
    static let ingestSmall = everyK(ProxyScenario(name: "ingest: one invocation", role: "ingest",
                                                  profileJSON: smallChunksProfile, setup: { _, _, _ in }) { stack in
        [{ services, _ in
            _ = try IngestHandler.handleDecoded(ingestEvent(stack, ["raw/cam05/A.JPG", "raw/cam05/B.JPG"]),
                                                 services: services)
        }]
    })

    /// A run of one chunk (a plain job): its SUCCEEDED event starts Hugin, Hugin's SUCCEEDED event finishes the run
    /// (every k).
    static let jobEventsSmall = everyK(ProxyScenario(name: "job events: one chunk, then Hugin", role: "job-events",
                                                     profileJSON: smallChunksProfile, setup: { stack, services, _ in
        _ = try IngestHandler.handleDecoded(ingestEvent(stack, ["raw/cam06/IMG_1.JPG"]), services: services)
    }) { stack in
        [{ services, _ in
            guard let job = submitted(stack, "chunks") else { throw OdinError("test", "no chunk job") }
            _ = try JobEventsHandler.handle(Array(batchEvent(jobID: job.id, jobName: job.name, queueARN: stack.spotQueueARN,
                                                              status: "SUCCEEDED", tags: job.tags).utf8), services: services)
        }, { services, clock in
            guard let job = try awaitSubmitted(stack, "condense", clock: clock) else { throw OdinError("test", "no Hugin job yet") }
            _ = try JobEventsHandler.handle(Array(batchEvent(jobID: job.id, jobName: job.name, queueARN: stack.onDemandQueueARN,
                                                              status: "SUCCEEDED", tags: job.tags).utf8), services: services)
        }]
    })

    /// The kill-switch on budget-guard's role during a run: the alarm's SNS event (redelivered after a failure).
    /// The teardown receipt is compared by content (every k).
    static let killSwitch = everyK(ProxyScenario(name: "budget guard: kill-switch", role: "budget-guard",
                                                 profileJSON: smallChunksProfile, setup: { stack, services, _ in
        _ = try IngestHandler.handleDecoded(ingestEvent(stack, ["raw/cam07/IMG_1.JPG", "raw/cam07/IMG_2.JPG"]),
                                             services: services)
    }) { _ in
        [{ services, _ in
            let alarm = try Array(Data(contentsOf: URL(fileURLWithPath: TestEnvironment.packageRoot + "/events/sns-alarm.json")))
            let result = try BudgetGuardHandler.handleDecoded(alarm, services: services)
            guard result.acted else { throw OdinError("test", "the kill-switch did not act: \(result)") }
        }]
    })

    /// Lost events: the sweeper reconciles a run from ListJobs/DescribeJobs through moto (moto's Batch without Docker
    /// finishes every job inside SubmitJob, so what it lists is deterministic), condenses it, and on its next pass
    /// finds the Hugin job finished.
    static let sweeperReconcile = ProxyScenario(name: "sweeper: reconciliation", role: "sweeper",
                                                profileJSON: smallChunksProfile, setup: { stack, services, _ in
        _ = try IngestHandler.handleDecoded(ingestEvent(stack, (1...3).map { "raw/cam08/IMG_\($0).JPG" }), services: services)
    }, steps: { _ in
        [{ services, _ in _ = try SweeperService(services: pinned(services)).sweep() },
         { services, _ in _ = try SweeperService(services: pinned(services)).sweep() }]
    }, samples: 2)

    /// The services with moto's job run times pinned: moto stamps a job's start and stop with its wall clock inside
    /// SubmitJob (0 or 1 ms apart, at random), and the ledger charges vCPU × run time. Every described job ran 60 s,
    /// so a charge counted twice still shows.
    static func pinned(_ services: OdinServices) -> OdinServices {
        var services = services
        services.compute = PinnedRunTimes(base: services.compute)
        return services
    }

    final class PinnedRunTimes: ForwardingCompute, @unchecked Sendable {
        override func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
            try base.describeJobs(jobIDs).map { detail in
                var detail = detail
                if let started = detail.startedAt { detail.stoppedAt = started + 60_000 }
                detail.attempts = detail.attempts?.map { attempt in
                    var attempt = attempt
                    if let started = attempt.startedAt { attempt.stoppedAt = started + 60_000 }
                    return attempt
                }
                return detail
            }
        }
    }

    /// The latest job of `kind`, or, when none was submitted yet (a fault left its lease held: the invocation that took
    /// it lost an answer), the one the next scheduled sweeper submits once the lease has expired — as on AWS, where
    /// the event of that job arrives after the sweeper's pass. The sweep sees no job of moto's (its own clock).
    static func awaitSubmitted(_ stack: TestStack, _ kind: String,
                               clock: ManualClock) throws -> (id: String, name: String, tags: [String: String])? {
        if let job = submitted(stack, kind) { return job }
        var environment = try stack.environment(as: "sweeper")
        environment["AWS_MAX_ATTEMPTS"] = "1"
        var sweeper = try AWSBinding.makeServices(environment: environment, clock: clock)
        sweeper.compute = JobsHidden(base: sweeper.compute)
        clock.advance(seconds: 1_000)
        _ = try SweeperService(services: sweeper).sweep()
        return submitted(stack, kind)
    }

    /// The latest successful SubmitJob of `kind` (its id, name and tags), from the recording.
    static func submitted(_ stack: TestStack, _ kind: String) -> (id: String, name: String, tags: [String: String])? {
        for call in stack.proxy.calls("submitjob").reversed() where call.status == 200 {
            guard let tags = call.json?["tags"] as? [String: String], tags["odin:kind"] == kind,
                  let id = call.responseJSON?["jobId"] as? String, let name = call.json?["jobName"] as? String
            else { continue }
            return (id, name, tags)
        }
        return nil
    }

    static func sampled(_ samples: Int, _ scenario: ProxyScenario) -> ProxyScenario {
        var scenario = scenario
        scenario.samples = samples
        return scenario
    }

    static func everyK(_ scenario: ProxyScenario) -> ProxyScenario {
        var scenario = scenario
        scenario.everyK = true
        return scenario
    }

    /// A run of three chunks on Spot: one succeeds, one is cancelled by the RUNNABLE time limit, one is reclaimed;
    /// the On-Demand fallback succeeds; Hugin condenses.
    static let reclaims = sampled(2, ProxyScenario(name: "job events: reclaims and RUNNABLE cancels", role: "job-events", profileJSON: smallChunksProfile,
                                        setup: { stack, services, _ in
        _ = try IngestHandler.handleDecoded(ingestEvent(stack, (1...5).map { "raw/cam03/IMG_\($0).JPG" }), services: services)
    }) { stack in
        @Sendable func submitted(_ kind: String) -> (id: String, name: String, tags: [String: String])? {
            ProxyScenarios.submitted(stack, kind)
        }
        @Sendable func deliver(_ event: String, _ services: OdinServices) throws {
            _ = try JobEventsHandler.handle(Array(event.utf8), services: services)
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
            steps.append { services, clock in
                guard let job = try awaitSubmitted(stack, "fallback", clock: clock) else { throw OdinError("test", "no fallback job yet") }
                try deliver(batchEvent(jobID: "\(job.id):\(index)", jobName: job.name, queueARN: stack.onDemandQueueARN,
                                       status: "SUCCEEDED", index: index, tags: job.tags), services)
            }
        }
        steps.append { services, clock in
            guard let job = try awaitSubmitted(stack, "condense", clock: clock) else { throw OdinError("test", "no Hugin job yet") }
            try deliver(batchEvent(jobID: job.id, jobName: job.name, queueARN: stack.onDemandQueueARN,
                                   status: "SUCCEEDED", tags: job.tags), services)
        }
        return steps
    })
}

@Suite(.serialized, .requires(.venv, .contractChecker)) struct FaultProxyTests {
    /// The seed of the sampled k (printed with the sample).
    static let seed: UInt64 = 20_261_203
    /// Cases run at once (each on its own moto_server, building its own stack there).
    static let workers = 3

    /// Every k of the `answerLost` fault for one small scenario of each function (ingest, job events, budget guard,
    /// sweeper), and `samples` seeded k per other kind of fault (per kind for the sampled scenarios); the port-level
    /// sweep covers every k of every kind for every scenario.
    @Test(arguments: [ProxyScenarios.ingestSmall, ProxyScenarios.burstIngest, ProxyScenarios.jobEventsSmall,
                      ProxyScenarios.reclaims, ProxyScenarios.killSwitch, ProxyScenarios.sweeper,
                      ProxyScenarios.sweeperReconcile])
    func everyFailedAWSCallGivesTheFaultFreeEndState(scenario: ProxyScenario) throws {
        guard let moto = FunctionMoto.require(), let servers = FunctionMoto.pool(Self.workers) else { return }
        let started = Date()
        let expected = try scenario.run(moto, target: nil, fault: .internalError)
        #expect(expected.duplicateSubmits.isEmpty)
        var cases: [(FaultProxy.Fault, Int)] = []
        var sample: [String] = []
        for fault in FaultProxy.Fault.allCases {
            if scenario.everyK && fault == .answerLost {
                cases += (1...expected.calls).map { (fault, $0) }
            } else {
                let ks = Self.sample(scenario.samples, of: expected.calls, scenario: scenario.name, fault: fault)
                cases += ks.map { (fault, $0) }
                sample.append("\(fault.rawValue) k=\(ks.map(String.init).joined(separator: ","))")
            }
        }
        let divergent = Self.sweep(cases, on: servers) { fault, k, moto in
            Self.divergence(scenario, moto, k: k, fault: fault, expected: expected)
        }
        let detail = (scenario.everyK ? "every k for \(FaultProxy.Fault.answerLost.rawValue); " : "") +
            "sampled (seed \(Self.seed)): " + sample.joined(separator: "; ")
        print("fault sweep (AWS binding over moto): \(scenario.name): \(cases.count) cases over \(expected.calls) calls, \(divergent.count) divergent; \(detail)")
        SweepReport.record(sweep: "aws", scenario: scenario.name, calls: expected.calls, cases: cases.count,
                           divergent: divergent.count, seconds: Date().timeIntervalSince(started), detail: detail)
        #expect(divergent.isEmpty, "\(divergent.count) divergent:\n\(divergent.prefix(8).joined(separator: "\n"))")
    }

    /// The same faults with the AWS client's own retries on (AWS_MAX_ATTEMPTS=3, as deployed): the client retries
    /// what is safe (throttling, and idempotent calls after a 500 or a reset), never a SubmitJob whose answer was
    /// lost; the end state still equals the fault-free one and no SubmitJob is repeated. A seeded k per scenario
    /// and kind.
    @Test(arguments: [ProxyScenarios.burstIngest, ProxyScenarios.reclaims, ProxyScenarios.killSwitch,
                      ProxyScenarios.sweeperReconcile])
    func clientRetriesKeepTheFaultFreeEndState(scenario: ProxyScenario) throws {
        guard let moto = FunctionMoto.require(), let servers = FunctionMoto.pool(Self.workers) else { return }
        let started = Date()
        let expected = try scenario.run(moto, target: nil, fault: .internalError)
        var cases: [(FaultProxy.Fault, Int)] = []
        var sample: [String] = []
        for fault in [FaultProxy.Fault.internalError, .answerLost] {
            let ks = Self.sample(1, of: expected.calls, scenario: scenario.name + " retries", fault: fault)
            cases += ks.map { (fault, $0) }
            sample.append("\(fault.rawValue) k=\(ks.map(String.init).joined(separator: ","))")
        }
        let divergent = Self.sweep(cases, on: servers) { fault, k, moto in
            Self.divergence(scenario, moto, k: k, fault: fault, expected: expected, maxAttempts: 3)
        }
        let detail = "sampled (seed \(Self.seed)): " + sample.joined(separator: "; ")
        print("fault sweep (AWS binding over moto, AWS_MAX_ATTEMPTS=3): \(scenario.name): \(cases.count) cases over \(expected.calls) calls, \(divergent.count) divergent; \(detail)")
        SweepReport.record(sweep: "aws-retries", scenario: scenario.name, calls: expected.calls, cases: cases.count,
                           divergent: divergent.count, seconds: Date().timeIntervalSince(started), detail: detail)
        #expect(divergent.isEmpty, "\(divergent.count) divergent:\n\(divergent.prefix(8).joined(separator: "\n"))")
    }

    /// `count` distinct k in 1...calls, drawn from `seed` and the scenario's and fault's names (FNV-1a: stable
    /// across processes, unlike `Hasher`), sorted.
    static func sample(_ count: Int, of calls: Int, scenario: String, fault: FaultProxy.Fault) -> [Int] {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in (scenario + "/" + fault.rawValue).utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var generator = SplitMix64(seed: seed ^ hash)
        var chosen = Set<Int>()
        while chosen.count < min(count, calls) { chosen.insert(Int.random(in: 1...calls, using: &generator)) }
        return chosen.sorted()
    }

    /// Runs `check` over `cases` on one thread per server (each case builds its stack on its thread's own
    /// moto_server); returns the divergences in case order.
    static func sweep(_ cases: [(FaultProxy.Fault, Int)], on servers: [FunctionMoto],
                      _ check: @escaping @Sendable (FaultProxy.Fault, Int, FunctionMoto) -> String?) -> [String] {
        let next = Mutex(0)
        let results = Mutex([Int: String]())
        let work = cases.map { SendableCase(fault: $0.0, k: $0.1) }
        DispatchQueue.concurrentPerform(iterations: min(servers.count, max(1, work.count))) { worker in
            while true {
                let index = next.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard index < work.count else { return }
                if let divergence = check(work[index].fault, work[index].k, servers[worker]) {
                    results.withLock { $0[index] = divergence }
                }
            }
        }
        return results.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
    }

    struct SendableCase: Sendable {
        let fault: FaultProxy.Fault
        let k: Int
    }

    /// nil when the case ends in the fault-free end state with no SubmitJob repeated, else what differs.
    static func divergence(_ scenario: ProxyScenario, _ moto: FunctionMoto, k: Int, fault: FaultProxy.Fault,
                           expected: ProxyScenario.Outcome, maxAttempts: Int = 1) -> String? {
        do {
            let outcome = try scenario.run(moto, target: k, fault: fault, maxAttempts: maxAttempts)
            if !outcome.duplicateSubmits.isEmpty {
                return "k=\(k) \(fault.rawValue): SubmitJob repeated: \(outcome.duplicateSubmits)"
            }
            if outcome.state != expected.state {
                let extra = Set(outcome.state).subtracting(expected.state).sorted().prefix(3)
                let missing = Set(expected.state).subtracting(outcome.state).sorted().prefix(3)
                return "k=\(k) \(fault.rawValue): only with the fault \(Array(extra)); only without \(Array(missing))"
            }
            return nil
        } catch {
            return "k=\(k) \(fault.rawValue): \(error)"
        }
    }
}

@Suite(.serialized, .requires(.venv, .contractChecker)) struct LongKeyTests {
    /// An S3 key near its 1,024-byte limit makes `<bucket>/<key>#<version>` longer than DynamoDB's sort-key limit;
    /// the pending item is stored under `h#<sha256>` with the full key as an attribute, and the run's manifest has it.
    @Test func aKeyNearOneKilobyteIsIngestedAndSealedThroughDynamoDB() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let services = try AWSBinding.makeServices(environment: try stack.environment(as: "ingest"), clock: ManualClock())
        let key = "raw/cam07/" + String(repeating: "a", count: 1000) + ".JPG"
        #expect(key.utf8.count <= 1024)
        let result = try IngestHandler.handleDecoded(ProxyScenarios.ingestEvent(stack, [key]), services: services)
        #expect(result.accepted == 1, "\(result)")
        let run = try #require(result.runsStarted.first)
        let record = try #require(try RunRecord.load(run, state: stack.state))
        let chunks = try readManifest(try stack.objects.get(record.manifestKey))
        #expect(chunks.flatMap(\.items).map(\.key) == [key])
        // A redelivery is a duplicate, not a second object.
        #expect(try IngestHandler.handleDecoded(ProxyScenarios.ingestEvent(stack, [key]), services: services).duplicates == 1)
    }
}

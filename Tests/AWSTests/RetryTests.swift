import AWS
import CurlHTTP
import Foundation
import HTTP
import OdinBasics
import RuntimeEmulator
import Synchronization
import TestSupport
import Testing

/// Standard-mode retries: the policy offline, then a fault-injecting loopback proxy in front of moto_server.
@Suite struct RetryTests {
    @Test func backoffIsFullJitterExponentialCappedAndHonoursRetryAfter() {
        let strategy = RetryStrategy()
        #expect(strategy.backoff(retry: 1, failure: .throttling, random: 0.5, retryAfter: nil) == 0.5)
        #expect(strategy.backoff(retry: 2, failure: .throttling, random: 0.5, retryAfter: nil) == 1)
        #expect(strategy.backoff(retry: 3, failure: .transient, random: 0.5, retryAfter: nil) == 2)
        #expect(strategy.backoff(retry: 10, failure: .transient, random: 0.999, retryAfter: nil) <= 20)
        #expect(strategy.backoff(retry: 1, failure: .throttling, random: 0, retryAfter: 3) == 3)
        #expect(strategy.backoff(retry: 1, failure: .throttling, random: 0, retryAfter: 90) == 20)
        let now = Instant(timeIntervalSince1970: 1_000_000)
        #expect(RetryStrategy.retryAfter(HTTPHeaders([("Retry-After", "7")]), now: now) == 7)
        #expect(RetryStrategy.retryAfter(HTTPHeaders([("x-amz-retry-after", "1500")]), now: now) == 1.5)
        #expect(RetryStrategy.retryAfter(HTTPHeaders([("Retry-After", "Mon, 12 Jan 1970 13:46:50 GMT")]), now: now)
            == 10)
    }

    @Test func classificationAndIdempotency() {
        let strategy = RetryStrategy()
        func error(_ status: Int, _ code: String) -> AWSError {
            AWSError(service: "S", operation: "O", status: status, code: code, message: "")
        }
        #expect(RetryStrategy.classify(error: error(503, "SlowDown"), transport: nil) == .throttling)
        #expect(RetryStrategy.classify(error: error(400, "ThrottlingException"), transport: nil) == .throttling)
        #expect(RetryStrategy.classify(error: error(429, "TooManyRequestsException"), transport: nil) == .throttling)
        #expect(RetryStrategy.classify(error: error(500, "InternalError"), transport: nil) == .transient)
        #expect(RetryStrategy.classify(error: error(400, "ValidationError"), transport: nil) == .notRetryable)
        let connect = HTTPError(kind: .connect, message: "refused", url: "http://x")
        let dropped = HTTPError(kind: .receive, message: "reset", url: "http://x")
        #expect(RetryStrategy.classify(error: nil, transport: connect) == .connectFailure)
        #expect(RetryStrategy.classify(error: nil, transport: dropped) == .timeoutOrDropped)
        #expect(strategy.isRetryable(.throttling, idempotent: false))
        #expect(strategy.isRetryable(.connectFailure, idempotent: false))
        #expect(!strategy.isRetryable(.transient, idempotent: false))
        #expect(!strategy.isRetryable(.timeoutOrDropped, idempotent: false))
        #expect(strategy.isRetryable(.timeoutOrDropped, idempotent: true))
        #expect(strategy.cost(of: .throttling) == 5 && strategy.cost(of: .timeoutOrDropped) == 10)
    }

    @Test func quotaBucket() {
        let quota = RetryQuota(capacity: 12)
        #expect(quota.acquire(5) && quota.acquire(5))
        #expect(!quota.acquire(5))
        #expect(quota.availableTokens == 2)
        quota.release(100)
        #expect(quota.availableTokens == 12)
    }

    // MARK: - Fault injection

    /// Fails the first `failures` requests with `reply`, then forwards to moto (keeping the signed Host header).
    final class FaultProxy: Sendable {
        let server: ScriptedHTTPServer
        let failed = Counter()
        var endpoint: String { server.baseURL }

        init(upstream: String, failures: Int, reply: ScriptedHTTPServer.Reply) throws {
            let failed = self.failed
            server = try ScriptedHTTPServer { request in
                if failed.takeIfBelow(failures) { return reply }
                return Self.forward(request, to: upstream)
            }
        }

        static func forward(_ request: ScriptedHTTPServer.Request, to upstream: String) -> ScriptedHTTPServer.Reply {
            var headers = HTTPHeaders()
            for (name, value) in request.headers
            where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
                headers.add(name: name, value: value)
            }
            do {
                let response = try HTTPClient().send(HTTPRequest(
                    method: request.method, url: upstream + request.target, headers: headers,
                    body: request.body.isEmpty ? .empty : .bytes(request.body)))
                let passed = response.headers.filter {
                    !["content-length", "transfer-encoding", "connection"].contains($0.name.lowercased())
                }.map { ($0.name, $0.value.trimmingCharacters(in: .whitespacesAndNewlines)) }
                return .response(status: response.status, headers: passed, body: response.body)
            } catch {
                return .text(502, "proxy: \(error)")
            }
        }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        /// Increments and returns true while the count is below `limit`.
        func takeIfBelow(_ limit: Int) -> Bool {
            count.withLock { count in
                guard count < limit else { return false }
                count += 1
                return true
            }
        }
    }

    final class Delays: Sendable {
        let values = Mutex<[Double]>([])
        func record(_ delay: Double) { values.withLock { $0.append(delay) } }
        var all: [Double] { values.withLock { $0 } }
    }

    static let slowDown = ScriptedHTTPServer.Reply.response(
        status: 503, headers: [("Content-Type", "application/xml"), ("Retry-After", "2")],
        body: Array("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".utf8))
    static let tooMany = ScriptedHTTPServer.Reply.response(
        status: 429, headers: [("X-Amzn-ErrorType", "TooManyRequestsException")],
        body: Array(#"{"message":"Too Many Requests"}"#.utf8))
    static let internalError = ScriptedHTTPServer.Reply.response(
        status: 500, headers: [("X-Amzn-ErrorType", "ServerException")], body: Array(#"{"message":"boom"}"#.utf8))

    func client(_ moto: SignedMoto, _ proxy: FaultProxy, delays: Delays = Delays(), maxAttempts: Int = 3,
                quota: RetryQuota = RetryQuota()) -> AWSClient {
        AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1", credentials: StaticCredentialsProvider(moto.credentials),
            endpoints: AWSEndpointResolver(globalOverride: proxy.endpoint), retry: RetryStrategy(maxAttempts: maxAttempts),
            random: { 0 }, sleep: { delays.record($0) }), retryQuota: quota)
    }

    @Test(.requires(.venv)) func slowDownThenSuccessWithinBudgetHonouringRetryAfter() throws {
        guard let moto = SignedMoto.require() else { return }
        let bucket = uniqueName("retry")
        try moto.makeClient().createBucket(bucket)
        let proxy = try FaultProxy(upstream: moto.endpoint, failures: 2, reply: Self.slowDown)
        let delays = Delays()
        let client = client(moto, proxy, delays: delays)
        try client.putObject(bucket: bucket, key: "k", body: .bytes([7]))
        #expect(proxy.failed.value == 2)
        #expect(delays.all == [2, 2], "Retry-After: 2 wins over the (zero) jittered backoff")
        #expect(try moto.makeClient().getObject(bucket: bucket, key: "k").body == [7])
    }

    @Test(.requires(.venv)) func throttlingAndConnectionResetsAreRetried() throws {
        guard let moto = SignedMoto.require() else { return }
        let throttled = try FaultProxy(upstream: moto.endpoint, failures: 2, reply: Self.tooMany)
        _ = try client(moto, throttled).describeJobQueues()
        #expect(throttled.failed.value == 2)

        let table = uniqueName("reset")
        try moto.makeClient().createTable(table, partitionKey: "pk")
        let resets = try FaultProxy(upstream: moto.endpoint, failures: 2, reply: .reset)
        #expect(try client(moto, resets).getItem(table: table, key: ["pk": .string("x")]) == nil)
        #expect(resets.failed.value == 2)
    }

    @Test(.requires(.venv)) func givesUpWithATypedErrorBeyondTheBudget() throws {
        guard let moto = SignedMoto.require() else { return }
        let proxy = try FaultProxy(upstream: moto.endpoint, failures: 100, reply: Self.slowDown)
        let error = #expect(throws: AWSError.self) {
            try client(moto, proxy).getObject(bucket: "any", key: "k")
        }
        #expect(error?.code == "SlowDown" && error?.status == 503 && error?.attempts == 3)
        #expect(proxy.failed.value == 3)
    }

    @Test(.requires(.venv)) func nonIdempotentSubmitJobIsNotRetriedAfterAServerError() throws {
        guard let moto = SignedMoto.require() else { return }
        let proxy = try FaultProxy(upstream: moto.endpoint, failures: 1, reply: Self.internalError)
        let request = Batch.SubmitJobRequest(jobName: "j", jobQueue: "missing", jobDefinition: "d")
        let error = #expect(throws: AWSError.self) { try client(moto, proxy).submitJob(request) }
        #expect(error?.code == "ServerException" && error?.attempts == 1)
        // Throttling proves the job was not accepted: SubmitJob is retried then (and reaches moto).
        let throttled = try FaultProxy(upstream: moto.endpoint, failures: 1, reply: Self.tooMany)
        let reached = #expect(throws: AWSError.self) { try client(moto, throttled).submitJob(request) }
        #expect(reached?.code == "ClientException" && reached?.attempts == 2)
    }

    @Test(.requires(.venv)) func expiredTemporaryCredentialsAreRefreshedAndTheCallRetried() throws {
        guard let moto = SignedMoto.require() else { return }
        let expired = LoopbackReply.expiredToken
        let proxy = try FaultProxy(upstream: moto.endpoint, failures: 1, reply: expired)
        final class CountingProvider: AWSCredentialsProvider {
            let calls = Counter()
            let value: AWSCredentials
            init(_ value: AWSCredentials) { self.value = value }
            func credentials() throws(AWSError) -> AWSCredentials {
                _ = calls.takeIfBelow(Int.max)
                return value
            }
        }
        let base = CountingProvider(moto.credentials)
        let client = AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1", credentials: RefreshingCredentialsProvider(base),
            endpoints: AWSEndpointResolver(globalOverride: proxy.endpoint), random: { 0 }, sleep: { _ in }))
        #expect(try client.getCallerIdentity().account == "123456789012")
        #expect(base.calls.value == 2, "credentials fetched again after ExpiredToken")
    }

    enum LoopbackReply {
        static let expiredToken = ScriptedHTTPServer.Reply.response(
            status: 400, headers: [("Content-Type", "text/xml")],
            body: Array(("<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security "
                + "token included in the request is expired</Message></Error></ErrorResponse>").utf8))
    }

    @Test(.requires(.venv)) func retryQuotaLimitsAStorm() throws {
        guard let moto = SignedMoto.require() else { return }
        let proxy = try FaultProxy(upstream: moto.endpoint, failures: 1000, reply: Self.slowDown)
        let quota = RetryQuota(capacity: 12)
        let client = client(moto, proxy, quota: quota)
        var attempts: [Int] = []
        for _ in 0..<5 {
            do {
                _ = try client.headObject(bucket: "storm", key: "k")
            } catch {
                attempts.append(error.attempts)
            }
        }
        // 12 tokens pay for two retries (cost 5 each); after that every call fails on its first attempt.
        #expect(attempts == [3, 1, 1, 1, 1])
        #expect(proxy.failed.value == 7)
        #expect(quota.availableTokens == 2)
    }
}

import CurlHTTP
import HTTP
import OdinBasics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One API operation as the client sees it.
public struct AWSOperation: Sendable {
    public var service: AWSService
    public var name: String
    /// False for calls that must not run twice (Batch SubmitJob, SNS Publish, DynamoDB counter updates, S3
    /// conditional puts): they are retried only after failures that prove nothing happened (see `RetryStrategy`).
    public var isIdempotent: Bool

    public init(_ service: AWSService, _ name: String, isIdempotent: Bool = true) {
        self.service = service
        self.name = name
        self.isIdempotent = isIdempotent
    }
}

/// The AWS client: signs, sends, retries and decodes errors; the service calls are extensions (`AWSClient+S3` …).
///
/// `Sendable` and meant to be shared (one per process). HTTP connections come from a small pool of `HTTPClient`s
/// (each owns one curl handle and keeps its connection alive); a call checks one out for the duration of an attempt,
/// so up to `maxPooledConnections` calls may run in parallel threads and each reuses a warm connection. Calls are
/// blocking: run them off the cooperative pool (or in a Lambda's single invocation thread).
public final class AWSClient: Sendable {
    public struct Configuration: Sendable {
        public var region: String
        public var credentials: any AWSCredentialsProvider
        public var endpoints: AWSEndpointResolver
        public var retry: RetryStrategy
        public var http: HTTPClient.Options
        /// Idle HTTP clients kept for reuse.
        public var maxPooledConnections: Int
        /// Logs at `.debug` (retries) and `.trace` (each attempt: method, URL without its query, status, request ID,
        /// byte counts). Never credentials, session tokens, signatures, the `Authorization` header, query strings
        /// (presigned URLs carry signatures there) or response bodies (STS and credential endpoints return secrets);
        /// error responses are logged by code and message only.
        public var logger: Logger?
        /// The clock (signing dates, credential expiry, `Retry-After` dates).
        public var now: @Sendable () -> Instant
        /// Jitter source in [0, 1).
        public var random: @Sendable () -> Double
        /// How to wait between attempts (seconds).
        public var sleep: @Sendable (Double) -> Void
        /// Opt-in call log: one line per call (`aws: batch SubmitJob 200 12 ms`), after its retries. Never carries
        /// credentials, URLs or bodies. `fromEnvironment` sets it (to stderr) when `ODIN_LOG_AWS_CALLS=1`.
        public var callLog: (@Sendable (String) -> Void)?

        public init(
            region: String, credentials: any AWSCredentialsProvider,
            endpoints: AWSEndpointResolver = AWSEndpointResolver(), retry: RetryStrategy = RetryStrategy(),
            http: HTTPClient.Options = AWSClient.defaultHTTPOptions, maxPooledConnections: Int = 4,
            logger: Logger? = nil,
            now: @escaping @Sendable () -> Instant = { Instant.now },
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
            sleep: @escaping @Sendable (Double) -> Void = { seconds in
                if seconds > 0 { usleep(UInt32(min(seconds, 3600) * 1_000_000)) }
            },
            callLog: (@Sendable (String) -> Void)? = nil
        ) {
            self.callLog = callLog
            self.region = region
            self.credentials = credentials
            self.endpoints = endpoints
            self.retry = retry
            self.http = http
            self.maxPooledConnections = maxPooledConnections
            self.logger = logger
            self.now = now
            self.random = random
            self.sleep = sleep
        }

        /// The SDK conventions, read once from an environment snapshot: region (`AWS_REGION`,
        /// `AWS_DEFAULT_REGION`, then the profile's `region`), the default credentials chain, endpoint overrides
        /// and `AWS_MAX_ATTEMPTS`. Throws (naming the variables to set) when no region is configured.
        public static func fromEnvironment(
            _ environment: [String: String], explicitCredentials: AWSCredentials? = nil,
            region explicitRegion: String? = nil, profile explicitProfile: String? = nil
        ) throws(AWSError) -> Configuration {
            var environment = environment
            if let explicitProfile { environment["AWS_PROFILE"] = explicitProfile }
            let shared = SharedConfig.load(environment: environment)
            let profileName = environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] ?? "default"
            let profile = shared.profiles[profileName] ?? [:]
            guard let region = explicitRegion ?? environment["AWS_REGION"].nonEmpty
                ?? environment["AWS_DEFAULT_REGION"].nonEmpty ?? profile["region"].nonEmpty else {
                throw AWSError(kind: .invalidRequest, service: "AWS", operation: "configure", code: "NoRegion",
                               message: "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in "
                                   + "profile '\(profileName)'), or pass --region")
            }
            var retry = RetryStrategy()
            if let attempts = environment["AWS_MAX_ATTEMPTS"].nonEmpty {
                guard let value = Int(attempts), value >= 1 else {
                    throw AWSError(kind: .invalidRequest, service: "AWS", operation: "configure",
                                   code: "InvalidConfiguration",
                                   message: "AWS_MAX_ATTEMPTS must be a whole number ≥ 1, got '\(attempts)'")
                }
                retry.maxAttempts = value
            }
            let now: @Sendable () -> Instant = { Instant.now }
            let chain = AWSCredentialsChain.makeDefault(
                environment: environment, sharedConfig: shared, explicit: explicitCredentials, region: region,
                now: now)
            return Configuration(region: region, credentials: chain,
                                 endpoints: AWSEndpointResolver(environment: environment, profile: profile),
                                 retry: retry, now: now,
                                 callLog: environment["ODIN_LOG_AWS_CALLS"] == "1" ? AWSClient.standardErrorLine : nil)
        }
    }

    /// Transport defaults: 10 s to connect, no overall limit (64 MiB transfers take time), but a transfer that
    /// moves less than 1 byte/s for 60 s is abandoned (a dead peer then becomes a retryable timeout, not a hang).
    public static var defaultHTTPOptions: HTTPClient.Options {
        var options = HTTPClient.Options()
        options.connectTimeoutSeconds = 10
        options.lowSpeedTimeoutSeconds = 60
        return options
    }

    public let configuration: Configuration
    /// The standard mode's retry token bucket shared by every call of this client.
    public let retryQuota: RetryQuota
    private let pool: HTTPClientPool

    public init(configuration: Configuration, retryQuota: RetryQuota = RetryQuota()) {
        self.configuration = configuration
        self.retryQuota = retryQuota
        pool = HTTPClientPool(options: configuration.http, capacity: configuration.maxPooledConnections)
    }

    public var region: String { configuration.region }

    /// The endpoint requests for `service` go to.
    public func endpoint(for service: AWSService) -> AWSEndpoint {
        configuration.endpoints.endpoint(for: service, region: configuration.region)
    }

    // MARK: - Sending

    /// Signs and sends `request` for `operation` with standard-mode retries; returns a 2xx (or `acceptedStatuses`)
    /// response or throws the decoded `AWSError`. With `downloadTo`, a successful body is streamed into that file.
    public func send(
        _ request: HTTPRequest, operation: AWSOperation, payload: SigV4Signer.Payload = .computed,
        downloadTo path: String? = nil, acceptedStatuses: Set<Int> = []
    ) throws(AWSError) -> HTTPResponse {
        guard let callLog = configuration.callLog else {
            return try sendWithRetries(request, operation: operation, payload: payload, downloadTo: path,
                                       acceptedStatuses: acceptedStatuses)
        }
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        func elapsed() -> String {
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            let ms = Double(end.tv_sec - start.tv_sec) * 1000 + Double(end.tv_nsec - start.tv_nsec) / 1_000_000
            return "\(Int(ms.rounded())) ms"
        }
        let name = "aws: \(operation.service.id.lowercased()) \(operation.name)"
        do throws(AWSError) {
            let response = try sendWithRetries(request, operation: operation, payload: payload, downloadTo: path,
                                               acceptedStatuses: acceptedStatuses)
            callLog("\(name) \(response.status) \(elapsed())")
            return response
        } catch {
            callLog("\(name) \(error.status == 0 ? "-" : String(error.status)) \(error.code) \(elapsed())")
            throw error
        }
    }

    /// Writes one line to stderr (the call log's default sink).
    public static let standardErrorLine: @Sendable (String) -> Void = { line in
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    func sendWithRetries(
        _ request: HTTPRequest, operation: AWSOperation, payload: SigV4Signer.Payload,
        downloadTo path: String?, acceptedStatuses: Set<Int>
    ) throws(AWSError) -> HTTPResponse {
        let retry = configuration.retry
        let logger = configuration.logger
        let service = operation.service
        var lastRetryCost: Int?
        var attempt = 0
        while true {
            attempt += 1
            let credentials = try currentCredentials(operation)
            let signer = SigV4Signer(credentials: credentials,
                                     region: service.signingRegion(clientRegion: configuration.region),
                                     service: service.signingName)
            var signed: HTTPRequest
            do throws(SigV4Error) {
                signed = try signer.signed(request, payload: payload, date: configuration.now())
                signed.freshConnection = !operation.isIdempotent
            } catch {
                throw AWSError(kind: .invalidRequest, service: service.id, operation: operation.name,
                               code: "SigningFailed", message: error.message)
            }
            logger?.log(.trace, "aws.attempt", [
                "aws.service": service.id, "aws.operation": operation.name, "aws.attempt": String(attempt),
                "http.method": signed.method, "http.url": Self.redactedURL(signed.url),
            ])
            let result: Result<HTTPResponse, HTTPError> = pool.withClient { client in
                do throws(HTTPError) {
                    if let path { return .success(try client.send(signed, downloadTo: path)) }
                    return .success(try client.send(signed))
                } catch {
                    return .failure(error)
                }
            }
            var failure: AWSError
            var failureClass: RetryStrategy.FailureClass
            var retryAfter: Double?
            switch result {
            case .success(var response):
                if (200..<300).contains(response.status) || acceptedStatuses.contains(response.status) {
                    retryQuota.release(lastRetryCost ?? retry.noRetryIncrement)
                    logger?.log(.trace, "aws.response", [
                        "aws.service": service.id, "aws.operation": operation.name,
                        "http.status": String(response.status),
                        "aws.request_id": AWSErrorDecoder.requestID(from: response.headers) ?? "",
                        "http.body_bytes": String(response.body.count),
                    ])
                    return response
                }
                if let path {
                    // The error document was streamed into the download file: read it back (it is small), then
                    // remove the file so no caller mistakes it for the object.
                    response.body = Array(SharedConfig.readText(path).utf8.prefix(65_536))
                    unlink(path)
                }
                failure = AWSErrorDecoder.decode(response, protocol: service.wireProtocol, service: service.id,
                                                 operation: operation.name)
                failureClass = RetryStrategy.classify(error: failure, transport: nil)
                retryAfter = RetryStrategy.retryAfter(response.headers, now: configuration.now())
            case .failure(let transport):
                if let path { unlink(path) }  // never leave a partial download behind
                failure = AWSError(kind: .transport, service: service.id, operation: operation.name,
                                   code: "TransportError", message: transport.description, transportError: transport)
                failureClass = RetryStrategy.classify(error: nil, transport: transport)
            }
            failure.attempts = attempt
            // Temporary credentials that expired early (or were revoked): fetch new ones and try again. The
            // service rejected the request, so this is safe for any operation.
            if Self.expiredCredentialCodes.contains(failure.code),
               let refreshing = configuration.credentials as? RefreshingCredentialsProvider,
               attempt < retry.maxAttempts {
                refreshing.invalidate()
                continue
            }
            logger?.log(.debug, "aws.error", [
                "aws.service": service.id, "aws.operation": operation.name, "aws.error_code": failure.code,
                "http.status": String(failure.status), "aws.request_id": failure.requestID ?? "",
                "aws.attempt": String(attempt),
            ])
            guard attempt < retry.maxAttempts, retry.isRetryable(failureClass, idempotent: operation.isIdempotent)
            else { throw failure }
            let cost = retry.cost(of: failureClass)
            guard retryQuota.acquire(cost) else {
                failure.message += failure.message.isEmpty ? "(retry quota exhausted)" : " (retry quota exhausted)"
                throw failure
            }
            lastRetryCost = cost
            let delay = retry.backoff(retry: attempt, failure: failureClass, random: configuration.random(),
                                      retryAfter: retryAfter)
            logger?.log(.debug, "aws.retry", [
                "aws.service": service.id, "aws.operation": operation.name, "aws.error_code": failure.code,
                "aws.retry_delay_ms": String(Int(delay * 1000)), "aws.attempt": String(attempt),
            ])
            configuration.sleep(delay)
        }
    }

    static let expiredCredentialCodes: Set<String> = ["ExpiredToken", "ExpiredTokenException", "RequestExpired"]

    func currentCredentials(_ operation: AWSOperation) throws(AWSError) -> AWSCredentials {
        do throws(AWSError) {
            return try configuration.credentials.credentials()
        } catch {
            var error = error
            error.service = operation.service.id
            error.operation = operation.name
            throw error
        }
    }

    /// The URL without its query string (it may carry a signature or a session token).
    static func redactedURL(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        return String(url[..<question]) + "?…"
    }
}

/// Idle `HTTPClient`s for reuse. A client is checked out by exactly one caller at a time, which is what makes the
/// `@unchecked Sendable` box below sound: no two threads ever touch the same `HTTPClient`.
final class HTTPClientPool: Sendable {
    private final class Box: @unchecked Sendable {
        let client: HTTPClient
        init(_ client: HTTPClient) { self.client = client }
    }

    private let idle = Mutex<[Box]>([])
    private let options: HTTPClient.Options
    private let capacity: Int

    init(options: HTTPClient.Options, capacity: Int) {
        self.options = options
        self.capacity = max(1, capacity)
    }

    func withClient<R>(_ body: (HTTPClient) -> Result<R, HTTPError>) -> Result<R, HTTPError> {
        let box: Box
        if let reused = idle.withLock({ $0.popLast() }) {
            box = reused
        } else {
            do throws(HTTPError) {
                box = Box(try HTTPClient(options: options))
            } catch {
                return .failure(error)
            }
        }
        let result = body(box.client)
        idle.withLock { pool in
            if pool.count < capacity { pool.append(box) }
        }
        return result
    }
}

extension Optional where Wrapped == String {
    /// nil for nil and for the empty string.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}

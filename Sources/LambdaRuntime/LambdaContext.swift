import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// What the Runtime API tells a handler about the invocation it is serving.
public struct LambdaContext: Sendable {
    public let requestID: String
    /// Milliseconds since the Unix epoch after which Lambda stops the invocation.
    public let deadlineMs: Int64
    public let invokedFunctionARN: String
    /// The X-Ray trace header (`Root=…;Parent=…;Sampled=…`), also exported as `_X_AMZN_TRACE_ID` while the
    /// invocation runs.
    public let traceID: String?
    /// The raw `Lambda-Runtime-Client-Context` header (JSON, from mobile SDK callers).
    public let clientContext: String?
    /// The raw `Lambda-Runtime-Cognito-Identity` header (JSON).
    public let cognitoIdentity: String?
    public let tenantID: String?
    /// The logger for this invocation; its lines carry `requestId`.
    public let logger: Logger
    private let clock: @Sendable () -> Int64

    package init(requestID: String, deadlineMs: Int64, invokedFunctionARN: String, traceID: String?,
                 clientContext: String?, cognitoIdentity: String?, tenantID: String?, logger: Logger,
                 clock: @escaping @Sendable () -> Int64 = LambdaContext.epochMilliseconds) {
        self.requestID = requestID
        self.deadlineMs = deadlineMs
        self.invokedFunctionARN = invokedFunctionARN
        self.traceID = traceID
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.tenantID = tenantID
        self.logger = logger
        self.clock = clock
    }

    /// Time left before the deadline (negative once it has passed), from the injected clock.
    public var remainingMilliseconds: Int64 { deadlineMs - clock() }

    /// Current wall-clock time in milliseconds since the Unix epoch.
    @Sendable
    public static func epochMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// A minimal structured logger (the package has no swift-log dependency): a level and a sink.
///
/// The client logs at `.debug` (retries) and `.trace` (each attempt: method, URL without its query, status,
/// request ID, byte counts). It never logs credentials, session tokens, signatures, the `Authorization` header,
/// query strings (presigned URLs carry signatures there) or response bodies (STS and credential endpoints return
/// secrets); error responses are logged by code and message only.
public struct AWSLogger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case trace, debug, info, warning, error
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var level: Level
    public var sink: @Sendable (Level, String, [String: String]) -> Void

    public init(level: Level, sink: @escaping @Sendable (Level, String, [String: String]) -> Void) {
        self.level = level
        self.sink = sink
    }

    /// Writes `message` with dotted metadata keys (`aws.service`, `aws.request_id`, …) when `level` is enabled.
    @inline(__always)
    public func log(_ level: Level, _ message: @autoclosure () -> String,
                    _ metadata: @autoclosure () -> [String: String] = [:]) {
        guard level >= self.level else { return }
        sink(level, message(), metadata())
    }
}

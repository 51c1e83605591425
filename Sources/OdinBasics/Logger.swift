import JSONEscaping
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The project's one logger: structured records written as JSON lines in the Lambda JSON log format (`timestamp`,
/// `level`, `message`, `requestId`, then string metadata with dotted keys), to stderr by default, which Lambda
/// forwards to CloudWatch Logs.
///
/// The Lambda runtime creates it at cold start from `AWS_LAMBDA_LOG_LEVEL` / `LOG_LEVEL` and hands it to the
/// function's factory; every copy (the services', the AWS client's) shares one request scope, which the runtime
/// sets around each invocation, so every line emitted while handling one carries its request id.
///
/// Never log credentials, session tokens, signatures or `Authorization` headers; payloads only at trace level,
/// truncated.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case trace, debug, info, warning, error, fatal

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The name in the Lambda JSON log format.
        public var name: String {
            switch self {
            case .trace: "TRACE"
            case .debug: "DEBUG"
            case .info: "INFO"
            case .warning: "WARN"
            case .error: "ERROR"
            case .fatal: "FATAL"
            }
        }

        /// Parses `AWS_LAMBDA_LOG_LEVEL` / `LOG_LEVEL` values (case-insensitive; `warn` and `warning` both work).
        public init?(name: String) {
            switch name.lowercased() {
            case "trace": self = .trace
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warning
            case "error": self = .error
            case "fatal", "critical": self = .fatal
            default: return nil
            }
        }
    }

    /// One log event, before formatting.
    public struct Record: Sendable {
        public var level: Level
        public var message: String
        /// The invocation being handled when the record was made, if any.
        public var requestID: String?
        /// The logger's metadata, then the call's (sorted by key).
        public var metadata: [(key: String, value: String)]

        /// The record as one JSON line (no trailing newline), stamped with the current UTC time.
        public var jsonLine: String {
            var line = "{\"timestamp\":\""
            line += Logger.timestamp()
            line += "\",\"level\":\"\(level.name)\",\"message\":"
            JSONString.append(message, to: &line)
            if let requestID {
                line += ",\"requestId\":"
                JSONString.append(requestID, to: &line)
            }
            for (key, value) in metadata {
                line += ","
                JSONString.append(key, to: &line)
                line += ":"
                JSONString.append(value, to: &line)
            }
            return line + "}"
        }
    }

    /// The request being handled, shared by every copy of a logger.
    private final class RequestScope: Sendable {
        let requestID = Mutex<String?>(nil)
    }

    public let level: Level
    public private(set) var metadata: [(key: String, value: String)]
    private let scope = RequestScope()
    private let sink: @Sendable (Record) -> Void

    /// - Parameter sink: where records go; JSON lines on stderr by default (tests capture the records).
    public init(level: Level = .info, metadata: [(key: String, value: String)] = [],
                sink: @escaping @Sendable (Record) -> Void = Logger.standardError) {
        self.level = level
        self.metadata = metadata
        self.sink = sink
    }

    /// A logger that drops everything (tests and benchmarks).
    public static let silent = Logger(level: .fatal) { _ in }

    /// The level from the environment, read once at start: `AWS_LAMBDA_LOG_LEVEL` wins over `LOG_LEVEL`.
    public static func level(from environment: [String: String]) -> Level {
        for key in ["AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"] {
            if let value = environment[key], let level = Level(name: value) { return level }
        }
        return .info
    }

    /// A copy whose records also carry `key: value`.
    public func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy.metadata.append((key, value))
        return copy
    }

    /// The invocation being handled (set by `handling(requestID:_:)`), shared by every copy of this logger.
    public var requestID: String? { scope.requestID.withLock { $0 } }

    /// Runs `body` with `requestID` in every record made through this logger or any copy of it.
    public func handling<T, E: Error>(requestID: String, _ body: () throws(E) -> T) throws(E) -> T {
        let previous = scope.requestID.withLock { current in
            defer { current = requestID }
            return current
        }
        defer { scope.requestID.withLock { $0 = previous } }
        return try body()
    }

    public func isEnabled(_ level: Level) -> Bool { level >= self.level }

    public func trace(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]) {
        log(.trace, message(), metadata())
    }
    public func debug(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]) {
        log(.debug, message(), metadata())
    }
    public func info(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]) {
        log(.info, message(), metadata())
    }
    public func warning(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]) {
        log(.warning, message(), metadata())
    }
    public func error(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]) {
        log(.error, message(), metadata())
    }
    public func fatal(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]) {
        log(.fatal, message(), metadata())
    }

    /// Records `message` with `metadata` (dotted keys: `aws.request_id`, `run.id`) when `level` is enabled.
    public func log(_ level: Level, _ message: @autoclosure () -> String,
                    _ metadata: @autoclosure () -> [String: String] = [:]) {
        guard level >= self.level else { return }
        let extra = metadata().sorted { $0.key < $1.key }
        sink(Record(level: level, message: message(), requestID: requestID,
                    metadata: extra.isEmpty ? self.metadata : self.metadata + extra))
    }

    /// Writes the record's JSON line to stderr with one write(2), so lines from concurrent writers never
    /// interleave.
    @Sendable
    public static func standardError(_ record: Record) {
        var line = record.jsonLine + "\n"
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// RFC 3339 UTC with milliseconds, from `clock_gettime` and `gmtime_r` (no formatter).
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}

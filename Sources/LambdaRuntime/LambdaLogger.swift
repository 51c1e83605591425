import JSONEscaping

#if canImport(Glibc)
import Glibc
#endif

/// Structured JSON-line logging in the Lambda JSON log format (`timestamp`, `level`, `message`, `requestId`, plus
/// string metadata). Lines go to stderr, which Lambda forwards to CloudWatch Logs. Never log credentials,
/// signatures or `Authorization` headers; payloads only at trace level, truncated.
public struct LambdaLogger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case trace, debug, info, warn, error, fatal

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var name: String {
            switch self {
            case .trace: return "TRACE"
            case .debug: return "DEBUG"
            case .info: return "INFO"
            case .warn: return "WARN"
            case .error: return "ERROR"
            case .fatal: return "FATAL"
            }
        }

        /// Parses `AWS_LAMBDA_LOG_LEVEL` / `LOG_LEVEL` values (case-insensitive; `warning` accepted).
        public init?(name: String) {
            switch name.lowercased() {
            case "trace": self = .trace
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error": self = .error
            case "fatal", "critical": self = .fatal
            default: return nil
            }
        }
    }

    public let level: Level
    public var requestID: String?
    public var metadata: [(String, String)]
    private let sink: @Sendable (String) -> Void

    /// - Parameter sink: where lines go; stderr by default (tests capture them).
    public init(level: Level = .info, requestID: String? = nil, metadata: [(String, String)] = [],
                sink: @escaping @Sendable (String) -> Void = LambdaLogger.standardError) {
        self.level = level
        self.requestID = requestID
        self.metadata = metadata
        self.sink = sink
    }

    /// The level from the environment, read once at start: `AWS_LAMBDA_LOG_LEVEL` wins over `LOG_LEVEL`.
    public static func level(from environment: [String: String]) -> Level {
        for key in ["AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"] {
            if let value = environment[key], let level = Level(name: value) { return level }
        }
        return .info
    }

    public func with(requestID: String?) -> LambdaLogger {
        var copy = self
        copy.requestID = requestID
        return copy
    }

    public func with(_ key: String, _ value: String) -> LambdaLogger {
        var copy = self
        copy.metadata.append((key, value))
        return copy
    }

    public func isEnabled(_ level: Level) -> Bool { level >= self.level }

    public func trace(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.trace, message(), extra) }
    public func debug(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.debug, message(), extra) }
    public func info(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.info, message(), extra) }
    public func warn(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.warn, message(), extra) }
    public func error(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.error, message(), extra) }
    public func fatal(_ message: @autoclosure () -> String, _ extra: [(String, String)] = []) { log(.fatal, message(), extra) }

    public func log(_ level: Level, _ message: @autoclosure () -> String, _ extra: [(String, String)] = []) {
        guard level >= self.level else { return }
        var line = "{\"timestamp\":\""
        line += Self.timestamp()
        line += "\",\"level\":\"\(level.name)\",\"message\":"
        JSONString.append(message(), to: &line)
        if let requestID {
            line += ",\"requestId\":"
            JSONString.append(requestID, to: &line)
        }
        for (key, value) in metadata + extra {
            line += ","
            JSONString.append(key, to: &line)
            line += ":"
            JSONString.append(value, to: &line)
        }
        line += "}\n"
        sink(line)
    }

    @Sendable
    public static func standardError(_ line: String) {
        var line = line
        // One write(2) per line, so lines from concurrent writers never interleave mid-line.
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// RFC 3339 UTC with milliseconds, computed with `gmtime_r` (no formatter allocation).
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
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}

import HTTP
import OdinBasics
import Synchronization

/// The AWS SDKs' "standard" retry mode.
///
/// Constants follow the SDK reference ("Retry behavior",
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html) in its standard-mode form:
/// at most 3 attempts; truncated binary exponential backoff with full jitter, `delay = random[0,1) * min(base * 2^i,
/// 20 s)` for retry `i` (0-based), base 1 s (botocore's `retries/standard.py` `ExponentialBackoff` documents the
/// same formula: `t_i = rand(0, 1) * min(base_scale * 2 ** i, MAX_BACKOFF)`); a retry quota (token bucket) of 500
/// that a retry costs 5 from (10 after a timeout or connection error), refilled by 1 per first-attempt success and
/// by the cost of the last retry when a retried call succeeds. Newer botocore releases use a 50 ms base for
/// non-throttling errors and other costs; those are configurable here (`nonThrottlingBaseDelay`, `retryCost`).
///
/// `Retry-After` (seconds or an HTTP date) and `x-amz-retry-after` (milliseconds) are honoured: the wait is at
/// least that long, capped at `maxBackoff`.
///
/// Non-idempotent operations (`AWSOperation.isIdempotent == false`, e.g. Batch SubmitJob, which has no client
/// token) are retried only when the service cannot have acted on the request: the connection was never made, or the
/// service rejected it for throttling (429 / throttling codes / 503 SlowDown). A 500, a timeout or a connection
/// dropped after sending may mean the job was submitted, so those are not retried for such calls.
public struct RetryStrategy: Sendable {
    public var maxAttempts: Int = 3
    public var throttlingBaseDelay: Double = 1.0
    public var nonThrottlingBaseDelay: Double = 1.0
    public var maxBackoff: Double = 20
    public var retryCost: Int = 5
    public var timeoutRetryCost: Int = 10
    public var noRetryIncrement: Int = 1

    public init(maxAttempts: Int = 3) { self.maxAttempts = max(1, maxAttempts) }

    /// No retries at all.
    public static let none = RetryStrategy(maxAttempts: 1)

    /// What a failed attempt means for retrying.
    public enum FailureClass: Sendable, Equatable {
        case notRetryable
        /// 5xx or a transient code: the request may have been processed.
        case transient
        /// Throttled: the service refused the request; safe to retry even for non-idempotent calls.
        case throttling
        /// Connection never established (nothing was sent).
        case connectFailure
        /// Timeout or connection lost mid-request (may have been processed).
        case timeoutOrDropped
    }

    /// Classifies an attempt's outcome: an error response or a transport failure.
    public static func classify(error: AWSError?, transport: HTTPError?) -> FailureClass {
        if let transport {
            switch transport.kind {
            case .connect: return .connectFailure
            case .timeout, .send, .receive: return .timeoutOrDropped
            default: return .notRetryable
            }
        }
        guard let error else { return .notRetryable }
        if error.isThrottling || (error.status == 503 && error.code == "SlowDown") { return .throttling }
        if [500, 502, 503, 504].contains(error.status) || AWSError.transientCodes.contains(error.code) {
            return .transient
        }
        return .notRetryable
    }

    /// True when `failure` may be retried for an operation with this idempotency.
    public func isRetryable(_ failure: FailureClass, idempotent: Bool) -> Bool {
        switch failure {
        case .notRetryable: false
        case .throttling, .connectFailure: true
        case .transient, .timeoutOrDropped: idempotent
        }
    }

    /// The backoff before retry number `retry` (1 = the first retry), with `random` in [0, 1) injected.
    public func backoff(retry: Int, failure: FailureClass, random: Double, retryAfter: Double?) -> Double {
        let base = failure == .throttling ? throttlingBaseDelay : nonThrottlingBaseDelay
        let exponent = Double(1 << min(max(retry - 1, 0), 30))
        var delay = min(max(random, 0), 1) * min(base * exponent, maxBackoff)
        if let retryAfter, retryAfter > delay { delay = min(retryAfter, maxBackoff) }
        return delay
    }

    /// The quota cost of retrying after `failure`.
    public func cost(of failure: FailureClass) -> Int {
        failure == .timeoutOrDropped || failure == .connectFailure ? timeoutRetryCost : retryCost
    }

    /// Parses `Retry-After` (delta seconds or an IMF-fixdate) or `x-amz-retry-after` (milliseconds).
    public static func retryAfter(_ headers: HTTPHeaders, now: Instant) -> Double? {
        if let milliseconds = headers["x-amz-retry-after"].flatMap({ Int($0) }), milliseconds >= 0 {
            return Double(milliseconds) / 1000
        }
        guard let value = headers["Retry-After"] else { return nil }
        if let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return Double(seconds) }
        if let date = HTTPDate.parse(value) { return max(0, date.timeIntervalSince(now)) }
        return nil
    }
}

/// The standard mode's retry token bucket, shared by all calls of one `AWSClient` (thread-safe).
public final class RetryQuota: Sendable {
    public let capacity: Int
    private let available: Mutex<Int>

    public init(capacity: Int = 500) {
        self.capacity = capacity
        available = Mutex(capacity)
    }

    /// Tokens left.
    public var availableTokens: Int { available.withLock { $0 } }

    /// Takes `cost` tokens; false (and nothing taken) when the bucket has fewer.
    public func acquire(_ cost: Int) -> Bool {
        available.withLock { tokens in
            guard tokens >= cost else { return false }
            tokens -= cost
            return true
        }
    }

    /// Returns `amount` tokens, never above capacity.
    public func release(_ amount: Int) {
        available.withLock { $0 = min(capacity, $0 + amount) }
    }
}

/// IMF-fixdate parsing (`Sun, 06 Nov 1994 08:49:37 GMT`) for `Retry-After`, `Last-Modified` and `Expires`.
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ value: String) -> Instant? {
        let parts = value.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
              let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        let civil = CivilTime(year: year, month: month + 1, day: day, hour: time[0], minute: time[1], second: time[2])
        return Instant(timeIntervalSince1970: Double(civil.secondsSince1970))
    }
}

/// ISO 8601 timestamps as AWS sends them (`2026-11-29T05:00:00Z`, `…:00.123Z`, `…:00+00:00`).
public enum ISO8601 {
    public static func parse(_ value: String) -> Instant? {
        let bytes = Array(value.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var result = 0
            for byte in bytes[start..<(start + count)] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                result = result * 10 + Int(byte - 0x30)
            }
            return result
        }
        guard bytes.count >= 19, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var seconds = Double(CivilTime(year: year, month: month, day: day, hour: hour, minute: minute,
                                       second: second).secondsSince1970)
        var position = 19
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            var scale = 0.1
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                seconds += Double(bytes[position] - 0x30) * scale
                scale /= 10
                position += 1
            }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
            let sign: Double = bytes[position] == UInt8(ascii: "+") ? 1 : -1
            guard let offsetHours = number(position + 1, 2) else { return nil }
            let minutesStart = position + 3 < bytes.count && bytes[position + 3] == UInt8(ascii: ":")
                ? position + 4 : position + 3
            let offsetMinutes = number(minutesStart, 2) ?? 0
            seconds -= sign * Double(offsetHours * 3600 + offsetMinutes * 60)
        }
        return Instant(timeIntervalSince1970: seconds)
    }

    /// `yyyy-MM-ddTHH:mm:ssZ` (whole seconds, UTC).
    public static func format(_ date: Instant) -> String {
        let civil = CivilTime(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)))
        func pad(_ value: Int, _ width: Int = 2) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(civil.year, 4))-\(pad(civil.month))-\(pad(civil.day))T\(pad(civil.hour)):\(pad(civil.minute)):"
            + "\(pad(civil.second))Z"
    }
}

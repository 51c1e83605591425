#if canImport(Glibc)
import Glibc
#endif

/// A local implementation of the Lambda Runtime API (2018-06-01) that behaves like the real service where runtimes
/// notice: `Content-Type` and epoch `Lambda-Runtime-Deadline-Ms` on `next`, 202 on accepted posts, 413 above
/// 6,291,556 bytes, 400 for unknown or already-answered request ids, 403 for `init/error` after init, 404 elsewhere.
/// It serves invocations handed to `invoke`, one at a time, to whichever runtime process polls it.
public final class RuntimeAPIEmulator: @unchecked Sendable {
    /// The response limit the real service enforces (RIE `interop.MaxPayloadSize`).
    public static let maxResponseBytes = 6_291_556
    /// Lambda's synchronous invoke request limit (6 MB); above it Invoke answers HTTP 413 with `requestTooLargeBody`.
    public static let maxRequestBytes = 6_291_456
    /// The service's 413 answer to an oversized invoke (error type `RequestEntityTooLargeException`).
    public static let requestTooLargeBody =
        #"{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}"#

    public struct Configuration: Sendable {
        public var functionName = "function"
        public var region = "eu-north-1"
        public var accountID = "123456789012"
        public var timeoutSeconds = 30.0
        public var memoryMB = 128

        public init() {}

        public var functionARN: String { "arn:aws:lambda:\(region):\(accountID):function:\(functionName)" }
    }

    /// What an invocation ended with.
    public enum Outcome: Sendable, Equatable {
        case response([UInt8])
        /// The runtime posted to `/invocation/{id}/error`.
        case error(type: String?, body: [UInt8])
        /// The runtime's response exceeded the payload limit (413 sent to it).
        case responseTooLarge(size: Int)
        /// The invoke's payload exceeded Lambda's 6 MB request limit: the service answers HTTP 413
        /// `RequestEntityTooLargeException` and the function never sees the event.
        case requestTooLarge(size: Int)
        case timedOut
    }

    /// A runtime's `POST /runtime/init/error`.
    public struct InitError: Sendable, Equatable {
        public var type: String?
        public var body: [UInt8]
    }

    public struct InvocationOptions: Sendable {
        public var traceID: String? = nil
        public var clientContext: String? = nil
        public var cognitoIdentity: String? = nil
        public var requestID: String? = nil
        public init() {}
    }

    private final class Pending {
        let id: String
        let payload: [UInt8]
        let options: InvocationOptions
        let deadlineMs: Int64
        var taken = false
        var outcome: Outcome?

        init(id: String, payload: [UInt8], options: InvocationOptions, deadlineMs: Int64) {
            self.id = id
            self.payload = payload
            self.options = options
            self.deadlineMs = deadlineMs
        }
    }

    public let configuration: Configuration
    private let monitor = Monitor()
    private var queue: [Pending] = []
    private var byID: [String: Pending] = [:]
    private var initialised = false
    private var firstNext: Double?
    private var recordedInitError: InitError?
    private var closed = false
    private var server: LoopbackHTTPServer?
    private var counter = 0

    /// `host:port`, the value for `AWS_LAMBDA_RUNTIME_API`.
    public var address: String { "\(server?.host ?? "127.0.0.1"):\(server?.port ?? 0)" }

    /// - Parameters:
    ///   - host: any 127.x.y.z address; tests that stop and restart a server use their own address so a freed port
    ///     is never picked up by a parallel test's server.
    ///   - port: 0 picks a free port.
    public init(configuration: Configuration = Configuration(), host: String = "127.0.0.1", port: Int = 0) throws {
        self.configuration = configuration
        self.server = nil
        self.server = try LoopbackHTTPServer(host: host, port: port) { [weak self] request in
            guard let self else { return .json(500, #"{"errorMessage":"emulator stopped"}"#) }
            return self.route(request)
        }
    }

    deinit { stop() }

    /// Stops serving; runtimes blocked in `next` get their connection closed.
    public func stop() {
        monitor.locked {
            closed = true
            monitor.broadcast()
        }
        server?.stop()
    }

    /// The init error the runtime posted, if any.
    public var initError: InitError? { monitor.locked { recordedInitError } }

    /// Waits up to `seconds` for an init error (returns it) — for runtimes expected to fail at start.
    public func waitForInitError(seconds: Double) -> InitError? {
        let deadline = Monitor.monotonicNow() + seconds
        return monitor.locked {
            while recordedInitError == nil && Monitor.monotonicNow() < deadline {
                monitor.wait(until: deadline)
            }
            return recordedInitError
        }
    }

    /// Queues `payload` for the next `GET next` and blocks until the runtime answers or the function's timeout
    /// (plus `grace` seconds for the runtime to pick it up) passes.
    /// - Parameter abandonIf: polled every 50 ms while waiting; returning true (e.g. the runtime process died)
    ///   ends the wait with `.timedOut`.
    public func invoke(_ payload: [UInt8], options: InvocationOptions = InvocationOptions(),
                       pickupGraceSeconds: Double = 10, abandonIf: (() -> Bool)? = nil) -> Outcome {
        // Lambda refuses a synchronous invoke over 6 MB before any runtime sees it.
        if payload.count > Self.maxRequestBytes { return .requestTooLarge(size: payload.count) }
        let pending: Pending = monitor.locked {
            counter += 1
            let id = options.requestID ?? Self.makeRequestID(counter)
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let nowMs = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
            let pending = Pending(id: id, payload: payload, options: options,
                                  deadlineMs: nowMs + Int64(configuration.timeoutSeconds * 1000))
            queue.append(pending)
            byID[id] = pending
            monitor.broadcast()
            return pending
        }
        let deadline = Monitor.monotonicNow() + configuration.timeoutSeconds + pickupGraceSeconds
        return monitor.locked {
            while pending.outcome == nil && Monitor.monotonicNow() < deadline && !closed {
                monitor.wait(until: min(deadline, Monitor.monotonicNow() + 0.05))
                if let abandonIf, pending.outcome == nil, abandonIf() { break }
            }
            if pending.outcome == nil {
                pending.outcome = .timedOut
                queue.removeAll { $0 === pending }
            }
            return pending.outcome!
        }
    }

    // MARK: - Routing

    private static let prefix = "/2018-06-01/runtime/"

    private func route(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Response {
        let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.target
        guard path.hasPrefix(Self.prefix) else { return notFound(path) }
        let rest = path.dropFirst(Self.prefix.count).split(separator: "/").map(String.init)
        switch (request.method, rest.count, rest.first) {
        case ("GET", 2, "invocation") where rest[1] == "next":
            return next()
        case ("POST", 3, "invocation") where rest[2] == "response":
            return respond(id: rest[1], body: request.body)
        case ("POST", 3, "invocation") where rest[2] == "error":
            return fail(id: rest[1], type: request.header("Lambda-Runtime-Function-Error-Type"), body: request.body)
        case ("POST", 2, "init") where rest[1] == "error":
            return initFailed(type: request.header("Lambda-Runtime-Function-Error-Type"), body: request.body)
        default:
            return notFound(path)
        }
    }

    /// Monotonic time (seconds) of the first `GET next`: the end of the runtime's init, for init-time measurements.
    public var firstNextAt: Double? { monitor.locked { firstNext } }

    private func next() -> LoopbackHTTPServer.Response {
        let pending: Pending? = monitor.locked {
            initialised = true
            if firstNext == nil { firstNext = Monitor.monotonicNow() }
            while !closed {
                if let index = queue.firstIndex(where: { !$0.taken }) {
                    let pending = queue.remove(at: index)
                    pending.taken = true
                    return pending
                }
                monitor.wait(until: nil)
            }
            return nil
        }
        guard let pending else {
            return LoopbackHTTPServer.Response(status: 500, body: Array(#"{"errorMessage":"shutting down"}"#.utf8),
                                               close: true)
        }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", pending.id),
            ("Lambda-Runtime-Deadline-Ms", String(pending.deadlineMs)),
            ("Lambda-Runtime-Invoked-Function-Arn", configuration.functionARN),
        ]
        if let trace = pending.options.traceID { headers.append(("Lambda-Runtime-Trace-Id", trace)) }
        if let context = pending.options.clientContext { headers.append(("Lambda-Runtime-Client-Context", context)) }
        if let identity = pending.options.cognitoIdentity {
            headers.append(("Lambda-Runtime-Cognito-Identity", identity))
        }
        return LoopbackHTTPServer.Response(status: 200, headers: headers, body: pending.payload)
    }

    private func respond(id: String, body: [UInt8]) -> LoopbackHTTPServer.Response {
        monitor.locked {
            guard let pending = byID[id], pending.taken, pending.outcome == nil else { return invalidID(id) }
            if body.count > Self.maxResponseBytes {
                pending.outcome = .responseTooLarge(size: body.count)
                monitor.broadcast()
                return .json(413, #"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#)
            }
            pending.outcome = .response(body)
            monitor.broadcast()
            return .json(202, #"{"status":"OK"}"#)
        }
    }

    private func fail(id: String, type: String?, body: [UInt8]) -> LoopbackHTTPServer.Response {
        monitor.locked {
            guard let pending = byID[id], pending.taken, pending.outcome == nil else { return invalidID(id) }
            pending.outcome = .error(type: type, body: body)
            monitor.broadcast()
            return .json(202, #"{"status":"OK"}"#)
        }
    }

    private func initFailed(type: String?, body: [UInt8]) -> LoopbackHTTPServer.Response {
        monitor.locked {
            guard !initialised else {
                return .json(403, #"{"errorMessage":"init/error is only allowed before the first next","errorType":"InvalidStateTransition"}"#)
            }
            recordedInitError = InitError(type: type, body: body)
            monitor.broadcast()
            return .json(202, #"{"status":"OK"}"#)
        }
    }

    private func invalidID(_ id: String) -> LoopbackHTTPServer.Response {
        .json(400, #"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#)
    }

    private func notFound(_ path: String) -> LoopbackHTTPServer.Response {
        .json(404, #"{"errorMessage":"Unknown path","errorType":"NotFound"}"#)
    }

    static func makeRequestID(_ counter: Int) -> String {
        // A UUID-shaped id: random high bits, the counter in the low bits so ids never repeat in one emulator.
        let high = UInt64.random(in: 0...UInt64.max)
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
        }
        return "\(hex(high >> 32, 8))-\(hex((high >> 16) & 0xffff, 4))-4\(hex(high & 0xfff, 3))-a\(hex(UInt64(counter) >> 48 & 0xfff, 3))-\(hex(UInt64(counter), 12))"
    }
}

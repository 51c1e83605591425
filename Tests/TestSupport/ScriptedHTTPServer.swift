import RuntimeEmulator
import Synchronization

/// A scripted HTTP/1.1 server on 127.0.0.1 (an OS-chosen port) whose handler may also answer by resetting the
/// connection (`.reset`), for tests that need a misbehaving peer (fault-injecting proxies, credential endpoints,
/// IMDSv2). It is RuntimeEmulator's `LoopbackHTTPServer` with a test-friendly reply type and a request counter.
///
/// Use `ScriptedHTTPServer.with(handler) { server in … }`, which always stops the server.
public final class ScriptedHTTPServer: Sendable {
    public typealias Request = LoopbackHTTPServer.Request

    /// What to do with a request.
    public enum Reply: Sendable {
        case response(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
        /// Close the connection abruptly (RST) without answering.
        case reset

        public static func text(_ status: Int, _ text: String, contentType: String = "text/plain") -> Reply {
            .response(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
        }
    }

    public typealias Handler = @Sendable (Request) -> Reply

    private let server: LoopbackHTTPServer
    private let box: CounterBox

    /// The bound port.
    public var port: Int { server.port }
    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Number of requests received so far.
    public var requestCount: Int { box.value.load(ordering: .relaxed) }

    public init(handler: @escaping Handler) throws {
        // The counter is shared with the handler closure through a box: an `Atomic` cannot be captured.
        let box = CounterBox()
        server = try LoopbackHTTPServer { request in
            box.value.add(1, ordering: .relaxed)
            switch handler(request) {
            case .reset:
                return .connectionReset
            case .response(let status, let headers, let body):
                return LoopbackHTTPServer.Response(status: status, headers: headers.map { (name: $0.0, value: $0.1) },
                                                   body: body)
            }
        }
        self.box = box
    }

    /// Stops accepting and closes open connections.
    public func stop() { server.stop() }

    /// Runs `body` with a started server and always stops it afterwards.
    public static func with<R>(_ handler: @escaping Handler, _ body: (ScriptedHTTPServer) throws -> R) throws -> R {
        let server = try ScriptedHTTPServer(handler: handler)
        defer { server.stop() }
        return try body(server)
    }
}

private final class CounterBox: Sendable {
    let value = Atomic<Int>(0)
}

public struct TestServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

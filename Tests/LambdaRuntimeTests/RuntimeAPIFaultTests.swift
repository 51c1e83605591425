import Foundation
import RuntimeEmulator
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The runtime against scripted Runtime API servers: dropped connections, restarts, broken headers, fatal statuses.
@Suite("Runtime faults")
struct RuntimeAPIFaultTests {
    static let probe = TestEnvironment.binary("RuntimeProbe")

    func start(api: String, extra: [String: String] = [:]) throws -> ChildProcess {
        var environment = ["AWS_LAMBDA_RUNTIME_API": api, "_HANDLER": "probe", "PATH": "/usr/bin:/bin"]
        for (key, value) in extra { environment[key] = value }
        return try ChildProcess(path: Self.probe, environment: environment, outputPath: "/dev/null")
    }

    @Test("the emulator restarting on the same port: the runtime reconnects and carries on")
    func emulatorRestart() throws {
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = "probe"
        // 127.0.0.2: a port freed here must not be reused by a parallel test's server on 127.0.0.1.
        let first = try RuntimeAPIEmulator(configuration: configuration, host: "127.0.0.2")
        let port = Int(first.address.split(separator: ":").last!)!
        let process = try start(api: first.address)
        defer { process.terminate() }
        #expect(first.invoke(Array(#"{"action":"echo"}"#.utf8)) != .timedOut)
        first.stop()
        usleep(50_000)
        let second = try RuntimeAPIEmulator(configuration: configuration, host: "127.0.0.2", port: port)
        defer { second.stop() }
        let outcome = second.invoke(Array(#"{"action":"echo"}"#.utf8), pickupGraceSeconds: 10)
        guard case .response = outcome else {
            Issue.record("expected a response after the restart, got \(outcome)")
            return
        }
        #expect(process.poll() == nil)
    }

    @Test("an unreachable Runtime API ends the process non-zero (never exit 0, never a busy loop)")
    func unreachable() throws {
        // 127.0.0.3: nothing else in the tests listens there, so the freed port stays closed.
        let server = try LoopbackHTTPServer(host: "127.0.0.3") { _ in .json(200, "{}") }
        let port = server.port
        server.stop()
        let process = try start(api: "127.0.0.3:\(port)")
        #expect(process.wait(seconds: 20) == 1)
    }

    @Test("a malformed AWS_LAMBDA_RUNTIME_API fails loudly")
    func badConfiguration() throws {
        let process = try start(api: "not-a-host-port")
        #expect(process.wait(seconds: 10) == 1)
    }

    @Test("the http:// URL form of AWS_LAMBDA_RUNTIME_API works too")
    func urlForm() throws {
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = "probe"
        let emulator = try RuntimeAPIEmulator(configuration: configuration)
        defer { emulator.stop() }
        let process = try start(api: "http://" + emulator.address + "/")
        defer { process.terminate() }
        guard case .response = emulator.invoke(Array(#"{"action":"echo"}"#.utf8)) else {
            Issue.record("expected a response")
            return
        }
    }

    /// A scripted API: `next` answers with `headers`; posts are recorded.
    final class ScriptedAPI: @unchecked Sendable {
        let lock = NSLock()
        var posts: [(path: String, body: String)] = []
        var nextCalls = 0
        let nextStatus: Int
        let headers: [(name: String, value: String)]
        var server: LoopbackHTTPServer!

        init(nextStatus: Int = 200, headers: [(name: String, value: String)]) throws {
            self.nextStatus = nextStatus
            self.headers = headers
            server = try LoopbackHTTPServer { [unowned self] request in
                self.lock.lock()
                defer { self.lock.unlock() }
                if request.method == "GET" {
                    self.nextCalls += 1
                    if self.nextCalls > 1 {
                        // Park the runtime on a second `next` call without answering quickly.
                        usleep(200_000)
                        return .json(500, #"{"errorMessage":"Container error. Non-recoverable state"}"#)
                    }
                    return LoopbackHTTPServer.Response(status: self.nextStatus,
                                                       headers: [("Content-Type", "application/json")] + self.headers,
                                                       body: Array(#"{"action":"echo"}"#.utf8))
                }
                self.posts.append((request.target, String(decoding: request.body, as: UTF8.self)))
                return .json(202, #"{"status":"OK"}"#)
            }
        }

        var address: String { "127.0.0.1:\(server.port)" }
        func snapshot() -> [(path: String, body: String)] { lock.lock(); defer { lock.unlock() }; return posts }
    }

    @Test("a non-numeric deadline is answered with an error naming the header")
    func badDeadline() throws {
        let api = try ScriptedAPI(headers: [("Lambda-Runtime-Aws-Request-Id", "req-1"),
                                            ("Lambda-Runtime-Deadline-Ms", "soon")])
        defer { api.server.stop() }
        let process = try start(api: api.address)
        // After the scripted 500 on the second `next`, the runtime exits non-zero.
        #expect(process.wait(seconds: 20) == 1)
        let posts = api.snapshot()
        #expect(posts.count == 1)
        #expect(posts.first?.path == "/2018-06-01/runtime/invocation/req-1/error")
        #expect(posts.first?.body.contains("Lambda-Runtime-Deadline-Ms") == true)
    }

    @Test("an invocation without a request id is never answered to //response; the runtime exits non-zero")
    func missingRequestID() throws {
        let api = try ScriptedAPI(headers: [("Lambda-Runtime-Deadline-Ms", "9999999999999")])
        defer { api.server.stop() }
        let process = try start(api: api.address)
        #expect(process.wait(seconds: 20) == 1)
        #expect(api.snapshot().isEmpty)
    }

    @Test("500 from next ends the process promptly, non-zero")
    func fatalStatus() throws {
        let api = try ScriptedAPI(nextStatus: 500, headers: [])
        defer { api.server.stop() }
        let process = try start(api: api.address)
        #expect(process.wait(seconds: 20) == 1)
        #expect(api.snapshot().isEmpty)
    }
}

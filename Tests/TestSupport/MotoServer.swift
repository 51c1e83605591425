import CurlHTTP
import Foundation
import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// A private moto_server process for tests that must not share the suite-wide server (e.g. because they switch
/// signature checking on, which is global per server). It runs from the project venv on a free loopback port and
/// dies with the test process: it watches its stdin (a pipe this process holds) and exits on EOF.
public final class MotoServer: @unchecked Sendable {
    public let endpoint: String
    public let port: Int
    private let process: Process
    private let stdinPipe: Pipe

    /// Starts moto_server (`environment` adds variables, e.g. `MOTO_SIMPLE_BATCH_FAIL_AFTER`) and waits until it
    /// answers; Batch and Lambda run without Docker.
    public init(environment extra: [String: String] = [:]) throws {
        guard let python = Peers.python else {
            throw TestServerError("no project venv with moto_server (.venv or ODIN_VENV): run scripts/venv.sh")
        }
        port = try Self.freePort()
        endpoint = "http://127.0.0.1:\(port)"
        let script = """
        import os, sys, threading
        def watch():
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        from moto.server import main
        main(["-H", "127.0.0.1", "-p", "\(port)"])
        """
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        process.environment = environment
        stdinPipe = Pipe()
        process.standardInput = stdinPipe
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var ready = false
        for _ in 0..<300 {
            if (try? Self.request("GET", "\(endpoint)/moto-api/"))?.status == 200 {
                ready = true
                break
            }
            usleep(100_000)
        }
        guard ready else {
            stop()
            throw TestServerError("moto_server did not start on port \(port)")
        }
        _ = try Self.request("POST", "\(endpoint)/moto-api/config", contentType: "application/json",
                             body: #"{"batch":{"use_docker":false},"lambda":{"use_docker":false}}"#)
    }

    /// Stops the server (also happens when this process exits).
    public func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }

    deinit { stop() }

    /// A plain (unsigned) request to a moto control endpoint; returns status and body.
    @discardableResult
    public static func request(_ method: String, _ url: String, contentType: String = "text/plain",
                               body: String = "", headers: [String: String] = [:]) throws -> (status: Int, body: String) {
        var httpHeaders = HTTPHeaders([("Content-Type", contentType)])
        for (name, value) in headers { httpHeaders.add(name: name, value: value) }
        let client = try HTTPClient()
        let response = try client.send(HTTPRequest(method: method, url: url, headers: httpHeaders,
                                                   body: body.isEmpty ? .empty : .bytes(Array(body.utf8))))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestServerError("no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}


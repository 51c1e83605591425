import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A tiny blocking HTTP/1.1 server on 127.0.0.1 with an OS-chosen port whose handler may also answer by resetting
/// the connection (`.reset`), for tests that need a misbehaving peer (fault-injecting proxies, credential endpoints,
/// IMDSv2). RuntimeEmulator's `ScriptedHTTPServer` is the general one; this one exists for the reset case. One
/// thread accepts; each connection gets its own thread and may carry several keep-alive requests. Bodies need
/// `Content-Length` (no chunked uploads).
///
/// Use `ScriptedHTTPServer.with(handler) { server in … }`, which always stops the server.
public final class ScriptedHTTPServer: Sendable {
    /// A request as received (header names as sent).
    public struct Request: Sendable {
        public var method: String
        /// Path and query as sent on the request line.
        public var target: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        /// First header with this name, case-insensitively.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
        public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
    }

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

    /// The bound port.
    public let port: Int
    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let handler: Handler
    private let stopped = Atomic<Bool>(false)
    private let requestCounter = Atomic<Int>(0)

    /// Number of requests received so far.
    public var requestCount: Int { requestCounter.load(ordering: .relaxed) }

    public init(handler: @escaping Handler) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestServerError("socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw TestServerError("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        self.handler = handler
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Stops accepting; open connections end when their peer closes them. Only shuts the listener down: the
    /// accept thread closes it, so no other thread can reuse the descriptor number while accept() still runs.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit { stop() }

    /// Runs `body` with a started server and always stops it afterwards.
    public static func with<R>(_ handler: @escaping Handler, _ body: (ScriptedHTTPServer) throws -> R) throws -> R {
        let server = try ScriptedHTTPServer(handler: handler)
        defer { server.stop() }
        return try body(server)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            // Child processes started by tests (moto, python) must not inherit our connections.
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            if stopped.load(ordering: .relaxed) {
                close(client)
                close(listener)
                return
            }
            let connection = Thread { [self] in serve(client) }
            connection.start()
        }
    }

    private func serve(_ fd: Int32) {
        var buffer = [UInt8]()
        defer { close(fd) }
        while true {
            guard let request = readRequest(fd, &buffer) else { return }
            requestCounter.add(1, ordering: .relaxed)
            switch handler(request) {
            case .reset:
                var lingerOption = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingerOption, socklen_t(MemoryLayout<linger>.size))
                return
            case .response(let status, let headers, let body):
                var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
                var hasLength = false
                for (name, value) in headers {
                    if name.lowercased() == "content-length" { hasLength = true }
                    head += "\(name): \(value)\r\n"
                }
                if !hasLength { head += "Content-Length: \(request.method == "HEAD" ? 0 : body.count)\r\n" }
                head += "\r\n"
                var bytes = Array(head.utf8)
                if request.method != "HEAD" { bytes += body }
                var sent = 0
                while sent < bytes.count {
                    let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { return }
                    sent += n
                }
                if request.header("Connection")?.lowercased() == "close" { return }
            }
        }
    }

    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while true {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where buffer[i..<i + 4].elementsEqual(separator) {
                    headerEnd = i
                    break
                }
            }
            if headerEnd != nil { break }
            guard readMore(fd, &buffer) else { return nil }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
        while buffer.count < length {
            guard readMore(fd, &buffer) else { return nil }
        }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
    }

    private func readMore(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

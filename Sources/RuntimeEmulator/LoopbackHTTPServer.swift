import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server bound to the loopback interface: one thread accepts, one thread per connection serves
/// keep-alive requests in order. Handlers may block (the Runtime API's `next` long-poll does). Used by the Runtime API
/// emulator and by tests that need a real peer on 127.0.0.1.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        /// Path and query as sent (`/2018-06-01/runtime/invocation/next`).
        public var target: String
        /// Header fields in order; names as sent.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        /// The target without its query string.
        public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

        public func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.name.lowercased() == lower }?.value
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// Close the connection after this response.
        public var close: Bool
        /// Answer nothing and reset the connection (RST), as a crashed or misbehaving peer would.
        public var reset: Bool = false

        public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], close: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.close = close
        }

        /// A connection reset instead of a response.
        public static var connectionReset: Response {
            var response = Response(status: 0, close: true)
            response.reset = true
            return response
        }

        public static func json(_ status: Int, _ text: String) -> Response {
            Response(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
        }
    }

    public typealias Handler = @Sendable (Request) -> Response

    /// The bound port (useful when 0 was asked for).
    public let port: Int
    public let host: String
    private let listener: Int32
    private let handler: Handler
    private let monitor = Monitor()
    private var connections: Set<Int32> = []
    private var stopped = false

    /// Binds `host:port` (port 0 picks a free port) and starts serving.
    public init(host: String = "127.0.0.1", port: Int = 0, handler: @escaping Handler) throws(ServerError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw ServerError("'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw ServerError("cannot listen on \(host):\(port): errno \(code)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.host = host
        self.handler = handler
        BlockingThreads.start { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// Stops accepting and closes every open connection. Handlers that are still blocked finish on their own.
    public func stop() {
        let open: Set<Int32>? = monitor.locked {
            guard !stopped else { return nil }
            stopped = true
            return connections
        }
        // Closing twice would close whatever descriptor another thread got with the same number meanwhile.
        guard let open else { return }
        // shutdown wakes the accept thread, which closes the listener itself: closing it here could let accept()
        // run on a descriptor number that another socket has taken meanwhile.
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            // Child processes started by tests or replay must not inherit (and keep open) our connections.
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let accepted: Bool = monitor.locked {
                guard !stopped else { return false }
                connections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                close(listener)
                return
            }
            BlockingThreads.start { [self] in
                serve(fd)
                monitor.locked { _ = connections.remove(fd) }
                close(fd)
            }
        }
    }

    private func serve(_ fd: Int32) {
        var reader = SocketReader(fd: fd)
        while let request = reader.readRequest() {
            var response = handler(request)
            if response.reset {
                // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                return
            }
            if request.header("Connection")?.lowercased() == "close" { response.close = true }
            guard write(response, to: fd) else { return }
            if response.close { return }
        }
    }

    private func write(_ response: Response, to fd: Int32) -> Bool {
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(response.body.count)\r\n"
        if response.close { head += "Connection: close\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: response.body)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 413: return "Request Entity Too Large"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Buffered request parsing over a socket: request line, headers, and a Content-Length or chunked body.
struct SocketReader {
    let fd: Int32
    var buffer: [UInt8] = []
    var start = 0

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(64 * 1024)
    }

    mutating func fill() -> Bool {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }

    mutating func readLine() -> String? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            guard fill() else { return nil }
        }
    }

    mutating func readBytes(_ count: Int) -> [UInt8]? {
        while buffer.count - start < count {
            guard fill() else { return nil }
        }
        let bytes = Array(buffer[start..<start + count])
        start += count
        return bytes
    }

    mutating func readRequest() -> LoopbackHTTPServer.Request? {
        guard let requestLine = readLine(), !requestLine.isEmpty else { return nil }
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        while let line = readLine() {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((String(line[..<colon]), String(value)))
        }
        var request = LoopbackHTTPServer.Request(method: String(parts[0]), target: String(parts[1]),
                                                 headers: headers, body: [])
        if let length = request.header("Content-Length").flatMap({ Int($0) }), length > 0 {
            guard let body = readBytes(length) else { return nil }
            request.body = body
        } else if request.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            while let sizeLine = readLine() {
                let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) ?? 0
                if size == 0 {
                    while let trailer = readLine(), !trailer.isEmpty {}
                    break
                }
                guard let chunk = readBytes(size) else { return nil }
                body.append(contentsOf: chunk)
                _ = readLine()
            }
            request.body = body
        }
        return request
    }
}

import CurlHTTP
import Foundation
@testable import HTTP
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `HTTPConnection` (its own socket, HTTP/1.1 framed by us) against a raw TCP server that answers with scripted
/// bytes: every framing a Runtime API server may use, byte-at-a-time delivery, and a peer that drops the kept-alive
/// connection.
@Suite("HTTP connection (own socket)")
struct HTTPConnectionTests {
    /// Accepts connections on 127.0.0.1; for each request (head plus Content-Length body) calls `reply`, which
    /// returns raw response bytes, whether to write them one byte at a time, and whether to close afterwards.
    final class RawServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        private let lock = NSLock()
        private var _connections = 0
        private var _requests: [String] = []
        var connections: Int { lock.lock(); defer { lock.unlock() }; return _connections }
        var requests: [String] { lock.lock(); defer { lock.unlock() }; return _requests }

        init(reply: @escaping @Sendable (_ request: String, _ index: Int) -> (bytes: [UInt8], trickle: Bool, close: Bool)) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
            }
            listener = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            let listener = fd
            Thread.detachNewThread { [self] in
                var index = 0
                while true {
                    let client = accept(listener, nil, nil)
                    if client < 0 { return }
                    lock.lock(); _connections += 1; lock.unlock()
                    var buffer: [UInt8] = []
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    serving: while true {
                        // One request: head, then a Content-Length body.
                        var head: String?
                        while head == nil {
                            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                                let text = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                                let length = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                                if buffer.count >= end.upperBound + length {
                                    head = text + "\n" + String(decoding: buffer[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
                                    buffer.removeFirst(end.upperBound + length)
                                    break
                                }
                            }
                            let n = recv(client, &chunk, chunk.count, 0)
                            if n <= 0 { break serving }
                            buffer.append(contentsOf: chunk[0..<n])
                        }
                        lock.lock(); _requests.append(head!); lock.unlock()
                        let (bytes, trickle, close) = reply(head!, index)
                        index += 1
                        if trickle {
                            for byte in bytes { var one = byte; _ = Glibc.send(client, &one, 1, 0); usleep(200) }
                        } else {
                            _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, 0) }
                        }
                        if close { break serving }
                    }
                    Glibc.close(client)
                }
            }
        }

        deinit { shutdown(listener, Int32(SHUT_RDWR)); Glibc.close(listener) }

        var origin: String { "http://127.0.0.1:\(port)" }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func contentLengthResponsesReuseOneConnection() throws {
        let server = try RawServer { request, index in
            (Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Index: \(index)\r\n\r\nhello"), false, false)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        for index in 0..<3 {
            let response = try connection.send(HTTPRequest(url: server.origin + "/path?q=1"))
            #expect(response.status == 200)
            #expect(response.body == Self.bytes("hello"))
            #expect(response.headers["x-index"] == String(index))
        }
        #expect(server.connections == 1)
        let first = try #require(server.requests.first)
        #expect(first.hasPrefix("GET /path?q=1 HTTP/1.1\r\n"))
        #expect(first.contains("Host: 127.0.0.1:\(server.port)\r\n"))
        #expect(first.contains("User-Agent: test/1"))
    }

    @Test func postSendsItsBodyWithALength() throws {
        let server = try RawServer { request, _ in
            let body = request.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            return (Self.bytes("HTTP/1.1 202 Accepted\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"), false, false)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        let response = try connection.send(HTTPRequest(method: "POST", url: server.origin + "/r", headers: headers,
                                                       body: .bytes(Self.bytes(#"{"ok":true}"#))))
        #expect(response.status == 202)
        #expect(response.body == Self.bytes(#"{"ok":true}"#))
        #expect(server.requests.first?.contains("Content-Length: 11") == true)
        // An empty POST still says Content-Length: 0 (servers may wait for a body otherwise).
        _ = try connection.send(HTTPRequest(method: "POST", url: server.origin + "/r"))
        #expect(server.requests.last?.contains("Content-Length: 0") == true)
    }

    @Test func chunkedBodyWithExtensionsAndTrailersTrickledByteByByte() throws {
        let server = try RawServer { _, _ in
            (Self.bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"),
             true, false)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("hello, world"))
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("hello, world"))
        #expect(server.connections == 1)
    }

    @Test func closeDelimitedBodyThenAFreshConnection() throws {
        let server = try RawServer { _, index in
            (Self.bytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody \(index)"), false, true)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("body 0"))
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("body 1"))
        #expect(server.connections == 2)
    }

    @Test func interimResponseIsSkipped() throws {
        let server = try RawServer { _, _ in
            (Self.bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), false, false)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        let response = try connection.send(HTTPRequest(url: server.origin + "/"))
        #expect(response.status == 204 && response.body.isEmpty)
    }

    @Test func headsAndBodiesLargerThanTheReceiveBufferOnOneConnection() throws {
        // A 40 KiB header and a 1 MiB body (the receive buffer starts at 16 KiB), then a small response on the same
        // connection: nothing of the first response may leak into the second.
        let big = String(repeating: "h", count: 40 * 1024)
        let body = String(repeating: "b", count: 1 << 20)
        let server = try RawServer { _, index in
            index == 0
                ? (Self.bytes("HTTP/1.1 200 OK\r\nX-Big: \(big)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"), false, false)
                : (Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false, false)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        let first = try connection.send(HTTPRequest(url: server.origin + "/"))
        #expect(first.headers["x-big"]?.utf8.count == big.utf8.count)
        #expect(first.body.count == body.utf8.count && first.body.allSatisfy { $0 == UInt8(ascii: "b") })
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("ok"))
        #expect(server.connections == 1)
    }

    @Test func originNeedsAHostAndAPort() {
        #expect(throws: HTTPError.self) { try HTTPConnection(origin: "http://127.0.0.1:http", userAgent: "x") }
        #expect(throws: HTTPError.self) { try HTTPConnection(origin: "http://:9001", userAgent: "x") }
        #expect(throws: HTTPError.self) { try HTTPConnection(origin: "http://127.0.0.1:70000", userAgent: "x") }
        #expect((try? HTTPConnection(origin: "http://[::1]:9001", userAgent: "x"))?.authority == "[::1]:9001")
        #expect(throws: HTTPError.self) {
            try HTTPConnection(origin: "http://127.0.0.1:9001", userAgent: "x").send(HTTPRequest(url: "http://127.0.0.2:9001/"))
        }
    }

    @Test func keptAliveConnectionDroppedByThePeerIsRetriedOnceOnAFreshOne() throws {
        // The server closes after every response without saying so, as an idle-timeout would.
        let server = try RawServer { _, index in
            (Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\(index)"), false, true)
        }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("0"))
        usleep(50_000)  // let the close reach us
        #expect(try connection.send(HTTPRequest(url: server.origin + "/")).body == Self.bytes("1"))
        #expect(server.connections == 2)
    }

    @Test func responseHeadParsing() throws {
        func head(_ text: String) -> HTTPConnection.Head? { HTTPConnection.parseHead(Array(text.utf8)[...]) }
        let parsed = try #require(head("HTTP/1.1 202\r\nX-A:  spaced value \t\r\nx-b:\r\nLambda-Runtime-Aws-Request-Id: r-1"))
        #expect(parsed.status == 202 && parsed.version11)
        #expect(parsed.headers["x-a"] == "spaced value")
        #expect(parsed.headers["X-B"] == "")
        #expect(parsed.headers["lambda-runtime-aws-request-id"] == "r-1")
        #expect(head("HTTP/1.0 404 Not Found\nContent-Length: 0")?.version11 == false)  // bare LF lines too
        #expect(head("HTTP/1.1 404 Not Found")?.status == 404)
        #expect(head("HTTP/1.1 20 OK") == nil)
        #expect(head("HTTP/2 200 OK") == nil)
        #expect(head("HTTP/1.1 200 OK\r\nno colon here") == nil)
        #expect(head("HTTP/1.1 200 OK\r\n: empty name") == nil)
    }

    @Test func malformedResponseAndRefusedConnectionAreReceiveAndConnectErrors() throws {
        let server = try RawServer { _, _ in (Self.bytes("SMTP ready\r\n\r\n"), false, true) }
        let connection = try HTTPConnection(origin: server.origin, userAgent: "test/1")
        let malformed = #expect(throws: HTTPError.self) { try connection.send(HTTPRequest(url: server.origin + "/")) }
        #expect(malformed?.kind == .receive)
        // Nothing listens on this port once the server is gone.
        let port = server.port
        let closed = try HTTPConnection(origin: "http://127.0.0.3:\(port)", userAgent: "test/1")
        let refused = #expect(throws: HTTPError.self) { try closed.send(HTTPRequest(url: "http://127.0.0.3:\(port)/")) }
        #expect(refused?.kind == .connect)
        #expect(throws: HTTPError.self) { try HTTPConnection(origin: "https://example.com", userAgent: "x") }
    }
}

/// Both HTTP paths hand callers header values without the surrounding whitespace or the line's CR/LF (RFC 9110
/// §5.5: optional whitespace around a field value is not part of it). The AWS client relies on this: it reads
/// `x-amzn-requestid`, `ETag`, `Retry-After`, `x-amz-version-id` as they come.
extension HTTPConnectionTests {
    static let paddedHead = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padded: \t padded value \t \r\nX-Empty:   \r\n"
        + "X-Tight:tight\r\nETag:  \"abc\"\r\n\r\nok"

    @Test("libcurl client: header values arrive without surrounding whitespace or CR/LF")
    func curlClientTrimsHeaderValues() throws {
        let server = try RawServer { _, _ in (Self.bytes(Self.paddedHead), false, true) }
        let response = try HTTPClient().send(HTTPRequest(url: server.origin + "/"))
        #expect(response.status == 200)
        #expect(response.headers["x-padded"] == "padded value")
        #expect(response.headers["x-empty"] == "")
        #expect(response.headers["x-tight"] == "tight")
        #expect(response.headers["etag"] == "\"abc\"")
        for (name, value) in response.headers {
            #expect(!value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" }, "\(name): \(value.debugDescription)")
        }
    }

    @Test("Runtime API connection: header values arrive without surrounding whitespace or CR/LF")
    func connectionTrimsHeaderValues() throws {
        let server = try RawServer { _, _ in (Self.bytes(Self.paddedHead), true, true) }
        let response = try HTTPConnection(origin: server.origin, userAgent: "test/1")
            .send(HTTPRequest(url: server.origin + "/"))
        #expect(response.headers["x-padded"] == "padded value")
        #expect(response.headers["x-empty"] == "")
        #expect(response.headers["x-tight"] == "tight")
        #expect(response.headers["etag"] == "\"abc\"")
    }
}

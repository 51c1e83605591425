internal import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// One persistent plain-HTTP/1.1 connection to a single `http://host:port` origin, for a caller that sends small
/// requests one after another and wants each whole response in memory: the Lambda Runtime API client.
///
/// libcurl opens and owns the socket (`CURLOPT_CONNECT_ONLY`, then `curl_easy_send`/`curl_easy_recv`); the request
/// line, headers and the response framing (status line, headers, `Content-Length`, chunked, or read to close) are
/// done here. This skips libcurl's per-transfer URL parsing and printf-based request building, which were most of
/// the runtime's per-invocation cost over a raw socket (BENCHMARKS.md). Use `HTTPClient` for everything else (TLS,
/// redirects policy, files, proxies).
///
/// Like libcurl, a request that finds its kept-alive connection closed by the peer before any response byte arrived
/// is sent once more on a fresh connection. Not thread-safe.
public final class HTTPConnection {
    /// `host:port` as the Host header carries it (`[v6]:port` for IPv6).
    public let authority: String
    private let origin: String
    private let connectTimeoutSeconds: Int
    private let userAgent: String
    private var handle: UnsafeMutableRawPointer?
    private var socket: Int32 = -1
    /// Bytes received past the end of the last response (a peer may pipeline nothing, but be exact).
    private var pending: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    /// - Parameter origin: `http://host:port` (no path).
    public init(origin: String, connectTimeoutSeconds: Int = 1, userAgent: String) throws(HTTPError) {
        guard origin.hasPrefix("http://"), !origin.dropFirst(7).contains("/"), !origin.dropFirst(7).isEmpty else {
            throw HTTPError(kind: .invalidRequest, message: "HTTPConnection needs an http://host:port origin", url: origin)
        }
        guard curlGlobalInit == CURLE_OK else {
            throw HTTPError(kind: .other, message: "libcurl could not be initialised", url: origin)
        }
        self.origin = origin
        authority = String(origin.dropFirst(7))
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.userAgent = userAgent
    }

    deinit { disconnect() }

    /// Sends `request` (its URL must start with this connection's origin) and returns the whole response.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        guard request.url.hasPrefix(origin) else {
            throw HTTPError(kind: .invalidRequest, message: "URL is not on \(origin)", url: request.url)
        }
        var target = String(Substring(request.url.utf8.dropFirst(origin.utf8.count)))
        if target.isEmpty { target = "/" }
        let body: [UInt8]
        switch request.body {
        case .empty: body = []
        case .bytes(let bytes): body = bytes
        case .file: throw HTTPError(kind: .invalidRequest, message: "HTTPConnection sends in-memory bodies only", url: request.url)
        }
        let message = Self.requestBytes(method: request.method, target: target, authority: authority,
                                        userAgent: userAgent, headers: request.headers, body: body)
        let reused = handle != nil
        do {
            return try exchange(message, url: request.url)
        } catch let error where reused && error.kind == .send || (reused && error.message == Self.closedBeforeResponse) {
            disconnect()  // the peer closed the kept-alive connection: once more on a fresh one
            return try exchange(message, url: request.url)
        }
    }

    static let closedBeforeResponse = "connection closed before a response arrived"

    private func exchange(_ message: [UInt8], url: String) throws(HTTPError) -> HTTPResponse {
        if handle == nil { try connect(url: url) }
        do {
            try sendAll(message, url: url)
            let (response, keepAlive) = try readResponse(url: url)
            if !keepAlive { disconnect() }
            return response
        } catch {
            disconnect()
            throw error
        }
    }

    // MARK: - Connection (libcurl)

    private func connect(url: String) throws(HTTPError) {
        guard let easy = curl_easy_init() else {
            throw HTTPError(kind: .other, message: "curl_easy_init failed", url: url)
        }
        var ok = CCurl_easy_setopt_ptr(easy, CURLOPT_URL, origin + "/") == CURLE_OK
        ok = ok && CCurl_easy_setopt_long(easy, CURLOPT_CONNECT_ONLY, 1) == CURLE_OK
        ok = ok && CCurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1) == CURLE_OK
        ok = ok && CCurl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1) == CURLE_OK
        ok = ok && CCurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds) == CURLE_OK
        ok = ok && CCurl_easy_setopt_ptr(easy, CURLOPT_PROXY, "") == CURLE_OK  // always direct
        ok = ok && CCurl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK
        guard ok else {
            curl_easy_cleanup(easy)
            throw HTTPError(kind: .other, message: "could not configure the connection handle", url: url)
        }
        let code = curl_easy_perform(easy)
        guard code == CURLE_OK else {
            curl_easy_cleanup(easy)
            let kind: HTTPError.Kind = code == CURLE_OPERATION_TIMEDOUT ? .timeout : .connect
            throw HTTPError(kind: kind, curlCode: Int32(code.rawValue),
                            message: String(cString: curl_easy_strerror(code)), url: url)
        }
        var active: curl_socket_t = -1
        guard CCurl_easy_getinfo_socket(easy, CURLINFO_ACTIVESOCKET, &active) == CURLE_OK, active >= 0 else {
            curl_easy_cleanup(easy)
            throw HTTPError(kind: .connect, message: "no socket after connecting", url: url)
        }
        handle = easy
        socket = active
        pending.removeAll(keepingCapacity: true)
    }

    private func disconnect() {
        if let handle { curl_easy_cleanup(handle) }
        handle = nil
        socket = -1
        pending.removeAll(keepingCapacity: true)
    }

    /// Waits until the socket is readable (or writable); EINTR is retried. No timeout: `next` may wait for hours.
    private func wait(for events: Int16, url: String) throws(HTTPError) {
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        while poll(&descriptor, 1, -1) < 0 {
            guard errno == EINTR else {
                throw HTTPError(kind: events == Int16(POLLOUT) ? .send : .receive,
                                message: "poll failed: errno \(errno)", url: url)
            }
        }
    }

    private func sendAll(_ bytes: [UInt8], url: String) throws(HTTPError) {
        var offset = 0
        while offset < bytes.count {
            var sent = 0
            let code = bytes.withUnsafeBytes { raw in
                curl_easy_send(handle, raw.baseAddress! + offset, bytes.count - offset, &sent)
            }
            if code == CURLE_AGAIN {
                try wait(for: Int16(POLLOUT), url: url)
                continue
            }
            guard code == CURLE_OK else {
                throw HTTPError(kind: .send, curlCode: Int32(code.rawValue),
                                message: String(cString: curl_easy_strerror(code)), url: url)
            }
            offset += sent
        }
    }

    /// Appends what the socket has to `pending`; returns false at end of stream.
    private func receiveMore(url: String) throws(HTTPError) -> Bool {
        while true {
            var received = 0
            let code = scratch.withUnsafeMutableBytes { raw in
                curl_easy_recv(handle, raw.baseAddress, raw.count, &received)
            }
            if code == CURLE_AGAIN {
                try wait(for: Int16(POLLIN), url: url)
                continue
            }
            guard code == CURLE_OK else {
                throw HTTPError(kind: .receive, curlCode: Int32(code.rawValue),
                                message: String(cString: curl_easy_strerror(code)), url: url)
            }
            if received == 0 { return false }
            pending.append(contentsOf: scratch[0..<received])
            return true
        }
    }

    // MARK: - HTTP/1.1 framing

    static func requestBytes(method: String, target: String, authority: String, userAgent: String,
                             headers: HTTPHeaders, body: [UInt8]) -> [UInt8] {
        var text = method + " " + target + " HTTP/1.1\r\nHost: " + authority + "\r\nUser-Agent: " + userAgent + "\r\n"
        var hasLength = false
        for (name, value) in headers {
            if HTTPHeaders.equal(name, "Content-Length") { hasLength = true }
            text += name + ": " + value + "\r\n"
        }
        if !hasLength && (!body.isEmpty || method == "POST" || method == "PUT") {
            text += "Content-Length: " + String(body.count) + "\r\n"
        }
        text += "\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// Reads one response; returns it and whether the connection may be reused.
    private func readResponse(url: String) throws(HTTPError) -> (HTTPResponse, Bool) {
        while true {
            // Status line and headers.
            var headerEnd: Int?
            var searchFrom = 0
            while true {
                headerEnd = Self.endOfHeaders(pending, from: searchFrom)
                if headerEnd != nil { break }
                searchFrom = max(0, pending.count - 3)
                guard try receiveMore(url: url) else {
                    throw HTTPError(kind: .receive, message: pending.isEmpty ? Self.closedBeforeResponse
                                        : "connection closed inside the response headers", url: url)
                }
            }
            guard let head = Self.parseHead(pending[0..<headerEnd!]) else {
                throw HTTPError(kind: .receive, message: "malformed HTTP response head", url: url)
            }
            pending.removeFirst(headerEnd! + 4)
            if (100..<200).contains(head.status) { continue }  // interim responses carry no body

            var keepAlive = head.version11
            if let connection = head.headers["Connection"] {
                if HTTPHeaders.equal(connection, "close") { keepAlive = false }
                if HTTPHeaders.equal(connection, "keep-alive") { keepAlive = true }
            }
            let body: [UInt8]
            if head.status == 204 || head.status == 304 {
                body = []
            } else if let encoding = head.headers["Transfer-Encoding"], !HTTPHeaders.equal(encoding, "identity") {
                guard HTTPHeaders.equal(encoding, "chunked") else {
                    throw HTTPError(kind: .receive, message: "unsupported Transfer-Encoding \(encoding)", url: url)
                }
                body = try readChunked(url: url)
            } else if let lengthText = head.headers["Content-Length"] {
                guard let length = Int(lengthText), length >= 0 else {
                    throw HTTPError(kind: .receive, message: "bad Content-Length \(lengthText)", url: url)
                }
                while pending.count < length {
                    guard try receiveMore(url: url) else {
                        throw HTTPError(kind: .receive, message: "connection closed after \(pending.count) of \(length) body bytes", url: url)
                    }
                }
                body = Array(pending[0..<length])
                pending.removeFirst(length)
            } else {
                while try receiveMore(url: url) {}  // delimited by the end of the connection
                body = pending
                pending.removeAll(keepingCapacity: true)
                keepAlive = false
            }
            return (HTTPResponse(status: head.status, headers: head.headers, body: body), keepAlive)
        }
    }

    private func readChunked(url: String) throws(HTTPError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine(url: url)
            let sizeText = line.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") }
            guard let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16), size >= 0 else {
                throw HTTPError(kind: .receive, message: "malformed chunk size", url: url)
            }
            if size == 0 {
                while try !readLine(url: url).isEmpty {}  // trailers, then the final CRLF
                return body
            }
            while pending.count < size + 2 {
                guard try receiveMore(url: url) else {
                    throw HTTPError(kind: .receive, message: "connection closed inside a chunk", url: url)
                }
            }
            body.append(contentsOf: pending[0..<size])
            pending.removeFirst(size + 2)
        }
    }

    private func readLine(url: String) throws(HTTPError) -> [UInt8] {
        var searchFrom = 0
        while true {
            if let end = Self.find(crlf: pending, from: searchFrom) {
                let line = Array(pending[0..<end])
                pending.removeFirst(end + 2)
                return line
            }
            searchFrom = max(0, pending.count - 1)
            guard try receiveMore(url: url) else {
                throw HTTPError(kind: .receive, message: "connection closed inside chunked framing", url: url)
            }
        }
    }

    static func find(crlf bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 0x0d && bytes[index + 1] == 0x0a { return index }
            index += 1
        }
        return nil
    }

    /// Index of the `\r\n\r\n` that ends the head.
    static func endOfHeaders(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 0x0d && bytes[index + 1] == 0x0a && bytes[index + 2] == 0x0d && bytes[index + 3] == 0x0a {
                return index
            }
            index += 1
        }
        return nil
    }

    struct Head {
        var status: Int
        var version11: Bool
        var headers: HTTPHeaders
    }

    /// `HTTP/1.x SSS reason` then `Name: value` lines (obsolete line folding is not accepted). One pass over the
    /// bytes: this runs twice per Lambda invocation.
    static func parseHead(_ bytes: ArraySlice<UInt8>) -> Head? {
        // Status line: "HTTP/1." digit, space, three digits, then a space or the end of the line.
        let start = bytes.startIndex
        guard bytes.count >= 12, bytes[start..<(start + 7)].elementsEqual("HTTP/1.".utf8),
              bytes[start + 8] == 0x20 else { return nil }
        var status = 0
        for index in (start + 9)..<(start + 12) {
            let digit = bytes[index]
            guard digit >= 0x30 && digit <= 0x39 else { return nil }
            status = status * 10 + Int(digit - 0x30)
        }
        var index = start + 12
        guard index == bytes.endIndex || bytes[index] == 0x20 || bytes[index] == 0x0d || bytes[index] == 0x0a else {
            return nil
        }
        while index < bytes.endIndex && bytes[index] != 0x0a { index += 1 }
        var headers = HTTPHeaders()
        headers.reserveCapacity(12)
        while index < bytes.endIndex {
            index += 1  // past the LF
            var lineEnd = index
            while lineEnd < bytes.endIndex && bytes[lineEnd] != 0x0a { lineEnd += 1 }
            var contentEnd = lineEnd
            if contentEnd > index && bytes[contentEnd - 1] == 0x0d { contentEnd -= 1 }
            if contentEnd > index {
                var colon = index
                while colon < contentEnd && bytes[colon] != UInt8(ascii: ":") { colon += 1 }
                guard colon > index && colon < contentEnd else { return nil }
                var valueStart = colon + 1, valueEnd = contentEnd
                while valueStart < valueEnd && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
                while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                headers.add(name: String(decoding: bytes[index..<colon], as: UTF8.self),
                            value: String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self))
            }
            index = lineEnd
        }
        return Head(status: status, version11: bytes[start + 7] == UInt8(ascii: "1"), headers: headers)
    }
}

@available(*, unavailable)
extension HTTPConnection: Sendable {}

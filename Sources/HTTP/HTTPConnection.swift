#if canImport(Glibc)
import Glibc
#endif

/// One persistent plain-HTTP/1.1 connection to a single `http://host:port` origin, for a caller that sends small
/// requests one after another and wants each whole response in memory: the Lambda Runtime API client.
///
/// It owns one blocking TCP socket (opened on the first request, closed in `disconnect` only) and frames HTTP/1.1
/// itself: the request line, headers and the response framing (status line, headers, `Content-Length`, chunked, or
/// read to close). Neither libcurl nor TLS is involved, so a Lambda function reaches its first `GET next` without
/// initialising libcurl or OpenSSL (their start-up, mostly OpenSSL's error strings and algorithm tables, was a third
/// of the runtime's init: BENCHMARKS.md), and each exchange is one `sendmsg` and as few `recv` calls as the peer's
/// segments need, with no per-request URL parsing. Always direct (never a proxy). Use `CurlHTTP.HTTPClient` for
/// everything else (TLS, redirects policy, files, proxies). This target links no C library (neither libcurl nor
/// OpenSSL), so neither does the Lambda runtime.
///
/// Like libcurl, a request that finds its kept-alive connection closed by the peer before any response byte arrived
/// is sent once more on a fresh connection. Not thread-safe.
public final class HTTPConnection {
    /// `host:port` as the Host header carries it (`[v6]:port` for IPv6).
    public let authority: String
    private let origin: String
    private let host: String
    private let port: String
    private let connectTimeoutSeconds: Int
    /// `Host: …\r\nUser-Agent: …\r\n`, the same for every request.
    private let fixedHeaderLines: [UInt8]
    /// The connected socket, or -1. Opened in `connect`, closed only in `disconnect`.
    private var socket: Int32 = -1
    /// Received bytes: `buffer[consumed..<filled]` are not yet consumed. Its count is its capacity (zero-filled once,
    /// grown only for a head or chunk larger than it), so receiving allocates nothing.
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    private var consumed = 0
    private var filled = 0
    /// Request heads are built here (capacity kept between requests).
    private var head: [UInt8] = []

    /// - Parameter origin: `http://host:port` (no path).
    public init(origin: String, connectTimeoutSeconds: Int = 1, userAgent: String) throws(HTTPError) {
        guard origin.hasPrefix("http://"), !origin.dropFirst(7).contains("/"), !origin.dropFirst(7).isEmpty else {
            throw HTTPError(kind: .invalidRequest, message: "HTTPConnection needs an http://host:port origin", url: origin)
        }
        self.origin = origin
        authority = String(origin.dropFirst(7))
        // host:port, [v6]:port, or host alone (port 80).
        var hostPart = Substring(authority), portPart: Substring = "80"
        if hostPart.hasPrefix("["), let close = hostPart.firstIndex(of: "]") {
            let rest = hostPart[hostPart.index(after: close)...]
            if rest.hasPrefix(":") { portPart = rest.dropFirst() }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty, let portNumber = Int(portPart), (1...65535).contains(portNumber) else {
            throw HTTPError(kind: .invalidRequest, message: "HTTPConnection needs an http://host:port origin", url: origin)
        }
        host = String(hostPart)
        port = String(portNumber)
        self.connectTimeoutSeconds = connectTimeoutSeconds
        fixedHeaderLines = Array("Host: \(authority)\r\nUser-Agent: \(userAgent)\r\n".utf8)
        head.reserveCapacity(512)
    }

    deinit { disconnect() }

    /// Sends `request` (its URL must start with this connection's origin) and returns the whole response.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        var url = request.url
        let originLength = origin.utf8.count
        let onOrigin = url.withUTF8 { urlBytes in
            var origin = origin
            return urlBytes.count >= originLength
                && origin.withUTF8 { memcmp(urlBytes.baseAddress!, $0.baseAddress!, originLength) == 0 }
        }
        guard onOrigin else {
            throw HTTPError(kind: .invalidRequest, message: "URL is not on \(origin)", url: request.url)
        }
        let body: [UInt8]
        switch request.body {
        case .empty: body = []
        case .bytes(let bytes): body = bytes
        case .file: throw HTTPError(kind: .invalidRequest, message: "HTTPConnection sends in-memory bodies only", url: request.url)
        }
        Self.appendHead(to: &head, method: request.method, target: Substring(url).utf8.dropFirst(originLength),
                        fixedHeaderLines: fixedHeaderLines, headers: request.headers, body: body)
        let reused = socket >= 0
        do {
            return try exchange(body, url: request.url)
        } catch let error where reused && error.kind == .send || (reused && error.message == Self.closedBeforeResponse) {
            disconnect()  // the peer closed the kept-alive connection: once more on a fresh one
            return try exchange(body, url: request.url)
        }
    }

    static let closedBeforeResponse = "connection closed before a response arrived"

    /// Sends `head` (already built) and `body`, then reads the response.
    private func exchange(_ body: [UInt8], url: String) throws(HTTPError) -> HTTPResponse {
        if socket < 0 { try connect(url: url) }
        do {
            try sendAll(body, url: url)
            let (response, keepAlive) = try readResponse(url: url)
            if !keepAlive { disconnect() }
            return response
        } catch {
            disconnect()
            throw error
        }
    }

    // MARK: - Connection (one socket, one owner)

    private func connect(url: String) throws(HTTPError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        // A numeric address (the Runtime API's 127.0.0.1) needs no resolver; a name is looked up once per connect.
        var status = getaddrinfo(host, port, &hints, &list)
        if status == EAI_NONAME {
            hints.ai_flags = AI_NUMERICSERV
            status = getaddrinfo(host, port, &hints, &list)
        }
        guard status == 0, let first = list else {
            throw HTTPError(kind: .connect, message: "cannot resolve \(host): \(String(cString: gai_strerror(status)))",
                            url: url)
        }
        defer { freeaddrinfo(list) }
        var lastError = HTTPError(kind: .connect, message: "no address for \(host)", url: url)
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            do throws(HTTPError) {
                socket = try Self.open(address.pointee, timeoutSeconds: connectTimeoutSeconds, url: url)
                consumed = 0
                filled = 0
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// A connected blocking socket with TCP_NODELAY, or a connect/timeout error (the descriptor is closed then).
    private static func open(_ address: addrinfo, timeoutSeconds: Int, url: String) throws(HTTPError) -> Int32 {
        let fd = Glibc.socket(address.ai_family, address.ai_socktype | Int32(SOCK_CLOEXEC.rawValue)
                                  | Int32(SOCK_NONBLOCK.rawValue), address.ai_protocol)
        guard fd >= 0 else { throw HTTPError(kind: .connect, message: "socket failed: errno \(errno)", url: url) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                close(fd)
                throw HTTPError(kind: .connect, message: "connect failed: \(String(cString: strerror(code)))", url: url)
            }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var ready: Int32
            repeat { ready = poll(&descriptor, 1, Int32(max(1, timeoutSeconds) * 1000)) } while ready < 0 && errno == EINTR
            if ready == 0 {
                close(fd)
                throw HTTPError(kind: .timeout, message: "connect timed out after \(timeoutSeconds) s", url: url)
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
            if ready < 0 || failure != 0 {
                close(fd)
                let reason = failure != 0 ? String(cString: strerror(failure)) : "poll failed: errno \(errno)"
                throw HTTPError(kind: .connect, message: "connect failed: \(reason)", url: url)
            }
        }
        // Blocking from here on: `next` may wait for hours, and a blocking recv is one system call.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    private func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
        consumed = 0
        filled = 0
    }

    /// Sends `head` and `body` with one `sendmsg` each time round (no copy of the body); EINTR is retried.
    private func sendAll(_ body: [UInt8], url: String) throws(HTTPError) {
        let total = head.count + body.count
        var offset = 0
        while offset < total {
            let sent: Int = head.withUnsafeBytes { headBytes in
                body.withUnsafeBytes { bodyBytes in
                    var vectors = (iovec(), iovec())
                    var count = 0
                    withUnsafeMutableBytes(of: &vectors) { raw in
                        let iov = raw.bindMemory(to: iovec.self)
                        if offset < headBytes.count {
                            iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: headBytes.baseAddress! + offset),
                                           iov_len: headBytes.count - offset)
                            count = 1
                        }
                        let bodyOffset = max(0, offset - headBytes.count)
                        if bodyOffset < bodyBytes.count {
                            iov[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bodyBytes.baseAddress! + bodyOffset),
                                               iov_len: bodyBytes.count - bodyOffset)
                            count += 1
                        }
                    }
                    return withUnsafeMutablePointer(to: &vectors) { pointer in
                        pointer.withMemoryRebound(to: iovec.self, capacity: 2) { iov in
                            var message = msghdr()
                            message.msg_iov = iov
                            message.msg_iovlen = count
                            return sendmsg(socket, &message, Int32(MSG_NOSIGNAL))
                        }
                    }
                }
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw HTTPError(kind: .send, message: "send failed: \(String(cString: strerror(errno)))", url: url)
            }
            offset += sent
        }
    }

    /// Receives what the socket has into `buffer` after `filled` (moving the unconsumed bytes to the front first, and
    /// growing the buffer only when it is full); returns false at end of stream.
    private func receiveMore(url: String) throws(HTTPError) -> Bool {
        if consumed > 0 {
            if consumed < filled {
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
                }
            }
            filled -= consumed
            consumed = 0
        }
        if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        let received = buffer.withUnsafeMutableBytes { raw in
            Self.receive(socket, into: raw.baseAddress! + filled, count: raw.count - filled)
        }
        guard received >= 0 else {
            throw HTTPError(kind: .receive, message: "receive failed: \(String(cString: strerror(errno)))", url: url)
        }
        filled += received
        return received > 0
    }

    /// One blocking `recv` (EINTR retried): bytes received, 0 at end of stream, -1 on error (`errno` set).
    private static func receive(_ socket: Int32, into pointer: UnsafeMutableRawPointer, count: Int) -> Int {
        while true {
            let received = recv(socket, pointer, count, 0)
            if received >= 0 || errno != EINTR { return received }
        }
    }

    // MARK: - HTTP/1.1 framing

    /// Builds the request head into `head` (its capacity is kept): request line, the fixed Host and User-Agent lines,
    /// the request's headers, and `Content-Length` when the caller set none and there is a body (or the method is
    /// POST/PUT: servers may wait for a body otherwise).
    static func appendHead(to head: inout [UInt8], method: String, target: Substring.UTF8View,
                           fixedHeaderLines: [UInt8], headers: HTTPHeaders, body: [UInt8]) {
        head.removeAll(keepingCapacity: true)
        appendUTF8(method, to: &head)
        head.append(0x20)
        if target.isEmpty {
            head.append(UInt8(ascii: "/"))
        } else if target.withContiguousStorageIfAvailable({ head.append(contentsOf: $0) }) == nil {
            head.append(contentsOf: target)
        }
        appendUTF8(" HTTP/1.1\r\n", to: &head)
        head.append(contentsOf: fixedHeaderLines)
        var hasLength = false
        for (name, value) in headers {
            if HTTPHeaders.equal(name, "Content-Length") { hasLength = true }
            appendUTF8(name, to: &head)
            head.append(0x3a)
            head.append(0x20)
            appendUTF8(value, to: &head)
            head.append(0x0d)
            head.append(0x0a)
        }
        if !hasLength && (!body.isEmpty || method == "POST" || method == "PUT") {
            appendUTF8("Content-Length: ", to: &head)
            appendDecimal(body.count, to: &head)
            head.append(0x0d)
            head.append(0x0a)
        }
        head.append(0x0d)
        head.append(0x0a)
    }

    /// Appends the UTF-8 of `text` as one copy (`append(contentsOf: text.utf8)` walks the view byte by byte).
    static func appendUTF8(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            var remaining = value.magnitude, index = raw.count
            repeat {
                index -= 1
                raw[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            if value < 0 { index -= 1; raw[index] = UInt8(ascii: "-") }
            bytes.append(contentsOf: raw[index...])
        }
    }

    /// Reads one response; returns it and whether the connection may be reused.
    private func readResponse(url: String) throws(HTTPError) -> (HTTPResponse, Bool) {
        while true {
            // Status line and headers.
            var searchFrom = consumed
            var headerEnd: Int
            while true {
                if let end = buffer.withUnsafeBufferPointer({ Self.endOfHeaders($0, from: searchFrom, to: filled) }) {
                    headerEnd = end
                    break
                }
                let seen = filled - consumed
                let wasEmpty = seen == 0
                guard try receiveMore(url: url) else {
                    throw HTTPError(kind: .receive, message: wasEmpty ? Self.closedBeforeResponse
                                        : "connection closed inside the response headers", url: url)
                }
                searchFrom = max(consumed, consumed + seen - 3)
            }
            guard let head = Self.parseHead(buffer[consumed..<headerEnd]) else {
                throw HTTPError(kind: .receive, message: "malformed HTTP response head", url: url)
            }
            consumed = headerEnd + 4
            if (100..<200).contains(head.status) { continue }  // interim responses carry no body

            var keepAlive = head.version11
            if let connection = head.connection {
                if HTTPHeaders.equal(connection, "close") { keepAlive = false }
                if HTTPHeaders.equal(connection, "keep-alive") { keepAlive = true }
            }
            let body: [UInt8]
            if head.status == 204 || head.status == 304 {
                body = []
            } else if let encoding = head.transferEncoding, !HTTPHeaders.equal(encoding, "identity") {
                guard HTTPHeaders.equal(encoding, "chunked") else {
                    throw HTTPError(kind: .receive, message: "unsupported Transfer-Encoding \(encoding)", url: url)
                }
                body = try readChunked(url: url)
            } else if let lengthText = head.contentLength {
                guard let length = Int(lengthText), length >= 0 else {
                    throw HTTPError(kind: .receive, message: "bad Content-Length \(lengthText)", url: url)
                }
                body = try readBody(length: length, url: url)
            } else {
                var rest = Array(buffer[consumed..<filled])  // delimited by the end of the connection
                consumed = filled
                while try receiveMore(url: url) {
                    rest.append(contentsOf: buffer[consumed..<filled])
                    consumed = filled
                }
                body = rest
                keepAlive = false
            }
            return (HTTPResponse(status: head.status, headers: head.headers, body: body), keepAlive)
        }
    }

    /// `length` body bytes: what is buffered, then received straight into the body (a 6 MB event is copied once).
    private func readBody(length: Int, url: String) throws(HTTPError) -> [UInt8] {
        let buffered = min(length, filled - consumed)
        var failure: HTTPError?
        let body = [UInt8](unsafeUninitializedCapacity: length) { target, initialized in
            buffer.withUnsafeBytes { source in
                if buffered > 0 {
                    UnsafeMutableRawBufferPointer(target).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: source[consumed..<(consumed + buffered)]))
                }
            }
            initialized = buffered
            while initialized < length {
                let received = Self.receive(socket, into: target.baseAddress! + initialized, count: length - initialized)
                guard received > 0 else {
                    failure = HTTPError(kind: .receive, message: received == 0
                                            ? "connection closed after \(initialized) of \(length) body bytes"
                                            : "receive failed: \(String(cString: strerror(errno)))", url: url)
                    return
                }
                initialized += received
            }
        }
        consumed += buffered
        if let failure { throw failure }
        return body
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
            while filled - consumed < size + 2 {
                guard try receiveMore(url: url) else {
                    throw HTTPError(kind: .receive, message: "connection closed inside a chunk", url: url)
                }
            }
            body.append(contentsOf: buffer[consumed..<(consumed + size)])
            consumed += size + 2
        }
    }

    private func readLine(url: String) throws(HTTPError) -> [UInt8] {
        var searchFrom = consumed
        while true {
            if let end = buffer.withUnsafeBufferPointer({ Self.find(crlf: $0, from: searchFrom, to: filled) }) {
                let line = Array(buffer[consumed..<end])
                consumed = end + 2
                return line
            }
            let seen = filled - consumed
            guard try receiveMore(url: url) else {
                throw HTTPError(kind: .receive, message: "connection closed inside chunked framing", url: url)
            }
            searchFrom = max(consumed, consumed + seen - 1)
        }
    }

    /// Index of the first CRLF in `bytes[start..<end]`.
    static func find(crlf bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        var index = start
        while index + 1 < end {
            if bytes[index] == 0x0d && bytes[index + 1] == 0x0a { return index }
            index += 1
        }
        return nil
    }

    /// Index of the `\r\n\r\n` that ends the head, in `bytes[start..<end]`.
    static func endOfHeaders(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard end - start >= 4, let base = bytes.baseAddress else { return nil }
        var index = start
        while index + 3 < end {
            // memchr finds the next CR quickly; the three bytes after it are then compared.
            guard let found = memchr(base + index, 0x0d, end - 3 - index) else { return nil }
            index = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            if bytes[index + 1] == 0x0a && bytes[index + 2] == 0x0d && bytes[index + 3] == 0x0a { return index }
            index += 1
        }
        return nil
    }

    struct Head {
        var status: Int
        var version11: Bool
        var headers: HTTPHeaders
        /// The first `Content-Length`, `Transfer-Encoding` and `Connection` values, noted while parsing (the framing
        /// needs them for every response; looking them up again would scan the headers three more times).
        var contentLength: String? = nil
        var transferEncoding: String? = nil
        var connection: String? = nil
    }

    /// `HTTP/1.x SSS reason` then `Name: value` lines (obsolete line folding is not accepted). One pass over the
    /// bytes: this runs twice per Lambda invocation.
    static func parseHead(_ slice: ArraySlice<UInt8>) -> Head? {
        slice.withUnsafeBufferPointer { parseHead(bytes: $0) }
    }

    private static func parseHead(bytes: UnsafeBufferPointer<UInt8>) -> Head? {
        // Status line: "HTTP/1." digit, space, three digits, then a space or the end of the line.
        let end = bytes.count
        guard end >= 12, let base = bytes.baseAddress, memcmp(base, "HTTP/1.", 7) == 0, bytes[8] == 0x20 else {
            return nil
        }
        var status = 0
        for index in 9..<12 {
            let digit = bytes[index]
            guard digit >= 0x30 && digit <= 0x39 else { return nil }
            status = status * 10 + Int(digit - 0x30)
        }
        guard end == 12 || bytes[12] == 0x20 || bytes[12] == 0x0d || bytes[12] == 0x0a else { return nil }
        /// The index of the first `byte` in `from..<end`, or `end`.
        func next(_ byte: UInt8, from: Int) -> Int {
            guard from < end, let found = memchr(base + from, Int32(byte), end - from) else { return end }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
        var index = next(0x0a, from: 12)
        var head = Head(status: status, version11: bytes[7] == UInt8(ascii: "1"), headers: HTTPHeaders())
        head.headers.reserveCapacity(12)
        while index < end {
            index += 1  // past the LF
            let lineEnd = next(0x0a, from: index)
            var contentEnd = lineEnd
            if contentEnd > index && bytes[contentEnd - 1] == 0x0d { contentEnd -= 1 }
            if contentEnd > index {
                let colon = min(next(UInt8(ascii: ":"), from: index), contentEnd)
                guard colon > index && colon < contentEnd else { return nil }
                var valueStart = colon + 1, valueEnd = contentEnd
                while valueStart < valueEnd && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
                while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                let name = UnsafeBufferPointer(rebasing: bytes[index..<colon])
                let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self)
                head.headers.add(name: String(decoding: name, as: UTF8.self), value: value)
                if head.contentLength == nil && equalIgnoringCase(name, "content-length") {
                    head.contentLength = value
                } else if head.transferEncoding == nil && equalIgnoringCase(name, "transfer-encoding") {
                    head.transferEncoding = value
                } else if head.connection == nil && equalIgnoringCase(name, "connection") {
                    head.connection = value
                }
            }
            index = lineEnd
        }
        return head
    }

    /// ASCII case-insensitive comparison of a header name with a lowercase literal.
    private static func equalIgnoringCase(_ name: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard name.count == lowercase.utf8CodeUnitCount else { return false }
        let literal = lowercase.utf8Start
        for index in 0..<name.count {
            let byte = name[index]
            if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != literal[index] { return false }
        }
        return true
    }
}

@available(*, unavailable)
extension HTTPConnection: Sendable {}

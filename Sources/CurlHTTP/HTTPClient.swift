internal import CCurl
import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// `curl_global_init` runs exactly once per process, before the first handle is made.
let curlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// A blocking HTTP/1.1 client that owns one libcurl easy handle (TLS through OpenSSL), for AWS and every other
/// HTTPS peer; the request and response types are the HTTP target's. Kept in a target of its own so that what needs
/// only plain HTTP on loopback (the Lambda Runtime API client, `HTTP.HTTPConnection`) links neither libcurl nor
/// OpenSSL. It owns one libcurl easy handle, so consecutive requests to the same host reuse one
/// keep-alive connection. Not thread-safe: one request at a time; make one client per thread or pool them.
///
/// TLS peer and host verification are always on. Redirects are not followed. `Expect: 100-continue` is never sent and
/// `Content-Length` is always explicit. Headers are never logged here.
public final class HTTPClient {
    public struct Options: Sendable {
        public var connectTimeoutSeconds: Int = 10
        /// Whole-request limit; nil means none (the Lambda `next` call must be allowed to wait indefinitely).
        public var totalTimeoutSeconds: Int? = nil
        /// When false, `http_proxy` and friends are ignored (the Runtime API is always reached directly).
        public var useProxyFromEnvironment: Bool = true
        public var userAgent: String = "odins-ravne/0.1"
        /// Abort a transfer slower than 1 byte/s for this long (nil: never), to catch dead peers.
        public var lowSpeedTimeoutSeconds: Int? = nil

        public init() {}
    }

    private let handle: UnsafeMutableRawPointer
    private let options: Options
    /// libcurl keeps the header list pointer until the next `perform`, so the owner keeps it alive.
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var headerLines: [String] = []
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let transfer = Transfer()

    public init(options: Options = Options()) throws(HTTPError) {
        guard curlGlobalInit == CURLE_OK, let handle = curl_easy_init() else {
            throw HTTPError(kind: .other, message: "libcurl could not be initialised", url: "")
        }
        self.handle = handle
        self.options = options
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try configureOnce()
    }

    deinit {
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// Sends `request` and returns the response with its body in memory.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        try perform(request, downloadPath: nil)
    }

    /// Sends `request` and streams the response body into the file at `path` (created or truncated), so large
    /// objects never sit in memory. The returned response has an empty `body`.
    public func send(_ request: HTTPRequest, downloadTo path: String) throws(HTTPError) -> HTTPResponse {
        try perform(request, downloadPath: path)
    }

    // MARK: - Transfer

    private func perform(_ request: HTTPRequest, downloadPath: String?) throws(HTTPError) -> HTTPResponse {
        transfer.reset()
        defer { transfer.close() }
        let url = request.url
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw HTTPError(kind: .invalidRequest, message: "only http:// and https:// URLs are supported", url: url)
        }
        if let downloadPath {
            guard let file = fopen(downloadPath, "wb") else {
                throw HTTPError(kind: .file, message: "cannot create \(downloadPath): errno \(errno)", url: url)
            }
            transfer.output = file
        }
        var uploadLength: Int64 = 0
        switch request.body {
        case .empty:
            break
        case .bytes(let bytes):
            transfer.uploadBytes = bytes
            uploadLength = Int64(bytes.count)
        case .file(let path, let offset, let length):
            guard let file = fopen(path, "rb") else {
                throw HTTPError(kind: .file, message: "cannot open \(path): errno \(errno)", url: url)
            }
            transfer.input = file
            var st = stat()
            fstat(fileno(file), &st)
            let available = max(0, Int64(st.st_size) - offset)
            uploadLength = min(length ?? available, available)
            fseeko(file, off_t(offset), SEEK_SET)
            transfer.inputRemaining = uploadLength
        }

        try configure(request, uploadLength: uploadLength)
        errorBuffer[0] = 0
        let code = curl_easy_perform(handle)
        if let failure = transfer.failure {
            throw HTTPError(kind: .file, message: failure, url: url)
        }
        guard code == CURLE_OK else { throw error(code, url: url) }
        var status = 0
        _ = CCurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
    }

    private func check(_ result: CURLcode, _ option: StaticString, url: String = "") throws(HTTPError) {
        guard result == CURLE_OK else {
            throw HTTPError(kind: .invalidRequest, curlCode: Int32(result.rawValue),
                            message: "setting \(option): \(String(cString: curl_easy_strerror(result)))", url: url)
        }
    }

    /// Options that stay the same for every request of this client: set once, so the per-request work is only the
    /// URL, the method and the header list (the handle is never reset, which also keeps its connection cache).
    private func configureOnce() throws(HTTPError) {
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
        // Send paths exactly as given: S3 keys may contain "." and ".." segments, and a signed path must not change.
        try check(CCurl_easy_setopt_long(handle, CURLOPT_PATH_AS_IS, 1), "PATH_AS_IS")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_TCP_NODELAY, 1), "TCP_NODELAY")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "SSL_VERIFYPEER")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "SSL_VERIFYHOST")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeoutSeconds),
                  "CONNECTTIMEOUT")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_TIMEOUT, options.totalTimeoutSeconds ?? 0), "TIMEOUT")
        if let lowSpeed = options.lowSpeedTimeoutSeconds {
            try check(CCurl_easy_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1), "LOW_SPEED_LIMIT")
            try check(CCurl_easy_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, lowSpeed), "LOW_SPEED_TIME")
        }
        if !options.useProxyFromEnvironment {
            try check(CCurl_easy_setopt_ptr(handle, CURLOPT_PROXY, ""), "PROXY")
        }
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_USERAGENT, options.userAgent), "USERAGENT")
        // Raw bytes exactly as sent: no transparent decompression (CURLOPT_ACCEPT_ENCODING stays unset).
        // `transfer` is a stored property of `self`, so the pointer stays valid for every transfer of this handle.
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        try check(CCurl_easy_setopt_datafn(handle, CURLOPT_WRITEFUNCTION, httpWriteCallback), "WRITEFUNCTION")
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_WRITEDATA, context), "WRITEDATA")
        try check(CCurl_easy_setopt_datafn(handle, CURLOPT_HEADERFUNCTION, httpHeaderCallback), "HEADERFUNCTION")
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_HEADERDATA, context), "HEADERDATA")
        try check(CCurl_easy_setopt_datafn(handle, CURLOPT_READFUNCTION, httpReadCallback), "READFUNCTION")
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_READDATA, context), "READDATA")
    }

    private func configure(_ request: HTTPRequest, uploadLength: Int64) throws(HTTPError) {
        let url = request.url
        try check(CCurl_easy_setopt_ptr(handle, CURLOPT_URL, url), "URL", url: url)
        // Set on every request: the handle keeps options between requests.
        try check(CCurl_easy_setopt_long(handle, CURLOPT_FRESH_CONNECT, request.freshConnection ? 1 : 0), "FRESH_CONNECT")
        try check(CCurl_easy_setopt_long(handle, CURLOPT_FORBID_REUSE, request.freshConnection ? 1 : 0), "FORBID_REUSE")

        let method = request.method.uppercased()
        let hasBody = request.body != .empty
        let sendsBody = hasBody || method == "PUT" || method == "POST"
        if sendsBody, method != "PUT", case .bytes(let bytes) = request.body {
            // In-memory bodies of POST-like requests go as POSTFIELDS (copied by curl): small ones then leave in the
            // same send as the request headers, instead of a second segment the peer has to wait for.
            try check(CCurl_easy_setopt_long(handle, CURLOPT_POST, 1), "POST", url: url)
            try check(CCurl_easy_setopt_int64(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)),
                      "POSTFIELDSIZE_LARGE", url: url)
            let copied: CURLcode = bytes.withUnsafeBufferPointer { buffer in
                // curl copies POSTFIELDSIZE bytes now; an empty body still needs a non-NULL pointer.
                if let base = buffer.baseAddress {
                    return CCurl_easy_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, base)
                }
                return CCurl_easy_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, "")
            }
            try check(copied, "COPYPOSTFIELDS", url: url)
        } else if sendsBody {
            try check(CCurl_easy_setopt_long(handle, CURLOPT_UPLOAD, 1), "UPLOAD", url: url)
            try check(CCurl_easy_setopt_int64(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadLength)),
                      "INFILESIZE_LARGE", url: url)
        } else {
            // HTTPGET also clears UPLOAD and NOBODY left over from the previous request.
            try check(CCurl_easy_setopt_long(handle, CURLOPT_HTTPGET, 1), "HTTPGET", url: url)
            if method == "HEAD" {
                try check(CCurl_easy_setopt_long(handle, CURLOPT_NOBODY, 1), "NOBODY", url: url)
            }
        }
        let custom = (method == "GET" || method == "HEAD" || (method == "PUT" && sendsBody)) ? nil : method
        if let custom {
            try check(CCurl_easy_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, custom), "CUSTOMREQUEST", url: url)
        } else {
            try check(CCurl_easy_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, nil), "CUSTOMREQUEST", url: url)
        }

        // An empty value after the colon removes a header curl would add by itself; "Name;" sends an empty value.
        var lines = ["Expect:"]
        if sendsBody { lines.append("Transfer-Encoding:") }
        // curl labels POSTFIELDS bodies application/x-www-form-urlencoded unless told otherwise; some servers then
        // parse (and drop) the body. Send no Content-Type unless the caller gave one.
        if sendsBody && request.headers["Content-Type"] == nil { lines.append("Content-Type:") }
        if request.headers["Accept"] == nil { lines.append("Accept:") }
        for (name, value) in request.headers {
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // Consecutive requests with the same headers (the Lambda runtime's posts) reuse the list curl already has.
        if lines != headerLines || headerList == nil {
            if let headerList { curl_slist_free_all(headerList) }
            var list: UnsafeMutablePointer<curl_slist>?
            for line in lines { list = curl_slist_append(list, line) }
            headerList = list
            headerLines = lines
            try check(CCurl_easy_setopt_ptr(handle, CURLOPT_HTTPHEADER, list), "HTTPHEADER", url: url)
        }
    }

    private func error(_ code: CURLcode, url: String) -> HTTPError {
        let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        let kind: HTTPError.Kind
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .connect
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_SEND_ERROR:
            kind = .send
        case CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            kind = .receive
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            kind = .tls
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            kind = .invalidRequest
        case CURLE_WRITE_ERROR, CURLE_READ_ERROR:
            kind = .file
        default:
            kind = .other
        }
        return HTTPError(kind: kind, curlCode: Int32(code.rawValue), message: detail, url: url)
    }
}

@available(*, unavailable)
extension HTTPClient: Sendable {}

/// Per-request state the C callbacks reach through their user-data pointer.
final class Transfer {
    var headers = HTTPHeaders()
    var body: [UInt8] = []
    var output: UnsafeMutablePointer<FILE>?
    var input: UnsafeMutablePointer<FILE>?
    var inputRemaining: Int64 = 0
    var uploadBytes: [UInt8] = []
    var uploadOffset = 0
    var failure: String?

    func reset() {
        headers = HTTPHeaders()
        body.removeAll(keepingCapacity: true)
        uploadBytes = []
        uploadOffset = 0
        inputRemaining = 0
        failure = nil
    }

    func close() {
        if let output, fclose(output) != 0, failure == nil { failure = "cannot close the download file" }
        if let input { fclose(input) }
        output = nil
        input = nil
    }
}

private func httpWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                               _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if let output = transfer.output {
        let written = fwrite(data, 1, length, output)
        if written != length { transfer.failure = "short write to the download file (disk full?)" }
        return written
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        transfer.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    }
    return length
}

private func httpHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    // Parsed as bytes: Character-level String operations cost more than the rest of a Runtime API round trip.
    data.withMemoryRebound(to: UInt8.self, capacity: length) { pointer in
        let line = UnsafeBufferPointer(start: pointer, count: length)
        if length >= 5 && line[0] == 0x48 && line[1] == 0x54 && line[2] == 0x54 && line[3] == 0x50 && line[4] == 0x2F {
            // A new status line (after 100 Continue or a proxy CONNECT): only the final response's headers count.
            transfer.headers = HTTPHeaders()
            return
        }
        guard let colon = line.firstIndex(of: 0x3A) else { return }
        var start = colon + 1
        var end = length
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x0D || line[end - 1] == 0x0A || line[end - 1] == 0x20
            || line[end - 1] == 0x09) { end -= 1 }
        transfer.headers.add(name: String(decoding: UnsafeBufferPointer(rebasing: line[0..<colon]), as: UTF8.self),
                             value: String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self))
    }
    return length
}

private func httpReadCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                              _ context: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let capacity = size * count
    if let input = transfer.input {
        let wanted = Int(min(Int64(capacity), transfer.inputRemaining))
        guard wanted > 0 else { return 0 }
        let read = fread(buffer, 1, wanted, input)
        transfer.inputRemaining -= Int64(read)
        if read == 0 && wanted > 0 {
            transfer.failure = "upload file ended early"
            return Int(CURL_READFUNC_ABORT)
        }
        return read
    }
    let remaining = transfer.uploadBytes.count - transfer.uploadOffset
    let length = min(capacity, remaining)
    guard length > 0 else { return 0 }
    transfer.uploadBytes.withUnsafeBytes { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + transfer.uploadOffset, byteCount: length)
    }
    transfer.uploadOffset += length
    return length
}

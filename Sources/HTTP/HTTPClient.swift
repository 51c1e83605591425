internal import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// `curl_global_init` runs exactly once per process, before the first handle is made.
private let curlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// A blocking HTTP/1.1 client that owns one libcurl easy handle, so consecutive requests to the same host reuse one
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

        curl_easy_reset(handle)
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

    private func configure(_ request: HTTPRequest, uploadLength: Int64) throws(HTTPError) {
        let url = request.url
        func set(_ result: CURLcode, _ option: StaticString) throws(HTTPError) {
            guard result == CURLE_OK else {
                throw HTTPError(kind: .invalidRequest, curlCode: Int32(result.rawValue),
                                message: "setting \(option): \(String(cString: curl_easy_strerror(result)))", url: url)
            }
        }
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_URL, url), "URL")
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR")
        try set(CCurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
        try set(CCurl_easy_setopt_long(handle, CURLOPT_TCP_NODELAY, 1), "TCP_NODELAY")
        try set(CCurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "SSL_VERIFYPEER")
        try set(CCurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "SSL_VERIFYHOST")
        try set(CCurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeoutSeconds),
                "CONNECTTIMEOUT")
        try set(CCurl_easy_setopt_long(handle, CURLOPT_TIMEOUT, options.totalTimeoutSeconds ?? 0), "TIMEOUT")
        if let lowSpeed = options.lowSpeedTimeoutSeconds {
            try set(CCurl_easy_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1), "LOW_SPEED_LIMIT")
            try set(CCurl_easy_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, lowSpeed), "LOW_SPEED_TIME")
        }
        if !options.useProxyFromEnvironment {
            try set(CCurl_easy_setopt_ptr(handle, CURLOPT_PROXY, ""), "PROXY")
        }
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_USERAGENT, options.userAgent), "USERAGENT")
        // Receive raw bytes exactly as sent: no transparent decompression.
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        // `transfer` is a stored property of `self`, alive for the whole `curl_easy_perform` call.
        try set(CCurl_easy_setopt_datafn(handle, CURLOPT_WRITEFUNCTION, httpWriteCallback), "WRITEFUNCTION")
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_WRITEDATA, context), "WRITEDATA")
        try set(CCurl_easy_setopt_datafn(handle, CURLOPT_HEADERFUNCTION, httpHeaderCallback), "HEADERFUNCTION")
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_HEADERDATA, context), "HEADERDATA")

        let method = request.method.uppercased()
        let hasBody = request.body != .empty
        if method == "HEAD" {
            try set(CCurl_easy_setopt_long(handle, CURLOPT_NOBODY, 1), "NOBODY")
        } else if hasBody || method == "PUT" || method == "POST" {
            try set(CCurl_easy_setopt_long(handle, CURLOPT_UPLOAD, 1), "UPLOAD")
            try set(CCurl_easy_setopt_int64(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadLength)),
                    "INFILESIZE_LARGE")
            try set(CCurl_easy_setopt_datafn(handle, CURLOPT_READFUNCTION, httpReadCallback), "READFUNCTION")
            try set(CCurl_easy_setopt_ptr(handle, CURLOPT_READDATA, context), "READDATA")
            if method != "PUT" {
                try set(CCurl_easy_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, method), "CUSTOMREQUEST")
            }
        } else if method != "GET" {
            try set(CCurl_easy_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, method), "CUSTOMREQUEST")
        }

        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        var list: UnsafeMutablePointer<curl_slist>?
        // An empty value after the colon removes a header curl would add by itself.
        list = curl_slist_append(list, "Expect:")
        if hasBody || method == "PUT" || method == "POST" {
            list = curl_slist_append(list, "Transfer-Encoding:")
        }
        if request.headers["Accept"] == nil { list = curl_slist_append(list, "Accept:") }
        for (name, value) in request.headers {
            // "Name;" is curl's spelling for a header with an empty value.
            list = curl_slist_append(list, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        headerList = list
        try set(CCurl_easy_setopt_ptr(handle, CURLOPT_HTTPHEADER, list), "HTTPHEADER")
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
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        // A new status line (after 100 Continue or a proxy CONNECT): only the final response's headers count.
        transfer.headers = HTTPHeaders()
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon])
        // Trim by scalar: "\r\n" is one Character in Swift, so Character comparisons would miss it.
        var value = line[line.index(after: colon)...].unicodeScalars
        while let first = value.first, first == " " || first == "\t" { value = value.dropFirst() }
        while let last = value.last, last == "\r" || last == "\n" || last == " " || last == "\t" {
            value = value.dropLast()
        }
        transfer.headers.add(name: name, value: String(value))
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

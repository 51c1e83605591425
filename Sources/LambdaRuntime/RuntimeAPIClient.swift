import HTTP
import JSONEscaping
import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// One invocation as `next` delivered it.
public struct Invocation: Sendable {
    public var requestID: String
    public var deadlineMs: Int64?
    /// Set when the deadline header was missing or not a number; the invocation is then answered with an error.
    public var headerProblem: String?
    public var invokedFunctionARN: String
    public var traceID: String?
    public var clientContext: String?
    public var cognitoIdentity: String?
    public var tenantID: String?
    public var payload: [UInt8]
}

/// The Runtime API (2018-06-01) client on one kept-alive connection (`HTTPConnection`: a plain socket with HTTP/1.1
/// framed there, no libcurl), so the connection to the API stays open between invocations, no per-request URL
/// parsing or request building happens in a library, and a cold start reaches its first `GET next` without
/// initialising libcurl or OpenSSL (the AWS clients do that at their first call). Transient failures (connection
/// refused or dropped, 502/503/504/429) are retried with backoff; statuses that mean the environment is broken (403 on
/// a post, 500) end the process through a thrown `RuntimeError`.
public final class RuntimeAPIClient {
    /// `http://host:port/2018-06-01/runtime` (accepts `host:port`, `[v6]:port`, `host:port/prefix`, or an http URL).
    public let baseURL: String
    private let nextURL: String
    private let http: HTTPConnection
    private let logger: Logger
    private let maxAttempts: Int
    private let backoffMs: Int
    private var responseHeaders = HTTPHeaders()
    private var errorHeaders = HTTPHeaders()

    public init(runtimeAPI: String, logger: Logger, maxAttempts: Int = 9, backoffMs: Int = 20)
        throws(RuntimeError)
    {
        let trimmed = runtimeAPI.trimmingCharacters(in: " \t\n")
        guard !trimmed.isEmpty else {
            throw RuntimeError(.invalidConfiguration, step: "configuration",
                               "AWS_LAMBDA_RUNTIME_API is empty; expected host:port such as 127.0.0.1:9001")
        }
        var base = trimmed.hasPrefix("http://") ? trimmed : "http://" + trimmed
        while base.hasSuffix("/") { base.removeLast() }
        let authority = base.dropFirst("http://".count).split(separator: "/").first.map(String.init) ?? ""
        let portText = authority.split(separator: ":").last.map(String.init) ?? ""
        guard authority.contains(":"), let port = Int(portText), (1...65535).contains(port) else {
            throw RuntimeError(.invalidConfiguration, step: "configuration",
                               "AWS_LAMBDA_RUNTIME_API='\(runtimeAPI)' has no valid port; expected host:port")
        }
        baseURL = base + "/2018-06-01/runtime"
        nextURL = baseURL + "/invocation/next"
        do {
            // Direct (never a proxy), no overall timeout: `next` may legitimately block for a long time.
            http = try HTTPConnection(origin: "http://" + authority, connectTimeoutSeconds: 1,
                                      userAgent: "odins-ravne-lambda/0.1")
        } catch {
            throw RuntimeError(.unreachable, step: "configuration", "cannot create an HTTP client: \(error)")
        }
        self.logger = logger
        self.maxAttempts = maxAttempts
        self.backoffMs = backoffMs
        responseHeaders.add(name: "Content-Type", value: "application/json")
        errorHeaders.add(name: "Content-Type", value: "application/json")
    }

    /// Blocks until the next invocation arrives.
    public func next() throws(RuntimeError) -> Invocation {
        let response = try send(HTTPRequest(method: "GET", url: nextURL), step: "next")
        guard response.status == 200 else {
            throw RuntimeError(.fatalStatus(response.status), step: "next",
                               "unexpected status \(response.status): \(Self.snippet(response.body))")
        }
        // One pass over the headers (the first of each name counts, as with `HTTPHeaders`' subscript).
        var requestIDValue: String?, deadline: String?, functionARN: String?, traceID: String?
        var clientContext: String?, cognitoIdentity: String?, tenantID: String?
        for (name, value) in response.headers {
            func take(_ slot: inout String?, _ expected: String) {
                if slot == nil && HTTPHeaders.equal(name, expected) { slot = value }
            }
            switch name.utf8.count {
            case 29: take(&requestIDValue, "Lambda-Runtime-Aws-Request-Id"); take(&clientContext, "Lambda-Runtime-Client-Context")
            case 26: take(&deadline, "Lambda-Runtime-Deadline-Ms")
            case 35: take(&functionARN, "Lambda-Runtime-Invoked-Function-Arn")
            case 23: take(&traceID, "Lambda-Runtime-Trace-Id")
            case 31: take(&cognitoIdentity, "Lambda-Runtime-Cognito-Identity")
            case 28: take(&tenantID, "Lambda-Runtime-Aws-Tenant-Id")
            default: break
            }
        }
        guard let requestID = requestIDValue, !requestID.isEmpty else {
            throw RuntimeError(.missingRequestID, step: "next",
                               "the invocation has no Lambda-Runtime-Aws-Request-Id header; it cannot be answered")
        }
        guard requestID.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(Self.isRequestIDByte) })
                ?? requestID.utf8.allSatisfy(Self.isRequestIDByte) else {
            throw RuntimeError(.missingRequestID, step: "next",
                               "Lambda-Runtime-Aws-Request-Id '\(requestID.prefix(80))' has characters a request id never has; it cannot be answered safely")
        }
        var invocation = Invocation(
            requestID: requestID, deadlineMs: nil, headerProblem: nil,
            invokedFunctionARN: functionARN ?? "", traceID: traceID, clientContext: clientContext,
            cognitoIdentity: cognitoIdentity, tenantID: tenantID, payload: response.body)
        if let deadline {
            if let value = Int64(deadline) {
                invocation.deadlineMs = value
            } else {
                invocation.headerProblem = "Lambda-Runtime-Deadline-Ms is '\(deadline)', not milliseconds since the epoch"
            }
        } else {
            invocation.headerProblem = "the Lambda-Runtime-Deadline-Ms header is missing"
        }
        return invocation
    }

    /// Posts a handler's result.
    public func respond(requestID: String, body: [UInt8]) throws(RuntimeError) {
        let request = HTTPRequest(method: "POST", url: baseURL + "/invocation/\(requestID)/response",
                                  headers: responseHeaders, body: .bytes(body))
        try post(request, step: "response")
    }

    /// Posts a handler failure as `{"errorMessage","errorType","stackTrace":[]}`.
    public func reportError(requestID: String, type: String, message: String) throws(RuntimeError) {
        var headers = errorHeaders
        headers.add(name: "Lambda-Runtime-Function-Error-Type", value: Self.headerErrorType(type, kind: "Function"))
        let request = HTTPRequest(method: "POST", url: baseURL + "/invocation/\(requestID)/error",
                                  headers: headers, body: .bytes(Self.errorBody(type: type, message: message)))
        try post(request, step: "error")
    }

    /// Posts an initialisation failure; the caller exits non-zero afterwards.
    public func reportInitError(type: String, message: String) throws(RuntimeError) {
        var headers = errorHeaders
        headers.add(name: "Lambda-Runtime-Function-Error-Type", value: Self.headerErrorType(type, kind: "Runtime"))
        let request = HTTPRequest(method: "POST", url: baseURL + "/init/error", headers: headers,
                                  body: .bytes(Self.errorBody(type: type, message: message)))
        try post(request, step: "init/error")
    }

    // MARK: - Transport

    private func post(_ request: HTTPRequest, step: String) throws(RuntimeError) {
        let response = try send(request, step: step)
        switch response.status {
        case 200..<300:
            return
        case 400, 404, 413:
            // The invocation is already settled on the service side (unknown id, answered twice, too large):
            // log it and carry on with the next invocation.
            logger.error("Runtime API rejected the \(step) post with \(response.status): \(Self.snippet(response.body))",
                         ["lambda.step": step])
        default:
            throw RuntimeError(.fatalStatus(response.status), step: step,
                               "status \(response.status): \(Self.snippet(response.body))")
        }
    }

    private func send(_ request: HTTPRequest, step: String) throws(RuntimeError) -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try http.send(request)
                if Self.isTransient(response.status) && attempt < maxAttempts {
                    logger.warning("Runtime API \(step) answered \(response.status); retrying", ["lambda.step": step])
                } else {
                    return response
                }
            } catch {
                guard attempt < maxAttempts else {
                    throw RuntimeError(.unreachable, step: step,
                                       "Runtime API at \(baseURL) unreachable after \(attempt) attempts: \(error.message)")
                }
                logger.warning("Runtime API \(step) failed (\(error.message)); retrying", ["lambda.step": step])
            }
            // Exponential backoff capped at 500 ms: 20, 40, 80, 160, 320, 500, 500, 500 ms by default (about 2.1 s
            // in all), long enough to ride out a restart of the API, short enough not to hide a dead sandbox.
            usleep(useconds_t(min(500, backoffMs << min(attempt - 1, 10))) * 1000)
        }
    }

    static func isTransient(_ status: Int) -> Bool {
        status == 429 || status == 502 || status == 503 || status == 504
    }

    static func errorBody(type: String, message: String) -> [UInt8] {
        var text = "{\"errorMessage\":"
        JSONString.append(message, to: &text)
        text += ",\"errorType\":"
        JSONString.append(type, to: &text)
        text += ",\"stackTrace\":[]}"
        return Array(text.utf8)
    }

    /// `Function.SomeType` / `Runtime.SomeType`: the form the service keeps (`(Runtime|Function)\.[A-Z][a-zA-Z]+`).
    static func headerErrorType(_ type: String, kind: String) -> String {
        let lastComponent = type.split(separator: ".").last.map(String.init) ?? type
        var letters = String(lastComponent.unicodeScalars.filter { ($0.value >= 65 && $0.value <= 90)
            || ($0.value >= 97 && $0.value <= 122) }.map(Character.init))
        if letters.isEmpty { letters = "Unknown" }
        return "\(kind).\(letters.prefix(1).uppercased())\(letters.dropFirst())"
    }

    /// Letters, digits, `-`, `_`, `.` and `:`: enough for UUIDs and emulator ids, never a path separator.
    static func isRequestIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
    }

    static func snippet(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(300), as: UTF8.self)
    }
}

@available(*, unavailable)
extension RuntimeAPIClient: Sendable {}

extension StringProtocol {
    func trimmingCharacters(in characters: String) -> String {
        var view = Substring(self)
        while let first = view.first, characters.contains(first) { view = view.dropFirst() }
        while let last = view.last, characters.contains(last) { view = view.dropLast() }
        return String(view)
    }
}

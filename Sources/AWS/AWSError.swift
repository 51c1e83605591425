import HTTP
import JSONCoding
import OdinBasics

/// Every failure of an AWS call, as one value: which service and operation, the HTTP status, AWS's error code and
/// message, and the request ID. Client-side failures (transport, credentials, signing, unreadable responses) use the
/// same struct with `kind` telling them apart and status 0 where no response arrived.
public struct AWSError: Error, CustomStringConvertible, Sendable {
    /// Where the failure comes from.
    public enum Kind: Sendable, Equatable {
        /// The service answered with an error (status ≥ 300 and an AWS error code).
        case service
        /// No usable response: connection, TLS or timeout failure (see `transportError`).
        case transport
        /// No credentials could be found or fetched.
        case credentials
        /// The request could not be built or signed (bad input; names the field).
        case invalidRequest
        /// The response was not in the format the protocol promises.
        case invalidResponse
    }

    public var kind: Kind
    /// Service ID, e.g. `S3`, `Batch`, `DynamoDB`.
    public var service: String
    /// API operation, e.g. `PutObject`, `SubmitJob`.
    public var operation: String
    /// HTTP status, 0 when there was no response.
    public var status: Int
    /// AWS error code (`NoSuchKey`, `ConditionalCheckFailedException`, `ThrottlingException`, …), or a client code.
    public var code: String
    public var message: String
    /// `x-amz-request-id` / `x-amzn-RequestId` (or from the body), when the service sent one.
    public var requestID: String?
    /// For DynamoDB `TransactionCanceledException`: the code of each cancellation reason, in item order
    /// (`None` for items that were fine).
    public var cancellationReasons: [String]
    /// The transport failure behind a `.transport` error.
    public var transportError: HTTPError?
    /// How many attempts were made (1 = no retry).
    public var attempts: Int

    public init(
        kind: Kind = .service, service: String, operation: String, status: Int = 0, code: String, message: String,
        requestID: String? = nil, cancellationReasons: [String] = [], transportError: HTTPError? = nil,
        attempts: Int = 1
    ) {
        self.kind = kind
        self.service = service
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.cancellationReasons = cancellationReasons
        self.transportError = transportError
        self.attempts = attempts
    }

    public var description: String {
        var text = "\(service).\(operation) failed: \(code)"
        if status != 0 { text += " (HTTP \(status))" }
        if !message.isEmpty { text += ": \(message)" }
        if !cancellationReasons.isEmpty { text += " [reasons: \(cancellationReasons.joined(separator: ", "))]" }
        if let requestID { text += " [request \(requestID)]" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }

    /// True for the throttling codes of the SDK standard retry mode, and HTTP 429.
    public var isThrottling: Bool { status == 429 || Self.throttlingCodes.contains(code) }

    /// True for `ConditionalCheckFailedException` (DynamoDB) and `PreconditionFailed` (S3 conditional writes).
    public var isConditionFailure: Bool {
        code == "ConditionalCheckFailedException" || code == "PreconditionFailed" || status == 412
    }

    /// True when the resource does not exist (`NoSuchKey`, `NotFound`, `NoSuchBucket`, `ResourceNotFoundException`).
    public var isNotFound: Bool {
        ["NoSuchKey", "NotFound", "NoSuchBucket", "ResourceNotFoundException", "NoSuchUpload"].contains(code)
    }

    /// Throttling error codes (SDK standard retry mode list, plus S3's `SlowDown`).
    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    /// Transient error codes of the standard retry mode.
    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
        "IDPCommunicationError",
    ]
}

/// The wire protocols whose error formats `AWSErrorDecoder` understands.
public enum AWSProtocol: Sendable, Equatable {
    /// S3: `<Error><Code/><Message/><RequestId/></Error>`; HEAD errors have no body.
    case restXML
    /// STS, SNS, CloudWatch, CloudFormation (`<ErrorResponse><Error>…`) and EC2 (`<Response><Errors><Error>…`).
    case query
    /// DynamoDB: JSON with `__type` = `prefix#Code`.
    case json
    /// Batch: `X-Amzn-ErrorType` header (`Code:…`) and a JSON body with `message`.
    case restJSON
}

/// Turns an error response into an `AWSError`.
public enum AWSErrorDecoder {
    public static func decode(
        _ response: HTTPResponse, protocol wireProtocol: AWSProtocol, service: String, operation: String
    ) -> AWSError {
        var error = AWSError(service: service, operation: operation, status: response.status, code: "",
                             message: "", requestID: requestID(from: response.headers))
        let body = response.body
        let firstByte = body.first { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }
        if firstByte == UInt8(ascii: "<") {
            // XML (also what Batch sends for signature errors, although Batch is REST-JSON).
            if let root = try? XMLNode.parse(body) {
                let errorNode = root.first(named: "Error") ?? root
                error.code = errorNode.string("Code") ?? ""
                error.message = errorNode.string("Message") ?? errorNode.string("message") ?? ""
                if error.requestID == nil {
                    error.requestID = root.first(named: "RequestId")?.text ?? root.first(named: "RequestID")?.text
                }
            }
        } else if firstByte == UInt8(ascii: "{") {
            if let object = try? JSONCoder.decode(JSONErrorBody.self, from: body) {
                error.code = cleanCode(object.__type ?? object.code ?? object.Code ?? "")
                error.message = object.message ?? object.Message ?? object.errorMessage ?? ""
                error.cancellationReasons = (object.CancellationReasons ?? []).map { $0.Code ?? "None" }
            }
        }
        if let header = response.headers["X-Amzn-ErrorType"], wireProtocol == .restJSON || error.code.isEmpty {
            error.code = cleanCode(header)
        }
        if error.code.isEmpty {
            error.code = codeFromStatus(response.status)
            if error.message.isEmpty, !body.isEmpty, firstByte != UInt8(ascii: "<"), firstByte != UInt8(ascii: "{") {
                error.message = String(decoding: body.prefix(256), as: UTF8.self)
            }
        }
        return error
    }

    static func requestID(from headers: HTTPHeaders) -> String? {
        headers["x-amz-request-id"] ?? headers["x-amzn-RequestId"] ?? headers["x-amzn-requestid"]
    }

    /// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` → `ResourceNotFoundException`;
    /// `ClientException:http://internal.amazon.com/…` → `ClientException`.
    static func cleanCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        return code.trimmingCharacters(in: .whitespaces)
    }

    static func codeFromStatus(_ status: Int) -> String {
        switch status {
        case 301: "PermanentRedirect"
        case 304: "NotModified"
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 416: "InvalidRange"
        case 429: "TooManyRequestsException"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        default: "HTTP\(status)"
        }
    }

    private struct JSONErrorBody: Decodable {
        var __type: String?
        var code: String?
        var Code: String?
        var message: String?
        var Message: String?
        var errorMessage: String?
        var CancellationReasons: [Reason]?
        struct Reason: Decodable { var Code: String? }
    }
}

extension StringProtocol {
    /// Leading and trailing whitespace removed (no Foundation here).
    func trimmingCharacters(in _: WhitespaceSet) -> String {
        let scalars = Array(unicodeScalars)
        var start = 0, end = scalars.count
        while start < end, scalars[start].properties.isWhitespace { start += 1 }
        while end > start, scalars[end - 1].properties.isWhitespace { end -= 1 }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[start..<end])
        return String(result)
    }
}

/// Marker for `trimmingCharacters(in: .whitespaces)`.
enum WhitespaceSet { case whitespaces }

/// A failure of the runtime itself (not of a handler), with the Runtime API step it happened in.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// `AWS_LAMBDA_RUNTIME_API` is missing or not `host:port`.
        case invalidConfiguration
        /// `_HANDLER` names a handler this bootstrap does not serve.
        case unknownHandler
        /// The Runtime API could not be reached after retrying.
        case unreachable
        /// The Runtime API answered with a status that means the environment is broken (403, 500).
        case fatalStatus(Int)
        /// `next` returned an invocation without a request id: it cannot be answered.
        case missingRequestID
    }

    public let code: Code
    /// The Runtime API step: `next`, `response`, `error`, `init/error`, `configuration`.
    public let step: String
    public let message: String

    public init(_ code: Code, step: String, _ message: String) {
        self.code = code
        self.step = step
        self.message = message
    }

    public var description: String { "runtime \(step): \(message)" }
}

/// A handler error whose `errorType` the runtime should report as given (instead of the Swift type name).
public protocol LambdaReportableError: Error {
    var errorType: String { get }
    var errorMessage: String { get }
}

/// The invocation payload could not be decoded into a Codable handler's input type (LambdaJSON). The message names
/// the field and the problem. (Event models decoding their own fields throw `Events.EventDecodingError`.)
public struct PayloadDecodingError: LambdaReportableError, CustomStringConvertible {
    public let errorMessage: String
    public var errorType: String { "PayloadDecodingError" }
    public var description: String { errorMessage }

    public init(_ message: String) { self.errorMessage = message }
}

/// The handler's response is larger than Lambda's synchronous limit (6,291,556 bytes).
public struct ResponseTooLargeError: LambdaReportableError {
    public let size: Int
    public var errorType: String { "ResponseSizeTooLarge" }
    public var errorMessage: String {
        "Response payload size (\(size) bytes) exceeded maximum allowed payload size (6291556 bytes)."
    }
}

internal import CFFmpeg

/// An error from the media layer: what we were doing, on which input, FFmpeg's code and its own `av_strerror` text.
public struct MediaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure, for callers that branch on it.
    public enum Kind: Sendable, Equatable {
        /// The input could not be opened or its container header not read (missing file, truncated MP4 without a
        /// `moov` atom, unknown format).
        case open
        /// The container holds no stream of the kind asked for (a video stream for frame sampling).
        case noVideoStream
        /// No decoder or encoder for the stream's codec in this FFmpeg build.
        case codecUnavailable
        /// Decoding failed and produced no usable frame.
        case decode
        /// Pixel conversion (libswscale) failed.
        case scale
        /// Encoding (JPEG crops) failed.
        case encode
        /// Reading the input failed (the reader closure threw, a network error, a read past the end).
        case io
        /// The caller passed something invalid (a negative interval, an empty range); a programmer or config error.
        case invalidArgument
    }

    public let kind: Kind
    /// The FFmpeg function or step that failed, e.g. `avformat_open_input`.
    public let operation: String
    /// FFmpeg's negative error code, when the failure came from FFmpeg.
    public let code: Int32?
    /// FFmpeg's `av_strerror` text, or a description of the condition.
    public let message: String
    /// The input being processed (a path or a URL with its query removed, so presigned signatures never leak).
    public let input: String?

    public init(_ kind: Kind, operation: String, code: Int32? = nil, message: String, input: String? = nil) {
        self.kind = kind
        self.operation = operation
        self.code = code
        self.message = message
        self.input = input
    }

    public var description: String {
        var text = "\(operation) failed"
        if let input { text += " on \(input)" }
        if let code { text += " (FFmpeg \(code))" }
        return text + ": " + message
    }

    /// FFmpeg's message for a negative return code.
    static func ffmpegMessage(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let found = buffer.withUnsafeMutableBufferPointer { av_strerror(code, $0.baseAddress, $0.count) }
        if found < 0 { return "unknown FFmpeg error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Turns a negative FFmpeg return code into a thrown `MediaError`; returns the code otherwise.
    @discardableResult
    static func check(_ code: Int32, _ operation: StaticString, _ kind: Kind, input: String?) throws(MediaError)
        -> Int32
    {
        guard code < 0 else { return code }
        throw MediaError(kind, operation: "\(operation)", code: code, message: ffmpegMessage(code), input: input)
    }
}

/// Removes the query and fragment of a URL so a presigned signature never reaches an error message or a log.
func redactedInput(_ input: String) -> String {
    if let cut = input.firstIndex(where: { $0 == "?" || $0 == "#" }) {
        return String(input[..<cut]) + "?…"
    }
    return input
}

/// One-time process setup: FFmpeg's log level (errors only; per-file problems reach callers as `MediaError`s or
/// warnings, not as stderr noise) and network initialisation for `http(s)` inputs.
enum FFmpegRuntime {
    static let ready: Bool = {
        av_log_set_level(AV_LOG_FATAL)
        avformat_network_init()
        return true
    }()
}
